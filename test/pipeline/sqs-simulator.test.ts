import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createPrng } from '../support/prng';
import { createQueueSimulation, QueueSimulation } from './sqs-simulator';

/** Records every delivery; `decide` chooses each batch's fate. */
function recorder(decide: (event: SQSEvent, call: number) => SQSBatchResponse | 'throw' = () => ({ batchItemFailures: [] })) {
  const deliveries: SQSRecord[][] = [];
  const invoke = async (event: SQSEvent) => {
    const call = deliveries.length;
    deliveries.push(event.Records);
    await new Promise((r) => setImmediate(r));
    const outcome = decide(event, call);
    if (outcome === 'throw') throw new Error('handler crashed');
    return outcome;
  };
  return { deliveries, invoke, records: () => deliveries.flat() };
}

let sim: QueueSimulation | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

test('a publish arrives as an SQS record whose body is the SNS Notification envelope', async () => {
  const r = recorder();
  sim = createQueueSimulation({ invoke: r.invoke, topicArn: 'arn:aws:sns:us-east-1:123456789012:alerts', queueName: 'alerts-q' });
  sim.start();
  const snsId = sim.publish('{"body":"hi"}', { subject: 'S' });
  await sim.drained(5000);
  const [record] = r.records();
  expect(record).toMatchObject({
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:alerts-q',
    awsRegion: 'us-east-1',
    attributes: { ApproximateReceiveCount: '1' },
  });
  expect(record.receiptHandle).toEqual(expect.any(String));
  expect(record.md5OfBody).toMatch(/^[0-9a-f]{32}$/);
  const envelope = JSON.parse(record.body);
  expect(envelope).toMatchObject({ Type: 'Notification', MessageId: snsId, TopicArn: 'arn:aws:sns:us-east-1:123456789012:alerts', Message: '{"body":"hi"}', Subject: 'S', SignatureVersion: '1' });
  expect(new Date(envelope.Timestamp).toISOString()).toBe(envelope.Timestamp);
  expect(sim.stats).toMatchObject({ published: 1, received: 1, deleted: 1, batches: 1 });
});

test('batches hold at most batchSize records and a raw body is delivered unwrapped', async () => {
  const r = recorder();
  sim = createQueueSimulation({ invoke: r.invoke, batchSize: 3, maxConcurrency: 1 });
  for (let i = 0; i < 7; i++) sim.sendRaw(`raw ${i}`);
  sim.start();
  await sim.drained(5000);
  expect(r.deliveries.map((b) => b.length)).toEqual([3, 3, 1]);
  expect(r.records().map((x) => x.body)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `raw ${i}`));
});

test('records reported in batchItemFailures come back after the visibility timeout; the others are deleted', async () => {
  const r = recorder((event, call) => (call === 0 ? { batchItemFailures: [{ itemIdentifier: event.Records[1].messageId }] } : { batchItemFailures: [] }));
  sim = createQueueSimulation({ invoke: r.invoke, visibilityTimeoutMs: 50, maxConcurrency: 1 });
  ['a', 'b', 'c'].forEach((b) => sim!.sendRaw(b));
  sim.start();
  await sim.drained(5000);
  expect(r.deliveries.map((b) => b.map((x) => x.body))).toEqual([['a', 'b', 'c'], ['b']]);
  expect(r.deliveries[1][0].attributes.ApproximateReceiveCount).toBe('2');
  expect(r.deliveries[1][0].receiptHandle).not.toBe(r.deliveries[0][1].receiptHandle);
  expect(sim.stats).toMatchObject({ itemFailures: 1, deleted: 3, failedBatches: 0 });
});

test('a batch whose invocation throws is redelivered whole', async () => {
  const r = recorder((_e, call) => (call === 0 ? 'throw' : { batchItemFailures: [] }));
  const errors: unknown[] = [];
  sim = createQueueSimulation({ invoke: r.invoke, visibilityTimeoutMs: 30, maxConcurrency: 1, onBatchError: (e) => errors.push(e) });
  ['a', 'b'].forEach((b) => sim!.sendRaw(b));
  sim.start();
  await sim.drained(5000);
  expect(r.deliveries.map((b) => b.map((x) => x.body))).toEqual([['a', 'b'], ['a', 'b']]);
  expect(errors).toHaveLength(1);
  expect(sim.stats.failedBatches).toBe(1);
});

test('a response naming an unknown record fails the whole batch, as Lambda does', async () => {
  const r = recorder((_e, call) => (call === 0 ? { batchItemFailures: [{ itemIdentifier: 'nope' }] } : { batchItemFailures: [] }));
  sim = createQueueSimulation({ invoke: r.invoke, visibilityTimeoutMs: 30, maxConcurrency: 1 });
  ['a', 'b'].forEach((b) => sim!.sendRaw(b));
  sim.start();
  await sim.drained(5000);
  expect(r.deliveries.map((b) => b.length)).toEqual([2, 2]);
});

test('a message failing every time is dead-lettered after maxReceiveCount receives, and redrive brings it back', async () => {
  let fail = true;
  const r = recorder((event) => (fail ? { batchItemFailures: event.Records.map((x) => ({ itemIdentifier: x.messageId })) } : { batchItemFailures: [] }));
  sim = createQueueSimulation({ invoke: r.invoke, visibilityTimeoutMs: 20, maxReceiveCount: 3, maxConcurrency: 1 });
  const snsId = sim.publish('poison');
  sim.start();
  await sim.drained(5000);
  expect(r.records().map((x) => x.attributes.ApproximateReceiveCount)).toEqual(['1', '2', '3']);
  expect(sim.dlq).toHaveLength(1);
  expect(sim.dlq[0].snsMessageId).toBe(snsId);
  expect(sim.stats.deadLettered).toBe(1);

  fail = false;
  expect(sim.redrive()).toBe(1);
  expect(sim.dlq).toHaveLength(0);
  await sim.drained(5000);
  const last = r.records().at(-1)!;
  expect(JSON.parse(last.body).MessageId).toBe(snsId);
  expect(last.attributes.ApproximateReceiveCount).toBe('1');
  expect(sim.stats).toMatchObject({ redriven: 1, deleted: 1 });
});

test('duplicate deliveries: SQS copies keep the messageId, SNS copies keep the SNS MessageId; never twice in one batch', async () => {
  const r = recorder();
  sim = createQueueSimulation({ invoke: r.invoke, duplicateProbability: 1, snsDuplicateProbability: 1, visibilityTimeoutMs: 40, random: createPrng(7) });
  const ids = [sim.publish('one'), sim.publish('two')];
  sim.start();
  await sim.drained(5000);
  const records = r.records();
  // Each publish: 2 SNS deliveries, each duplicated once by SQS.
  expect(records).toHaveLength(8);
  for (const id of ids) expect(records.filter((x) => JSON.parse(x.body).MessageId === id)).toHaveLength(4);
  expect(new Set(records.map((x) => x.messageId)).size).toBe(4);
  for (const batch of r.deliveries) expect(new Set(batch.map((x) => x.messageId)).size).toBe(batch.length);
  expect(sim.stats).toMatchObject({ sqsDuplicates: 4, snsDuplicates: 2 });
});

test('at most maxConcurrency batches are in flight', async () => {
  let now = 0;
  let peak = 0;
  sim = createQueueSimulation({
    batchSize: 1,
    maxConcurrency: 3,
    invoke: async () => {
      peak = Math.max(peak, ++now);
      await new Promise((r) => setTimeout(r, 10));
      now--;
    },
  });
  for (let i = 0; i < 12; i++) sim.sendRaw(String(i));
  sim.start();
  await sim.drained(5000);
  expect(peak).toBe(3);
  expect(sim.stats.maxInFlight).toBe(3);
});

test('the same seed gives the same duplicates', async () => {
  const run = async (seed: number) => {
    const r = recorder();
    const s = createQueueSimulation({ invoke: r.invoke, duplicateProbability: 0.5, visibilityTimeoutMs: 20, maxConcurrency: 1, random: createPrng(seed) });
    for (let i = 0; i < 20; i++) s.sendRaw(String(i));
    s.start();
    await s.drained(5000);
    await s.stop();
    return s.stats.sqsDuplicates;
  };
  const a = await run(42);
  expect(await run(42)).toBe(a);
  expect(a).toBeGreaterThan(0);
  expect(a).toBeLessThan(20);
});
