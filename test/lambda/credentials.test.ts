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
