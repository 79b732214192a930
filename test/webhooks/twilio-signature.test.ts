import { randomBytes } from 'node:crypto';
import { newerSecretsCouldVerify, prepareSignature, signedParams, urlVariants, verifyPreparedSignature, verifyTwilioSignature } from '../../lambda/webhook/twilio-signature';
import { KNOWN_ANSWER, signTwilioRequest, signTwilioRequestSha256, twilioReferenceValidator, twilioSignedText } from '../support/twilio-sign';

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
  // A settings header means a signing key, whatever the algorithm: the auth token's signature does not verify under one.
  expect(verify(KNOWN_ANSWER.signature, KNOWN_URL, KNOWN_PARAMS, { settings: 'algorithm=HMAC_SHA1' })).toBe(false);
  expect(verify(KNOWN_ANSWER.signature, KNOWN_URL, KNOWN_PARAMS, { settings: 'key=k1,algorithm=HMAC_SHA1', keys })).toBe(false);
});

test('HMAC_SHA1 signing keys: a settings header naming no algorithm, or HMAC_SHA1, verifies with the key secret', () => {
  const keys = { k1: 'secret-1' };
  const sig = signTwilioRequest('secret-1', KNOWN_URL, KNOWN_PARAMS);
  for (const settings of ['key=k1', 'key=k1,algorithm=HMAC_SHA1', 'algorithm=hmac_sha1, key=k1', 'key=k1,algorithm=']) {
    expect([settings, verify(sig, KNOWN_URL, KNOWN_PARAMS, { settings, keys })]).toEqual([settings, true]);
  }
  expect(verify(sig, KNOWN_URL, KNOWN_PARAMS, { settings: 'key=k1,algorithm=HMAC_SHA256', keys })).toBe(false);
  expect(verify(sig, KNOWN_URL, KNOWN_PARAMS, { settings: 'key=k2', keys })).toBe(false);
});

test('which secret and algorithm verify agrees with twilio-node for every settings header shape', () => {
  // twilio-node's documented flow: header present → SharedKey secret and getSignatureAlgorithm(header); absent or empty → auth token, HMAC_SHA1.
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  const keySecret = 'shared-secret';
  const validatorParams = Object.fromEntries(KNOWN_PARAMS);
  const headerShapes: Array<string | undefined> = [
    undefined, '', ' ', 'key=k1', 'key=k1,algorithm=HMAC_SHA1', 'key=k1,algorithm=HMAC_SHA256', 'key=k1, algorithm = hmac_sha256 ',
    'key=k1,algorithm=', 'key=k1,algorithm=,algorithm=HMAC_SHA256', 'key=k1,Algorithm=HMAC_SHA256', 'key=k1,algorithm=HMAC_MD5', 'k1', 'key=k1;algorithm=HMAC_SHA256',
  ];
  const signers = [
    ['auth token, SHA-1', signTwilioRequest(TOKEN, KNOWN_URL, KNOWN_PARAMS)],
    ['key, SHA-1', signTwilioRequest(keySecret, KNOWN_URL, KNOWN_PARAMS)],
    ['key, SHA-256', signTwilioRequestSha256(keySecret, KNOWN_URL, KNOWN_PARAMS)],
  ] as const;
  try {
    for (const settings of headerShapes) {
      const reference = (signature: string) =>
        settings ? twilio.validateRequest(keySecret, signature, KNOWN_URL, validatorParams, twilio.getSignatureAlgorithm(settings)) : twilio.validateRequest(TOKEN, signature, KNOWN_URL, validatorParams);
      for (const [signer, signature] of signers) {
        // Headers that name no key cannot say which of our keys to use: refused even where twilio-node (holding one key) accepts.
        const namesKey = settings === undefined || settings === '' || /(^|,)\s*key\s*=\s*k1\s*(,|$)/.test(settings);
        const ours = verify(signature, KNOWN_URL, KNOWN_PARAMS, { settings, keys: { k1: keySecret } });
        expect([settings, signer, ours]).toEqual([settings, signer, namesKey && reference(signature)]);
      }
    }
  } finally {
    warn.mockRestore();
  }
});

test('during a rotation the auth token and the previous one both verify; any other token does not', () => {
  const request = prepareSignature({ signature: signTwilioRequest('old-token', KNOWN_URL, KNOWN_PARAMS), settings: undefined, url: KNOWN_URL, params: KNOWN_PARAMS });
  expect(verifyPreparedSignature(request, { authToken: 'new-token', previousAuthToken: 'old-token' })).toBe(true);
  expect(verifyPreparedSignature(request, { authToken: 'old-token', previousAuthToken: 'new-token' })).toBe(true);
  expect(verifyPreparedSignature(request, { authToken: 'new-token' })).toBe(false);
  expect(verifyPreparedSignature(request, { authToken: 'new-token', previousAuthToken: 'other-token' })).toBe(false);
  // The previous auth token never verifies a signing-key request.
  const keyed = prepareSignature({ signature: signTwilioRequest('old-token', KNOWN_URL, KNOWN_PARAMS), settings: 'key=k1', url: KNOWN_URL, params: KNOWN_PARAMS });
  expect(verifyPreparedSignature(keyed, { authToken: 'new-token', previousAuthToken: 'old-token', webhookSigningKeys: { k1: 'k' } })).toBe(false);
});

test('the signed text is the URL variant followed by the parameters, built once for all of them', () => {
  const params: Array<[string, string]> = [['To', '+1'], ['Body', 'b'], ['MediaUrl', 'y'], ['MediaUrl', 'x'], ['MediaUrl', 'y']];
  const prepared = prepareSignature({ signature: 'x', settings: undefined, url: KNOWN_URL, params });
  expect(prepared.urls).toEqual(urlVariants(KNOWN_URL));
  for (const url of prepared.urls) expect(url + prepared.paramsText).toBe(twilioSignedText(url, params));
  expect(signedParams([])).toBe('');
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

test('a re-read of the secret is worth it only for a request some newer secret could verify', () => {
  const could = (signature: string | undefined, settings: string | undefined) => newerSecretsCouldVerify(prepareSignature({ signature, settings, url: KNOWN_URL, params: KNOWN_PARAMS }));
  expect(could(KNOWN_ANSWER.signature, undefined)).toBe(true);
  // A key we may not hold yet (a new signing key in the secret).
  expect(could(KNOWN_ANSWER.signature, 'key=k9,algorithm=HMAC_SHA256')).toBe(true);
  expect(could(undefined, undefined)).toBe(false);
  expect(could('', undefined)).toBe(false);
  expect(could(KNOWN_ANSWER.signature, 'key=k1,algorithm=HMAC_MD5')).toBe(false);
  expect(could(KNOWN_ANSWER.signature, 'algorithm=HMAC_SHA256')).toBe(false);
});
