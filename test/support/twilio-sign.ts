import { createHmac } from 'node:crypto';

/**
 * Twilio's webhook request signing, written from Twilio's documented algorithm
 * ("Validating requests are coming from Twilio") and kept independent of the
 * handlers' own verifier so that a test signs as Twilio does, not as we do.
 *
 * The string signed is the full URL Twilio requested (query string included),
 * followed by every POST parameter sorted by name, each as name then value,
 * without delimiters. A name sent more than once is signed as Twilio's own
 * validators (twilio-node, twilio-python) compute it: its distinct values,
 * sorted, each preceded by the name. Sorting is by UTF-16 code unit, which for
 * the ASCII names Twilio sends is the "Unix-style case-sensitive" order the
 * documentation asks for.
 */
export type TwilioParams = ReadonlyArray<readonly [string, string]>;

/** X-Twilio-Webhooks-Signature-Settings algorithm names. */
export type TwilioSignatureAlgorithm = 'HMAC_SHA1' | 'HMAC_SHA256';

/** The exact text Twilio feeds to the HMAC for `url` and `params`. */
export function twilioSignedText(url: string, params: TwilioParams): string {
  const byName = new Map<string, string[]>();
  for (const [name, value] of params) {
    const values = byName.get(name) ?? [];
    if (!values.includes(value)) values.push(value);
    byName.set(name, values);
  }
  let text = url;
  for (const name of [...byName.keys()].sort()) {
    for (const value of byName.get(name)!.sort()) text += name + value;
  }
  return text;
}

/**
 * The X-Twilio-Signature value: base64 HMAC-SHA1 keyed with the account's
 * primary auth token, or HMAC-SHA256 keyed with a webhook signing key's secret
 * when the request carries `X-Twilio-Webhooks-Signature-Settings: key=…,algorithm=HMAC_SHA256`.
 */
export function signTwilioRequest(
  authTokenOrKeySecret: string,
  url: string,
  params: TwilioParams,
  algorithm: TwilioSignatureAlgorithm = 'HMAC_SHA1',
): string {
  const hash = algorithm === 'HMAC_SHA256' ? 'sha256' : 'sha1';
  return createHmac(hash, authTokenOrKeySecret).update(Buffer.from(twilioSignedText(url, params), 'utf8')).digest('base64');
}

/** The HMAC-SHA256 variant, for webhooks signed with a webhook signing key. */
export function signTwilioRequestSha256(keySecret: string, url: string, params: TwilioParams): string {
  return signTwilioRequest(keySecret, url, params, 'HMAC_SHA256');
}

/** A form body (application/x-www-form-urlencoded) as Twilio posts it, repeated names kept. */
export function twilioFormBody(params: TwilioParams): string {
  const form = new URLSearchParams();
  for (const [name, value] of params) form.append(name, value);
  return form.toString();
}

/**
 * A webhook signing key (a Twilio SharedKey) as a Webhook Setting uses it. Twilio
 * then signs with the key's secret and the setting's algorithm, and names both in
 * `X-Twilio-Webhooks-Signature-Settings: key=<id>,algorithm=<algorithm>`.
 */
export interface TwilioSigningKey {
  readonly id: string;
  readonly secret: string;
  /** Default HMAC_SHA256. */
  readonly algorithm?: TwilioSignatureAlgorithm;
  /** Leave `algorithm=` out of the settings header (Twilio's validators then read HMAC_SHA1). Default false. */
  readonly omitAlgorithm?: boolean;
}

/** The settings header Twilio sends for `key`. */
export function twilioSignatureSettings(key: TwilioSigningKey): string {
  return key.omitAlgorithm ? `key=${key.id}` : `key=${key.id},algorithm=${key.algorithm ?? 'HMAC_SHA256'}`;
}

/**
 * The headers Twilio sends with a signed webhook. With `signingKey`, the
 * request is signed with that key (HMAC-SHA256 unless it says otherwise) and
 * names the key in the settings header.
 */
export function twilioWebhookHeaders(
  authToken: string,
  url: string,
  params: TwilioParams,
  signingKey?: TwilioSigningKey,
): Record<string, string> {
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' };
  if (signingKey) {
    const algorithm = signingKey.omitAlgorithm ? 'HMAC_SHA1' : (signingKey.algorithm ?? 'HMAC_SHA256');
    headers['X-Twilio-Signature'] = signTwilioRequest(signingKey.secret, url, params, algorithm);
    headers['X-Twilio-Webhooks-Signature-Settings'] = twilioSignatureSettings(signingKey);
  } else {
    headers['X-Twilio-Signature'] = signTwilioRequest(authToken, url, params);
  }
  return headers;
}

/** Twilio's published example (issue 4): token `12345`, this URL and these params sign to `signature`. */
export const KNOWN_ANSWER = {
  token: '12345',
  url: 'https://mycompany.com/myapp.php?foo=1&bar=2',
  params: [
    ['CallSid', 'CA1234567890ABCDE'],
    ['Caller', '+14158675309'],
    ['Digits', '1234'],
    ['From', '+14158675309'],
    ['To', '+18005551212'],
  ] as Array<[string, string]>,
  signature: 'RSOYDt4T1cUTdK1PDd93/VVr8B8=',
} as const;

/** The validator Twilio ships, loaded on its own (not the whole SDK): the reference both signers are checked against. */
export function twilioReferenceValidator(): {
  validateRequest(token: string, signature: string, url: string, params: Record<string, string | string[]>, algorithm?: string): boolean;
  /** The algorithm a settings header names (HMAC_SHA1 when it names none). */
  getSignatureAlgorithm(settings: string | undefined): string;
} {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('twilio/lib/webhooks/webhooks');
}
