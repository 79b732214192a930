import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ENV, METRIC } from '../../lib/contract';
import { ACCOUNT_SID, captureOutput, CapturedOutput, getItem, INBOUND_URL, lambdaContext, SECRET_ARN, sid, STATUS_URL, startWorld, twilioEvent, WebhookWorld } from '../support/webhook-rig';

/*
 * Rotating the auth token, as the README's "Rotating the auth token" says to,
 * through both webhooks. The handlers' clock is set by the test (Date.now), so
 * the cache TTL and the 5 s forced-refresh interval are crossed exactly, not
 * waited for. Its own file: the refresh allowance is per execution environment.
 */
type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

let world: WebhookWorld;
let statusCallback: Handler;
let inbound: Handler;
let out: CapturedOutput;
let clock = Date.parse('2026-12-01T12:00:00Z');
let nextSid = 1;

const TTL_SECONDS = 300;
const OLD_TOKEN = 'old-token-0000000000000000000000';
const NEW_TOKEN = 'new-token-1111111111111111111111';
const NEXT_TOKEN = 'next-token-222222222222222222222';

const secret = (fields: { authToken: string; previousAuthToken?: string }) => JSON.stringify({ accountSid: ACCOUNT_SID, ...fields });
const advance = (ms: number) => {
  clock += ms;
};
const reads = () => world.secrets.getCalls.get(SECRET_ARN) ?? 0;

beforeAll(async () => {
  world = await startWorld();
  process.env[ENV.SECRET_CACHE_TTL_SECONDS] = String(TTL_SECONDS);
  world.secrets.setSecret(SECRET_ARN, secret({ authToken: OLD_TOKEN }));
  jest.spyOn(Date, 'now').mockImplementation(() => clock);
  ({ handler: statusCallback } = (await import('../../lambda/status-callback/index')) as { handler: Handler });
  ({ handler: inbound } = (await import('../../lambda/inbound/index')) as { handler: Handler });
  out = captureOutput();
});

afterAll(async () => {
  out.restore();
  jest.restoreAllMocks();
  await world.close();
});

/** A status callback signed by Twilio with `token`; the answer's status code. */
async function callbackSignedWith(token: string): Promise<number> {
  const id = sid('SM', nextSid++);
  const params: Array<[string, string]> = [['MessageSid', id], ['MessageStatus', 'delivered'], ['AccountSid', ACCOUNT_SID]];
  const res = await statusCallback(twilioEvent('/status', STATUS_URL, params, { token }), lambdaContext('status-callback'));
  if (res.statusCode === 200) expect(await getItem(world.table, id)).toMatchObject({ status: 'delivered' });
  return res.statusCode;
}

/** An inbound message signed by Twilio with `token`; the answer's status code. */
async function replySignedWith(token: string): Promise<number> {
  const id = sid('SM', nextSid++);
  const params: Array<[string, string]> = [['MessageSid', id], ['AccountSid', ACCOUNT_SID], ['From', '+15551230017'], ['To', '+15557650000'], ['Body', 'on it']];
  return (await inbound(twilioEvent('/inbound', INBOUND_URL, params, { token }), lambdaContext('inbound'))).statusCode;
}

test('the documented order loses nothing: every webhook Twilio signs on either side of the promotion verifies, without forced re-reads', async () => {
  // Before: Twilio signs with the old token, which the secret holds.
  expect([await callbackSignedWith(OLD_TOKEN), await replySignedWith(OLD_TOKEN)]).toEqual([200, 200]);
  const readsAtStart = reads();

  // 1. The new token in authToken, the old one in previousAuthToken. Environments still caching
  //    the old secret keep verifying the old token; those that re-read verify it as the previous one.
  world.secrets.setSecret(SECRET_ARN, secret({ authToken: NEW_TOKEN, previousAuthToken: OLD_TOKEN }));
  expect([await callbackSignedWith(OLD_TOKEN), await replySignedWith(OLD_TOKEN)]).toEqual([200, 200]);
  expect(reads()).toBe(readsAtStart);

  // 2. Wait secretCacheTtl: every environment now holds both tokens.
  advance(TTL_SECONDS * 1000 + 1);
  expect([await callbackSignedWith(OLD_TOKEN), await replySignedWith(OLD_TOKEN)]).toEqual([200, 200]);
  expect(reads()).toBe(readsAtStart + 1);

  // 3. Promote in Twilio: it signs with the new token at once, which the cache already holds.
  expect([await callbackSignedWith(NEW_TOKEN), await replySignedWith(NEW_TOKEN)]).toEqual([200, 200]);
  expect(reads()).toBe(readsAtStart + 1);

  // 4. Drop previousAuthToken: after the TTL the old token no longer verifies.
  world.secrets.setSecret(SECRET_ARN, secret({ authToken: NEW_TOKEN }));
  advance(TTL_SECONDS * 1000 + 1);
  expect([await callbackSignedWith(NEW_TOKEN), await replySignedWith(NEW_TOKEN)]).toEqual([200, 200]);
  expect(out.metrics()[METRIC.CALLBACK_REJECTED]).toBeUndefined();
  expect(await callbackSignedWith(OLD_TOKEN)).toBe(403);
  expect(out.metrics()[METRIC.CALLBACK_REJECTED]).toBe(1);
});

test('promoted before the cache expired: the first signature the cache refuses re-reads the secret, and forgeries after it read nothing for 5 s', async () => {
  advance(10_000);
  const before = reads();
  const rejectedBefore = out.metrics()[METRIC.CALLBACK_REJECTED] ?? 0;
  // Skipped the wait: the next token is in the secret and promoted while the cache holds the current one.
  world.secrets.setSecret(SECRET_ARN, secret({ authToken: NEXT_TOKEN, previousAuthToken: NEW_TOKEN }));
  expect(await callbackSignedWith(NEXT_TOKEN)).toBe(200);
  expect(reads()).toBe(before + 1);

  // A burst of forgeries within the interval costs no read at all.
  for (let i = 0; i < 5; i++) {
    advance(900);
    expect(await callbackSignedWith('forged-token')).toBe(403);
  }
  expect(reads()).toBe(before + 1);
  expect((out.metrics()[METRIC.CALLBACK_REJECTED] ?? 0) - rejectedBefore).toBe(5);
});

test('the forced re-read is allowed again 5 s later, not a minute later: a token promoted after a forgery verifies at once', async () => {
  advance(10_000);
  expect(await callbackSignedWith('forged-token')).toBe(403);
  const before = reads();
  expect(before).toBeGreaterThan(0);

  // Another rotation, promoted straight away (the cache holds the previous secret).
  world.secrets.setSecret(SECRET_ARN, secret({ authToken: OLD_TOKEN, previousAuthToken: NEXT_TOKEN }));
  advance(4_000);
  // Within the interval of the forgery's read: refused, nothing read.
  expect(await callbackSignedWith(OLD_TOKEN)).toBe(403);
  expect(reads()).toBe(before);
  advance(1_001);
  expect(await callbackSignedWith(OLD_TOKEN)).toBe(200);
  expect(reads()).toBe(before + 1);
  // The inbound webhook shares the credentials module in this test, as one environment would.
  expect(await replySignedWith(OLD_TOKEN)).toBe(200);
  expect(await replySignedWith(NEXT_TOKEN)).toBe(200);
  expect(reads()).toBe(before + 1);
});

test('a request without a signature never re-reads the secret', async () => {
  // Past any refresh interval, the old minute included.
  advance(61_000);
  const before = reads();
  const id = sid('SM', nextSid++);
  const res = await statusCallback(
    twilioEvent('/status', STATUS_URL, [['MessageSid', id], ['MessageStatus', 'delivered']], { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }),
    lambdaContext('status-callback'),
  );
  expect(res.statusCode).toBe(403);
  expect(reads()).toBe(before);
});
