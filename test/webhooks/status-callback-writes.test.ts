import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HISTORY_LIMIT, writeMessageRecord } from '../../lambda/shared/table/messages';
import { TABLE } from '../../lib/contract';
import { ACCOUNT_SID, captureOutput, CapturedOutput, getItem, lambdaContext, sid, STATUS_URL, startWorld, TABLE_NAME, twilioEvent, WebhookWorld } from '../support/webhook-rig';

/*
 * Writes per status callback. The sender writes the message item with the
 * status of Twilio's 201 (`queued`, or `accepted` through a Messaging
 * Service): the `queued` callback that follows is the lowest rank and must
 * cost one UpdateItem, not a refused rank guard plus a history write, while
 * the status still only moves forward and replays change nothing.
 */
type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

interface StoredMessage {
  status: string;
  statusRank: number;
  history: Array<{ status: string; source: string }>;
  historyKeys: string[];
  historyDropped?: number;
  kind?: string;
  channel?: string;
  to?: string;
}

let world: WebhookWorld;
let handler: Handler;
let sender: DynamoDBClient;
let out: CapturedOutput;
let nextSid = 9_000;

const TO = '+15551230001';

beforeAll(async () => {
  world = await startWorld();
  ({ handler } = (await import('../../lambda/status-callback/index')) as { handler: Handler });
  // The sender's own write, through the dynalite endpoint the handlers use.
  sender = new DynamoDBClient({});
});

afterAll(async () => {
  sender.destroy();
  await world.close();
});

beforeEach(() => {
  out = captureOutput();
  world.dynamo.resetCalls();
});

afterEach(() => {
  out.restore();
});

function callback(messageSid: string, status: string): Array<[string, string]> {
  return Object.entries({ MessageSid: messageSid, MessageStatus: status, To: TO, From: '+15557650000', AccountSid: ACCOUNT_SID, ApiVersion: '2010-04-01' });
}

/** Posts the callback; the UpdateItem calls it cost and the outcome it logged. */
async function post(messageSid: string, status: string): Promise<{ statusCode: number; writes: number; outcome: unknown }> {
  world.dynamo.resetCalls();
  out.clear();
  const res = await handler(twilioEvent('/status', STATUS_URL, callback(messageSid, status)), lambdaContext('status-callback'));
  const writes = world.dynamo.calls.get('UpdateItem') ?? 0;
  return { statusCode: res.statusCode, writes, outcome: out.records().find((r) => r.message === 'status callback')?.outcome };
}

async function senderAccepted(messageSid: string, status: string): Promise<void> {
  await writeMessageRecord(sender, TABLE_NAME, { sid: messageSid, status, to: TO, from: '+15557650000', channel: 'sms', notificationId: 'n-writes', bodyPreview: 'Disk 91% on db-1' }, Date.now());
}

const stored = async (id: string) => (await getItem(world.table, id)) as StoredMessage | undefined;

test('queued after the sender wrote queued: one UpdateItem, the status stays, both entries in the history', async () => {
  const id = sid('SM', nextSid++);
  await senderAccepted(id, 'queued');
  expect(await post(id, 'queued')).toEqual({ statusCode: 200, writes: 1, outcome: 'recorded' });
  const item = await stored(id);
  expect(item).toMatchObject({ status: 'queued', statusRank: 1 });
  expect(item?.history.map((h) => `${h.source}:${h.status}`)).toEqual(['api:queued', 'callback:queued']);
  expect(item?.historyKeys).toEqual(new Set(['api#queued', 'queued#']));

  // The rest of the in-order run is one write each as before: three callbacks, three writes.
  expect((await post(id, 'sent')).writes).toBe(1);
  expect((await post(id, 'delivered')).writes).toBe(1);
  expect((await stored(id))?.status).toBe('delivered');
});

test('queued after a Messaging Service sender wrote accepted: one UpdateItem, accepted is not replaced by its equal', async () => {
  const id = sid('SM', nextSid++);
  await senderAccepted(id, 'accepted');
  expect(await post(id, 'queued')).toEqual({ statusCode: 200, writes: 1, outcome: 'recorded' });
  expect((await stored(id))?.status).toBe('accepted');
});

test('queued before any sender write: one UpdateItem creates the item with the status; the sender then keeps its own fields, not the status', async () => {
  const id = sid('SM', nextSid++);
  expect(await post(id, 'queued')).toEqual({ statusCode: 200, writes: 1, outcome: 'advanced' });
  expect(await stored(id)).toMatchObject({ status: 'queued', statusRank: 1, kind: 'message', channel: 'sms', to: TO });
  expect((await post(id, 'delivered')).outcome).toBe('advanced');
  await senderAccepted(id, 'queued');
  expect((await stored(id))?.status).toBe('delivered');
});

test('queued after a later status: one UpdateItem, recorded in the history, the status does not move back', async () => {
  const id = sid('SM', nextSid++);
  await post(id, 'delivered');
  expect(await post(id, 'queued')).toEqual({ statusCode: 200, writes: 1, outcome: 'recorded' });
  const item = await stored(id);
  expect(item?.status).toBe('delivered');
  expect(item?.history.map((h) => h.status)).toEqual(['delivered', 'queued']);
});

test('a replayed queued changes nothing', async () => {
  const id = sid('SM', nextSid++);
  await senderAccepted(id, 'queued');
  await post(id, 'queued');
  const before = await stored(id);
  expect((await post(id, 'queued')).outcome).toBe('duplicate');
  expect(await stored(id)).toEqual(before);
});

test('queued after a status of unknown rank still moves it forward', async () => {
  const id = sid('SM', nextSid++);
  expect((await post(id, 'some_new_status')).outcome).toBe('advanced');
  expect((await stored(id))?.statusRank).toBe(0);
  expect((await post(id, 'queued')).outcome).toBe('advanced');
  expect(await stored(id)).toMatchObject({ status: 'queued', statusRank: 1 });
});

test(`queued finding the history full (${HISTORY_LIMIT} entries) is counted in historyDropped, the history left as it was`, async () => {
  const id = sid('SM', nextSid++);
  await post(id, 'delivered');
  // Distinct late entries that do not move the status fill the history.
  for (let i = 1; i < HISTORY_LIMIT; i++) await handler(twilioEvent('/status', STATUS_URL, [...callback(id, 'sent'), ['ErrorCode', String(30000 + i)]]), lambdaContext('status-callback'));
  expect((await stored(id))?.history).toHaveLength(HISTORY_LIMIT);
  expect((await post(id, 'queued')).outcome).toBe('dropped');
  const item = await stored(id);
  expect(item?.history).toHaveLength(HISTORY_LIMIT);
  expect(item?.historyDropped).toBe(1);
  expect(item?.status).toBe('delivered');
});

test('queued before any sender write: the sender write that follows puts the message in the awaiting-final index, which a final status takes it out of', async () => {
  const id = sid('SM', nextSid++);
  expect((await post(id, 'queued')).outcome).toBe('advanced');
  await senderAccepted(id, 'queued');
  const awaiting = (await stored(id)) as Record<string, unknown> | undefined;
  expect(awaiting?.[TABLE.RECONCILE_STEP_ATTRIBUTE]).toBe('0');
  expect(typeof awaiting?.[TABLE.AWAITING_SINCE_ATTRIBUTE]).toBe('string');
  expect((await post(id, 'delivered')).outcome).toBe('advanced');
  const final = (await stored(id)) as Record<string, unknown> | undefined;
  expect(final?.[TABLE.RECONCILE_STEP_ATTRIBUTE]).toBeUndefined();
  expect(final?.status).toBe('delivered');
});
