import { METRIC } from '../../lib/contract';
import { CapturedOutput, getItem, startWebhookPair, WebhookPair, WebhookWorld } from '../support/webhook-rig';

/*
 * A forged webhook during a Secrets Manager outage: the re-read it triggers
 * fails, and the credentials cache must stay as it was, so genuine webhooks
 * keep verifying. Its own file: the forgery must be the first re-read of the
 * execution environment.
 */
let world: WebhookWorld;
let out: CapturedOutput;
let callback: WebhookPair['callback'];
let reply: WebhookPair['reply'];
let close: WebhookPair['close'];

beforeAll(async () => {
  ({ world, out, callback, reply, close } = await startWebhookPair());
});

afterAll(() => close());

test('a forged request while Secrets Manager fails is refused and keeps the cached credentials: genuine webhooks that follow get 200', async () => {
  // Warm: the credentials are cached (the rig's TTL is 0, so every request would read them again).
  expect((await callback()).statusCode).toBe(200);

  world.secrets.failNext(1_000);
  try {
    expect((await callback('forged-token')).statusCode).toBe(403);

    const genuine = await callback();
    expect(genuine.statusCode).toBe(200);
    expect(await getItem(world.table, genuine.id)).toMatchObject({ status: 'delivered' });
    expect(await reply()).toBe(200);
    expect(out.records().filter((r) => r.message === 'cannot re-read the Twilio credentials; the cached ones stay in use')).toHaveLength(1);

    // More forgeries in the outage change nothing either.
    for (let i = 0; i < 3; i++) expect((await callback('forged-token')).statusCode).toBe(403);
    expect((await callback()).statusCode).toBe(200);
  } finally {
    world.secrets.failNext(0);
  }
  expect(out.metrics()[METRIC.CALLBACK_REJECTED]).toBe(4);
  expect(out.records().some((r) => r.message === 'cannot read the Twilio credentials')).toBe(false);
});
