import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { ENV } from '../../lib/contract';

/** The credentials secret's JSON (DESIGN.md, "Credentials secret"). */
export interface TwilioCredentials {
  readonly accountSid: string;
  /** The account's primary auth token: Twilio signs webhooks with it. */
  readonly authToken: string;
  readonly apiKeySid?: string;
  readonly apiKeySecret?: string;
  /**
   * Webhook signing keys by key id, for requests carrying
   * `X-Twilio-Webhooks-Signature-Settings: key=<id>,algorithm=HMAC_SHA256`.
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
    ...(hasKeySid ? { apiKeySid: s.apiKeySid as string, apiKeySecret: s.apiKeySecret as string } : {}),
    ...(webhookSigningKeys ? { webhookSigningKeys } : {}),
  };
}

/**
 * The Twilio credentials, read from TWILIO_SECRET_ARN and cached for
 * SECRET_CACHE_TTL_SECONDS (default 300) so that a rotation takes effect.
 *
 * @throws ConfigurationError when the secret is unusable (placeholder, not JSON,
 *   a field missing); any other error (Secrets Manager unreachable) is transient.
 */
export async function getCredentials(now: number = Date.now()): Promise<TwilioCredentials> {
  if (cached && now < cached.until) return cached.value;
  if (cachedError && now < cachedError.until) throw configurationError(cachedError.error);
  const arn = SECRET_ARN;
  if (!arn) throw configurationError(`${ENV.TWILIO_SECRET_ARN} is not set`);
  // maxAge 0: our own cache (above) decides when to read again, including after errors.
  const text = await provider.get(arn, { maxAge: 0, forceFetch: true });
  let value: TwilioCredentials;
  try {
    value = parseCredentials(typeof text === 'string' ? text : undefined);
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

/** Forgets the cached credentials (tests; a handler that saw Twilio reject them with 20003). */
export function forgetCredentials(): void {
  cached = undefined;
  cachedError = undefined;
}
