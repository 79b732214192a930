import { startFakeSecretsManager, FakeSecretsManager } from '../support/fake-secrets-manager';
import { useLocalAws } from '../support/aws-env';
import { PLACEHOLDER_SECRET } from '../../lib/contract';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio-AbCdEf';
const GOOD = { accountSid: 'AC' + 'a'.repeat(32), authToken: 'token-1' };

let sm: FakeSecretsManager;
let creds: typeof import('../../lambda/shared/credentials');

beforeAll(async () => {
  sm = await startFakeSecretsManager();
  useLocalAws({ secretsManager: sm.url });
  process.env.TWILIO_SECRET_ARN = ARN;
  process.env.SECRET_CACHE_TTL_SECONDS = '60';
  creds = await import('../../lambda/shared/credentials');
});
afterAll(() => sm.close());
beforeEach(() => {
  creds.forgetCredentials();
  sm.getCalls.clear();
});

test('reads the secret once and serves it from cache until the TTL passes', async () => {
  sm.setSecret(ARN, JSON.stringify(GOOD));
  const t0 = 1_000_000;
  await expect(creds.getCredentials(t0)).resolves.toEqual(GOOD);
  sm.setSecret(ARN, JSON.stringify({ ...GOOD, authToken: 'rotated' }));
  await expect(creds.getCredentials(t0 + 59_000)).resolves.toEqual(GOOD);
  expect(sm.getCalls.get(ARN)).toBe(1);
  await expect(creds.getCredentials(t0 + 61_000)).resolves.toMatchObject({ authToken: 'rotated' });
  expect(sm.getCalls.get(ARN)).toBe(2);
});

test('the placeholder is a configuration error reported as first only once per process', async () => {
  sm.setSecret(ARN, JSON.stringify(PLACEHOLDER_SECRET));
  const first = await creds.getCredentials(2_000_000).catch((e) => e);
  expect(first).toBeInstanceOf(creds.ConfigurationError);
  expect(first.message).toMatch(/placeholder/);
  creds.forgetCredentials();
  const second = await creds.getCredentials(2_000_001).catch((e) => e);
  expect(second).toBeInstanceOf(creds.ConfigurationError);
  expect(first.firstInProcess).toBe(true);
  expect(second.firstInProcess).toBe(false);
});

test('a broken secret is re-read after 30 s, so filling it in takes effect quickly', async () => {
  sm.setSecret(ARN, 'not json');
  await expect(creds.getCredentials(3_000_000)).rejects.toThrow(/not JSON/);
  sm.setSecret(ARN, JSON.stringify(GOOD));
  await expect(creds.getCredentials(3_010_000)).rejects.toThrow(/not JSON/);
  expect(sm.getCalls.get(ARN)).toBe(1);
  await expect(creds.getCredentials(3_031_000)).resolves.toEqual(GOOD);
});

test('an unreachable Secrets Manager is a transient error, not a configuration error', async () => {
  sm.setSecret(ARN, JSON.stringify(GOOD));
  sm.failNext(10);
  const err = await creds.getCredentials(4_000_000).catch((e) => e);
  sm.failNext(0);
  expect(err).toBeInstanceOf(Error);
  expect(err).not.toBeInstanceOf(creds.ConfigurationError);
});

test.each([
  ['{"authToken":"x"}', /accountSid/],
  [JSON.stringify({ accountSid: 'AC123', authToken: 'x' }), /accountSid/],
  [JSON.stringify({ accountSid: GOOD.accountSid }), /authToken/],
  [JSON.stringify({ ...GOOD, apiKeySid: 'SK' + 'b'.repeat(32) }), /both/],
  [JSON.stringify({ ...GOOD, apiKeySid: 'nope', apiKeySecret: 's' }), /apiKeySid/],
  [JSON.stringify({ ...GOOD, webhookSigningKeys: { k1: '' } }), /webhookSigningKeys/],
  ['[]', /JSON object/],
])('parseCredentials rejects %s', (text, reason) => {
  expect(() => creds.parseCredentials(text)).toThrow(reason);
});

test('parseCredentials keeps API key and webhook signing keys, and never echoes a value', () => {
  const full = { ...GOOD, apiKeySid: 'SK' + 'b'.repeat(32), apiKeySecret: 'key-secret', webhookSigningKeys: { k1: 'shh' } };
  expect(creds.parseCredentials(JSON.stringify(full))).toEqual(full);
  try {
    creds.parseCredentials(JSON.stringify({ accountSid: 'AC-secret-looking', authToken: 'hunter2' }));
  } catch (e) {
    expect((e as Error).message).not.toContain('hunter2');
    expect((e as Error).message).not.toContain('AC-secret-looking');
  }
});

describe('previousAuthToken, for a loss-free rotation of the webhook token', () => {
  test('is kept when present', () => {
    expect(creds.parseCredentials(JSON.stringify({ ...GOOD, previousAuthToken: 'old' }))).toEqual({ ...GOOD, previousAuthToken: 'old' });
  });

  test.each([[''], [42]])('an unusable value (%p) is a configuration error that says how to fix it', (value) => {
    expect(() => creds.parseCredentials(JSON.stringify({ ...GOOD, previousAuthToken: value }))).toThrow(/previousAuthToken.*drop the field/);
  });
});

describe('refreshAfterRejection: one owner of the credentials, re-read when Twilio refuses them', () => {
  const ROTATED = { ...GOOD, authToken: 'token-2' };

  test('answers the newer credentials once the secret holds them', async () => {
    sm.setSecret(ARN, JSON.stringify(GOOD));
    const used = await creds.getCredentials(5_000_000);
    sm.setSecret(ARN, JSON.stringify(ROTATED));
    await expect(creds.refreshAfterRejection(used, 5_000_001)).resolves.toEqual(ROTATED);
    // The cache now holds them: getCredentials answers them without another read.
    await expect(creds.getCredentials(5_000_002)).resolves.toEqual(ROTATED);
    expect(sm.getCalls.get(ARN)).toBe(2);
  });

  test('a request holding credentials someone already replaced gets the new ones without a read', async () => {
    sm.setSecret(ARN, JSON.stringify(GOOD));
    const old = await creds.getCredentials(6_000_000);
    sm.setSecret(ARN, JSON.stringify(ROTATED));
    await creds.refreshAfterRejection(old, 6_000_001);
    await expect(creds.refreshAfterRejection(old, 6_000_002)).resolves.toEqual(ROTATED);
    expect(sm.getCalls.get(ARN)).toBe(2);
  });

  test('unchanged credentials answer undefined, and re-reads are at most one per interval whoever asks', async () => {
    sm.setSecret(ARN, JSON.stringify(GOOD));
    const used = await creds.getCredentials(7_000_000);
    const answers = await Promise.all([1, 2, 3].map(() => creds.refreshAfterRejection(used, 7_000_001)));
    expect(answers).toEqual([undefined, undefined, undefined]);
    expect(sm.getCalls.get(ARN)).toBe(2);
    await creds.refreshAfterRejection(used, 7_000_001 + creds.FORCED_REFRESH_INTERVAL_MS - 1);
    expect(sm.getCalls.get(ARN)).toBe(2);
    await creds.refreshAfterRejection(used, 7_000_001 + creds.FORCED_REFRESH_INTERVAL_MS);
    expect(sm.getCalls.get(ARN)).toBe(3);
  });

  test('a failed or unusable re-read keeps the working credentials cached', async () => {
    sm.setSecret(ARN, JSON.stringify(GOOD));
    const used = await creds.getCredentials(8_000_000);
    sm.failNext(10);
    await expect(creds.refreshAfterRejection(used, 8_000_001)).rejects.toThrow();
    sm.failNext(0);
    sm.setSecret(ARN, 'not json');
    await expect(creds.refreshAfterRejection(used, 8_000_001 + creds.FORCED_REFRESH_INTERVAL_MS)).rejects.toBeInstanceOf(creds.ConfigurationError);
    await expect(creds.getCredentials(8_000_002 + creds.FORCED_REFRESH_INTERVAL_MS)).resolves.toEqual(GOOD);
  });
});

test('after the TTL, an unreachable Secrets Manager serves the last good credentials and tries again soon', async () => {
  sm.setSecret(ARN, JSON.stringify(GOOD));
  await creds.getCredentials(9_000_000);
  sm.failNext(10);
  await expect(creds.getCredentials(9_061_000)).resolves.toEqual(GOOD);
  sm.failNext(0);
  sm.setSecret(ARN, JSON.stringify({ ...GOOD, authToken: 'later' }));
  await expect(creds.getCredentials(9_061_000 + creds.FORCED_REFRESH_INTERVAL_MS - 1)).resolves.toEqual(GOOD);
  await expect(creds.getCredentials(9_061_000 + creds.FORCED_REFRESH_INTERVAL_MS)).resolves.toMatchObject({ authToken: 'later' });
});
