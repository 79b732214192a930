import type { SQSRecord } from 'aws-lambda';
import { METRIC } from '../../lib/contract';
import { classifyHttpError, classOfAnswer, FailureClass, TWILIO_ERROR_CODES } from '../../lambda/shared/twilio-errors';
import type { RecordedRequest } from '../support/fake-twilio';
import { ACCOUNT_SID, batch, captureStdout, context, FROM, loadHandler, metricSum, SECRET_ARN, snsRecord, useSenderRig, WHATSAPP_FROM } from '../support/sender-rig';

/*
 * The failure-class table (lambda/shared/twilio-errors.ts), one test per row,
 * through the handler over the fake Twilio: what each class of API answer
 * does to the record (kept, retried, done), the claim, and the metrics.
 */

const R1 = '+15551240001';
const R2 = '+15551240002';
const WA3 = 'whatsapp:+15551240003';

const rig = useSenderRig({ from: FROM, whatsappFrom: WHATSAPP_FROM, defaultRecipients: [R1], allowedRecipients: [R2, WA3], claimLeaseSeconds: 60 });

const param = (r: { readonly params: RecordedRequest['params'] }, name: string) => r.params.find(([k]) => k === name)?.[1];
const creates = () => rig.twilio.createRequests();
const createdTo = (to: string) => creates().filter((r) => param(r, 'To') === to && r.outcome === 'created');
const receive = (record: SQSRecord, count: number): SQSRecord => ({ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: String(count) } });
/**
 * The expected classes, written out here rather than read from the code's
 * table: a row changed there (21611 made permanent, say) fails these tests.
 */
interface Expected {
  readonly status: number;
  /** Twilio's error code; undefined for an answer without one (the HTTP status decides). */
  readonly code?: number;
  readonly failureClass: FailureClass;
  readonly senderScoped?: boolean;
  readonly countsConfigurationError?: boolean;
}
const EXPECTED: readonly Expected[] = [
  { status: 429, code: 20429, failureClass: 'transient' },
  { status: 429, failureClass: 'transient' },
  { status: 500, code: 20500, failureClass: 'transient' },
  { status: 502, failureClass: 'transient' },
  { status: 503, code: 20503, failureClass: 'transient' },
  { status: 504, failureClass: 'transient' },
  { status: 400, code: 21611, failureClass: 'transient' },

  { status: 401, code: 20003, failureClass: 'configuration' },
  { status: 401, failureClass: 'configuration' },
  { status: 404, code: 20404, failureClass: 'configuration' },
  { status: 400, code: 21606, failureClass: 'configuration', senderScoped: true },
  { status: 400, code: 21212, failureClass: 'configuration', senderScoped: true },

  { status: 400, code: 21211, failureClass: 'permanent' },
  { status: 400, code: 21610, failureClass: 'permanent' },
  { status: 400, code: 21612, failureClass: 'permanent' },
  { status: 400, code: 21614, failureClass: 'permanent' },
  { status: 400, code: 21617, failureClass: 'permanent' },
  { status: 400, code: 21408, failureClass: 'permanent', countsConfigurationError: true },
  { status: 400, code: 21602, failureClass: 'permanent' },
  { status: 400, code: 21604, failureClass: 'permanent' },
  { status: 400, code: 21620, failureClass: 'permanent' },
  { status: 400, code: 21623, failureClass: 'permanent' },
  { status: 400, code: 21655, failureClass: 'permanent' },
  { status: 400, code: 21656, failureClass: 'permanent' },

  { status: 400, code: 21999, failureClass: 'unclassified' },
];
/** Rows answered with a code, as [code, expected] for test.each. */
const coded = (failureClass: FailureClass, where: (e: Expected) => boolean = () => true): Array<[string, Expected]> =>
  EXPECTED.filter((e) => e.code !== undefined && e.failureClass === failureClass && where(e)).map((e) => [String(e.code), e]);
const notServer = (e: Expected) => e.status < 500;

test.each(EXPECTED.map((e) => [e.code === undefined ? `HTTP ${e.status}` : `${e.code} (HTTP ${e.status})`, e] as const))('%s is %j in the code', (_, e) => {
  const body = e.code === undefined ? '<html>Bad Gateway</html>' : JSON.stringify({ code: e.code, message: 'm', status: e.status });
  const code = e.code === undefined ? undefined : String(e.code);
  expect(classOfAnswer(e.status, code)).toBe(e.failureClass);
  const err = classifyHttpError(e.status, body);
  expect(err.failureClass).toBe(e.failureClass);
  expect(err.senderScoped).toBe(e.senderScoped === true);
  expect(err.countsConfigurationError).toBe(e.countsConfigurationError === true);
});

test("the code's table holds exactly the codes written out here, each in its class (5xx codes and 21999 left to the HTTP status)", () => {
  const tabled = EXPECTED.filter((e) => e.code !== undefined && e.status < 500 && e.failureClass !== 'unclassified');
  expect(Object.keys(TWILIO_ERROR_CODES).sort()).toEqual(tabled.map((e) => String(e.code)).sort());
  expect(Object.fromEntries(Object.entries(TWILIO_ERROR_CODES).map(([code, row]) => [code, row.failureClass]))).toEqual(Object.fromEntries(tabled.map((e) => [String(e.code), e.failureClass])));
});

test('the table holds API answers only: delivery failures reported by callback are not in it', () => {
  for (const code of ['30001', '30003', '30007', '63016', '63018']) expect(TWILIO_ERROR_CODES[code]).toBeUndefined();
});

describe('transient: retried with backoff, then kept for SQS redelivery', () => {
  test.each(coded('transient'))('%s (%j): retried in the invocation, then sent once', async (code, { status }) => {
    rig.twilio.enqueue({ error: { status, code: Number(code) } });
    const { result, metrics } = await captureStdout(() => rig.handler(batch(snsRecord(JSON.stringify({ body: `transient ${code}`, to: R2 }))), context()));
    expect(result.batchItemFailures).toEqual([]);
    expect(creates().map((r) => r.status)).toEqual([status, 201]);
    expect(rig.twilio.messages.size).toBe(1);
    expect(metricSum(metrics, METRIC.SEND_RETRIES)).toBe(1);
    expect(metricSum(metrics, METRIC.MESSAGES_FAILED)).toBe(0);
  });

  // A 5xx for as long as the invocation lasts is left to a later lookup (exactly-once.test.ts, defer.test.ts).
  test.each(coded('transient', notServer))('%s for as long as the invocation lasts: the record kept, its claim released, the redelivery sends once', async (code, { status }) => {
    rig.twilio.setDefault({ error: { status, code: Number(code) } });
    const snsId = `sns-transient-${code}`;
    const record = snsRecord(JSON.stringify({ body: `still ${code}`, to: R2 }), snsId);
    expect((await rig.handler(batch(record), context(4_000))).batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(await rig.item(`claim#${snsId}#${R2}`)).toBeUndefined();
    rig.twilio.setDefault({});
    expect((await rig.handler(batch(record), context())).batchItemFailures).toEqual([]);
    expect(createdTo(R2)).toHaveLength(1);
    expect(await rig.item(`claim#${snsId}#${R2}`)).toMatchObject({ state: 'sent' });
  });

  test('a 5xx is retried after a lookup finds nothing', async () => {
    rig.twilio.fail500(1);
    const out = await rig.handler(batch(snsRecord(JSON.stringify({ body: 'five hundred', to: R2 }))), context());
    expect(out.batchItemFailures).toEqual([]);
    expect(rig.twilio.requests.map((r) => r.outcome)).toEqual(['error', 'listed', 'created']);
  });

  test('a refused connection (nothing reached Twilio): the record kept, its claim released', async () => {
    const saved = process.env.TWILIO_API_BASE_URL;
    process.env.TWILIO_API_BASE_URL = 'http://127.0.0.1:1';
    const handler = await loadHandler().finally(() => {
      process.env.TWILIO_API_BASE_URL = saved;
    });
    const record = snsRecord(JSON.stringify({ body: 'refused', to: R2 }), 'sns-refused');
    const { result, metrics } = await captureStdout(() => handler(batch(record), context(4_000)));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(metricSum(metrics, METRIC.SEND_RETRIES)).toBeGreaterThan(0);
    expect(await rig.item(`claim#sns-refused#${R2}`)).toBeUndefined();
  });
});

describe('configuration: records kept for redrive, nothing marked failed, logged once, counted', () => {
  test.each(coded('configuration', (e) => !e.senderScoped))('%s (%j): every record kept; once fixed, the redelivery sends every page', async (code, { status }) => {
    const handler = await loadHandler();
    rig.twilio.setFaultInjector((r) => (r.kind === 'create' ? { error: { status, code: Number(code) } } : undefined));
    const a = snsRecord(JSON.stringify({ body: `config ${code} a`, to: [R1, R2] }), `sns-config-${code}-a`);
    const b = snsRecord(JSON.stringify({ body: `config ${code} b`, to: R2 }), `sns-config-${code}-b`);
    const first = await captureStdout(() => handler(batch(a, b), context()));
    const second = await captureStdout(() => handler(batch(a, b), context()));
    for (const out of [first, second]) {
      expect(out.result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([a.messageId, b.messageId].sort());
      expect(metricSum(out.metrics, METRIC.CONFIGURATION_ERRORS)).toBeGreaterThan(0);
      expect(metricSum(out.metrics, METRIC.MESSAGES_FAILED)).toBe(0);
    }
    expect([...first.logs, ...second.logs].filter((l) => l.level === 'ERROR' && /configuration/.test(l.message))).toHaveLength(1);
    for (const id of [`claim#sns-config-${code}-a#${R1}`, `claim#sns-config-${code}-a#${R2}`, `claim#sns-config-${code}-b#${R2}`]) expect(await rig.item(id)).toBeUndefined();
    expect(rig.twilio.messages.size).toBe(0);

    rig.twilio.setFaultInjector(undefined);
    expect((await handler(batch(a, b), context())).batchItemFailures).toEqual([]);
    expect(createdTo(R1)).toHaveLength(1);
    expect(createdTo(R2)).toHaveLength(2);
  });

  test.each(coded('configuration', (e) => e.senderScoped === true))(
    '%s (%j) about the WhatsApp sender holds only WhatsApp records; SMS still goes',
    async (code) => {
      rig.twilio.setFaultInjector((r) => (r.kind === 'create' && param(r, 'From') === WHATSAPP_FROM ? { error: { status: 400, code: Number(code) } } : undefined));
      const snsId = `sns-from-${code}`;
      const record = snsRecord(JSON.stringify({ body: `sender ${code}`, to: [R2, WA3] }), snsId);
      const { result, metrics } = await captureStdout(() => rig.handler(batch(record), context()));
      expect(result.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
      expect(createdTo(R2)).toHaveLength(1);
      expect(await rig.item(`claim#${snsId}#${WA3}`)).toBeUndefined();
      expect(metricSum(metrics, METRIC.CONFIGURATION_ERRORS)).toBe(1);
      expect(metricSum(metrics, METRIC.MESSAGES_FAILED)).toBe(0);

      rig.twilio.setFaultInjector(undefined);
      expect((await rig.handler(batch(record), context())).batchItemFailures).toEqual([]);
      expect(createdTo(WA3)).toHaveLength(1);
      expect(createdTo(R2)).toHaveLength(1);
    },
  );

  test('a malformed secret (no authToken): every record kept, no request, counted, the reason names the field', async () => {
    rig.sm.setSecret(SECRET_ARN, JSON.stringify({ accountSid: ACCOUNT_SID }));
    try {
      const handler = await loadHandler();
      const record = snsRecord('malformed secret');
      const { result, metrics, logs } = await captureStdout(() => handler(batch(record), context()));
      expect(result.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
      expect(rig.twilio.requests).toHaveLength(0);
      expect(metricSum(metrics, METRIC.CONFIGURATION_ERRORS)).toBe(1);
      expect(logs.find((l) => l.level === 'ERROR')?.reason).toMatch(/authToken/);
    } finally {
      rig.sm.setSecret(SECRET_ARN, JSON.stringify({ accountSid: ACCOUNT_SID, authToken: 'auth-token-1' }));
    }
  });
});

describe('permanent for this recipient: recorded once, never retried', () => {
  test.each(coded('permanent'))('%s (%j)', async (code, row) => {
    rig.twilio.enqueue({ error: { status: row.status, code: Number(code) } });
    const snsId = `sns-permanent-row-${code}`;
    const record = snsRecord(JSON.stringify({ body: 'doomed', to: R2 }), snsId);
    const { result, metrics } = await captureStdout(() => rig.handler(batch(record), context()));
    expect(result.batchItemFailures).toEqual([]);
    expect(await rig.item(`claim#${snsId}#${R2}`)).toMatchObject({ state: 'failed', errorCode: code });
    expect(metricSum(metrics, METRIC.MESSAGES_FAILED)).toBe(1);
    expect(metricSum(metrics, METRIC.CONFIGURATION_ERRORS)).toBe(row.countsConfigurationError ? 1 : 0);
    await rig.handler(batch(record), context());
    expect(creates()).toHaveLength(1);
  });
});

test('unclassified (a code not in the table): retried on the first receives, then recorded failed and counted', async () => {
  rig.twilio.setDefault({ error: { status: 400, code: 21999, message: 'Something Twilio added last week' } });
  const snsId = 'sns-unclassified';
  const record = snsRecord(JSON.stringify({ body: 'new code', to: R2 }), snsId);
  for (const count of [1, 2]) {
    const { result, metrics } = await captureStdout(() => rig.handler(batch(receive(record, count)), context()));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(await rig.item(`claim#${snsId}#${R2}`)).toBeUndefined();
    expect(metricSum(metrics, METRIC.MESSAGES_FAILED)).toBe(0);
  }
  const { result, metrics } = await captureStdout(() => rig.handler(batch(receive(record, 3)), context()));
  expect(result.batchItemFailures).toEqual([]);
  expect(await rig.item(`claim#${snsId}#${R2}`)).toMatchObject({ state: 'failed', errorCode: '21999' });
  expect(metricSum(metrics, METRIC.UNCLASSIFIED_TWILIO_ERRORS)).toBe(1);
  expect(metricSum(metrics, METRIC.MESSAGES_FAILED)).toBe(1);
  expect(creates()).toHaveLength(3);
});

test('unknown (the request went out, no answer): never re-POSTed while the lease runs', async () => {
  rig.twilio.dropNext(1, 'after-create');
  const snsId = 'sns-unknown-row';
  const record = snsRecord(JSON.stringify({ body: 'no answer', to: R2 }), snsId);
  expect((await rig.handler(batch(record), context())).batchItemFailures).toHaveLength(1);
  expect(await rig.item(`claim#${snsId}#${R2}`)).toMatchObject({ state: 'pending', outcome: 'unknown' });
  expect((await rig.handler(batch(record), context())).batchItemFailures).toHaveLength(1);
  expect(creates()).toHaveLength(1);
});

test.each([1, 2])('unclassified with the queue\'s maxReceiveCount %d: recorded failed on the last receive at the latest, never dead-lettered unrecorded', async (maxReceiveCount) => {
  const saved = process.env.SENDER_CONFIG;
  process.env.SENDER_CONFIG = JSON.stringify({ from: FROM, whatsappFrom: WHATSAPP_FROM, defaultRecipients: [R1], allowedRecipients: [R2, WA3], claimLeaseSeconds: 60, maxReceiveCount });
  const handler = await loadHandler().finally(() => {
    process.env.SENDER_CONFIG = saved;
  });
  rig.twilio.setDefault({ error: { status: 400, code: 21999, message: 'Something Twilio added last week' } });
  const snsId = `sns-unclassified-max-${maxReceiveCount}`;
  const record = snsRecord(JSON.stringify({ body: 'new code', to: R2 }), snsId);
  for (let count = 1; count < maxReceiveCount; count++) {
    expect((await handler(batch(receive(record, count)), context())).batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
  }
  const { result, metrics } = await captureStdout(() => handler(batch(receive(record, maxReceiveCount)), context()));
  expect(result.batchItemFailures).toEqual([]);
  expect(await rig.item(`claim#${snsId}#${R2}`)).toMatchObject({ state: 'failed', errorCode: '21999' });
  expect(metricSum(metrics, METRIC.UNCLASSIFIED_TWILIO_ERRORS)).toBe(1);
  expect(creates()).toHaveLength(maxReceiveCount);
});
