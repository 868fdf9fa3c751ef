/** Watch answers as the server streams them: one JSON `{"type":…,"object":…}` per line over chunked HTTP. */
import type { IncomingMessage } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import type { KubeObject } from '../api/meta.js';
import { unavailable } from '../lib/errors.js';
import { errorFromStatus, type ApiStatus } from './api-error.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

/** One change seen by a watch; BOOKMARK carries only metadata.resourceVersion. */
export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  object: T;
}

const TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK']);

/** Lines of a byte stream, decoded as UTF-8 (a line may arrive over several chunks). */
async function* lines(stream: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of stream) {
    pending += decoder.write(chunk);
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line) yield line;
    }
  }
  pending += decoder.end();
  if (pending.trim()) yield pending.trim();
}

/**
 * Events of an open watch response. Ends when the server ends the stream or `signal` aborts; throws an
 * ERROR event as its Status error, a broken connection as `transportError` makes it.
 */
export function readWatchStream<T extends KubeObject>(res: IncomingMessage, signal: AbortSignal | undefined, transportError: (err: Error) => Error): AsyncIterable<WatchEvent<T>> {
  return {
    async *[Symbol.asyncIterator]() {
      const onAbort = () => res.destroy();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const line of lines(res)) {
          let ev: { type?: string; object?: unknown };
          try {
            ev = JSON.parse(line) as typeof ev;
          } catch (err) {
            throw unavailable(`the watch stream sent something other than JSON: ${line.slice(0, 100)}`, err);
          }
          if (ev.type === 'ERROR') throw errorFromStatus((ev.object ?? {}) as ApiStatus);
          if (!ev.type || !TYPES.has(ev.type) || typeof ev.object !== 'object' || ev.object === null) {
            throw unavailable(`the watch stream sent an unknown event: ${line.slice(0, 100)}`);
          }
          yield ev as WatchEvent<T>;
        }
      } catch (err) {
        if (signal?.aborted) return;
        if ((err as { httpStatus?: number }).httpStatus !== undefined) throw err;
        throw transportError(err as Error);
      } finally {
        signal?.removeEventListener('abort', onAbort);
        res.destroy();
      }
    },
  };
}
