/**
 * What a failed Twilio API call means for the message, decided from the HTTP
 * status, Twilio's JSON error body ({ code, message, more_info, status }) and
 * whether our request bytes had left the process.
 *
 * - `retryable`: Twilio certainly did not create the message and may accept it
 *   later (429 / 20429, 5xx, a connection that could not be made or broke
 *   before the request was written). Retried with backoff, then left to SQS.
 * - `permanent`: the request can never succeed as sent (invalid number,
 *   unsubscribed recipient, bad credentials, any other 4xx). Never retried.
 * - `unknown`: the request went out and no answer came back (timeout, reset):
 *   Twilio may have created the message. Never resent without a lookup.
 */
export type TwilioFailureKind = 'retryable' | 'permanent' | 'unknown';

export class TwilioApiError extends Error {
  readonly name = 'TwilioApiError';
  constructor(
    message: string,
    readonly kind: TwilioFailureKind,
    /** HTTP status, absent for network failures. */
    readonly httpStatus?: number,
    /** Twilio's error code (e.g. 21211), or a network error code (e.g. ECONNRESET). */
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * Error codes a Twilio 4xx carries that mean "never for this message". Any
 * other 4xx is permanent too; this list documents the ones an alerting
 * system meets (and lets tests name them).
 */
export const PERMANENT_ERROR_CODES: Readonly<Record<number, string>> = {
  20003: 'authentication failed (credentials)',
  21211: 'invalid To number',
  21408: 'region not enabled for SMS',
  21610: 'recipient unsubscribed (STOP)',
  21612: 'To not reachable from this sender',
  21614: 'To is not a mobile number',
  21617: 'body exceeds 1600 characters',
  63016: 'WhatsApp free-form outside the 24-hour window: use a template',
};

export const AUTHENTICATION_ERROR_CODE = '20003';

interface TwilioErrorBody {
  readonly code?: unknown;
  readonly message?: unknown;
}

/** Classifies a non-2xx answer. `bodyText` is the raw response body (JSON from Twilio, anything from a proxy). */
export function classifyHttpError(httpStatus: number, bodyText: string): TwilioApiError {
  let body: TwilioErrorBody = {};
  try {
    const parsed = JSON.parse(bodyText) as unknown;
    if (parsed && typeof parsed === 'object') body = parsed as TwilioErrorBody;
  } catch {
    // a load balancer's HTML error page: the HTTP status decides
  }
  const code = typeof body.code === 'number' || typeof body.code === 'string' ? String(body.code) : undefined;
  const message = typeof body.message === 'string' ? body.message : `HTTP ${httpStatus}`;
  const kind: TwilioFailureKind = httpStatus === 429 || code === '20429' || httpStatus >= 500 ? 'retryable' : 'permanent';
  return new TwilioApiError(message, kind, httpStatus, code);
}

/**
 * Classifies a network failure (refused, DNS, connect timeout, reset,
 * headers/body timeout). `requestSent` tells whether the request bytes had
 * been written to the socket: before that, nothing can have reached Twilio
 * and the call is safely retried; after, the outcome is unknown.
 */
export function classifyNetworkError(err: unknown, requestSent: boolean): TwilioApiError {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } };
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : 'NETWORK_ERROR';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const kind: TwilioFailureKind = requestSent ? 'unknown' : 'retryable';
  return new TwilioApiError(message, kind, undefined, code);
}
