import { KNOWN_ANSWER, signTwilioRequest, signTwilioRequestSha256, twilioReferenceValidator, twilioSignedText, twilioWebhookHeaders } from './twilio-sign';

const twilio = twilioReferenceValidator();

const { url: KNOWN_URL, params: KNOWN_PARAMS } = KNOWN_ANSWER;

/** The params as Express's body parser hands them to Twilio's validator: repeated names become arrays. */
function asValidatorParams(params: Array<[string, string]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of params) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

describe('test-side Twilio request signing', () => {
  test('reproduces the known answer from Twilio\'s documentation', () => {
    expect(signTwilioRequest(KNOWN_ANSWER.token, KNOWN_URL, KNOWN_PARAMS)).toBe(KNOWN_ANSWER.signature);
  });

  test('the order the parameters arrive in does not matter', () => {
    expect(signTwilioRequest(KNOWN_ANSWER.token, KNOWN_URL, [...KNOWN_PARAMS].reverse())).toBe(KNOWN_ANSWER.signature);
  });

  test('agrees with twilio\'s validateRequest, and a changed parameter, URL or token does not verify', () => {
    const params: Array<[string, string]> = [
      ['MessageSid', 'SM0123456789abcdef0123456789abcdef'],
      ['MessageStatus', 'delivered'],
      ['To', '+15551234567'],
      ['Body', 'ünïcödé 🚨 & = + %20'],
      ['ErrorCode', ''],
    ];
    const url = 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/status';
    const sig = signTwilioRequest('tok', url, params);
    expect(twilio.validateRequest('tok', sig, url, asValidatorParams(params))).toBe(true);
    expect(twilio.validateRequest('tok2', sig, url, asValidatorParams(params))).toBe(false);
    expect(twilio.validateRequest('tok', sig, `${url}x`, asValidatorParams(params))).toBe(false);
    expect(twilio.validateRequest('tok', sig, url, { ...asValidatorParams(params), MessageStatus: 'failed' })).toBe(false);
  });

  test('repeated names are signed as Twilio\'s validator signs lists (distinct values, sorted)', () => {
    const params: Array<[string, string]> = [
      ['MediaUrl', 'https://b.example/2'],
      ['Body', 'x'],
      ['MediaUrl', 'https://a.example/1'],
      ['MediaUrl', 'https://b.example/2'],
    ];
    expect(twilioSignedText('https://h/p', params)).toBe('https://h/pBodyxMediaUrlhttps://a.example/1MediaUrlhttps://b.example/2');
    const sig = signTwilioRequest('tok', 'https://h/p', params);
    expect(twilio.validateRequest('tok', sig, 'https://h/p', asValidatorParams(params))).toBe(true);
  });

  test('a signature over the URL with :443 verifies against the URL without it, as Twilio\'s validator allows', () => {
    const sig = signTwilioRequest(KNOWN_ANSWER.token, 'https://mycompany.com:443/myapp.php?foo=1&bar=2', KNOWN_PARAMS);
    expect(sig).not.toBe(KNOWN_ANSWER.signature);
    expect(twilio.validateRequest(KNOWN_ANSWER.token, sig, KNOWN_URL, asValidatorParams(KNOWN_PARAMS))).toBe(true);
  });

  test('the HMAC-SHA256 variant agrees with twilio\'s validator for signing-key webhooks', () => {
    const sig = signTwilioRequestSha256('key-secret', KNOWN_URL, KNOWN_PARAMS);
    expect(Buffer.from(sig, 'base64')).toHaveLength(32);
    expect(twilio.validateRequest('key-secret', sig, KNOWN_URL, asValidatorParams(KNOWN_PARAMS), 'HMAC_SHA256')).toBe(true);
    expect(twilio.validateRequest('key-secret', sig, KNOWN_URL, asValidatorParams(KNOWN_PARAMS), 'HMAC_SHA1')).toBe(false);
  });

  test('signing-key headers (HMAC_SHA256, HMAC_SHA1, no algorithm) verify as twilio-node validates them: with the key secret and the header\'s algorithm', () => {
    const keyed = [
      { id: 'webhooks_sharedkey_1', secret: 'key-secret' },
      { id: 'webhooks_sharedkey_1', secret: 'key-secret', algorithm: 'HMAC_SHA1' as const },
      { id: 'webhooks_sharedkey_1', secret: 'key-secret', omitAlgorithm: true },
    ];
    const settingsSent: string[] = [];
    for (const key of keyed) {
      const headers = twilioWebhookHeaders('auth-token', KNOWN_URL, KNOWN_PARAMS, key);
      const settings = headers['X-Twilio-Webhooks-Signature-Settings'];
      settingsSent.push(settings);
      // twilio-node's documented manual flow: a settings header means the SharedKey secret.
      const algorithm = twilio.getSignatureAlgorithm(settings);
      expect(twilio.validateRequest('key-secret', headers['X-Twilio-Signature'], KNOWN_URL, asValidatorParams(KNOWN_PARAMS), algorithm)).toBe(true);
      expect(twilio.validateRequest('auth-token', headers['X-Twilio-Signature'], KNOWN_URL, asValidatorParams(KNOWN_PARAMS), algorithm)).toBe(false);
    }
    expect(settingsSent).toEqual(['key=webhooks_sharedkey_1,algorithm=HMAC_SHA256', 'key=webhooks_sharedkey_1,algorithm=HMAC_SHA1', 'key=webhooks_sharedkey_1']);
    expect(twilio.getSignatureAlgorithm('key=webhooks_sharedkey_1')).toBe('HMAC_SHA1');
  });
});
