/** The closed set of error codes every part of Nubis speaks. HTTP statuses map from these only in apiserver/. */
export type ErrorCode =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'Forbidden'
  | 'Unauthorized'
  | 'Unavailable'
  | 'Timeout'
  | 'Internal';

/** The one error class of Nubis: a code, a one-line message for humans, and the cause when wrapping. */
export class NubisError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = `NubisError(${code})`;
  }
}

export const notFound = (msg: string, cause?: unknown) => new NubisError('NotFound', msg, { cause });
export const alreadyExists = (msg: string, cause?: unknown) => new NubisError('AlreadyExists', msg, { cause });
export const conflict = (msg: string, cause?: unknown) => new NubisError('Conflict', msg, { cause });
export const invalid = (msg: string, cause?: unknown) => new NubisError('Invalid', msg, { cause });
export const forbidden = (msg: string, cause?: unknown) => new NubisError('Forbidden', msg, { cause });
export const unavailable = (msg: string, cause?: unknown) => new NubisError('Unavailable', msg, { cause });
export const timeout = (msg: string, cause?: unknown) => new NubisError('Timeout', msg, { cause });
export const internal = (msg: string, cause?: unknown) => new NubisError('Internal', msg, { cause });

export function isNubisError(err: unknown, code?: ErrorCode): err is NubisError {
  return err instanceof NubisError && (code === undefined || err.code === code);
}

/** Node's system errors carry a string `code` such as ENOENT. */
export function errno(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The message of anything thrown, for one-line reports. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
