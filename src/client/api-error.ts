/**
 * The server's metav1.Status answers turned back into NubisErrors, so callers of client/ handle the same
 * closed set of codes as everywhere else. The Status reason and causes stay on the error.
 */
import { NubisError, type ErrorCode } from '../lib/errors.js';

/** One entry of Status.details.causes (a field error of a 422, a server-side apply conflict). */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** metav1.Status as the server sends it. */
export interface ApiStatus {
  kind?: 'Status';
  apiVersion?: string;
  status?: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[]; retryAfterSeconds?: number };
}

/**
 * An error answer of the API server. `reason` is the Status reason (NotFound, AlreadyExists, Conflict,
 * Expired, Invalid...), `httpStatus` its code; `causes` keeps the field errors of a 422.
 * A 410 (Expired/Gone: a resourceVersion already compacted) is a Conflict told apart by `reason`, as the
 * store's ExpiredError is; `isGone` checks for it.
 */
export class ApiStatusError extends NubisError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly httpStatus: number,
    readonly reason: string,
    readonly causes: StatusCause[] = [],
    readonly status?: ApiStatus,
  ) {
    super(code, message);
  }
}

function codeFor(httpStatus: number, reason: string): ErrorCode {
  switch (httpStatus) {
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 409:
      return reason === 'AlreadyExists' ? 'AlreadyExists' : 'Conflict';
    case 410:
      return 'Conflict';
    case 429:
    case 502:
    case 503:
      return 'Unavailable';
    case 504:
      return 'Timeout';
    default:
      return httpStatus >= 400 && httpStatus < 500 ? 'Invalid' : 'Internal';
  }
}

const REASON_BY_STATUS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** The error for an HTTP answer (a Status body when the server sent one, plain text otherwise). */
export function errorFromResponse(httpStatus: number, body: string): ApiStatusError {
  let status: ApiStatus | undefined;
  try {
    const parsed = JSON.parse(body) as ApiStatus;
    if (parsed && typeof parsed === 'object' && parsed.kind === 'Status') status = parsed;
  } catch {
    // not JSON: keep the text as the message
  }
  return errorFromStatus(status ?? { code: httpStatus, message: body.trim().slice(0, 500) || `the server answered ${httpStatus}` }, httpStatus);
}

/** The error for a Status (also the object of a watch ERROR event). */
export function errorFromStatus(status: ApiStatus, httpStatus = status.code ?? 500): ApiStatusError {
  const reason = status.reason ?? REASON_BY_STATUS[httpStatus] ?? 'Unknown';
  const message = status.message || `the server answered ${httpStatus} (${reason})`;
  return new ApiStatusError(codeFor(httpStatus, reason), message, httpStatus, reason, status.details?.causes ?? [], status);
}

/** Whether an error says the resourceVersion asked for is gone (410: list again). */
export function isGone(err: unknown): boolean {
  return err instanceof ApiStatusError && (err.httpStatus === 410 || err.reason === 'Expired' || err.reason === 'Gone');
}

/** The Status reason of an API error, or undefined for anything else. */
export function reasonOf(err: unknown): string | undefined {
  return err instanceof ApiStatusError ? err.reason : undefined;
}
