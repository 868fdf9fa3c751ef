/**
 * metav1.Status for every error the API server returns, and the one place where Nubis error codes
 * become HTTP status codes.
 */
import { isNubisError, messageOf, type ErrorCode } from '../lib/errors.js';
import { isExpired } from '../store/object-store.js';

/** A field error in Kubernetes' words (details.causes[]). */
export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** metav1.Status. */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'Invalid'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout';

const CODES: Record<StatusReason, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  Expired: 410,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  Invalid: 422,
  TooManyRequests: 429,
  InternalError: 500,
  ServiceUnavailable: 503,
  Timeout: 504,
};

/** An error that already knows its Status: thrown inside apiserver/ for protocol-level failures. */
export class ApiError extends Error {
  constructor(
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = `ApiError(${reason})`;
  }

  get code(): number {
    return CODES[this.reason];
  }
}

export const badRequest = (msg: string, cause?: unknown) => new ApiError('BadRequest', msg, undefined, { cause });

const REASON_OF: Record<ErrorCode, StatusReason> = {
  NotFound: 'NotFound',
  AlreadyExists: 'AlreadyExists',
  Conflict: 'Conflict',
  Invalid: 'Invalid',
  Forbidden: 'Forbidden',
  Unauthorized: 'Unauthorized',
  Unavailable: 'ServiceUnavailable',
  Timeout: 'Timeout',
  Internal: 'InternalError',
};

/** Builds a failure Status. */
export function failure(reason: StatusReason, message: string, details?: StatusDetails): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code: CODES[reason] };
  if (details && Object.keys(details).length > 0) s.details = details;
  return s;
}

/** The Status for anything thrown while serving a request. */
export function statusOf(err: unknown, details?: StatusDetails): Status {
  if (err instanceof ApiError) return failure(err.reason, err.message, { ...details, ...err.details });
  if (isExpired(err)) return failure('Expired', err.message, details);
  if (isNubisError(err)) {
    const fromErr = (err as { details?: StatusDetails }).details;
    return failure(REASON_OF[err.code], err.message, { ...details, ...fromErr });
  }
  return failure('InternalError', `internal error: ${messageOf(err)}`, details);
}

/** The Status a successful delete of a non-object (deletecollection, etc.) answers with. */
export function success(details?: StatusDetails): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200, ...(details ? { details } : {}) };
}
