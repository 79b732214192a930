import type { SQSRecord } from 'aws-lambda';
import { METRIC } from '../../lib/contract';
import { DEFERRALS_ATTRIBUTE } from '../../lambda/sender/defer';
import { alarm, batch, captureStdout, context, FROM, loadHandler, metricSum, Rig, snsRecord, startRig } from '../support/sender-rig';
import { DynamoProxy, startDynamoProxy } from '../support/dynamo-proxy';
import { FakeSqs, startFakeSqs } from '../support/fake-sqs';

/*
 * The batch response and the metrics are made from what each record
 * answered (lambda/sender/results.ts): exactly the records that must come
 * again are batch item failures, whatever the others became, and each
 * record's metrics are counted once, from its own result. Through the
 * handler, with a queue for deferred copies and a proxy in front of dynalite.
 */

const R1 = '+15551280001';
const R2 = '+15551280002';
const R3 = '+15551280003';
const R4 = '+15551280004';

let rig: Rig;
let sqs: FakeSqs;
let proxy: DynamoProxy;
beforeAll(async () => {
  sqs = await startFakeSqs();
  rig = await startRig({ from: FROM, defaultRecipients: [R1], allowedRecipients: [R2, R3, R4], claimLeaseSeconds: 60, storm: { windowSeconds: 0 } }, { ALERT_QUEUE_URL: sqs.queueUrl('alerts') });
  proxy = await startDynamoProxy(rig.ddb.endpoint);
  process.env.AWS_ENDPOINT_URL_DYNAMODB = proxy.url;
  rig.handler = await loadHandler();
});
afterAll(async () => {
  delete process.env.ALERT_QUEUE_URL;
  await Promise.all([proxy.close(), sqs.close()]);
  await rig.close();
});
beforeEach(() => {
  rig.twilio.reset();
  proxy.setRule(undefined);
  sqs.sent.length = 0;
});

const to = (r: { readonly params: ReadonlyArray<readonly [string, string]> }) => r.params.find(([k]) => k === 'To')?.[1];
const envelope = (body: string, recipient: string, snsId: string) => snsRecord(JSON.stringify({ body, to: recipient }), snsId);

async function holdClaim(snsId: string, recipient: string, leaseMs: number): Promise<void> {
  const now = new Date().toISOString();
  await rig.put({ id: `claim#${snsId}#${recipient}`, kind: 'claim', notificationId: snsId, recipient, state: 'pending', leaseUntil: Date.now() + leaseMs, attempts: 1, createdAt: now, updatedAt: now });
}

test('a batch of a sent, a retried, a deferred and a refused record answers exactly the retried one, and counts each once', async () => {
  // The retried record's recipient gets a code the failure table does not know: retried on a later receive, nothing recorded.
  rig.twilio.setFaultInjector((r) => (r.kind === 'create' && to(r) === R3 ? { error: { status: 400, code: 29999 } } : undefined));
  await holdClaim('sns-mix-deferred', R4, 60_000);
  const sent = envelope('sent at once', R2, 'sns-mix-sent');
  const retried = envelope('refused with an unknown code', R3, 'sns-mix-retried');
  const deferred = envelope('held by another invocation', R4, 'sns-mix-deferred');
  const refused = snsRecord(JSON.stringify(alarm({ AlarmName: { a: 1 }, AlarmArn: null })), 'sns-mix-refused');

  const { result, metrics } = await captureStdout(() => rig.handler(batch(sent, retried, deferred, refused), context()));

  expect(result.batchItemFailures).toEqual([{ itemIdentifier: retried.messageId }]);
  expect(rig.twilio.createRequests().map((r) => [to(r), r.status])).toEqual(expect.arrayContaining([[R2, 201], [R3, 400]]));
  expect(rig.twilio.createRequests()).toHaveLength(2);
  expect(sqs.sent).toHaveLength(1);
  expect(sqs.sent[0]).toMatchObject({ body: deferred.body, messageAttributes: { [DEFERRALS_ATTRIBUTE]: { StringValue: '1' } } });
  expect(await rig.item(`claim#sns-mix-sent#${R2}`)).toMatchObject({ state: 'sent' });
  expect(await rig.item(`claim#sns-mix-retried#${R3}`)).toBeUndefined();
  expect(await rig.item('failed#sns-mix-refused')).toMatchObject({ kind: 'notification' });
  expect(metricSum(metrics, METRIC.MESSAGES_SENT)).toBe(1);
  expect(metricSum(metrics, METRIC.SENDS_DEFERRED)).toBe(1);
  // The refused notification, once; the retried recipient is not failed (yet).
  expect(metricSum(metrics, METRIC.MESSAGES_FAILED)).toBe(1);
  expect(metricSum(metrics, METRIC.UNCLASSIFIED_TWILIO_ERRORS)).toBe(0);
  expect(metricSum(metrics, METRIC.CONFIGURATION_ERRORS)).toBe(0);

  // The same records again: the settled ones stay settled and count nothing; only the retried one is still answered for.
  const again = await captureStdout(() => rig.handler(batch(retried, sent, refused), context()));
  expect(again.result.batchItemFailures).toEqual([{ itemIdentifier: retried.messageId }]);
  expect(rig.twilio.createRequests().filter((r) => to(r) === R2)).toHaveLength(1);
  expect(metricSum(again.metrics, METRIC.MESSAGES_SENT)).toBe(0);
  expect(metricSum(again.metrics, METRIC.MESSAGES_FAILED)).toBe(0);
});

test('every record of a batch retried: the handler answers each as a batch item failure, not a whole-batch error', async () => {
  rig.twilio.setFaultInjector((r) => (r.kind === 'create' ? { error: { status: 400, code: 29999 } } : undefined));
  const records: SQSRecord[] = [envelope('a', R2, 'sns-all-a'), envelope('b', R3, 'sns-all-b'), envelope('c', R4, 'sns-all-c')];
  const { result } = await captureStdout(() => rig.handler(batch(...records), context()));
  expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(records.map((r) => r.messageId).sort());
  expect(sqs.sent).toHaveLength(0);
});

test('a message Twilio accepted whose records could not be written: counted sent once, the record retried, the redelivery sends nothing twice', async () => {
  // The message item's write reaches DynamoDB but its answer never comes back, however often the SDK tries.
  proxy.setRule((target, input) => (target === 'UpdateItem' && String(input.Key?.id?.S ?? '').startsWith('SM') ? 'drop-answer' : 'pass'));
  const record = envelope('written only in part', R2, 'sns-unrecorded');
  const first = await captureStdout(() => rig.handler(batch(record), context()));
  expect(first.result.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
  expect(rig.twilio.messages.size).toBe(1);
  expect(metricSum(first.metrics, METRIC.MESSAGES_SENT)).toBe(1);
  expect(first.logs.find((l) => l.message === 'send to recipient failed, will retry')).toMatchObject({ notificationId: 'sns-unrecorded' });

  proxy.setRule(undefined);
  const again = await captureStdout(() => rig.handler(batch(record), context()));
  expect(again.result.batchItemFailures).toEqual([]);
  expect(rig.twilio.createRequests()).toHaveLength(1);
  expect(metricSum(again.metrics, METRIC.MESSAGES_SENT)).toBe(0);
  expect(await rig.item(`claim#sns-unrecorded#${R2}`)).toMatchObject({ state: 'sent', messageSid: [...rig.twilio.messages.keys()][0] });
});
