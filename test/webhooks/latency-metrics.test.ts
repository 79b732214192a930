import { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ENV, METRIC, TABLE } from '../../lib/contract';
import { backlogRecord } from '../../lambda/webhook/webhook-backlog';
import { seedIncident, seedPage } from './incidents';
import {
  ACCOUNT_SID,
  ApiHandler,
  backlogEvent,
  BacklogHandler,
  captureOutput,
  CapturedOutput,
  INBOUND_URL,
  lambdaContext,
  OUR_NUMBER,
  putItem,
  sid,
  STATUS_URL,
  startWorld,
  twilioEvent,
  WebhookWorld,
} from '../support/webhook-rig';

/*
 * The latency metrics of the dashboard, through the real webhook entry
 * points: DeliveryLatency (status-callback: the alert's publishing, the
 * message item's publishedAt, to the `delivered` callback),
 * TwilioDeliveryLatency (the same from Twilio's acceptance, acceptedAt) and
 * TimeToAcknowledge (inbound: an incident's opening to the reply that
 * acknowledged it first). Backlog records carry the time their request
 * arrived, so those cases know the exact value to expect.
 */

const R1 = '+15551440001';
const R2 = '+15551440002';

let world: WebhookWorld;
let statusCallback: ApiHandler;
let inbound: ApiHandler;
let out: CapturedOutput;
let serial = 0x440000;

beforeAll(async () => {
  world = await startWorld();
  process.env[ENV.ALERT_QUEUE_URL] = world.sqs.queueUrl('alerts');
  ({ handler: statusCallback } = (await import('../../lambda/status-callback/index')) as { handler: ApiHandler });
  ({ handler: inbound } = (await import('../../lambda/inbound/index')) as { handler: ApiHandler });
});

afterAll(async () => {
  delete process.env[ENV.ALERT_QUEUE_URL];
  await world.close();
});

beforeEach(() => {
  out = captureOutput();
});

afterEach(() => {
  out.restore();
});

/** The values of `name` in the EMF records written since the test began. */
const values = (name: string): number[] => out.metricRecords(name).flatMap((r) => (Array.isArray(r[name]) ? (r[name] as number[]) : [Number(r[name])]));

const s = (value: string): AttributeValue => ({ S: value });

/** A message item as the sender writes it after Twilio's 201 (status `queued`, acceptedAt, publishedAt unless `null`). */
async function acceptedMessage(acceptedAt: string, status = 'queued', rank = 1, publishedAt: string | null = new Date(Date.parse(acceptedAt) - PUBLISH_TO_ACCEPT_MS).toISOString()): Promise<string> {
  const messageSid = sid('SM', serial++);
  await putItem(world.table, {
    id: s(messageSid),
    kind: s('message'),
    direction: s('outbound-api'),
    status: s(status),
    statusRank: { N: String(rank) },
    to: s(R1),
    channel: s('sms'),
    notificationId: s(`n-${messageSid}`),
    [TABLE.ALERT_SORT_ATTRIBUTE]: s(acceptedAt),
    ...(publishedAt !== null ? { publishedAt: s(publishedAt) } : {}),
  });
  return messageSid;
}

/** The time the alert spent in the queue and the sender before Twilio accepted it, in the items above. */
const PUBLISH_TO_ACCEPT_MS = 1_500;

function statusParams(messageSid: string, status: string): Array<[string, string]> {
  return Object.entries({ MessageSid: messageSid, MessageStatus: status, To: R1, From: OUR_NUMBER, AccountSid: ACCOUNT_SID, ApiVersion: '2010-04-01' });
}

function replyParams(from: string, body: string): Array<[string, string]> {
  const messageSid = sid('SM', serial++);
  return Object.entries({ MessageSid: messageSid, SmsSid: messageSid, SmsStatus: 'received', Body: body, From: from, To: OUR_NUMBER, NumMedia: '0', AccountSid: ACCOUNT_SID, ApiVersion: '2010-04-01' });
}

const postStatus = (params: Array<[string, string]>) => statusCallback(twilioEvent('/status', STATUS_URL, params), lambdaContext('status-callback'));
const postReply = (params: Array<[string, string]>) => inbound(twilioEvent('/inbound', INBOUND_URL, params), lambdaContext('inbound'));

/** Hands `params` to a webhook's backlog consumer as if its request had arrived at `receivedAt`. */
async function fromBacklog(webhook: 'status' | 'inbound', params: Array<[string, string]>, receivedAt: number): Promise<void> {
  const handler = (webhook === 'status' ? statusCallback : inbound) as unknown as BacklogHandler;
  const res = await handler(backlogEvent([{ body: JSON.stringify(backlogRecord(webhook, params, receivedAt)) }]), lambdaContext(webhook));
  expect(res.batchItemFailures).toEqual([]);
}

describe('DeliveryLatency and TwilioDeliveryLatency (status-callback)', () => {
  test('a delivered callback emits the time from the publishedAt the sender recorded, and from its acceptedAt, to the callback\'s arrival', async () => {
    const acceptedAt = Date.parse('2026-11-30T08:00:00.000Z');
    const messageSid = await acceptedMessage(new Date(acceptedAt).toISOString());
    await fromBacklog('status', statusParams(messageSid, 'delivered'), acceptedAt + 4_321);
    expect(values(METRIC.DELIVERY_LATENCY)).toEqual([PUBLISH_TO_ACCEPT_MS + 4_321]);
    expect(values(METRIC.TWILIO_DELIVERY_LATENCY)).toEqual([4_321]);
    expect(values(METRIC.MESSAGES_DELIVERED)).toEqual([1]);
  });

  test('over HTTP, the latencies run to the request\'s arrival', async () => {
    const acceptedAt = Date.now() - 90_000;
    const messageSid = await acceptedMessage(new Date(acceptedAt).toISOString());
    const before = Date.now();
    expect((await postStatus(statusParams(messageSid, 'delivered'))).statusCode).toBe(200);
    const after = Date.now();
    const [latency] = values(METRIC.DELIVERY_LATENCY);
    expect(latency).toBeGreaterThanOrEqual(before - acceptedAt + PUBLISH_TO_ACCEPT_MS);
    expect(latency).toBeLessThanOrEqual(after - acceptedAt + PUBLISH_TO_ACCEPT_MS);
    const [atTwilio] = values(METRIC.TWILIO_DELIVERY_LATENCY);
    expect(latency - atTwilio).toBe(PUBLISH_TO_ACCEPT_MS);
  });

  test('a WhatsApp `read` after `delivered` is the same delivery: one latency, from the first', async () => {
    const acceptedAt = Date.parse('2026-11-30T08:10:00.000Z');
    const messageSid = await acceptedMessage(new Date(acceptedAt).toISOString());
    await fromBacklog('status', statusParams(messageSid, 'delivered'), acceptedAt + 2_000);
    await fromBacklog('status', statusParams(messageSid, 'read'), acceptedAt + 60_000);
    expect(values(METRIC.DELIVERY_LATENCY)).toEqual([PUBLISH_TO_ACCEPT_MS + 2_000]);
    expect(values(METRIC.TWILIO_DELIVERY_LATENCY)).toEqual([2_000]);
  });

  test('a `read` that arrives without `delivered` is the delivery', async () => {
    const acceptedAt = Date.parse('2026-11-30T08:20:00.000Z');
    const messageSid = await acceptedMessage(new Date(acceptedAt).toISOString(), 'sent', 3);
    await fromBacklog('status', statusParams(messageSid, 'read'), acceptedAt + 7_500);
    expect(values(METRIC.DELIVERY_LATENCY)).toEqual([PUBLISH_TO_ACCEPT_MS + 7_500]);
  });

  test('an item written without publishedAt (by a sender before it): Twilio\'s part only, never the one measure passed off as the other', async () => {
    const acceptedAt = Date.parse('2026-11-30T08:25:00.000Z');
    const messageSid = await acceptedMessage(new Date(acceptedAt).toISOString(), 'queued', 1, null);
    await fromBacklog('status', statusParams(messageSid, 'delivered'), acceptedAt + 3_000);
    expect(values(METRIC.DELIVERY_LATENCY)).toEqual([]);
    expect(values(METRIC.TWILIO_DELIVERY_LATENCY)).toEqual([3_000]);
  });

  test('a repeated delivered callback, an undelivered one, and one that arrives before the sender wrote the item emit no latency', async () => {
    const acceptedAt = Date.parse('2026-11-30T08:30:00.000Z');
    const delivered = await acceptedMessage(new Date(acceptedAt).toISOString());
    await fromBacklog('status', statusParams(delivered, 'delivered'), acceptedAt + 1_000);
    out.clear();
    await fromBacklog('status', statusParams(delivered, 'delivered'), acceptedAt + 5_000);
    const undelivered = await acceptedMessage(new Date(acceptedAt).toISOString());
    await fromBacklog('status', statusParams(undelivered, 'undelivered'), acceptedAt + 5_000);
    // No item yet: the callback creates it, and nobody knows when the alert was published or Twilio accepted it.
    await fromBacklog('status', statusParams(sid('SM', serial++), 'delivered'), acceptedAt + 5_000);
    expect(values(METRIC.MESSAGES_DELIVERED)).toEqual([1]);
    expect(values(METRIC.MESSAGES_UNDELIVERED)).toEqual([1]);
    expect(values(METRIC.DELIVERY_LATENCY)).toEqual([]);
    expect(values(METRIC.TWILIO_DELIVERY_LATENCY)).toEqual([]);
  });
});

describe('TimeToAcknowledge (inbound)', () => {
  async function openIncident(code: string, openedAt: number, paged: readonly string[]): Promise<string> {
    const id = `incident#tta-${code}-${serial++}`;
    await seedIncident(world.table, { id, code, title: `Disk full ${code}`, paged, openedAt: new Date(openedAt).toISOString() });
    for (const to of paged) await seedPage(world.table, { sid: sid('SM', serial++), to, incidentId: id, acceptedAt: new Date(openedAt + 1_000).toISOString() });
    return id;
  }

  test('the first ACK emits the seconds from the incident\'s opening to the reply\'s arrival; a redelivery of it emits none', async () => {
    const openedAt = Date.parse('2026-11-30T09:00:00.000Z');
    await openIncident('T1', openedAt, [R1]);
    const params = replyParams(R1, 'ACK T1');
    await fromBacklog('inbound', params, openedAt + 7 * 60_000);
    expect(values(METRIC.TIME_TO_ACKNOWLEDGE)).toEqual([420]);
    expect(values(METRIC.INCIDENTS_ACKNOWLEDGED)).toEqual([1]);

    out.clear();
    await fromBacklog('inbound', params, openedAt + 9 * 60_000);
    expect(values(METRIC.TIME_TO_ACKNOWLEDGE)).toEqual([]);
  });

  test('ACK ALL emits one value per incident it acknowledged first; an ACK of an incident already acknowledged emits none', async () => {
    const openedAt = Date.parse('2026-11-30T09:30:00.000Z');
    await openIncident('T2', openedAt, [R2]);
    await openIncident('T3', openedAt + 60_000, [R2]);
    await fromBacklog('inbound', replyParams(R2, 'ACK ALL'), openedAt + 3 * 60_000);
    expect(values(METRIC.TIME_TO_ACKNOWLEDGE).sort((a, b) => a - b)).toEqual([120, 180]);

    out.clear();
    await fromBacklog('inbound', replyParams(R2, 'ACK T2'), openedAt + 4 * 60_000);
    expect(values(METRIC.TIME_TO_ACKNOWLEDGE)).toEqual([]);
  });

  test('over HTTP, the time runs to the reply\'s arrival', async () => {
    const openedAt = Date.now() - 30_000;
    await openIncident('T4', openedAt, [R1]);
    const before = Date.now();
    expect((await postReply(replyParams(R1, 'ACK T4'))).statusCode).toBe(200);
    const after = Date.now();
    const [seconds] = values(METRIC.TIME_TO_ACKNOWLEDGE);
    expect(seconds).toBeGreaterThanOrEqual((before - openedAt) / 1000);
    expect(seconds).toBeLessThanOrEqual((after - openedAt) / 1000);
  });
});
