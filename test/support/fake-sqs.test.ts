import { createHash } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { postForm } from '../pipeline/twilio-callbacks';
import { createQueueSimulation, QueueSimulation } from '../pipeline/sqs-simulator';
import { FakeSqs, SQS_MAX_MESSAGE_BYTES, startFakeSqs } from './fake-sqs';

/** Calls the fake as the AWS SDK for JavaScript v3 does (JSON 1.0 protocol), at the queue URL's own host. */
async function call(url: string, operation: string, input: Record<string, unknown>) {
  const res = await postForm(new URL('/', url).toString(), JSON.stringify(input), {
    'Content-Type': 'application/x-amz-json-1.0',
    'X-Amz-Target': `AmazonSQS.${operation}`,
    'x-amzn-query-mode': 'true',
  });
  return { status: res.status, json: JSON.parse(res.body || '{}') as Record<string, unknown>, queryError: res.headers['x-amzn-query-error'] };
}

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

let endpoint: FakeSqs;
let queues: QueueSimulation[];
let delivered: Map<string, SQSRecord[]>;
let fail: (record: SQSRecord) => boolean;

function queue(name: string): { sim: QueueSimulation; url: string } {
  const sim = createQueueSimulation({
    queueName: name,
    visibilityTimeoutMs: 50,
    invoke: async (event: SQSEvent): Promise<SQSBatchResponse> => {
      delivered.set(name, [...(delivered.get(name) ?? []), ...event.Records]);
      return { batchItemFailures: event.Records.filter(fail).map((r) => ({ itemIdentifier: r.messageId })) };
    },
  });
  sim.start();
  queues.push(sim);
  return { sim, url: endpoint.addQueue(name, sim) };
}

beforeEach(async () => {
  endpoint = await startFakeSqs();
  queues = [];
  delivered = new Map();
  fail = () => false;
});
afterEach(async () => {
  for (const q of queues) await q.stop();
  await endpoint.close();
});

test('SendMessage through a queue URL reaches that queue: its consumer gets the body as an SQS record of that queue', async () => {
  const status = queue('status-backlog');
  const inbound = queue('inbound-backlog');
  const body = JSON.stringify({ kind: 'webhook', webhook: 'status', params: [['MessageSid', 'SM1'], ['MessageStatus', 'delivered']], receivedAt: '2026-12-01T20:00:00.000Z' });
  const answer = await call(status.url, 'SendMessage', { QueueUrl: status.url, MessageBody: body });
  expect(answer.status).toBe(200);
  expect(answer.json).toEqual({ MessageId: expect.stringMatching(/^[0-9a-f-]{36}$/), MD5OfMessageBody: md5(body) });
  await status.sim.drained(5000);
  expect(delivered.get('status-backlog')).toEqual([
    expect.objectContaining({ messageId: answer.json.MessageId, body, eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:status-backlog', md5OfBody: md5(body) }),
  ]);
  expect(delivered.get('inbound-backlog')).toBeUndefined();
  expect(endpoint.sent).toEqual([{ queueUrl: status.url, queueName: 'status-backlog', messageId: answer.json.MessageId, body, delaySeconds: 0, messageAttributes: {} }]);
  expect(inbound.url).toBe(endpoint.queueUrl('inbound-backlog'));
  expect(inbound.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/123456789012\/inbound-backlog$/);
});

test('a record the consumer reports in batchItemFailures comes back; the message is deleted once handled', async () => {
  const q = queue('retry-backlog');
  let failures = 1;
  fail = () => failures-- > 0;
  await call(q.url, 'SendMessage', { QueueUrl: q.url, MessageBody: 'again' });
  await q.sim.drained(5000);
  expect(delivered.get('retry-backlog')!.map((r) => [r.body, r.attributes.ApproximateReceiveCount])).toEqual([['again', '1'], ['again', '2']]);
  expect(q.sim.stats).toMatchObject({ itemFailures: 1, deleted: 1 });
});

test('DelaySeconds keeps a message invisible that long; a delay outside 0–900 is refused', async () => {
  const q = queue('timers');
  expect((await call(q.url, 'SendMessage', { QueueUrl: q.url, MessageBody: 'later', DelaySeconds: 1 })).status).toBe(200);
  await q.sim.drained(5000);
  const [record] = delivered.get('timers')!;
  expect(Number(record.attributes.ApproximateFirstReceiveTimestamp) - Number(record.attributes.SentTimestamp)).toBeGreaterThanOrEqual(1000);
  const refused = await call(q.url, 'SendMessage', { QueueUrl: q.url, MessageBody: 'too late', DelaySeconds: 901 });
  expect(refused).toMatchObject({ status: 400, json: { __type: 'com.amazonaws.sqs#InvalidParameterValue', message: expect.stringContaining('DelaySeconds') } });
  expect(endpoint.sent).toHaveLength(1);
});

test('what SQS refuses is refused with its error, and nothing is enqueued', async () => {
  const q = queue('checked');
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['an unknown queue', { QueueUrl: `${endpoint.url}/123456789012/nope`, MessageBody: 'x' }, 'QueueDoesNotExist'],
    ['no body', { QueueUrl: q.url }, 'MissingParameter'],
    ['an empty body', { QueueUrl: q.url, MessageBody: '' }, 'MissingParameter'],
    ['a character SQS does not allow', { QueueUrl: q.url, MessageBody: 'nul \u0000 here' }, 'InvalidMessageContents'],
    ['a body over 1 MiB', { QueueUrl: q.url, MessageBody: 'x'.repeat(SQS_MAX_MESSAGE_BYTES + 1) }, 'InvalidParameterValue'],
  ];
  for (const [name, input, type] of cases) {
    const answer = await call(q.url, 'SendMessage', input);
    expect(`${name}: ${answer.status} ${String(answer.json.__type)}`).toBe(`${name}: 400 com.amazonaws.sqs#${type}`);
  }
  expect((await call(q.url, 'SendMessage', { QueueUrl: `${endpoint.url}/123456789012/nope`, MessageBody: 'x' })).queryError).toBe('AWS.SimpleQueueService.NonExistentQueue;Sender');
  expect((await call(q.url, 'PurgeQueue', { QueueUrl: q.url })).json.__type).toBe('com.amazonaws.sqs#UnsupportedOperation');
  expect((await call(q.url, 'SendMessage', { QueueUrl: q.url, MessageBody: 'x'.repeat(SQS_MAX_MESSAGE_BYTES) })).status).toBe(200);
  expect(endpoint.sent).toHaveLength(1);
  expect(q.sim.stats.sentRaw).toBe(1);
});

test('SendMessageBatch enqueues each valid entry and reports each refused one', async () => {
  const q = queue('batch');
  const answer = await call(q.url, 'SendMessageBatch', { QueueUrl: q.url, Entries: [{ Id: 'a', MessageBody: 'one' }, { Id: 'b', MessageBody: '' }, { Id: 'c', MessageBody: 'three', DelaySeconds: 0 }] });
  expect(answer.status).toBe(200);
  expect(answer.json).toEqual({
    Successful: [expect.objectContaining({ Id: 'a', MD5OfMessageBody: md5('one') }), expect.objectContaining({ Id: 'c', MD5OfMessageBody: md5('three') })],
    Failed: [expect.objectContaining({ Id: 'b', SenderFault: true, Code: 'MissingParameter' })],
  });
  expect((await call(q.url, 'SendMessageBatch', { QueueUrl: q.url, Entries: [] })).json.__type).toBe('com.amazonaws.sqs#EmptyBatchRequest');
  const eleven = Array.from({ length: 11 }, (_, i) => ({ Id: String(i), MessageBody: 'x' }));
  expect((await call(q.url, 'SendMessageBatch', { QueueUrl: q.url, Entries: eleven })).json.__type).toBe('com.amazonaws.sqs#TooManyEntriesInBatchRequest');
  await q.sim.drained(5000);
  expect(delivered.get('batch')!.map((r) => r.body).sort()).toEqual(['one', 'three']);
});

test('an injected outage answers 500 InternalError and enqueues nothing; then SQS works again', async () => {
  const q = queue('flaky');
  endpoint.failNext(2);
  expect(await call(q.url, 'SendMessage', { QueueUrl: q.url, MessageBody: 'a' })).toMatchObject({ status: 500, json: { __type: 'com.amazonaws.sqs#InternalError' }, queryError: 'InternalError;Receiver' });
  expect((await call(q.url, 'SendMessage', { QueueUrl: q.url, MessageBody: 'b' })).status).toBe(500);
  expect((await call(q.url, 'SendMessage', { QueueUrl: q.url, MessageBody: 'c' })).status).toBe(200);
  expect(endpoint.sent.map((m) => m.body)).toEqual(['c']);
  expect(endpoint.calls.get('SendMessage')).toBe(3);
  expect(endpoint.failed).toBe(2);
  // failNext(0) ends what is left of an outage.
  endpoint.failNext(5);
  expect((await call(q.url, 'SendMessage', { QueueUrl: q.url, MessageBody: 'd' })).status).toBe(500);
  endpoint.failNext(0);
  expect((await call(q.url, 'SendMessage', { QueueUrl: q.url, MessageBody: 'e' })).status).toBe(200);
  expect(endpoint.failed).toBe(3);
});

test('GetQueueUrl names a served queue; an SNS envelope sent again keeps its SNS MessageId for the DLQ accounting', async () => {
  const q = queue('alerts');
  expect((await call(endpoint.url, 'GetQueueUrl', { QueueName: 'alerts' })).json).toEqual({ QueueUrl: q.url });
  expect((await call(endpoint.url, 'GetQueueUrl', { QueueName: 'other' })).json.__type).toBe('com.amazonaws.sqs#QueueDoesNotExist');
  fail = () => true;
  const envelope = JSON.stringify({ Type: 'Notification', MessageId: 'sns-123', TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', Message: 'hi' });
  await call(q.url, 'SendMessage', { QueueUrl: q.url, MessageBody: envelope });
  await q.sim.drained(5000);
  expect(q.sim.dlq.map((m) => m.snsMessageId)).toEqual(['sns-123']);
});

test('message attributes sent with SendMessage arrive on every receive, as Lambda shows them', async () => {
  const alerts = queue('alerts');
  fail = (r) => r.attributes.ApproximateReceiveCount === '1';
  const answer = await call(alerts.url, 'SendMessage', {
    QueueUrl: alerts.url,
    MessageBody: 'deferred',
    MessageAttributes: { notificationId: { DataType: 'String', StringValue: 'n-1' }, deferrals: { DataType: 'Number', StringValue: '2' } },
  });
  expect(answer.status).toBe(200);
  await alerts.sim.drained(5000);
  const records = delivered.get('alerts')!;
  expect(records).toHaveLength(2);
  for (const r of records) {
    expect(r.messageAttributes).toEqual({
      notificationId: { dataType: 'String', stringValue: 'n-1', stringListValues: [], binaryListValues: [] },
      deferrals: { dataType: 'Number', stringValue: '2', stringListValues: [], binaryListValues: [] },
    });
  }
});

test("the real client's SendMessage reaches a queue named by URL alone, with its delay, and fails on demand", async () => {
  const client = new SQSClient({ endpoint: endpoint.url, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
  try {
    const queueUrl = endpoint.queueUrl('backlog');
    // The client checks the MD5 of the body in the answer: a wrong one would throw.
    const out = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"kind":"webhook","é":"✓"}', DelaySeconds: 12 }));
    expect(endpoint.sent).toEqual([{ queueUrl, queueName: 'backlog', body: '{"kind":"webhook","é":"✓"}', delaySeconds: 12, messageId: out.MessageId, messageAttributes: {} }]);
    endpoint.failNext(1);
    await expect(client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'm' }))).rejects.toMatchObject({ name: 'InternalError' });
    expect(endpoint.sent).toHaveLength(1);
  } finally {
    client.destroy();
  }
});
