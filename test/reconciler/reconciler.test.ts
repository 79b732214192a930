import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ENV, METRIC, PLACEHOLDER_SECRET, TABLE } from '../../lib/contract';
import { writeMessageRecord } from '../../lambda/shared/table/messages';
import { RECONCILE_ATTEMPTS } from '../../lambda/reconciler/schedule';
import type { RunSummary } from '../../lambda/reconciler/reconcile';
import { createStatusTable } from '../support/dynalite';
import { FakeTwilio, startFakeTwilio } from '../support/fake-twilio';
import {
  ACCOUNT_SID,
  ApiHandler,
  AUTH_TOKEN,
  captureOutput,
  CapturedOutput,
  getItem,
  goodSecret,
  lambdaContext,
  SECRET_ARN,
  sid,
  STATUS_URL,
  startWorld,
  TABLE_NAME,
  twilioEvent,
  WebhookWorld,
} from '../support/webhook-rig';

type Handler = (event: ScheduledEvent, context: Context) => Promise<RunSummary>;

const AFTER_SECONDS = 300;
const MINUTE = 60_000;
const TO = '+15551230001';
const FROM = '+15557650000';

let world: WebhookWorld;
let twilio: FakeTwilio;
let handler: Handler;
let out: CapturedOutput;

const scheduled: ScheduledEvent = {
  version: '0',
  id: 'run-1',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: new Date().toISOString(),
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/reconciler'],
  detail: {},
};
const run = (remainingMs = 60_000) => handler(scheduled, lambdaContext('reconciler', remainingMs));

beforeAll(async () => {
  world = await startWorld();
  twilio = await startFakeTwilio({ accountSid: ACCOUNT_SID });
  process.env[ENV.TWILIO_API_BASE_URL] = twilio.url;
  process.env[ENV.RECONCILE_AFTER_SECONDS] = String(AFTER_SECONDS);
  ({ handler } = (await import('../../lambda/reconciler/index')) as { handler: Handler });
});

afterAll(async () => {
  await twilio.close();
  await world.close();
});

beforeEach(async () => {
  out = captureOutput();
  world.secrets.setSecret(SECRET_ARN, goodSecret);
  twilio.reset();
  twilio.setCredentials(undefined);
  // Each test starts from an empty index: whatever an earlier test left is taken out.
  for (const item of await awaiting()) await leaveIndex(item.id);
});

afterEach(() => {
  out.restore();
});

/** Items in the awaiting-final index (every step), as the reconciler's Query sees them. */
async function awaiting(): Promise<Array<{ id: string; step: string; since: string }>> {
  const found: Array<{ id: string; step: string; since: string }> = [];
  for (let step = 0; step <= RECONCILE_ATTEMPTS; step++) {
    const { Items } = await world.table.send(
      new QueryCommand({
        TableName: TABLE_NAME,
        IndexName: TABLE.AWAITING_FINAL_INDEX,
        KeyConditionExpression: '#step = :step',
        ExpressionAttributeNames: { '#step': TABLE.RECONCILE_STEP_ATTRIBUTE },
        ExpressionAttributeValues: { ':step': { S: String(step) } },
      }),
    );
    for (const item of Items ?? []) found.push({ id: item.id.S!, step: item[TABLE.RECONCILE_STEP_ATTRIBUTE].S!, since: item[TABLE.AWAITING_SINCE_ATTRIBUTE].S! });
  }
  return found;
}

async function leaveIndex(id: string): Promise<void> {
  await world.table.send(
    new UpdateItemCommand({
      TableName: TABLE_NAME,
      Key: { id: { S: id } },
      UpdateExpression: 'REMOVE #step, #since',
      ExpressionAttributeNames: { '#step': TABLE.RECONCILE_STEP_ATTRIBUTE, '#since': TABLE.AWAITING_SINCE_ATTRIBUTE },
    }),
  );
}

/** Moves a message's current wait back in time, as if the clock had run on. */
async function waitedFor(id: string, ms: number): Promise<void> {
  await world.table.send(
    new UpdateItemCommand({
      TableName: TABLE_NAME,
      Key: { id: { S: id } },
      UpdateExpression: 'SET #since = :since',
      ExpressionAttributeNames: { '#since': TABLE.AWAITING_SINCE_ATTRIBUTE },
      ExpressionAttributeValues: { ':since': { S: new Date(Date.now() - ms).toISOString() } },
    }),
  );
}

/** The sender's record of a message Twilio accepted `ageMs` ago (the sender's own write). */
async function accepted(messageSid: string, ageMs: number, status = 'queued'): Promise<void> {
  const acceptedAt = Date.now() - ageMs;
  await writeMessageRecord(
    world.table,
    TABLE_NAME,
    { sid: messageSid, status, to: TO, from: FROM, channel: 'sms', notificationId: 'n-1', bodyPreview: 'disk full', acceptedAt },
    acceptedAt,
  );
}

/** A message Twilio holds with this status, which the sender recorded `ageMs` ago as queued. */
async function twilioHas(status: string, ageMs: number, errorCode?: number): Promise<string> {
  const m = twilio.addMessage({ to: TO, from: FROM, body: 'disk full', status, ...(errorCode !== undefined ? { errorCode } : {}) });
  await accepted(m.sid, ageMs);
  return m.sid;
}

const polls = () => twilio.requests.filter((r) => r.method === 'GET' && /\/Messages\/[^/]+\.json$/.test(r.path));
const metricsOf = () => out.metrics();

test("the sender's write of an accepted message puts it in the awaiting index at step 0, waiting since acceptance", async () => {
  const id = sid('SM', 0xa1);
  await accepted(id, 2 * MINUTE);
  const entry = (await awaiting()).find((a) => a.id === id);
  expect(entry).toEqual({ id, step: '0', since: expect.any(String) });
  expect(Math.abs(Date.parse(entry!.since) - (Date.now() - 2 * MINUTE))).toBeLessThan(MINUTE);
});

test('final: a delivered message is recorded from the poll (history source poll), leaves the index, and is counted', async () => {
  const id = await twilioHas('delivered', 6 * MINUTE);
  const summary = await run();
  expect(summary).toMatchObject({ asked: 1, reconciled: 1, final: 1, stoppedBy: 'done' });
  expect(polls().map((r) => r.path)).toEqual([`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${id}.json`]);
  const item = await getItem(world.table, id);
  expect(item).toMatchObject({ status: 'delivered', statusRank: 4 });
  expect(item!.history).toEqual([expect.objectContaining({ status: 'queued', source: 'api' }), expect.objectContaining({ status: 'delivered', source: 'poll' })]);
  expect(item![TABLE.RECONCILE_STEP_ATTRIBUTE]).toBeUndefined();
  expect(await awaiting()).toEqual([]);
  expect(metricsOf()).toMatchObject({ [METRIC.STATUSES_RECONCILED]: 1, [METRIC.MESSAGES_DELIVERED]: 1 });
});

test('final with an error: undelivered keeps its error code and counts MessagesUndelivered', async () => {
  const id = await twilioHas('undelivered', 6 * MINUTE, 30003);
  await run();
  expect(await getItem(world.table, id)).toMatchObject({ status: 'undelivered', errorCode: '30003' });
  expect(metricsOf()).toMatchObject({ [METRIC.MESSAGES_UNDELIVERED]: 1 });
  expect(await awaiting()).toEqual([]);
});

test('not yet due: a message accepted less than RECONCILE_AFTER_SECONDS ago is not asked', async () => {
  await twilioHas('delivered', 2 * MINUTE);
  expect(await run()).toMatchObject({ asked: 0, stoppedBy: 'done' });
  expect(polls()).toEqual([]);
});

test('still pending: the status moves forward, the message waits at the next step, and is not asked again before its time', async () => {
  const id = await twilioHas('sent', 6 * MINUTE);
  expect(await run()).toMatchObject({ asked: 1, reconciled: 1, pending: 1 });
  expect(await getItem(world.table, id)).toMatchObject({ status: 'sent' });
  const [entry] = await awaiting();
  expect(entry).toMatchObject({ id, step: '1' });
  expect(Date.now() - Date.parse(entry.since)).toBeLessThan(MINUTE);
  // Step 1 waits twice RECONCILE_AFTER_SECONDS (the poll at 15 minutes after acceptance).
  await run();
  await waitedFor(id, 9 * MINUTE);
  await run();
  expect(polls()).toHaveLength(1);
  await waitedFor(id, 11 * MINUTE);
  await run();
  expect(polls()).toHaveLength(2);
});

test('attempts bounded: after the last poll a message still not final keeps its status, leaves the index, and counts StatusNeverFinal', async () => {
  const id = await twilioHas('sent', 6 * MINUTE);
  for (let i = 0; i < RECONCILE_ATTEMPTS; i++) {
    await waitedFor(id, 24 * 60 * MINUTE);
    await run();
  }
  expect(polls()).toHaveLength(RECONCILE_ATTEMPTS);
  const item = await getItem(world.table, id);
  expect(item).toMatchObject({ status: 'sent', reconcileOutcome: 'still-pending' });
  expect(await awaiting()).toEqual([]);
  expect(out.metricRecords(METRIC.STATUS_NEVER_FINAL)).toEqual([expect.objectContaining({ [METRIC.STATUS_NEVER_FINAL]: 1, reason: 'still-pending' })]);
  // Nothing is asked again, however long it waits.
  await run();
  expect(polls()).toHaveLength(RECONCILE_ATTEMPTS);
});

test.each([
  ['500', { status: 500, code: 20500 }],
  ['429', { status: 429, code: 20429 }],
])('Twilio error %s: the refused message keeps its status, the run stops before the next messages, the next run asks them all', async (_name, error) => {
  const ids = [];
  for (let i = 0; i < 6; i++) ids.push(await twilioHas('delivered', 10 * MINUTE - i * 1000));
  const [refused] = ids;
  let left = 1;
  twilio.setFaultInjector((req) => (req.path.includes(refused) && left-- > 0 ? { error } : undefined));
  // The oldest four are asked together (POLL_CONCURRENCY); the refusal ends the run there.
  expect(await run()).toMatchObject({ asked: 3, final: 3, stoppedBy: 'twilio' });
  expect(await getItem(world.table, refused)).toMatchObject({ status: 'queued', [TABLE.RECONCILE_STEP_ATTRIBUTE]: '0' });
  for (const id of ids.slice(4)) expect(await getItem(world.table, id)).toMatchObject({ status: 'queued' });
  expect(await run()).toMatchObject({ asked: 3, final: 3, stoppedBy: 'done' });
  for (const id of ids) expect(await getItem(world.table, id)).toMatchObject({ status: 'delivered' });
  expect(polls()).toHaveLength(7);
});

test('unknown SID: a 404 counts StatusNeverFinal (not-found), the message leaves the index and is not asked again', async () => {
  const id = sid('SM', 0xdead);
  await accepted(id, 6 * MINUTE);
  expect(await run()).toMatchObject({ asked: 1, notFound: 1 });
  expect(await getItem(world.table, id)).toMatchObject({ status: 'queued', reconcileOutcome: 'not-found' });
  expect(out.metricRecords(METRIC.STATUS_NEVER_FINAL)).toEqual([expect.objectContaining({ reason: 'not-found' })]);
  await waitedFor(id, 24 * 60 * MINUTE);
  await run();
  expect(polls()).toHaveLength(1);
});

test('already final: a message whose delivered callback arrived (status-callback entry point) is not asked', async () => {
  const id = await twilioHas('delivered', 6 * MINUTE);
  expect((await awaiting()).map((a) => a.id)).toEqual([id]);
  const { handler: statusCallback } = (await import('../../lambda/status-callback/index')) as { handler: ApiHandler };
  const params: Array<[string, string]> = [['MessageSid', id], ['MessageStatus', 'delivered'], ['AccountSid', ACCOUNT_SID], ['To', TO], ['From', FROM]];
  expect((await statusCallback(twilioEvent('/status', STATUS_URL, params), lambdaContext('status-callback'))).statusCode).toBe(200);
  expect(await awaiting()).toEqual([]);
  expect(await run()).toMatchObject({ asked: 0 });
  expect(polls()).toEqual([]);
});

test("a callback's non-final status keeps the message waiting; the sender's late write does not put back a final one", async () => {
  const { handler: statusCallback } = (await import('../../lambda/status-callback/index')) as { handler: ApiHandler };
  const post = (messageSid: string, status: string) =>
    statusCallback(twilioEvent('/status', STATUS_URL, [['MessageSid', messageSid], ['MessageStatus', status], ['AccountSid', ACCOUNT_SID]]), lambdaContext('status-callback'));
  const waiting = sid('SM', 0xb1);
  await accepted(waiting, MINUTE);
  await post(waiting, 'sent');
  expect((await awaiting()).map((a) => a.id)).toEqual([waiting]);
  // The delivered callback overtakes the sender's write of the 201.
  const overtaken = sid('SM', 0xb2);
  await post(overtaken, 'delivered');
  await accepted(overtaken, MINUTE);
  expect((await awaiting()).map((a) => a.id)).toEqual([waiting]);
  expect(await getItem(world.table, overtaken)).toMatchObject({ status: 'delivered' });
});

test('credentials Twilio refuses: a configuration error, counted, nothing changes', async () => {
  const id = await twilioHas('delivered', 6 * MINUTE);
  twilio.setCredentials([{ username: ACCOUNT_SID, password: 'another-token' }]);
  expect(await run()).toMatchObject({ asked: 0, stoppedBy: 'configuration' });
  expect(metricsOf()).toMatchObject({ [METRIC.CONFIGURATION_ERRORS]: 1 });
  expect(await getItem(world.table, id)).toMatchObject({ status: 'queued', [TABLE.RECONCILE_STEP_ATTRIBUTE]: '0' });
  expect(out.text()).not.toContain(AUTH_TOKEN);
});

test('a placeholder secret: a configuration error, counted, nothing asked', async () => {
  await twilioHas('delivered', 6 * MINUTE);
  world.secrets.setSecret(SECRET_ARN, JSON.stringify(PLACEHOLDER_SECRET));
  expect(await run()).toMatchObject({ asked: 0, stoppedBy: 'configuration' });
  expect(polls()).toEqual([]);
  expect(metricsOf()).toMatchObject({ [METRIC.CONFIGURATION_ERRORS]: 1 });
});

test('time budget: with too little time left no poll is started, and the messages stay due', async () => {
  const id = await twilioHas('delivered', 6 * MINUTE);
  expect(await run(4_000)).toMatchObject({ asked: 0, stoppedBy: 'time' });
  expect(polls()).toEqual([]);
  expect(await getItem(world.table, id)).toMatchObject({ [TABLE.RECONCILE_STEP_ATTRIBUTE]: '0' });
});

test('many due messages: each is asked once in one run', async () => {
  const ids = [];
  for (let i = 0; i < 30; i++) ids.push(await twilioHas(i % 2 === 0 ? 'delivered' : 'failed', 6 * MINUTE + i * 1000));
  expect(await run()).toMatchObject({ asked: 30, final: 30, stoppedBy: 'done' });
  expect(new Set(polls().map((r) => r.path)).size).toBe(30);
  expect(await awaiting()).toEqual([]);
});

describe('configuration the reconciler cannot use', () => {
  const load = async (env: Record<string, string | undefined>): Promise<Handler> => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
    try {
      let loaded: Handler | undefined;
      await jest.isolateModulesAsync(async () => {
        ({ handler: loaded } = (await import('../../lambda/reconciler/index')) as { handler: Handler });
      });
      return loaded!;
    } finally {
      process.env = saved;
    }
  };

  test.each([['abc'], ['30'], [undefined]])('RECONCILE_AFTER_SECONDS %s: logged with the fix and counted, no error thrown', async (value) => {
    const bad = await load({ [ENV.RECONCILE_AFTER_SECONDS]: value });
    await twilioHas('delivered', 6 * MINUTE);
    const result = await bad(scheduled, lambdaContext('reconciler'));
    expect(result).toMatchObject({ stoppedBy: 'configuration', problem: expect.stringContaining('RECONCILE_AFTER_SECONDS') });
    expect(out.text()).toContain('whole seconds from 60 to 86400');
    expect(polls()).toEqual([]);
  });

  test('rotation: a poll refused with the cached token is asked again, once, with the new one from the secret', async () => {
    const cached = await load({ [ENV.SECRET_CACHE_TTL_SECONDS]: '300' });
    await twilioHas('delivered', 6 * MINUTE);
    expect(await cached(scheduled, lambdaContext('reconciler'))).toMatchObject({ final: 1 });
    const token = 'n3wt0k3nn3wt0k3nn3wt0k3nn3wt0k3n';
    world.secrets.setSecret(SECRET_ARN, JSON.stringify({ ...JSON.parse(goodSecret), authToken: token }));
    twilio.setCredentials([{ username: ACCOUNT_SID, password: token }]);
    const id = await twilioHas('delivered', 6 * MINUTE);
    expect(await cached(scheduled, lambdaContext('reconciler'))).toMatchObject({ final: 1, stoppedBy: 'done' });
    expect(polls().slice(1).map((r) => r.status)).toEqual([401, 200]);
    expect(await getItem(world.table, id)).toMatchObject({ status: 'delivered' });
  });

  test('a table without the awaiting-final index (an existingTable not yet upgraded): named in the log, counted', async () => {
    await createStatusTable(world.dynamo.backendEndpoint, 'old-status', { awaitingFinalIndex: false });
    const old = await load({ [ENV.STATUS_TABLE_NAME]: 'old-status' });
    expect(await old(scheduled, lambdaContext('reconciler'))).toMatchObject({ stoppedBy: 'configuration' });
    expect(out.text()).toContain(`no index ${TABLE.AWAITING_FINAL_INDEX}`);
    expect(metricsOf()).toMatchObject({ [METRIC.CONFIGURATION_ERRORS]: 1 });
  });

  test('an index still backfilling (the first deploy of an upgrade): DynamoDB\'s refusal is told as the missing index, counted, and the run ends without an error', async () => {
    // DynamoDB's answer to a Query on a global secondary index it is still building; dynalite builds none.
    const queries: string[] = [];
    const dynamo = createServer((req, res) => {
      queries.push(String(req.headers['x-amz-target']));
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ __type: 'com.amazon.coral.validate#ValidationException', message: `Cannot read from backfilling global secondary index: ${TABLE.AWAITING_FINAL_INDEX}` }));
      });
    });
    await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', resolve));
    const saved = process.env.AWS_ENDPOINT_URL_DYNAMODB;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
    try {
      const backfilling = await load({});
      expect(await backfilling(scheduled, lambdaContext('reconciler'))).toMatchObject({ asked: 0, stoppedBy: 'configuration' });
    } finally {
      process.env.AWS_ENDPOINT_URL_DYNAMODB = saved;
      await new Promise((resolve) => dynamo.close(resolve));
    }
    expect(queries).toEqual(['DynamoDB_20120810.Query']);
    expect(out.text()).toContain(`no index ${TABLE.AWAITING_FINAL_INDEX}`);
    expect(metricsOf()).toMatchObject({ [METRIC.CONFIGURATION_ERRORS]: 1 });
  });
});
