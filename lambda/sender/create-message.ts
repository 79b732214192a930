import type { TwilioCredentials } from '../shared/credentials';
import { authorizationHeader, exchange, MIN_ATTEMPT_MS, noTimeLeft, parseJson, TwilioMessage } from '../shared/twilio-client';
import { classifyHttpError, TwilioApiError } from '../shared/twilio-errors';

/*
 * The sender's create path: one POST to Messages.json, and the retries of its
 * transient failures (Twilio's API has no idempotency key: a 5xx is looked
 * up before any second POST). The transport is lambda/shared/twilio-client.ts.
 */

/**
 * POST Messages.json once. `params` keep their order and repeated names
 * (one MediaUrl per URL). Rejects with TwilioApiError.
 */
export async function createMessage(credentials: TwilioCredentials, params: ReadonlyArray<readonly [string, string]>, deadline: number): Promise<TwilioMessage> {
  const body = new URLSearchParams(params as Array<[string, string]>).toString();
  const res = await exchange('POST', `/2010-04-01/Accounts/${credentials.accountSid}/Messages.json`, authorizationHeader(credentials), body, deadline);
  if (res.status === 201 || res.status === 200) {
    // A 2xx whose body we cannot read still created a message we cannot name.
    return parseJson<TwilioMessage>(res);
  }
  throw classifyHttpError(res.status, res.body);
}

/**
 * How long after a 5xx the message log is first asked whether the request
 * created a message. A 502/504 comes from Twilio's edge, whose backend may
 * still be creating the message: a lookup a moment later can miss it, and
 * the POST that follows would be a second SMS. A few seconds covers the
 * backend's work behind an edge timeout; an invocation without that time
 * leaves the question to the next delivery (which looks up before any POST).
 */
export const POST_5XX_SETTLE_MS = 3_000;

export interface RetryOptions {
  /** Epoch ms by which every attempt, and the answer, must be over. */
  readonly deadline: number;
  /** Called before each retry (metrics, logs). */
  readonly onRetry?: (error: TwilioApiError, attempt: number, delayMs: number) => void;
  /**
   * Called before a POST that would follow an answer which may hide a created
   * message (a 5xx): the message it finds is the result, and nothing is sent
   * again. When it throws (Twilio cannot be asked), no second POST is made:
   * the 5xx is rethrown and the caller leaves the question to a later lookup;
   * refused credentials (20003) are rethrown as such, for the caller to re-read
   * them and look up again.
   */
  readonly lookUpBeforeRepost?: () => Promise<TwilioMessage | undefined>;
  /** Backoff base and cap (ms). Full jitter: each wait is uniform in [0, min(cap, base × 2^attempt)]. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
}

export interface CreateResult {
  readonly message: TwilioMessage;
  /** Attempts made, the successful one included. */
  readonly attempts: number;
  /** The message was found by `lookUpBeforeRepost`, not answered by a POST. */
  readonly foundByLookup: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * createMessage with retries of the transient failures (429, 5xx, 21611,
 * connection failures before the request was written) while time remains
 * before the deadline; after a 5xx, `lookUpBeforeRepost` first, once the
 * message had POST_5XX_SETTLE_MS to appear. Rejects with the last
 * TwilioApiError: `transient` when time ran out (the 5xx itself when a
 * lookup and a POST no longer fit after the settle delay), any other class at once.
 */
export async function createMessageWithRetry(credentials: TwilioCredentials, params: ReadonlyArray<readonly [string, string]>, options: RetryOptions): Promise<CreateResult> {
  const base = options.baseDelayMs ?? 100;
  const cap = options.maxDelayMs ?? 3_000;
  for (let attempt = 1; ; attempt++) {
    if (options.deadline - Date.now() < MIN_ATTEMPT_MS) throw noTimeLeft(options.deadline - Date.now());
    try {
      return { message: await createMessage(credentials, params, options.deadline), attempts: attempt, foundByLookup: false };
    } catch (err) {
      if (!(err instanceof TwilioApiError) || err.failureClass !== 'transient') throw err;
      const backoff = Math.floor(Math.random() * Math.min(cap, base * 2 ** (attempt - 1)));
      const lookUp = err.mayHaveCreated && options.lookUpBeforeRepost !== undefined;
      // After a 5xx: the settle delay, then a lookup and a POST must all fit; else the caller leaves it to a later lookup.
      const delay = lookUp ? Math.max(backoff, POST_5XX_SETTLE_MS) : backoff;
      if (options.deadline - Date.now() - delay < (lookUp ? 2 : 1) * MIN_ATTEMPT_MS) throw err;
      options.onRetry?.(err, attempt, delay);
      await sleep(delay);
      if (lookUp && options.lookUpBeforeRepost) {
        let found: TwilioMessage | undefined;
        try {
          found = await options.lookUpBeforeRepost();
        } catch (lookupErr) {
          // Refused credentials: the caller re-reads them and looks up again before any POST.
          if (lookupErr instanceof TwilioApiError && lookupErr.isAuthentication) throw lookupErr;
          throw err;
        }
        if (found) return { message: found, attempts: attempt, foundByLookup: true };
      }
    }
  }
}

