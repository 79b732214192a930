import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ENV, METRIC } from '../../lib/contract';
import { ACCOUNT_SID, captureOutput, CapturedOutput, getItem, goodSecret, INBOUND_URL, lambdaContext, SECRET_ARN, sid, STATUS_URL, startWorld, twilioEvent, WebhookWorld } from './support';

/*
 * A signature the cached credentials refuse re-reads the secret; here that
 * re-read finds it malformed (an operator's broken put-secret-value). The
 * forgery is refused, the cached credentials stay in use, and genuine webhooks
 * right after verify. Its own file: the cache and the forced-read allowance are
 * per execution environment, and the cache must live longer than the test.
 */
type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

let world: WebhookWorld;
let statusCallback: Handler;
let inbound: Handler;
let out: CapturedOutput;
let nextSid = 1;

const reads = () => world.secrets.getCalls.get(SECRET_ARN) ?? 0;

beforeAll(async () => {
  world = await startWorld();
  process.env[ENV.SECRET_CACHE_TTL_SECONDS] = '300';
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
