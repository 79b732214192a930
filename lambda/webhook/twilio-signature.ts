import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FormParams } from './webhook-request';

/**
 * Verifies X-Twilio-Signature: the base64 HMAC of the public URL followed by
 * the POST parameters sorted by name, each as name then value.
 *
 * Which secret signed it follows Twilio's own validator (twilio-node's
 * `webhook()` middleware and `getSignatureAlgorithm`):
 * - no X-Twilio-Webhooks-Signature-Settings header (or an empty one): the
 *   account's primary auth token, HMAC-SHA1. During a rotation that is either
 *   `authToken` or `previousAuthToken`, so both are tried;
 * - the header present: the webhook signing key it names (`key=<id>`), with the
 *   algorithm it names (`algorithm=HMAC_SHA1` or `HMAC_SHA256`, any case),
 *   HMAC-SHA1 when it names none. An unknown key or algorithm fails.
 *
 * The URL is the configured one, never rebuilt from Host or X-Forwarded-*
 * headers: those are the caller's to choose, and custom domains or stage
 * paths make them differ from what Twilio signed anyway.
 */

/** The secrets a webhook may be signed with (a subset of the Twilio credentials). */
export interface SigningSecrets {
  readonly authToken: string;
  readonly previousAuthToken?: string;
  readonly webhookSigningKeys?: Readonly<Record<string, string>>;
}

export interface SignedRequest {
  /** The X-Twilio-Signature header; absent fails. */
  readonly signature: string | undefined;
  /** The X-Twilio-Webhooks-Signature-Settings header, when sent. */
  readonly settings: string | undefined;
  /** The URL Twilio was configured to call (STATUS_CALLBACK_URL / INBOUND_URL). */
  readonly url: string;
  readonly params: FormParams;
}

type Hash = 'sha1' | 'sha256';

/** Which secrets can have signed the request, as its settings header says. */
type SigningScheme =
  | { readonly kind: 'auth-token' }
  | { readonly kind: 'signing-key'; readonly keyId: string | undefined; readonly hash: Hash }
  | { readonly kind: 'unsupported' };

/**
 * A request ready to be checked against any number of credentials: the text
 * Twilio signed is built once per request, whatever the number of URL
 * variants and tokens it is checked with.
 */
export interface PreparedSignature {
  readonly received: Buffer | undefined;
  readonly scheme: SigningScheme;
  readonly urls: readonly string[];
  /** Everything Twilio signs after the URL: the sorted names and values. */
  readonly paramsText: string;
}

export function prepareSignature(request: SignedRequest): PreparedSignature {
  return {
    received: request.signature ? Buffer.from(request.signature, 'utf8') : undefined,
    scheme: signingScheme(request.settings),
    urls: urlVariants(request.url),
    paramsText: signedParams(request.params),
  };
}

/**
 * False when no credentials could ever verify the request (no signature, an
 * algorithm we do not know, a settings header naming no key), so re-reading
 * the secret for it is pointless.
 */
export function newerSecretsCouldVerify(prepared: PreparedSignature): boolean {
  const { scheme } = prepared;
  return prepared.received !== undefined && scheme.kind !== 'unsupported' && !(scheme.kind === 'signing-key' && scheme.keyId === undefined);
}

/** True when one of `secrets` signed the prepared request for one of its URL variants. */
export function verifyPreparedSignature(prepared: PreparedSignature, secrets: SigningSecrets): boolean {
  const { received } = prepared;
  if (!received) return false;
  let valid = false;
  // Every candidate is computed and compared, so the time taken does not say which one matched.
  for (const { secret, hash } of candidateKeys(prepared.scheme, secrets)) {
    for (const url of prepared.urls) {
      const expected = Buffer.from(createHmac(hash, secret).update(url, 'utf8').update(prepared.paramsText, 'utf8').digest('base64'), 'utf8');
      // Lengths are fixed by the algorithm, not secret; timingSafeEqual needs them equal.
      if (expected.length === received.length && timingSafeEqual(expected, received)) valid = true;
    }
  }
  return valid;
}

/** True when the request carries a valid Twilio signature for the configured URL. */
export function verifyTwilioSignature(request: SignedRequest & SigningSecrets): boolean {
  return verifyPreparedSignature(prepareSignature(request), request);
}

/**
 * The parameters as Twilio appends them to the URL. A repeated name is signed
 * as Twilio's validators sign lists: each distinct value once, values sorted.
 */
export function signedParams(params: FormParams): string {
  const byName = new Map<string, Set<string>>();
  for (const [name, value] of params) {
    const values = byName.get(name);
    if (values) values.add(value);
    else byName.set(name, new Set([value]));
  }
  const parts: string[] = [];
  for (const name of [...byName.keys()].sort()) {
    for (const value of [...byName.get(name)!].sort()) parts.push(name, value);
  }
  return parts.join('');
}

/**
 * The URL as configured and with the scheme's default port toggled: Twilio's
 * validator accepts both, because what Twilio signs depends on how the URL was
 * written where it was configured.
 */
export function urlVariants(url: string): string[] {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*@)?(\[[^\]]*\]|[^/?#:]*)(:\d*)?(.*)$/is.exec(url);
  if (!m) return [url];
  const [, scheme, userInfo = '', host, port, rest] = m;
  const defaultPort = scheme.toLowerCase() === 'https://' ? ':443' : scheme.toLowerCase() === 'http://' ? ':80' : undefined;
  const withoutPort = scheme + userInfo + host + rest;
  if (port === undefined) return defaultPort ? [url, scheme + userInfo + host + defaultPort + rest] : [url];
  return port === defaultPort ? [url, withoutPort] : [url];
}

/** The first non-empty value of `name` in a `name=value,name=value` header, names compared as twilio-node compares them. */
function settingsField(settings: string, name: string): string | undefined {
  for (const part of settings.split(',')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      if (value) return value;
    }
  }
  return undefined;
}

function signingScheme(settings: string | undefined): SigningScheme {
  // twilio-node tests the header for truthiness: absent or empty means the auth token.
  if (!settings) return { kind: 'auth-token' };
  const algorithm = (settingsField(settings, 'algorithm') ?? 'HMAC_SHA1').toUpperCase();
  const hash = algorithm === 'HMAC_SHA1' ? 'sha1' : algorithm === 'HMAC_SHA256' ? 'sha256' : undefined;
  if (!hash) return { kind: 'unsupported' };
  return { kind: 'signing-key', keyId: settingsField(settings, 'key'), hash };
}

function candidateKeys(scheme: SigningScheme, secrets: SigningSecrets): Array<{ secret: string; hash: Hash }> {
  if (scheme.kind === 'auth-token') {
    const tokens = [secrets.authToken];
    if (secrets.previousAuthToken && secrets.previousAuthToken !== secrets.authToken) tokens.push(secrets.previousAuthToken);
    return tokens.map((secret) => ({ secret, hash: 'sha1' }));
  }
  if (scheme.kind === 'unsupported' || scheme.keyId === undefined) return [];
  const keys = secrets.webhookSigningKeys ?? {};
  const secret = Object.prototype.hasOwnProperty.call(keys, scheme.keyId) ? keys[scheme.keyId] : undefined;
  return secret ? [{ secret, hash: scheme.hash }] : [];
}
