import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { METRIC } from '../../lib/contract';
import { ACCOUNT_SID, captureOutput, CapturedOutput, getItem, INBOUND_URL, lambdaContext, sid, STATUS_URL, startWorld, twilioEvent, WebhookWorld } from './support';

/*
 * A forged webhook during a Secrets Manager outage: the re-read it triggers
 * fails, and the credentials cache must stay as it was, so genuine webhooks
 * keep verifying. Its own file: the forgery must be the first re-read of the
 * execution environment.
 */
type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

let world: WebhookWorld;
let statusCallback: Handler;
let inbound: Handler;
let out: CapturedOutput;
let nextSid = 1;

beforeAll(async () => {
  world = await startWorld();
  ({ handler: statusCallback } = (await import('../../lambda/status-callback/index')) as { handler: Handler });
  ({ handler: inbound } = (await import('../../lambda/inbound/index')) as { handler: Handler });
  out = captureOutput();
});

afterAll(async () => {
  out.restore();
  await world.close();
});

async function callback(token?: string): Promise<{ statusCode: number; id: string }> {
  const id = sid('SM', nextSid++);
  const params: Array<[string, string]> = [['MessageSid', id], ['MessageStatus', 'delivered'], ['AccountSid', ACCOUNT_SID]];
  const res = await statusCallback(twilioEvent('/status', STATUS_URL, params, token ? { token } : {}), lambdaContext('status-callback'));
  return { statusCode: res.statusCode, id };
}

async function reply(token?: string): Promise<number> {
  const params: Array<[string, string]> = [['MessageSid', sid('SM', nextSid++)], ['AccountSid', ACCOUNT_SID], ['From', '+15551230017'], ['To', '+15557650000'], ['Body', 'on it']];
  return (await inbound(twilioEvent('/inbound', INBOUND_URL, params, token ? { token } : {}), lambdaContext('inbound'))).statusCode;
}

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
