import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FormParams } from './webhook-request';

/**
 * Verifies X-Twilio-Signature: the base64 HMAC of the public URL followed by
 * the POST parameters sorted by name, each as name then value. Keyed with the
 * account's primary auth token (HMAC-SHA1), or with a webhook signing key
 * (HMAC-SHA256) when X-Twilio-Webhooks-Signature-Settings names one we hold.
 *
 * The URL is the configured one, never rebuilt from Host or X-Forwarded-*
 * headers: those are the caller's to choose, and custom domains or stage
 * paths make them differ from what Twilio signed anyway.
 */

export interface SignatureCheck {
  /** The X-Twilio-Signature header; absent fails. */
  readonly signature: string | undefined;
  /** The X-Twilio-Webhooks-Signature-Settings header, when sent. */
  readonly settings: string | undefined;
  /** The URL Twilio was configured to call (STATUS_CALLBACK_URL / INBOUND_URL). */
  readonly url: string;
  readonly params: FormParams;
  readonly authToken: string;
  readonly webhookSigningKeys?: Readonly<Record<string, string>>;
}

/**
 * The text Twilio signs. A repeated name is signed as Twilio's validators sign
 * lists: each distinct value once, values sorted.
 */
export function signedText(url: string, params: FormParams): string {
  const byName = new Map<string, Set<string>>();
  for (const [name, value] of params) {
    const values = byName.get(name);
    if (values) values.add(value);
    else byName.set(name, new Set([value]));
  }
  const parts = [url];
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

interface SigningKey {
  readonly secret: string;
  readonly hash: 'sha1' | 'sha256';
}

/** The key the settings header asks for, or undefined when we cannot honour it (unknown key or algorithm). */
function signingKey(check: SignatureCheck): SigningKey | undefined {
  if (check.settings === undefined || check.settings.trim() === '') return { secret: check.authToken, hash: 'sha1' };
  const fields = new Map<string, string>();
  for (const part of check.settings.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const algorithm = (fields.get('algorithm') ?? 'HMAC_SHA1').toUpperCase();
  if (algorithm === 'HMAC_SHA1') return { secret: check.authToken, hash: 'sha1' };
  if (algorithm !== 'HMAC_SHA256') return undefined;
  const keyId = fields.get('key');
  const secret = keyId !== undefined && Object.prototype.hasOwnProperty.call(check.webhookSigningKeys ?? {}, keyId) ? check.webhookSigningKeys![keyId] : undefined;
  return secret ? { secret, hash: 'sha256' } : undefined;
}

/** True when the request carries a valid Twilio signature for the configured URL. */
export function verifyTwilioSignature(check: SignatureCheck): boolean {
  if (!check.signature) return false;
  const key = signingKey(check);
  if (!key) return false;
  const received = Buffer.from(check.signature, 'utf8');
  let valid = false;
  for (const url of urlVariants(check.url)) {
    const expected = Buffer.from(createHmac(key.hash, key.secret).update(signedText(url, check.params), 'utf8').digest('base64'), 'utf8');
    // Lengths are fixed by the algorithm, not secret; timingSafeEqual needs them equal.
    if (expected.length === received.length && timingSafeEqual(expected, received)) valid = true;
  }
  return valid;
}
