import { ENV, METRIC } from '../../lib/contract';
import { CapturedOutput, getItem, goodSecret, SECRET_ARN, startWebhookPair, WebhookPair, WebhookWorld } from '../support/webhook-rig';

/*
 * A signature the cached credentials refuse re-reads the secret; here that
 * re-read finds it malformed (an operator's broken put-secret-value). The
 * forgery is refused, the cached credentials stay in use, and genuine webhooks
 * right after verify. Its own file: the cache and the forced-read allowance are
 * per execution environment, and the cache must live longer than the test.
 */
let world: WebhookWorld;
let out: CapturedOutput;
let callback: WebhookPair['callback'];
let reply: WebhookPair['reply'];
let close: WebhookPair['close'];

const reads = () => world.secrets.getCalls.get(SECRET_ARN) ?? 0;

beforeAll(async () => {
  ({ world, out, callback, reply, close } = await startWebhookPair({ [ENV.SECRET_CACHE_TTL_SECONDS]: '300' }));
});

afterAll(() => close());

test('a signature mismatch whose re-read finds a malformed secret: 403, a configuration error counted, the cached credentials kept for the genuine requests right after', async () => {
  world.secrets.setSecret(SECRET_ARN, goodSecret);
  expect((await callback()).statusCode).toBe(200);
  expect(reads()).toBe(1);

  world.secrets.setSecret(SECRET_ARN, '{"accountSid": "AC-broken", "authToken": ');
  expect((await callback('forged-token')).statusCode).toBe(403);
  expect(reads()).toBe(2);
  expect(out.metrics()[METRIC.CALLBACK_REJECTED]).toBe(1);
  expect(out.metrics()[METRIC.CONFIGURATION_ERRORS]).toBe(1);
  expect(out.records().filter((r) => r.message === 'configuration error' && r.level === 'ERROR')).toHaveLength(1);

  const genuine = await callback();
  expect(genuine.statusCode).toBe(200);
  expect(await getItem(world.table, genuine.id)).toMatchObject({ status: 'delivered' });
  expect(await reply()).toBe(200);
  // Served from the cache: the broken secret was read once, by the forgery.
  expect(reads()).toBe(2);
  // The secret's text never reaches a log line.
  expect(out.text()).not.toContain('AC-broken');
});
