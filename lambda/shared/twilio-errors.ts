/**
 * What Twilio's API answer to a create means for the message: the failure
 * classes, decided from the HTTP status, Twilio's JSON error body
 * ({ code, message, more_info, status }) and whether our request bytes had
 * left the process. One table (TWILIO_ERROR_CODES) plus the status rules in
 * `classOfAnswer`; nothing else decides.
 *
 * - `transient`: Twilio did not take the message now and may later (429 /
 *   20429, 5xx, a connection that failed before the request was written,
 *   21611). Retried with backoff, then left to SQS redelivery. A 5xx does not
 *   prove that no message was created (`mayHaveCreated`): a lookup comes first.
 * - `configuration`: the deployment or the secret is wrong (401 / 20003, 20404
 *   on the create path, 21606 / 21212 about the configured From). Records are
 *   kept for redrive, nothing is marked failed. `senderScoped`: only messages
 *   from that sender are held, the others still go.
 * - `permanent`: never for this recipient or body as sent (21211, 21610, ...).
 *   Recorded once, never retried.
 * - `unclassified`: a code this table does not know. Retried for a bounded
 *   number of receives, then recorded failed: never silently permanent.
 * - `unknown`: the request went out and no answer came: Twilio may have
 *   created the message. Never re-POSTed without a lookup.
 *
 * Delivery failures that arrive later by status callback (30001, 30003,
 * 30007, 63016, 63018, ...) are not API answers and are not in this table.
 */
export type FailureClass = 'transient' | 'configuration' | 'permanent' | 'unclassified' | 'unknown';

export interface ErrorCodeRow {
  readonly failureClass: FailureClass;
  readonly meaning: string;
  /** Configuration of one sender (From / WhatsApp From / Messaging Service): only its messages are held. */
  readonly senderScoped?: boolean;
  /** An operator can fix it: counted in ConfigurationErrors even though the message itself is recorded failed. */
  readonly countsConfigurationError?: boolean;
}

/** Twilio error codes of API answers to a create, by class. A code not here is `unclassified`. */
export const TWILIO_ERROR_CODES: Readonly<Record<string, ErrorCodeRow>> = {
  '20429': { failureClass: 'transient', meaning: 'too many requests' },
  '21611': { failureClass: 'transient', meaning: "the sender's queue of messages is full" },

  '20003': { failureClass: 'configuration', meaning: 'authentication failed (credentials)' },
  '20404': { failureClass: 'configuration', meaning: 'account not found (create path)' },
  '21606': { failureClass: 'configuration', meaning: 'the configured From cannot send to this destination', senderScoped: true },
  '21212': { failureClass: 'configuration', meaning: 'the configured From is not a valid sender', senderScoped: true },

  '21211': { failureClass: 'permanent', meaning: 'invalid To number' },
  '21408': { failureClass: 'permanent', meaning: 'the To country is not enabled for this account', countsConfigurationError: true },
  '21610': { failureClass: 'permanent', meaning: 'recipient unsubscribed (STOP)' },
  '21612': { failureClass: 'permanent', meaning: 'To not reachable from this sender' },
  '21614': { failureClass: 'permanent', meaning: 'To is not a mobile number' },
  '21617': { failureClass: 'permanent', meaning: 'body exceeds 1600 characters' },
  '21602': { failureClass: 'permanent', meaning: 'message body is required' },
  '21604': { failureClass: 'permanent', meaning: 'To is required' },
  '21620': { failureClass: 'permanent', meaning: 'invalid media URL' },
  '21623': { failureClass: 'permanent', meaning: 'too many media files' },
  '21655': { failureClass: 'permanent', meaning: 'invalid ContentSid' },
  '21656': { failureClass: 'permanent', meaning: 'invalid ContentVariables' },
};

export const AUTHENTICATION_ERROR_CODE = '20003';

export class TwilioApiError extends Error {
  readonly name = 'TwilioApiError';
  readonly failureClass: FailureClass;
  readonly senderScoped: boolean;
  readonly countsConfigurationError: boolean;
  constructor(
    message: string,
    failureClass: FailureClass,
    /** HTTP status, absent for network failures. */
    readonly httpStatus?: number,
    /** Twilio's error code (e.g. 21211), or a network error code (e.g. ECONNRESET). */
    readonly code?: string,
  ) {
    super(message);
    this.failureClass = failureClass;
    const row = code !== undefined ? TWILIO_ERROR_CODES[code] : undefined;
    this.senderScoped = row?.senderScoped === true;
    this.countsConfigurationError = row?.countsConfigurationError === true;
  }

  /** An answer Twilio's edge gives although the message may exist (5xx): look up before any second POST. */
  get mayHaveCreated(): boolean {
    return this.httpStatus !== undefined && this.httpStatus >= 500;
  }

  /** Twilio refused the credentials this request used. */
  get isAuthentication(): boolean {
    return this.code === AUTHENTICATION_ERROR_CODE || (this.httpStatus === 401 && this.code === undefined);
  }
}

/** The class of a non-2xx answer: the code's row when the table knows it, else the HTTP status decides. */
export function classOfAnswer(httpStatus: number, code: string | undefined): FailureClass {
  const row = code !== undefined ? TWILIO_ERROR_CODES[code] : undefined;
  if (row) return row.failureClass;
  if (httpStatus === 429 || httpStatus >= 500) return 'transient';
  if (httpStatus === 401) return 'configuration';
  return 'unclassified';
}

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
  return new TwilioApiError(message, classOfAnswer(httpStatus, code), httpStatus, code);
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
  return new TwilioApiError(message, requestSent ? 'unknown' : 'transient', undefined, code);
}
