import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ENV, METRIC } from '../../lib/contract';
import { ACCOUNT_SID, backlogEvent, captureOutput, CapturedOutput, getItem, INBOUND_URL, lambdaContext, sid, STATUS_URL, startWorld, twilioEvent, WebhookWorld } from '../support/webhook-rig';

/*
 * Each webhook resolves its configuration once, at cold start: a missing or
 * bad STATUS_TABLE_NAME / INBOUND_TOPIC_ARN is a configuration error named in
 * the log with its fix; a verified request is then kept in the backlog
 * untouched (answered as accepted), or answered 500 when there is no backlog
 * to keep it: never the 502 that says "try again".
 */
type Entry = (event: APIGatewayProxyEvent | SQSEvent, context: Context) => Promise<APIGatewayProxyResult | SQSBatchResponse>;

let world: WebhookWorld;
let out: CapturedOutput;
let nextSid = 7_000;

beforeAll(async () => {
  world = await startWorld();
});

afterAll(async () => {
  await world.close();
});

beforeEach(() => {
  out = captureOutput();
  world.dynamo.resetCalls();
  world.sqs.sent.length = 0;
  world.sns.published.length = 0;
});

afterEach(() => {
  out.restore();
});

/** The handler as a cold start with these variables changed (undefined: unset) would load it. */
async function coldStart(webhook: 'status-callback' | 'inbound', env: Readonly<Record<string, string | undefined>>): Promise<Entry> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const apply = (values: Readonly<Record<string, string | undefined>>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(env);
  let entry: Entry | undefined;
  try {
    await jest.isolateModulesAsync(async () => {
      ({ handler: entry } = (await import(`../../lambda/${webhook}/index`)) as { handler: Entry });
    });
  } finally {
    apply(saved);
  }
  return entry!;
}

function statusCallback(messageSid: string, status: string): Array<[string, string]> {
  return Object.entries({ MessageSid: messageSid, MessageStatus: status, To: '+15551230001', From: '+15557650000', AccountSid: ACCOUNT_SID, ApiVersion: '2010-04-01' });
}

function inboundMessage(messageSid: string, body: string): Array<[string, string]> {
  return Object.entries({ MessageSid: messageSid, SmsSid: messageSid, AccountSid: ACCOUNT_SID, From: '+15551230002', To: '+15557650000', Body: body, NumMedia: '0', ApiVersion: '2010-04-01' });
}

const configurationErrors = () => out.records().filter((r) => r.message === 'configuration error');
const tableCalls = () => [...world.dynamo.calls.values()].reduce((a, b) => a + b, 0);

describe('status-callback', () => {
  test('STATUS_TABLE_NAME missing and no backlog: 500 (not 502), the variable and its fix logged once at cold start, nothing sent to the table', async () => {
    const entry = await coldStart('status-callback', { [ENV.STATUS_TABLE_NAME]: undefined, [ENV.WEBHOOK_BACKLOG_QUEUE_URL]: undefined });
    const logged = configurationErrors();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 'ERROR', reason: `${ENV.STATUS_TABLE_NAME} is not set` });
    expect(String(logged[0].fix)).toContain(`set ${ENV.STATUS_TABLE_NAME} to the status table's name`);

    const answers = [];
    for (let i = 0; i < 2; i++) answers.push(((await entry(twilioEvent('/status', STATUS_URL, statusCallback(sid('SM', nextSid++), 'delivered')), lambdaContext('status-callback'))) as APIGatewayProxyResult).statusCode);
    expect(answers).toEqual([500, 500]);
    expect(tableCalls()).toBe(0);
    expect(out.metrics()[METRIC.CONFIGURATION_ERRORS]).toBe(2);
    // Still logged once: the cold start's line names it, the requests do not repeat it.
    expect(configurationErrors()).toHaveLength(1);
  });

  test('a bad STATUS_TABLE_NAME with a backlog: the verified callback is held there untouched and answered 200; the backlog keeps it until the variable is fixed, then it applies', async () => {
    const broken = await coldStart('status-callback', { [ENV.STATUS_TABLE_NAME]: 'status table' });
    expect(configurationErrors()[0]).toMatchObject({ reason: `${ENV.STATUS_TABLE_NAME} is not the status table's name: "status table"` });

    const id = sid('SM', nextSid++);
    const res = (await broken(twilioEvent('/status', STATUS_URL, statusCallback(id, 'delivered')), lambdaContext('status-callback'))) as APIGatewayProxyResult;
    expect(res.statusCode).toBe(200);
    expect(tableCalls()).toBe(0);
    expect(world.sqs.sent).toHaveLength(1);
    expect(out.metrics()[METRIC.WEBHOOKS_BACKLOGGED]).toBe(1);
    expect(out.metrics()[METRIC.CONFIGURATION_ERRORS]).toBe(1);

    // The misconfigured function keeps the record (a batch failure: SQS delivers it again, then dead-letters it).
    const record = backlogEvent([{ body: world.sqs.sent[0].body, messageId: 'held-1' }]);
    expect(await broken(record, lambdaContext('status-callback'))).toEqual({ batchItemFailures: [{ itemIdentifier: 'held-1' }] });
    expect(tableCalls()).toBe(0);
    expect(await getItem(world.table, id)).toBeUndefined();

    // Fixed: the same record applies.
    const fixed = await coldStart('status-callback', {});
    expect(await fixed(record, lambdaContext('status-callback'))).toEqual({ batchItemFailures: [] });
    expect(await getItem(world.table, id)).toMatchObject({ status: 'delivered' });
  });

  test('a forged request to a misconfigured function is still refused 403 and kept nowhere', async () => {
    const entry = await coldStart('status-callback', { [ENV.STATUS_TABLE_NAME]: undefined });
    const res = (await entry(twilioEvent('/status', STATUS_URL, statusCallback(sid('SM', nextSid++), 'sent'), { token: 'forged-token' }), lambdaContext('status-callback'))) as APIGatewayProxyResult;
    expect(res.statusCode).toBe(403);
    expect(world.sqs.sent).toHaveLength(0);
  });

  test('a WEBHOOK_BACKLOG_QUEUE_URL that is not a URL is named at cold start and treated as unset: with no table either, 500', async () => {
    const entry = await coldStart('status-callback', { [ENV.STATUS_TABLE_NAME]: undefined, [ENV.WEBHOOK_BACKLOG_QUEUE_URL]: 'webhook-backlog' });
    expect(configurationErrors().map((r) => r.reason)).toEqual(expect.arrayContaining([`${ENV.WEBHOOK_BACKLOG_QUEUE_URL} is not a queue URL: "webhook-backlog"`, `${ENV.STATUS_TABLE_NAME} is not set`]));
    const res = (await entry(twilioEvent('/status', STATUS_URL, statusCallback(sid('SM', nextSid++), 'sent')), lambdaContext('status-callback'))) as APIGatewayProxyResult;
    expect(res.statusCode).toBe(500);
    expect(world.sqs.sent).toHaveLength(0);
  });
});

describe('inbound', () => {
  test('INBOUND_TOPIC_ARN missing and no backlog: 500 (not 502), nothing stored, claimed or published', async () => {
    const entry = await coldStart('inbound', { [ENV.INBOUND_TOPIC_ARN]: undefined, [ENV.WEBHOOK_BACKLOG_QUEUE_URL]: undefined });
    expect(configurationErrors()).toEqual([expect.objectContaining({ reason: `${ENV.INBOUND_TOPIC_ARN} is not set`, webhook: 'inbound' })]);
    const id = sid('SM', nextSid++);
    const res = (await entry(twilioEvent('/inbound', INBOUND_URL, inboundMessage(id, 'hello')), lambdaContext('inbound'))) as APIGatewayProxyResult;
    expect(res.statusCode).toBe(500);
    expect(await getItem(world.table, id)).toBeUndefined();
    expect(world.sns.published).toHaveLength(0);
    expect(out.metrics()[METRIC.CONFIGURATION_ERRORS]).toBe(1);
  });

  test('a bad INBOUND_TOPIC_ARN with a backlog: an ACK is held in the backlog untouched and told it is not confirmed yet', async () => {
    const entry = await coldStart('inbound', { [ENV.INBOUND_TOPIC_ARN]: 'inbound' });
    expect(configurationErrors()[0]).toMatchObject({ reason: `${ENV.INBOUND_TOPIC_ARN} is not the inbound topic's ARN: "inbound"` });
    const id = sid('SM', nextSid++);
    const res = (await entry(twilioEvent('/inbound', INBOUND_URL, inboundMessage(id, 'ACK')), lambdaContext('inbound'))) as APIGatewayProxyResult;
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('not confirmed');
    expect(await getItem(world.table, id)).toBeUndefined();
    expect(world.sns.published).toHaveLength(0);
    expect(world.sqs.sent).toHaveLength(1);
    expect(JSON.parse(world.sqs.sent[0].body)).toMatchObject({ kind: 'webhook', webhook: 'inbound' });
  });
});
