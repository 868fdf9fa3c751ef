/**
 * Watch streams: `?watch=1` and the legacy `/watch/` paths, served from the watch cache as chunked JSON
 * lines `{"type":…,"object":…}`, with resourceVersion, label/field selectors, allowWatchBookmarks
 * (periodic BOOKMARK events), timeoutSeconds and Table objects for `kubectl get -w`. A resourceVersion
 * already compacted answers 410 Gone (reason Expired); a failure once streaming is an ERROR event.
 */
import type { KubeObject } from '../api/meta.js';
import type { WatchEvent } from '../store/object-store.js';
import { negotiate } from './http-io.js';
import { boolParam, fieldSelectorParam, intParam, labelSelectorParam, objectFilter } from './query.js';
import type { ApiRequest, HandlerDeps } from './api-request.js';
import { refOf } from './object-ops.js';
import { statusOf } from './status.js';
import { includeObjectParam, toTable } from './table-output.js';

/**
 * The JSON of recent event objects: every watcher of a resource gets the same object from the watch
 * cache, so one change fanned out to many watchers is serialized once. Bounded to the last few objects.
 */
const recentJson = new Map<object, string>();
const RECENT_JSON = 64;

function jsonOf(obj: object): string {
  let json = recentJson.get(obj);
  if (json === undefined) {
    json = JSON.stringify(obj);
    recentJson.set(obj, json);
    if (recentJson.size > RECENT_JSON) recentJson.delete(recentJson.keys().next().value!);
  }
  return json;
}

export async function serveWatch(r: ApiRequest, deps: HandlerDeps, ns: string | undefined): Promise<void> {
  const t = r.type;
  const labels = labelSelectorParam(r.query);
  const fields = fieldSelectorParam(t, r.query);
  const timeoutSeconds = intParam(r.query, 'timeoutSeconds', 0, 24 * 3600) || deps.watch.defaultTimeoutSeconds;
  const bookmarks = boolParam(r.query, 'allowWatchBookmarks');
  const table = negotiate(r.req.headers.accept) === 'table';
  const include = table ? includeObjectParam(r.query.get('includeObject')) : 'Object';
  const rv = r.query.get('resourceVersion') ?? undefined;

  const abort = new AbortController();
  const stop = () => abort.abort();
  r.req.on('close', stop);
  r.res.on('close', stop);
  const timer = setTimeout(stop, timeoutSeconds * 1000);
  const cache = deps.caches.for(refOf(t));
  let events: AsyncIterable<WatchEvent>;
  try {
    events = await cache.watch({ resourceVersion: rv, filter: objectFilter(t, ns, labels, fields, r.visible), signal: abort.signal });
  } catch (err) {
    clearTimeout(timer);
    throw err;
  }
  r.res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  r.res.flushHeaders();
  let lastRv = rv && rv !== '0' ? rv : String(cache.revision);
  const bookmarkTimer = bookmarks
    ? setInterval(() => {
        if ((events as { sub?: unknown }).sub) cache.bookmark(events);
        else write({ type: 'BOOKMARK', object: { kind: t.kind, apiVersion: t.group ? `${t.group}/${t.version}` : t.version, metadata: { resourceVersion: lastRv } } as KubeObject });
      }, deps.watch.bookmarkIntervalMs)
    : undefined;
  let first = true;
  const write = (ev: WatchEvent): void => {
    if (abort.signal.aborted) return;
    let object: unknown = ev.object;
    if (ev.type === 'BOOKMARK') {
      object = { kind: t.kind, apiVersion: t.group ? `${t.group}/${t.version}` : t.version, metadata: { resourceVersion: ev.object.metadata.resourceVersion } };
    } else {
      lastRv = ev.object.metadata.resourceVersion ?? lastRv;
      if (table) {
        object = toTable(t, [ev.object], include, { resourceVersion: ev.object.metadata.resourceVersion }, first);
        first = false;
      }
    }
    r.res.write(`{"type":${JSON.stringify(ev.type)},"object":${object === ev.object ? jsonOf(ev.object) : JSON.stringify(object)}}\n`);
    if (r.res.writableLength > deps.watch.maxBufferedBytes) stop();
  };
  try {
    for await (const ev of events) {
      if (abort.signal.aborted) break;
      write(ev);
    }
  } catch (err) {
    if (!abort.signal.aborted) {
      const status = statusOf(err);
      r.res.write(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
    }
  } finally {
    clearTimeout(timer);
    if (bookmarkTimer) clearInterval(bookmarkTimer);
    r.req.off('close', stop);
    abort.abort();
    if (!r.res.writableEnded && !r.res.destroyed) r.res.end();
  }
}
