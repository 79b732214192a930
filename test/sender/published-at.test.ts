import { QUEUED_AT_ATTRIBUTE } from '../../lambda/sender/defer';
import { FakeSqs, SentSqsMessage, startFakeSqs } from '../support/fake-sqs';
import type { RecordedRequest } from '../support/fake-twilio';
import { ALERTS_TOPIC_ARN, deliveredRecord, snsEnvelope, sqsRecord } from '../support/records';
import { alarm, batch, context, FROM, Rig, startRig } from '../support/sender-rig';

/*
 * When an alert was published, on each message item the sender writes
 * (`publishedAt`, where the status callback's DeliveryLatency starts),
 * through the real handler: an SNS publish's envelope Timestamp, a raw
 * record's SentTimestamp, a timer page's dueAt; never the time of a later
 * delivery of the same record (an SQS redelivery, a deferred copy). The
 * handler's clock (Date.now) is moved by the test instead of waiting.
 */

const R1 = '+15551610001';
const R2 = '+15551610002';
const R3 = '+15551610003';
const ESCALATION = { stages: [{ recipients: [R1], afterSeconds: 0 }, { recipients: [R2], afterSeconds: 600 }], repeats: 0, repeatAfterSeconds: 300 };

let rig: Rig;
let sqs: FakeSqs;
const realNow = Date.now.bind(Date);
let offsetMs = 0;

beforeAll(async () => {
  sqs = await startFakeSqs();
  rig = await startRig({ from: FROM, defaultRecipients: [R1], allowedRecipients: [R2, R3], claimLeaseSeconds: 60, escalation: ESCALATION }, { ALERT_QUEUE_URL: sqs.queueUrl('alerts') });
  jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offsetMs);
});
afterAll(async () => {
  jest.restoreAllMocks();
  delete process.env.ALERT_QUEUE_URL;
  await Promise.all([rig.close(), sqs.close()]);
});
beforeEach(() => {
  rig.twilio.reset();
  sqs.sent.length = 0;
});

const iso = (ms: number) => new Date(ms).toISOString();
const param = (r: RecordedRequest, name: string) => r.params.find(([k]) => k === name)?.[1];
const createdTo = (to: string) => rig.twilio.createRequests().filter((r) => r.outcome === 'created' && param(r, 'To') === to);
/** The message item of the one message created for `to`. */
async function itemTo(to: string): Promise<Record<string, any>> {
  const [created] = createdTo(to);
  expect(created).toBeDefined();
  return (await rig.item(created.sid!))!;
}

/** A publish to the alert topic, as SNS → SQS delivers it, that SNS took at `publishedAt`. */
function published(message: string, snsId: string, publishedAt: number, options: { receiveCount?: number; sentTimestamp?: number } = {}) {
  const envelope = { ...JSON.parse(snsEnvelope(ALERTS_TOPIC_ARN, message, snsId)), Timestamp: iso(publishedAt) };
  return sqsRecord(JSON.stringify(envelope), { messageId: `sqs-${snsId}`, ...options });
}

test('a publish to the topic: the item records the SNS envelope\'s Timestamp, not when the sender got to it', async () => {
  const publishedAt = Date.now() - 42_000;
  expect((await rig.handler(batch(published(JSON.stringify({ body: 'disk full', to: R2 }), 'sns-published-at', publishedAt)), context())).batchItemFailures).toEqual([]);
  const item = await itemTo(R2);
  expect(item.publishedAt).toBe(iso(publishedAt));
  // Twilio's acceptance is now: the two starts differ by the time in the queue.
  expect(Date.parse(item.acceptedAt) - Date.parse(item.publishedAt)).toBeGreaterThanOrEqual(42_000);
});

test('an SQS redelivery after a retry keeps the original publish time', async () => {
  const publishedAt = Date.now() - 5_000;
  // A code the failure table does not know: the recipient is released and retried on a later receive.
  rig.twilio.enqueue({ error: { status: 400, code: 21999, message: 'new in Twilio' } });
  const message = JSON.stringify({ body: 'retried page', to: R3 });
  expect((await rig.handler(batch(published(message, 'sns-redelivered', publishedAt)), context())).batchItemFailures).toEqual([{ itemIdentifier: 'sqs-sns-redelivered' }]);
  expect(createdTo(R3)).toHaveLength(0);

  offsetMs += 120_000;
  try {
    expect((await rig.handler(batch(published(message, 'sns-redelivered', publishedAt, { receiveCount: 2 })), context())).batchItemFailures).toEqual([]);
  } finally {
    offsetMs -= 120_000;
  }
  expect((await itemTo(R3)).publishedAt).toBe(iso(publishedAt));
});

test('a body sent straight to the queue: its SentTimestamp; a deferred copy carries it over its own', async () => {
  const sentAt = Date.now() - 30_000;
  const snsLess = 'sqs-raw-published';
  // Another invocation holds R2's claim for a minute: the record is put back, not failed.
  const now = iso(Date.now());
  await rig.put({ id: `claim#${snsLess}#${R2}`, kind: 'claim', notificationId: snsLess, recipient: R2, state: 'pending', leaseUntil: Date.now() + 60_000, attempts: 1, createdAt: now, updatedAt: now });
  const raw = sqsRecord(JSON.stringify({ body: 'raw page', to: R2 }), { messageId: snsLess, sentTimestamp: sentAt });
  expect((await rig.handler(batch(raw), context())).batchItemFailures).toEqual([]);
  const [copy] = sqs.sent as SentSqsMessage[];
  expect(copy.messageAttributes[QUEUED_AT_ATTRIBUTE]).toEqual({ DataType: 'Number', StringValue: String(sentAt) });

  // The holder crashed: its lease is over when the copy, sent later than the original, arrives.
  await rig.put({ ...(await rig.item(`claim#${snsLess}#${R2}`)), leaseUntil: Date.now() - 1 });
  expect((await rig.handler(batch(deliveredRecord(copy, { sentTimestamp: Date.now() })), context())).batchItemFailures).toEqual([]);
  expect((await itemTo(R2)).publishedAt).toBe(iso(sentAt));
});

test('an escalation stage\'s page: the timer\'s dueAt (when the stage became due), not the incident\'s opening', async () => {
  const name = 'published-at-escalation';
  const arn = `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${name}`;
  const openedAt = Date.now() - 3_000;
  expect((await rig.handler(batch(published(JSON.stringify(alarm({ AlarmName: name, AlarmArn: arn })), 'sns-escalation', openedAt)), context())).batchItemFailures).toEqual([]);
  expect((await itemTo(R1)).publishedAt).toBe(iso(openedAt));
  const timer = sqs.sent.find((m) => JSON.parse(m.body).kind === 'timer')!;
  const { dueAt } = JSON.parse(timer.body) as { dueAt: number };

  // The timer arrives a little late (a busy queue): the page's latency counts from when it was due.
  offsetMs += dueAt - Date.now() + 4_000;
  try {
    expect((await rig.handler(batch(deliveredRecord(timer, { sentTimestamp: Date.now() - 10_000 })), context())).batchItemFailures).toEqual([]);
  } finally {
    offsetMs = 0;
  }
  expect((await itemTo(R2)).publishedAt).toBe(iso(dueAt));
});
