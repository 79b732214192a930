import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { ENV } from '../../lib/contract';

/** The credentials secret's JSON (ARCHITECTURE.md, "Credentials secret"). */
export interface TwilioCredentials {
  readonly accountSid: string;
  /** The account's primary auth token: Twilio signs webhooks with it. */
  readonly authToken: string;
  /**
   * The token being rotated out. Webhooks verify against it too, so Twilio's
   * signatures stay valid on both sides of the promotion in the Console.
   */
  readonly previousAuthToken?: string;
  readonly apiKeySid?: string;
  readonly apiKeySecret?: string;
  /**
   * Webhook signing keys by key id, for requests carrying
   * `X-Twilio-Webhooks-Signature-Settings: key=<id>` with `algorithm=HMAC_SHA256`
   * or `algorithm=HMAC_SHA1` (no algorithm means HMAC_SHA1).
   */
  readonly webhookSigningKeys?: Readonly<Record<string, string>>;
}

/**
 * The secret cannot be used: still the construct's placeholder, not JSON, or a
 * field is missing. Not retryable by the handler; an operator must fill in the
 * secret. `firstInProcess` is true the first time a given reason is seen in
 * this process, so a handler logs it once per cold start, not once per record.
 */
export class ConfigurationError extends Error {
  readonly name = 'ConfigurationError';
  constructor(
    message: string,
    readonly firstInProcess: boolean,
  ) {
    super(message);
  }
}

const DEFAULT_TTL_SECONDS = 300;
/** A broken secret is re-read sooner than a good one, so a fix takes effect quickly. */
const CONFIGURATION_ERROR_RETRY_MS = 30_000;

const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
const API_KEY_SID = /^SK[0-9a-fA-F]{32}$/;

const client = new SecretsManagerClient({});
const provider = new SecretsProvider({ awsSdkV3Client: client });
const reported = new Set<string>();

let cached: { value: TwilioCredentials; until: number } | undefined;
let cachedError: { error: string; until: number } | undefined;

// Resolved once per execution environment: the construct sets them at deploy time.
const SECRET_ARN = process.env[ENV.TWILIO_SECRET_ARN];
const TTL_MS = (() => {
  const raw = Number(process.env[ENV.SECRET_CACHE_TTL_SECONDS]);
  return (Number.isFinite(raw) && raw >= 0 ? raw : DEFAULT_TTL_SECONDS) * 1000;
})();

function configurationError(reason: string): ConfigurationError {
  const first = !reported.has(reason);
  reported.add(reason);
  return new ConfigurationError(reason, first);
}

/**
 * Validates the secret's text. The messages name the field at fault and what to
 * do, never a value: they are logged.
 */
export function parseCredentials(text: string | undefined): TwilioCredentials {
  let json: unknown;
  try {
    json = JSON.parse(text ?? '');
  } catch {
    throw new Error('the Twilio credentials secret is not JSON: put-secret-value with {"accountSid","authToken"}');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error('the Twilio credentials secret is not a JSON object');
  }
  const s = json as Record<string, unknown>;
  if ('placeholder' in s) {
    throw new Error('the Twilio credentials secret still holds the construct\'s placeholder: put-secret-value with {"accountSid","authToken"}');
  }
  if (typeof s.accountSid !== 'string' || !ACCOUNT_SID.test(s.accountSid)) {
    throw new Error('the Twilio credentials secret has no valid "accountSid" (AC followed by 32 hex digits)');
  }
  if (typeof s.authToken !== 'string' || s.authToken.length === 0) {
    throw new Error('the Twilio credentials secret has no "authToken" (needed to verify webhook signatures)');
  }
  const hasKeySid = s.apiKeySid !== undefined;
  const hasKeySecret = s.apiKeySecret !== undefined;
  if (hasKeySid !== hasKeySecret) {
    throw new Error('the Twilio credentials secret must hold both "apiKeySid" and "apiKeySecret", or neither');
  }
  if (hasKeySid && (typeof s.apiKeySid !== 'string' || !API_KEY_SID.test(s.apiKeySid))) {
    throw new Error('the Twilio credentials secret has an invalid "apiKeySid" (SK followed by 32 hex digits)');
  }
  if (hasKeySecret && (typeof s.apiKeySecret !== 'string' || s.apiKeySecret.length === 0)) {
    throw new Error('the Twilio credentials secret has an empty "apiKeySecret"');
  }
  if (s.previousAuthToken !== undefined && (typeof s.previousAuthToken !== 'string' || s.previousAuthToken.length === 0)) {
    throw new Error('the Twilio credentials secret has an empty "previousAuthToken": drop the field once the new token is promoted');
  }
  let webhookSigningKeys: Record<string, string> | undefined;
  if (s.webhookSigningKeys !== undefined) {
    const keys = s.webhookSigningKeys;
    if (typeof keys !== 'object' || keys === null || Array.isArray(keys) || !Object.values(keys).every((v) => typeof v === 'string' && v.length > 0)) {
      throw new Error('the Twilio credentials secret\'s "webhookSigningKeys" must be an object of key id to non-empty key secret');
    }
    webhookSigningKeys = { ...(keys as Record<string, string>) };
  }
  return {
    accountSid: s.accountSid,
    authToken: s.authToken,
    ...(typeof s.previousAuthToken === 'string' ? { previousAuthToken: s.previousAuthToken } : {}),
    ...(hasKeySid ? { apiKeySid: s.apiKeySid as string, apiKeySecret: s.apiKeySecret as string } : {}),
    ...(webhookSigningKeys ? { webhookSigningKeys } : {}),
  };
}

/**
 * The Twilio credentials, read from TWILIO_SECRET_ARN and cached for
 * SECRET_CACHE_TTL_SECONDS (default 300) so that a rotation takes effect.
 * This module is their only owner: callers take them per request and hand
 * back the ones Twilio refused (`refreshAfterRejection`).
 *
 * When the cache has expired and Secrets Manager cannot be reached, the
 * last good credentials are served (and the read tried again after
 * FORCED_REFRESH_INTERVAL_MS): an outage of Secrets Manager is no reason to
 * stop paging with credentials that work.
 *
 * @throws ConfigurationError when the secret is unusable (placeholder, not JSON,
 *   a field missing); any other error (Secrets Manager unreachable, no
 *   credentials ever read) is transient.
 */
export async function getCredentials(now: number = Date.now()): Promise<TwilioCredentials> {
  if (cached && now < cached.until) return cached.value;
  if (cachedError && now < cachedError.until) throw configurationError(cachedError.error);
  let text: string | undefined;
  try {
    text = await readSecret();
  } catch (err) {
    if (err instanceof ConfigurationError || !cached) throw err;
    cached = { value: cached.value, until: now + FORCED_REFRESH_INTERVAL_MS };
    return cached.value;
  }
  let value: TwilioCredentials;
  try {
    value = parseCredentials(text);
  } catch (err) {
    const reason = (err as Error).message;
    cachedError = { error: reason, until: now + Math.min(CONFIGURATION_ERROR_RETRY_MS, TTL_MS) };
    cached = undefined;
    throw configurationError(reason);
  }
  cached = { value, until: now + TTL_MS };
  cachedError = undefined;
  return value;
}

/**
 * Forced re-reads are this far apart at least, per execution environment and
 * whoever asks: a forged webhook or a burst of refused requests costs one
 * Secrets Manager call per interval, not one each.
 */
export const FORCED_REFRESH_INTERVAL_MS = 5_000;
let lastForcedRead = Number.NEGATIVE_INFINITY;
let forcedRead: Promise<TwilioCredentials> | undefined;

/**
 * Twilio refused `rejected` (a 20003 on a REST call, or a webhook signature
 * that none of its tokens verifies): the credentials to try instead, or
 * undefined when there are none newer.
 *
 * - When the cache already holds other credentials (someone refreshed since
 *   `rejected` was taken), those are answered without a read.
 * - Otherwise the secret is re-read, at most once per
 *   FORCED_REFRESH_INTERVAL_MS; concurrent callers share that one read.
 * - A read that fails, or finds the secret unusable, never discards the
 *   cached credentials: it throws (a ConfigurationError for an unusable
 *   secret), and the cache stays as it was.
 */
export async function refreshAfterRejection(rejected: TwilioCredentials, now: number = Date.now()): Promise<TwilioCredentials | undefined> {
  if (cached && !sameSecret(cached.value, rejected)) return cached.value;
  if (!forcedRead) {
    if (now - lastForcedRead < FORCED_REFRESH_INTERVAL_MS) return undefined;
    lastForcedRead = now;
    forcedRead = forceRead(now).finally(() => {
      forcedRead = undefined;
    });
  }
  const fresh = await forcedRead;
  return sameSecret(fresh, rejected) ? undefined : fresh;
}

async function forceRead(now: number): Promise<TwilioCredentials> {
  const text = await readSecret();
  let value: TwilioCredentials;
  try {
    value = parseCredentials(text);
  } catch (err) {
    throw configurationError((err as Error).message);
  }
  if (!cached || !sameSecret(cached.value, value)) cached = { value, until: now + TTL_MS };
  cachedError = undefined;
  return cached.value;
}

async function readSecret(): Promise<string | undefined> {
  const arn = SECRET_ARN;
  if (!arn) throw configurationError(`${ENV.TWILIO_SECRET_ARN} is not set`);
  // maxAge 0: this module's cache decides when to read again, including after errors.
  const text = await provider.get(arn, { maxAge: 0, forceFetch: true });
  return typeof text === 'string' ? text : undefined;
}

function sameSecret(a: TwilioCredentials, b: TwilioCredentials): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Forgets the cached credentials and the forced-read allowance (tests). */
export function forgetCredentials(): void {
  cached = undefined;
  cachedError = undefined;
  lastForcedRead = Number.NEGATIVE_INFINITY;
}
