import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ENV, METRIC } from '../../lib/contract';
import { ACCOUNT_SID, captureOutput, CapturedOutput, lambdaContext, SECRET_ARN, sid, STATUS_URL, startWorld, twilioEvent, WebhookWorld } from './support';

// Its own file: the handler's once-a-minute refresh allowance must be unspent when this starts.
type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

let world: WebhookWorld;
let handler: Handler;
let out: CapturedOutput;

const OLD_TOKEN = 'old-token-0000000000000000000000';
const NEW_TOKEN = 'new-token-1111111111111111111111';

beforeAll(async () => {
  world = await startWorld();
  process.env[ENV.SECRET_CACHE_TTL_SECONDS] = '300';
  world.secrets.setSecret(SECRET_ARN, JSON.stringify({ accountSid: ACCOUNT_SID, authToken: OLD_TOKEN }));
  ({ handler } = (await import('../../lambda/status-callback/index')) as { handler: Handler });
  out = captureOutput();
});

afterAll(async () => {
  out.restore();
  await world.close();
});

const params = (id: string): Array<[string, string]> => [
  ['MessageSid', id],
  ['MessageStatus', 'delivered'],
  ['AccountSid', ACCOUNT_SID],
];

test('after an auth token rotation the new token verifies at once, without waiting out the cache, and forgeries do not become secret reads', async () => {
  const post = (id: string, token: string) => handler(twilioEvent('/status', STATUS_URL, params(id), { token }), lambdaContext('status-callback'));
  expect((await post(sid('SM', 1), OLD_TOKEN)).statusCode).toBe(200);
  expect(world.secrets.getCalls.get(SECRET_ARN)).toBe(1);

  world.secrets.setSecret(SECRET_ARN, JSON.stringify({ accountSid: ACCOUNT_SID, authToken: NEW_TOKEN }));
  expect((await post(sid('SM', 2), NEW_TOKEN)).statusCode).toBe(200);
  expect(world.secrets.getCalls.get(SECRET_ARN)).toBe(2);

  // The old token no longer verifies, and a burst of forgeries reads the secret no more.
  for (let i = 3; i < 8; i++) expect((await post(sid('SM', i), OLD_TOKEN)).statusCode).toBe(403);
  expect(world.secrets.getCalls.get(SECRET_ARN)).toBe(2);
  expect(out.metrics()[METRIC.CALLBACK_REJECTED]).toBe(5);
});
