/**
 * The messages between UnpackPool (main thread) and its unpack threads, and how errors cross between
 * them (a NubisError keeps its code and message; a system error its errno code).
 */
import { errno, messageOf, NubisError, type ErrorCode } from '../lib/errors.js';
import type { UnpackResult } from './unpack.js';

/** An error as it crosses threads. */
export interface WireError {
  message: string;
  /** A NubisError's code. */
  nubis?: ErrorCode;
  /** A system error's code (ENOSPC, ...). */
  errno?: string;
  name?: string;
}

export interface WireGrowth {
  written: number;
  finished: boolean;
  error?: WireError;
}

export type ToThread =
  | {
      t: 'job';
      id: number;
      path: string;
      fallback?: string;
      verify?: string;
      growth?: WireGrowth;
      mediaType: string;
      root: string;
      diffID?: string;
    }
  | ({ t: 'grow'; id: number } & WireGrowth)
  | { t: 'abort'; id: number }
  | { t: 'host-reply'; call: number; value?: unknown; error?: WireError };

/** The Host methods an unpack may call, answered on the main thread. */
export const HOST_METHODS = ['run', 'mknod', 'setXattr'] as const;
export type HostMethod = (typeof HOST_METHODS)[number];

export type FromThread =
  | { t: 'host'; id: number; call: number; method: HostMethod; args: unknown[] }
  | { t: 'done'; id: number; result: UnpackResult }
  | { t: 'fail'; id: number; error: WireError };

export function toWire(err: unknown): WireError {
  if (err instanceof NubisError) return { message: err.message, nubis: err.code };
  const code = errno(err);
  const name = err instanceof Error ? err.name : undefined;
  return { message: messageOf(err), ...(code ? { errno: code } : {}), ...(name ? { name } : {}) };
}

export function fromWire(w: WireError): Error {
  if (w.nubis) return new NubisError(w.nubis, w.message);
  const err = new Error(w.message) as Error & { code?: string };
  if (w.errno) err.code = w.errno;
  if (w.name) err.name = w.name;
  return err;
}
