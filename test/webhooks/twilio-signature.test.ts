import { randomBytes } from 'node:crypto';
import { urlVariants, verifyTwilioSignature } from '../../lambda/shared/twilio-signature';
import { KNOWN_ANSWER, signTwilioRequest, signTwilioRequestSha256, twilioReferenceValidator } from '../support/twilio-sign';

const twilio = twilioReferenceValidator();

const TOKEN = KNOWN_ANSWER.token;
const { url: KNOWN_URL, params: KNOWN_PARAMS } = KNOWN_ANSWER;

const verify = (signature: string | undefined, url: string, params: Array<[string, string]>, extra: { settings?: string; keys?: Record<string, string> } = {}) =>
  verifyTwilioSignature({ signature, settings: extra.settings, url, params, authToken: TOKEN, webhookSigningKeys: extra.keys });

test('the handler verifier accepts the known answer and rejects it for any change', () => {
  expect(verify(KNOWN_ANSWER.signature, KNOWN_URL, KNOWN_PARAMS)).toBe(true);
  expect(verify(KNOWN_ANSWER.signature, KNOWN_URL.replace('foo=1', 'foo=2'), KNOWN_PARAMS)).toBe(false);
  expect(verify(KNOWN_ANSWER.signature, KNOWN_URL, [...KNOWN_PARAMS, ['Extra', '']])).toBe(false);
  expect(verify(KNOWN_ANSWER.signature.slice(0, -1), KNOWN_URL, KNOWN_PARAMS)).toBe(false);
  expect(verify(undefined, KNOWN_URL, KNOWN_PARAMS)).toBe(false);
});

test('default-port variants: added when the URL has none, removed when it has the default, never for another port', () => {
  expect(urlVariants('https://h.example/p?q=1')).toEqual(['https://h.example/p?q=1', 'https://h.example:443/p?q=1']);
  expect(urlVariants('https://h.example:443/p')).toEqual(['https://h.example:443/p', 'https://h.example/p']);
  expect(urlVariants('http://h.example/p')).toEqual(['http://h.example/p', 'http://h.example:80/p']);
  expect(urlVariants('https://h.example:8443/p')).toEqual(['https://h.example:8443/p']);
  expect(urlVariants('https://user:pw@[::1]/p')).toEqual(['https://user:pw@[::1]/p', 'https://user:pw@[::1]:443/p']);
  // Configured with :443, a signature over the URL without it verifies, and the other way round.
  const withPort = 'https://mycompany.com:443/myapp.php?foo=1&bar=2';
  expect(verify(KNOWN_ANSWER.signature, withPort, KNOWN_PARAMS)).toBe(true);
  expect(verify(signTwilioRequest(TOKEN, withPort, KNOWN_PARAMS), KNOWN_URL, KNOWN_PARAMS)).toBe(true);
});

test('a signing-key signature needs the settings header naming a key we hold', () => {
  const keys = { k1: 'secret-1' };
  const sig = signTwilioRequestSha256('secret-1', KNOWN_URL, KNOWN_PARAMS);
  expect(verify(sig, KNOWN_URL, KNOWN_PARAMS, { settings: 'key=k1,algorithm=HMAC_SHA256', keys })).toBe(true);
  expect(verify(sig, KNOWN_URL, KNOWN_PARAMS, { settings: ' key = k1 , algorithm = hmac_sha256 ', keys })).toBe(true);
  expect(verify(sig, KNOWN_URL, KNOWN_PARAMS, { keys })).toBe(false);
  expect(verify(sig, KNOWN_URL, KNOWN_PARAMS, { settings: 'key=k2,algorithm=HMAC_SHA256', keys })).toBe(false);
  expect(verify(sig, KNOWN_URL, KNOWN_PARAMS, { settings: 'key=__proto__,algorithm=HMAC_SHA256', keys })).toBe(false);
  expect(verify(sig, KNOWN_URL, KNOWN_PARAMS, { settings: 'key=k1,algorithm=HMAC_SHA256' })).toBe(false);
  // An explicit HMAC_SHA1 setting is the auth token signature.
  expect(verify(KNOWN_ANSWER.signature, KNOWN_URL, KNOWN_PARAMS, { settings: 'algorithm=HMAC_SHA1' })).toBe(true);
});

/** A deterministic generator, so a failure names its seed. */
function generator(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
  const alphabet = ['a', 'Z', '0', ' ', '+', '&', '=', '%', 'é', '€', '🚨', '\u0000', '\n', 'Body', 'MediaUrl'];
  const text = (max: number) => Array.from({ length: Math.floor(next() * max) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
  return { next, text };
}

test('agrees with twilio\'s validateRequest over generated parameters, repeated names included', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const g = generator(seed);
    const names = Array.from({ length: 1 + Math.floor(g.next() * 4) }, (_, i) => `${g.text(3)}${i % 2 ? 'X' : 'a'}`);
    const params: Array<[string, string]> = Array.from({ length: Math.floor(g.next() * 8) }, () => [names[Math.floor(g.next() * names.length)], g.text(6)]);
    const validatorParams: Record<string, string | string[]> = {};
    for (const [k, v] of params) {
      const prev = validatorParams[k];
      validatorParams[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const url = `https://h.example/p?s=${seed}`;
    const token = randomBytes(16).toString('hex');
    const good = signTwilioRequest(token, url, params);
    expect([seed, verifyTwilioSignature({ signature: good, settings: undefined, url, params, authToken: token })]).toEqual([seed, true]);
    expect([seed, twilio.validateRequest(token, good, url, validatorParams)]).toEqual([seed, true]);
    if (params.length > 0) {
      const tampered = params.map(([k, v], i): [string, string] => (i === 0 ? [k, `${v}x`] : [k, v]));
      expect([seed, verifyTwilioSignature({ signature: good, settings: undefined, url, params: tampered, authToken: token })]).toEqual([seed, false]);
    }
  }
});
