import { METRIC } from '../../lib/contract';
import { DEFERRALS_ATTRIBUTE, MAX_DEFERRALS, NOTIFICATION_ID_ATTRIBUTE } from '../../lambda/sender/defer';
import { batch, captureStdout, context, FROM, loadHandler, metricSum, rawRecord, Rig, snsRecord, startRig } from '../support/sender-rig';
import { FakeSqs, startFakeSqs } from '../support/fake-sqs';
import { deliveredRecord } from '../support/records';

/*
 * Slowness alone never dead-letters a page: a record held up only by time
 * (a claim another invocation holds, an answer that did not come in time, a
 * time budget spent) is put back on the alert queue with a fresh receive
 * count instead of being failed (lambda/sender/defer.ts).
 */

const R1 = '+15551270001';
const R2 = '+15551270002';
const R3 = '+15551270003';

let rig: Rig;
let sqs: FakeSqs;
beforeAll(async () => {
  sqs = await startFakeSqs();
  rig = await startRig({ from: FROM, defaultRecipients: [R1], allowedRecipients: [R2, R3], claimLeaseSeconds: 60, storm: { windowSeconds: 0 } }, { ALERT_QUEUE_URL: sqs.queueUrl('alerts') });
});
afterAll(async () => {
  delete process.env.ALERT_QUEUE_URL;
  await Promise.all([rig.close(), sqs.close()]);
});
beforeEach(() => {
  rig.twilio.reset();
  sqs.sent.length = 0;
  sqs.failNext(0);
});

async function holdClaim(snsId: string, to: string, leaseMs: number): Promise<void> {
  const now = new Date().toISOString();
  await rig.put({ id: `claim#${snsId}#${to}`, kind: 'claim', notificationId: snsId, recipient: to, state: 'pending', leaseUntil: Date.now() + leaseMs, attempts: 1, createdAt: now, updatedAt: now });
}

test('a claim another invocation holds: no receive spent, a copy comes back when its lease ends and sends nothing twice', async () => {
  const snsId = 'sns-deferred-lease';
  await holdClaim(snsId, R2, 60_000);
  const record = snsRecord(JSON.stringify({ body: 'held elsewhere', to: R2 }), snsId);
  const { result, metrics } = await captureStdout(() => rig.handler(batch(record), context()));
  expect(result.batchItemFailures).toEqual([]);
  expect(rig.twilio.requests).toHaveLength(0);
  expect(sqs.sent).toHaveLength(1);
  const [copy] = sqs.sent;
  expect(copy.body).toBe(record.body);
  expect(copy.delaySeconds).toBeGreaterThanOrEqual(55);
  expect(copy.delaySeconds).toBeLessThanOrEqual(62);
  expect(copy.messageAttributes[DEFERRALS_ATTRIBUTE]).toEqual({ DataType: 'Number', StringValue: '1' });
  expect(copy.messageAttributes[NOTIFICATION_ID_ATTRIBUTE]).toEqual({ DataType: 'String', StringValue: snsId });
  expect(metricSum(metrics, METRIC.SENDS_DEFERRED)).toBe(1);

  // The holder finishes; the copy arrives and finds the recipient done.
  await rig.put({ id: `claim#${snsId}#${R2}`, kind: 'claim', state: 'sent', messageSid: 'SM' + '1'.repeat(32), leaseUntil: 0, attempts: 1 });
  expect((await rig.handler(batch(deliveredRecord(copy)), context())).batchItemFailures).toEqual([]);
  expect(rig.twilio.requests).toHaveLength(0);
  expect(sqs.sent).toHaveLength(1);
});

test('an answer slower than the time left: deferred until the lease ends; the copy keeps a raw record\'s id and the lookup records the message', async () => {
  rig.twilio.enqueue({ delayMs: 6_000 });
  const record = rawRecord(JSON.stringify({ body: 'slow twilio', to: R2 }), 'sqs-slow-raw');
  const { result } = await captureStdout(() => rig.handler(batch(record), context(5_000)));
  expect(result.batchItemFailures).toEqual([]);
  expect(sqs.sent).toHaveLength(1);
  expect(sqs.sent[0].messageAttributes[NOTIFICATION_ID_ATTRIBUTE].StringValue).toBe('sqs-slow-raw');
  const claimId = `claim#sqs-slow-raw#${R2}`;
  expect(await rig.item(claimId)).toMatchObject({ state: 'pending', outcome: 'unknown' });

  // When the copy comes back the lease is over (here: made so).
  const claim = await rig.item(claimId);
  await rig.put({ ...claim, leaseUntil: Date.now() - 1 });
  expect((await rig.handler(batch(deliveredRecord(sqs.sent[0])), context())).batchItemFailures).toEqual([]);
  expect(rig.twilio.createRequests()).toHaveLength(1);
  expect(await rig.item(claimId)).toMatchObject({ state: 'sent', messageSid: rig.twilio.createRequests()[0].sid });
});

test('a time budget spent on other recipients: the rest deferred (no request made for them), then each sent exactly once', async () => {
  const saved = process.env.SENDER_CONFIG;
  process.env.SENDER_CONFIG = JSON.stringify({ from: FROM, defaultRecipients: [R1], allowedRecipients: [R2, R3], claimLeaseSeconds: 60, sendConcurrency: 1, storm: { windowSeconds: 0 } });
  const handler = await loadHandler().finally(() => {
    process.env.SENDER_CONFIG = saved;
  });
  rig.twilio.setDefault({ delayMs: 1_200 });
  const record = snsRecord(JSON.stringify({ body: 'one at a time', to: [R1, R2, R3] }), 'sns-budget');
  const { result } = await captureStdout(() => handler(batch(record), context(4_000)));
  expect(result.batchItemFailures).toEqual([]);
  expect(rig.twilio.createRequests().length).toBeLessThan(3);
  expect(sqs.sent).toHaveLength(1);
  expect(sqs.sent[0].delaySeconds).toBeLessThanOrEqual(2);

  rig.twilio.setDefault({});
  expect((await handler(batch(deliveredRecord(sqs.sent[0])), context())).batchItemFailures).toEqual([]);
  for (const to of [R1, R2, R3]) {
    expect(rig.twilio.createRequests().filter((r) => r.params.some(([k, v]) => k === 'To' && v === to))).toHaveLength(1);
    expect(await rig.item(`claim#sns-budget#${to}`)).toMatchObject({ state: 'sent' });
  }
});

test(`bounded: a copy already deferred ${MAX_DEFERRALS} times goes back to SQS redelivery`, async () => {
  const snsId = 'sns-deferred-too-often';
  await holdClaim(snsId, R2, 60_000);
  const copy = deliveredRecord({
    body: snsRecord(JSON.stringify({ body: 'forever slow', to: R2 }), snsId).body,
    messageAttributes: { [DEFERRALS_ATTRIBUTE]: { DataType: 'Number', StringValue: String(MAX_DEFERRALS) }, [NOTIFICATION_ID_ATTRIBUTE]: { DataType: 'String', StringValue: snsId } },
  });
  expect((await rig.handler(batch(copy), context())).batchItemFailures).toEqual([{ itemIdentifier: copy.messageId }]);
  expect(sqs.sent).toHaveLength(0);
});

test('SQS refuses the copy: the record is a batch failure, never dropped', async () => {
  const snsId = 'sns-defer-refused';
  await holdClaim(snsId, R2, 60_000);
  sqs.failNext(10);
  const record = snsRecord(JSON.stringify({ body: 'no copy', to: R2 }), snsId);
  const { result, logs } = await captureStdout(() => rig.handler(batch(record), context()));
  expect(result.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
  expect(sqs.sent).toHaveLength(0);
  // The log says why SQS refused (the logger drops a field named `message`).
  expect(logs.find((l) => l.message === 'could not defer the record: left to SQS redelivery')?.reason).toEqual(expect.stringMatching(/./));
});

test('a crash recovery with no time left is deferred, not counted as a failed lookup: never marked unknown, sent once when time allows', async () => {
  const snsId = 'sns-recover-no-time';
  const claimId = `claim#${snsId}#${R2}`;
  await holdClaim(snsId, R2, -1);
  const record = snsRecord(JSON.stringify({ body: 'recover later', to: R2 }), snsId);
  // More invocations than MAX_DOUBTS, each with too little time for any request.
  for (let i = 0; i < 4; i++) {
    const { result } = await captureStdout(() => rig.handler(batch(record), context(400)));
    expect(result.batchItemFailures).toEqual([]);
  }
  expect(rig.twilio.requests).toHaveLength(0);
  expect(sqs.sent).toHaveLength(4);
  const claim = await rig.item(claimId);
  expect(claim).toMatchObject({ state: 'pending' });
  expect(claim?.doubts ?? 0).toBe(0);

  expect((await rig.handler(batch(deliveredRecord(sqs.sent[3])), context())).batchItemFailures).toEqual([]);
  expect(rig.twilio.requests.filter((r) => r.method === 'GET').length).toBeGreaterThan(0);
  expect(rig.twilio.createRequests()).toHaveLength(1);
  expect(await rig.item(claimId)).toMatchObject({ state: 'sent', messageSid: rig.twilio.createRequests()[0].sid });
});

test('time spent waiting for the lookup slot: the lookup is not started and no doubt is counted', async () => {
  const saved = process.env.SENDER_CONFIG;
  process.env.SENDER_CONFIG = JSON.stringify({ from: FROM, defaultRecipients: [R1], allowedRecipients: [R2, R3], claimLeaseSeconds: 60, sendConcurrency: 1, storm: { windowSeconds: 0 } });
  const handler = await loadHandler().finally(() => {
    process.env.SENDER_CONFIG = saved;
  });
  const snsId = 'sns-recover-slot';
  await holdClaim(snsId, R2, -1);
  await holdClaim(snsId, R3, -1);
  rig.twilio.setDefault({ on: 'read', delayMs: 2_500 });
  const record = snsRecord(JSON.stringify({ body: 'slot spent', to: [R2, R3] }), snsId);
  const { result } = await captureStdout(() => handler(batch(record), context(4_000)));
  expect(result.batchItemFailures).toEqual([]);
  expect(sqs.sent).toHaveLength(1);
  // One lookup ran; the recipient queued behind it had too little time left for its own.
  expect(rig.twilio.requests.filter((r) => r.method === 'GET')).toHaveLength(1);
  for (const to of [R2, R3]) expect((await rig.item(`claim#${snsId}#${to}`))?.doubts ?? 0).toBe(0);
});

test('a 504 with no time left to let it settle and look up: released as "may have created", deferred, and the copy looks up before any POST: one SMS', async () => {
  rig.twilio.enqueue({ errorAfterCreate: { status: 504, code: 20504 }, visibleAfterMs: 1_500 });
  const snsId = 'sns-504-no-time';
  const claimId = `claim#${snsId}#${R2}`;
  const record = snsRecord(JSON.stringify({ body: 'created behind a 504', to: R2 }), snsId);
  const { result } = await captureStdout(() => rig.handler(batch(record), context(4_000)));
  expect(result.batchItemFailures).toEqual([]);
  expect(rig.twilio.createRequests()).toHaveLength(1);
  expect(sqs.sent).toHaveLength(1);
  expect(sqs.sent[0].delaySeconds).toBeGreaterThanOrEqual(3);
  const claim = await rig.item(claimId);
  expect(claim).toMatchObject({ state: 'pending' });
  expect(claim!.leaseUntil).toBeLessThanOrEqual(Date.now());

  // The copy arrives after its delay: by then Twilio shows the message.
  const [message] = rig.twilio.messages.values();
  await new Promise((resolve) => setTimeout(resolve, 1_600));
  const before = rig.twilio.requests.length;
  expect((await rig.handler(batch(deliveredRecord(sqs.sent[0])), context())).batchItemFailures).toEqual([]);
  expect(rig.twilio.requests.slice(before).map((r) => r.method)).toEqual(['GET']);
  expect(rig.twilio.createRequests()).toHaveLength(1);
  expect(await rig.item(claimId)).toMatchObject({ state: 'sent', messageSid: message.sid });
});

test(`a deferral of an invocation that sent some recipients is not counted: a copy at ${MAX_DEFERRALS} deferrals that progresses is deferred again, not dead-lettered`, async () => {
  const saved = process.env.SENDER_CONFIG;
  process.env.SENDER_CONFIG = JSON.stringify({ from: FROM, defaultRecipients: [R1], allowedRecipients: [R2, R3], claimLeaseSeconds: 60, sendConcurrency: 1, storm: { windowSeconds: 0 } });
  const handler = await loadHandler().finally(() => {
    process.env.SENDER_CONFIG = saved;
  });
  rig.twilio.setDefault({ delayMs: 1_200 });
  const snsId = 'sns-progressing';
  const copy = deliveredRecord({
    body: snsRecord(JSON.stringify({ body: 'slow but moving', to: [R1, R2, R3] }), snsId).body,
    messageAttributes: { [DEFERRALS_ATTRIBUTE]: { DataType: 'Number', StringValue: String(MAX_DEFERRALS) }, [NOTIFICATION_ID_ATTRIBUTE]: { DataType: 'String', StringValue: snsId } },
  });
  const { result } = await captureStdout(() => handler(batch(copy), context(4_000)));
  expect(result.batchItemFailures).toEqual([]);
  const sentNow = rig.twilio.createRequests().length;
  expect(sentNow).toBeGreaterThan(0);
  expect(sentNow).toBeLessThan(3);
  expect(sqs.sent).toHaveLength(1);
  expect(sqs.sent[0].messageAttributes[DEFERRALS_ATTRIBUTE]).toEqual({ DataType: 'Number', StringValue: String(MAX_DEFERRALS) });
  expect(sqs.sent[0].delaySeconds).toBeLessThanOrEqual(2);

  rig.twilio.setDefault({});
  expect((await handler(batch(deliveredRecord(sqs.sent[0])), context())).batchItemFailures).toEqual([]);
  for (const to of [R1, R2, R3]) expect(await rig.item(`claim#${snsId}#${to}`)).toMatchObject({ state: 'sent' });
  expect(rig.twilio.createRequests()).toHaveLength(3);
});
