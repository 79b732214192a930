import { METRIC } from '../../lib/contract';
import { batch, captureStdout, context, FROM, loadHandler, metricSum, Rig, snsRecord, startRig } from '../support/sender-rig';
import { DynamoProxy, startDynamoProxy } from '../support/dynamo-proxy';

/*
 * Nothing doubled, nothing leaked: a 5xx that hid a created message, a claim
 * put whose answer was lost, two invocations taking over one expired claim,
 * and Twilio's error text quoting the number. Through the handler, with a
 * proxy in front of dynalite where DynamoDB must misbehave.
 */

const R1 = '+15551260001';
const R2 = '+15551260002';

let rig: Rig;
let proxy: DynamoProxy;
beforeAll(async () => {
  rig = await startRig({ from: FROM, defaultRecipients: [R1], allowedRecipients: [R2], claimLeaseSeconds: 60 });
  proxy = await startDynamoProxy(rig.ddb.endpoint);
  process.env.AWS_ENDPOINT_URL_DYNAMODB = proxy.url;
  rig.handler = await loadHandler();
});
afterAll(async () => {
  await proxy.close();
  await rig.close();
});
beforeEach(() => {
  rig.twilio.reset();
  proxy.setRule(undefined);
});

const claimPut = (target: string, input: Record<string, any>) => target === 'PutItem' && input.Item?.kind?.S === 'claim' && input.Item?.state?.S === 'pending';

test('a 5xx after Twilio created the message: the lookup finds it, exactly one SMS', async () => {
  rig.twilio.enqueue({ errorAfterCreate: { status: 500, code: 20500 } });
  const snsId = 'sns-5xx-created';
  const { result, metrics } = await captureStdout(() => rig.handler(batch(snsRecord(JSON.stringify({ body: 'hidden by a 5xx', to: R2 }), snsId)), context()));
  expect(result.batchItemFailures).toEqual([]);
  expect(rig.twilio.messages.size).toBe(1);
  expect(rig.twilio.createRequests()).toHaveLength(1);
  const [message] = rig.twilio.messages.values();
  expect(await rig.item(`claim#${snsId}#${R2}`)).toMatchObject({ state: 'sent', messageSid: message.sid });
  expect(await rig.item(message.sid)).toMatchObject({ notificationId: snsId, to: R2 });
  expect(metricSum(metrics, METRIC.MESSAGES_SENT)).toBe(0);
});

test('a 502 while Twilio is still creating the message (visible to lookups only later): the lookup waits for it to settle, exactly one SMS', async () => {
  rig.twilio.enqueue({ errorAfterCreate: { status: 502, code: 20500 }, visibleAfterMs: 1_500 });
  const snsId = 'sns-502-settling';
  const { result } = await captureStdout(() => rig.handler(batch(snsRecord(JSON.stringify({ body: 'created behind a 502', to: R2 }), snsId)), context()));
  expect(result.batchItemFailures).toEqual([]);
  expect(rig.twilio.createRequests()).toHaveLength(1);
  expect(rig.twilio.messages.size).toBe(1);
  const [message] = rig.twilio.messages.values();
  expect(await rig.item(`claim#${snsId}#${R2}`)).toMatchObject({ state: 'sent', messageSid: message.sid });
});

test("Twilio's 21211 quoting the full number: no full number in the logs, the metrics or the claim's reason", async () => {
  rig.twilio.enqueue({ error: { status: 400, code: 21211, message: `The 'To' number ${R2} is not a valid phone number.` } });
  const snsId = 'sns-21211-quoted';
  const { result, logs, metrics } = await captureStdout(() => rig.handler(batch(snsRecord(JSON.stringify({ body: 'quoted', to: R2 }), snsId)), context()));
  expect(result.batchItemFailures).toEqual([]);
  const claim = await rig.item(`claim#${snsId}#${R2}`);
  expect(claim).toMatchObject({ state: 'failed', errorCode: '21211' });
  expect(claim!.reason).toContain('+1555***0002');
  expect(claim!.reason).not.toContain(R2);
  expect(claim!.reason).not.toContain(R2.slice(1));
  const text = JSON.stringify([logs, metrics]);
  expect(text).toContain('+1555***0002');
  expect(text).not.toContain(R2.slice(1));
});

describe('a claim put whose answer is lost: read back, the recipient sent in the same invocation', () => {
  test.each([
    ['the SDK retries it into its own item', 1],
    ['every attempt of the SDK loses its answer', 3],
  ])('%s', async (_name, drops) => {
    let dropped = 0;
    proxy.setRule((target, input) => (claimPut(target, input) && dropped++ < drops ? 'drop-answer' : 'pass'));
    const snsId = `sns-lost-put-${drops}`;
    const { result, logs } = await captureStdout(() => rig.handler(batch(snsRecord(JSON.stringify({ body: 'lost put', to: R2 }), snsId)), context()));
    expect(dropped).toBeGreaterThanOrEqual(drops);
    expect(result.batchItemFailures).toEqual([]);
    expect(rig.twilio.createRequests()).toHaveLength(1);
    expect(await rig.item(`claim#${snsId}#${R2}`)).toMatchObject({ state: 'sent', attempts: 1 });
    expect(logs.some((l) => l.message === 'claim write got no answer: reading it back')).toBe(true);
  });
});

test('two invocations take over the same expired claim; the second takeover fails: exactly one POST', async () => {
  const snsId = 'sns-double-takeover';
  const claimedAt = new Date(Date.now() - 120_000).toISOString();
  await rig.put({ id: `claim#${snsId}#${R2}`, kind: 'claim', notificationId: snsId, recipient: R2, state: 'pending', leaseUntil: Date.now() - 1_000, attempts: 1, createdAt: claimedAt, updatedAt: claimedAt });
  // Both look Twilio up (nothing there) before either takes over; then the takeovers reach DynamoDB one after the other.
  let releaseFirst!: () => void;
  let firstAnswered!: () => void;
  const firstHeld = new Promise<void>((resolve) => {
    releaseFirst = resolve;
  });
  const firstDone = new Promise<void>((resolve) => {
    firstAnswered = resolve;
  });
  let takeovers = 0;
  proxy.setRule((target, input) => {
    if (target !== 'UpdateItem' || !String(input.UpdateExpression).includes('ADD #attempts')) return 'pass';
    takeovers++;
    if (takeovers === 1) return { hold: firstHeld, answered: firstAnswered };
    // The second arrives while the first is held: the first goes through, the second once DynamoDB has answered the first.
    releaseFirst();
    return { hold: firstDone };
  });
  const record = snsRecord(JSON.stringify({ body: 'taken over twice', to: R2 }), snsId);
  const [a, b] = await Promise.all([rig.handler(batch(record), context()), rig.handler(batch(record), context())]);
  expect(takeovers).toBe(2);
  expect(rig.twilio.requests.filter((r) => r.outcome === 'listed')).toHaveLength(2);
  expect(rig.twilio.createRequests()).toHaveLength(1);
  expect([a.batchItemFailures.length, b.batchItemFailures.length].sort()).toEqual([0, 1]);
  expect(await rig.item(`claim#${snsId}#${R2}`)).toMatchObject({ state: 'sent', attempts: 2, messageSid: rig.twilio.createRequests()[0].sid });
});
