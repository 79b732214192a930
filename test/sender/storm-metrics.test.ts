import type { SQSBatchResponse } from 'aws-lambda';
import { METRIC } from '../../lib/contract';
import { useHandlersRig } from '../support/handlers-rig';
import { snsRecord } from '../support/sender-rig';

/*
 * The storm metrics through the sender's real entry point (dynalite, the fake
 * SQS and the fake Twilio), with the default window (60 s, one text at once):
 * TextsHeld counts each held text once, DigestsSent and TextsDigested each
 * digest once, however often a record or a timer is delivered. The handler's
 * clock (Date.now) is moved by the test instead of waiting.
 */

const ADDRESSES = Array.from({ length: 8 }, (_, i) => `+1555136${String(i).padStart(4, '0')}`);
const STORM_METRICS = [METRIC.TEXTS_HELD, METRIC.DIGESTS_SENT, METRIC.TEXTS_DIGESTED, METRIC.MESSAGES_SENT] as const;

const { world, twilio, out, freshAddress, deliver, digestTimers, fireWhenDue } = useHandlersRig({
  // No `storm`: the default window.
  senderConfig: { from: '+15557650000', defaultRecipients: [ADDRESSES[0]], allowedRecipients: ADDRESSES, claimLeaseSeconds: 60 },
  handlers: ['sender'],
  addresses: ADDRESSES,
});
let serial = 0;

const textTo = (to: string) => snsRecord(JSON.stringify({ body: `disk ${++serial} full`, to: [to] }), `sns-storm-metrics-${serial}`);

/** The storm metrics (and MessagesSent) the sender emitted while `fn` ran. */
async function counted(fn: () => Promise<SQSBatchResponse>): Promise<Record<(typeof STORM_METRICS)[number], number>> {
  out.clear();
  expect((await fn()).batchItemFailures).toEqual([]);
  const sums = out.metrics();
  return Object.fromEntries(STORM_METRICS.map((name) => [name, sums[name] ?? 0])) as Record<(typeof STORM_METRICS)[number], number>;
}
const counts = (held: number, digests: number, digested: number, sent: number) => ({
  [METRIC.TEXTS_HELD]: held,
  [METRIC.DIGESTS_SENT]: digests,
  [METRIC.TEXTS_DIGESTED]: digested,
  [METRIC.MESSAGES_SENT]: sent,
});

test('a window holding 3 texts: TextsHeld 3 as they are held, then one digest carrying 3; redeliveries count nothing', async () => {
  const to = freshAddress();
  const texts = [textTo(to), textTo(to), textTo(to), textTo(to)];
  expect(await counted(() => deliver(texts[0]))).toEqual(counts(0, 0, 0, 1));
  expect(await counted(() => deliver(texts[1], texts[2]))).toEqual(counts(2, 0, 0, 0));
  expect(await counted(() => deliver(texts[3]))).toEqual(counts(1, 0, 0, 0));
  // Every record again (SQS delivers at least once): the held ones are found held, the first found sent.
  expect(await counted(() => deliver(...texts))).toEqual(counts(0, 0, 0, 0));

  // Concurrent holds may each have set the window's timer: one copy sends, the others find nothing to do.
  const [timer, ...copies] = digestTimers(to);
  expect(await counted(() => fireWhenDue(timer))).toEqual(counts(0, 1, 3, 1));
  for (const copy of copies) expect(await counted(() => fireWhenDue(copy))).toEqual(counts(0, 0, 0, 0));
  expect(twilio.createRequests().filter((r) => r.outcome === 'created')).toHaveLength(2);
  // The timer redelivered: the window has moved on, nothing is sent or counted.
  expect(await counted(() => fireWhenDue(timer))).toEqual(counts(0, 0, 0, 0));
  // A held text's record after its digest went: its claim is the digest's.
  expect(await counted(() => deliver(texts[2]))).toEqual(counts(0, 0, 0, 0));
  expect(twilio.createRequests().filter((r) => r.outcome === 'created')).toHaveLength(2);
});

test('a window holding one text sends it as it is: held, then a message but no digest', async () => {
  const to = freshAddress();
  expect(await counted(() => deliver(textTo(to)))).toEqual(counts(0, 0, 0, 1));
  expect(await counted(() => deliver(textTo(to)))).toEqual(counts(1, 0, 0, 0));
  const [timer] = digestTimers(to);
  expect(await counted(() => fireWhenDue(timer))).toEqual(counts(0, 0, 0, 1));
});

test('a text held whose digest timer SQS refused: counted held once, by the delivery whose write held it, not by its retry', async () => {
  const to = freshAddress();
  expect(await counted(() => deliver(textTo(to)))).toEqual(counts(0, 0, 0, 1));
  const second = textTo(to);
  world.sqs.failNext(20);
  out.clear();
  let response: SQSBatchResponse;
  try {
    response = await deliver(second);
  } finally {
    world.sqs.failNext(0);
  }
  expect(response.batchItemFailures).toEqual([{ itemIdentifier: second.messageId }]);
  expect(digestTimers(to)).toEqual([]);
  expect(out.metrics()[METRIC.TEXTS_HELD]).toBe(1);
  // The retry finds the text held and sets the timer: nothing more is counted.
  expect(await counted(() => deliver(second))).toEqual(counts(0, 0, 0, 0));
  expect(digestTimers(to)).toHaveLength(1);
});
