import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { METRIC } from '../../lib/contract';
import { PAGE_SIZE } from '../../lambda/sender/lookup';
import type { RecordedRequest } from '../support/fake-twilio';
import { ACCOUNT_SID, alarm, batch, CALLBACK_URL, captureStdout, context, FROM, loadHandler, metricSum, rawRecord, snsRecord, useSenderRig, WHATSAPP_FROM, withoutHint } from '../support/sender-rig';

const R1 = '+15551230001';
const R2 = '+15551230002';
const R3 = '+15551230003';
const WA4 = 'whatsapp:+15551230004';
const R5 = '+15551230005';

/** Every create request of this file, for the parameter-name checks at the end. */
const allCreates: RecordedRequest[] = [];

// Each test's alarm is a new occurrence: the previous test's incident for the same alarm must not make it a repeat.
const rig = useSenderRig({ from: FROM, whatsappFrom: WHATSAPP_FROM, defaultRecipients: [R1, R2], allowedRecipients: [R3, WA4, R5], claimLeaseSeconds: 60 }, { forgetIncidents: true });
afterEach(() => {
  allCreates.push(...rig.twilio.createRequests());
});

const param = (r: RecordedRequest, name: string) => r.params.filter(([k]) => k === name).map(([, v]) => v);
const creates = () => rig.twilio.createRequests();
const createdTo = (to: string) => creates().filter((r) => param(r, 'To')[0] === to && r.outcome === 'created');

async function expireLease(claimId: string): Promise<void> {
  const claim = await rig.item(claimId);
  await rig.put({ ...claim, leaseUntil: Date.now() - 1 });
}

describe('input formats', () => {
  test('a CloudWatch alarm goes to every default recipient as a short GSM-7 text, recorded in the table', async () => {
    const snsId = 'sns-alarm-1';
    const { result, metrics } = await captureStdout(() => rig.handler(batch(snsRecord(JSON.stringify(alarm()), snsId)), context()));
    expect(result.batchItemFailures).toEqual([]);
    expect(creates()).toHaveLength(2);
    for (const to of [R1, R2]) {
      const [req] = createdTo(to);
      expect(param(req, 'From')).toEqual([FROM]);
      expect(param(req, 'StatusCallback')).toEqual([CALLBACK_URL]);
      const body = param(req, 'Body')[0];
      expect(withoutHint(body)).toBe('ALARM HighCPU-db-1\nCPUUtilization avg 95.2 > 90.0, 1/1 datapoints\ndb-1 us-east-1 123456789012 27 Nov 15:41 UTC\nCPU above 90% on db-1');
      expect(req.authUser).toBe(ACCOUNT_SID);

      const claim = await rig.item(`claim#${snsId}#${to}`);
      expect(claim).toMatchObject({ kind: 'claim', state: 'sent', messageSid: req.sid });
      const item = await rig.item(req.sid!);
      expect(item).toMatchObject({
        id: req.sid,
        kind: 'message',
        direction: 'outbound-api',
        status: 'queued',
        statusRank: 1,
        to,
        from: FROM,
        channel: 'sms',
        notificationId: snsId,
        alarmName: 'HighCPU-db-1',
        alertRecipient: to,
        segments: 1,
        priceUnit: 'USD',
        history: [{ status: 'queued', source: 'api', at: expect.any(String) }],
      });
      expect(item!.acceptedAt).toEqual(item!.createdAt);
      expect([...item!.historyKeys]).toEqual(['api#queued']);
      expect(item!.bodyPreview).toBe(body.slice(0, 57) + '...');
      expect(item!.expiresAt).toBeGreaterThan(Date.now() / 1000 + 80 * 86_400);
      expect(item!.price).toBeUndefined();
    }
    expect(metricSum(metrics, METRIC.MESSAGES_SENT)).toBe(2);
    expect(metrics.some((m) => METRIC.SEND_LATENCY in m)).toBe(true);
  });

  // OK resolves an incident and pages nobody without one (test/sender/incidents.test.ts); INSUFFICIENT_DATA without a live incident is sent as before incidents.
  test('an alarm in state INSUFFICIENT_DATA renders its state first', async () => {
    const out = await rig.handler(batch(snsRecord(JSON.stringify(alarm({ NewStateValue: 'INSUFFICIENT_DATA' })))), context());
    expect(out.batchItemFailures).toEqual([]);
    expect(param(createdTo(R1)[0], 'Body')[0]).toMatch(/^INSUFFICIENT_DATA HighCPU-db-1\n/);
  });

  test('a metric-math alarm renders', async () => {
    const mathAlarm = alarm({
      AlarmName: 'ErrorRate',
      NewStateReason: 'Threshold Crossed: 1 datapoint [12.5 (27/11/26 15:40:00)] was greater than the threshold (5.0).',
      Trigger: {
        Metrics: [
          { Id: 'e1', Expression: 'errors / requests * 100', Label: 'error rate', ReturnData: true },
          { Id: 'errors', MetricStat: { Metric: { Namespace: 'App', MetricName: 'Errors' }, Period: 60, Stat: 'Sum' }, ReturnData: false },
        ],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 5,
        EvaluationPeriods: 1,
      },
    });
    await rig.handler(batch(snsRecord(JSON.stringify(mathAlarm))), context());
    expect(withoutHint(param(createdTo(R1)[0], 'Body')[0]).split('\n').slice(0, 3)).toEqual([
      'ALARM ErrorRate',
      'error rate = errors / requests * 100 12.5 > 5.0, 1/1 datapoints; errors Errors sum',
      'us-east-1 123456789012 27 Nov 15:41 UTC',
    ]);
  });

  test('a composite alarm renders with the child alarms by name, not ARN', async () => {
    const composite = {
      AlarmName: 'ServiceDown',
      AlarmDescription: null,
      AWSAccountId: '123456789012',
      NewStateValue: 'ALARM',
      NewStateReason: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:HighCPU-db-1 transitioned to ALARM at Friday 27 November, 2026 15:41:42 UTC',
      StateChangeTime: '2026-11-27T15:41:43.000+0000',
      Region: 'US East (N. Virginia)',
      AlarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServiceDown',
      OldStateValue: 'OK',
      AlarmRule: 'ALARM(HighCPU-db-1) OR ALARM(HighLatency)',
      TriggeringChildren: [{ Arn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:HighCPU-db-1', State: { Value: 'ALARM', Timestamp: '2026-11-27T15:41:42.000+0000' } }],
    };
    await rig.handler(batch(snsRecord(JSON.stringify(composite))), context());
    const body = param(createdTo(R1)[0], 'Body')[0];
    expect(withoutHint(body)).toBe('ALARM ServiceDown\nfired: HighCPU-db-1\nus-east-1 123456789012 27 Nov 15:41 UTC\nrule: ALARM(HighCPU-db-1) OR ALARM(HighLatency)');
    expect(body).not.toContain('arn:aws');
  });

  test('a JSON envelope with media goes to the named recipients as MMS, one MediaUrl per URL', async () => {
    const snsId = 'sns-envelope-1';
    const envelope = { body: 'Disk 91% on db-1', to: [R3, R5], mediaUrls: ['https://graphs.example.com/1.png', 'https://graphs.example.com/2.png'] };
    const out = await rig.handler(batch(snsRecord(JSON.stringify(envelope), snsId)), context());
    expect(out.batchItemFailures).toEqual([]);
    expect(creates()).toHaveLength(2);
    const [req] = createdTo(R3);
    expect(param(req, 'Body')).toEqual(['Disk 91% on db-1']);
    expect(param(req, 'MediaUrl')).toEqual(envelope.mediaUrls);
    expect(req.sid).toMatch(/^MM/);
    const item = await rig.item(req.sid!);
    expect(item).toMatchObject({ channel: 'mms', notificationId: snsId, bodyPreview: 'Disk 91% on db-1' });
    expect(item!.alertRecipient).toBeUndefined();
    expect(item!.alarmName).toBeUndefined();
  });

  test('plain text goes to the default recipients as it is', async () => {
    const out = await rig.handler(batch(snsRecord('Deploy of api v42 failed; rolling back')), context());
    expect(out.batchItemFailures).toEqual([]);
    expect(creates().map((r) => param(r, 'Body')[0])).toEqual(['Deploy of api v42 failed; rolling back', 'Deploy of api v42 failed; rolling back']);
  });

  test('a body sent straight to the queue (no SNS envelope) is keyed by the SQS message id', async () => {
    const record = rawRecord(JSON.stringify({ body: 'raw body', to: R5 }), 'sqs-raw-1');
    const out = await rig.handler(batch(record), context());
    expect(out.batchItemFailures).toEqual([]);
    const [req] = createdTo(R5);
    expect(param(req, 'Body')).toEqual(['raw body']);
    expect(await rig.item(`claim#sqs-raw-1#${R5}`)).toMatchObject({ state: 'sent', messageSid: req.sid });
  });

  test('WhatsApp free-form: whatsapp From and To, the body as text', async () => {
    await rig.handler(batch(snsRecord(JSON.stringify({ body: 'hello on WhatsApp', to: WA4 }))), context());
    const [req] = createdTo(WA4);
    expect(param(req, 'From')).toEqual([WHATSAPP_FROM]);
    expect(param(req, 'Body')).toEqual(['hello on WhatsApp']);
    expect(param(req, 'ContentSid')).toEqual([]);
    expect(await rig.item(req.sid!)).toMatchObject({ channel: 'whatsapp', to: WA4, from: WHATSAPP_FROM });
  });

  test('an envelope with contentSid sends the template and its variables as a JSON string, no Body', async () => {
    const contentSid = 'HX' + 'c'.repeat(32);
    await rig.handler(batch(snsRecord(JSON.stringify({ contentSid, contentVariables: { 1: 'db-1', 2: '91%' }, to: WA4, body: 'preview only' }))), context());
    const [req] = createdTo(WA4);
    expect(param(req, 'ContentSid')).toEqual([contentSid]);
    expect(JSON.parse(param(req, 'ContentVariables')[0])).toEqual({ 1: 'db-1', 2: '91%' });
    expect(param(req, 'Body')).toEqual([]);
  });
});

describe('DynamoDB round trips', () => {
  test('one recipient costs one conditional put, then the message write and the claim update in parallel', async () => {
    rig.ddb.resetCalls();
    await rig.handler(batch(snsRecord(JSON.stringify({ body: 'count my calls', to: R5 }))), context());
    expect(Object.fromEntries(rig.ddb.calls)).toEqual({ PutItem: 1, UpdateItem: 2 });
  });

  test('a status callback that wrote a later status first keeps it; the sender still records its history', async () => {
    rig.twilio.enqueue({ delayMs: 300 });
    const early = new Promise<void>((resolve, reject) => {
      const off = rig.twilio.onMessageCreated((m) => {
        off();
        rig
          .put({ id: m.sid, kind: 'message', status: 'delivered', statusRank: 4, history: [{ status: 'delivered', at: new Date().toISOString(), source: 'callback' }], historyKeys: new Set(['delivered#']) })
          .then(resolve, reject);
      });
    });
    const out = await rig.handler(batch(snsRecord(JSON.stringify({ body: 'race', to: R5 }))), context());
    await early;
    expect(out.batchItemFailures).toEqual([]);
    const item = await rig.item(createdTo(R5)[0].sid!);
    expect(item).toMatchObject({ status: 'delivered', statusRank: 4, to: R5, notificationId: expect.any(String) });
    expect(item!.history.map((h: { status: string }) => h.status)).toEqual(['delivered', 'queued']);
    expect([...item!.historyKeys].sort()).toEqual(['api#queued', 'delivered#']);
  });
});

describe('Twilio errors', () => {
  test('a 429 burst is retried inside the invocation, then the message is sent once', async () => {
    rig.twilio.burst429(3);
    const { result, metrics } = await captureStdout(() => rig.handler(batch(snsRecord(JSON.stringify({ body: 'busy', to: R5 }))), context()));
    expect(result.batchItemFailures).toEqual([]);
    expect(creates().map((r) => r.status)).toEqual([429, 429, 429, 201]);
    expect(rig.twilio.messages.size).toBe(1);
    expect(metricSum(metrics, METRIC.SEND_RETRIES)).toBe(3);
  });

  test('a 500 is retried, then sent', async () => {
    rig.twilio.fail500(1);
    const out = await rig.handler(batch(snsRecord(JSON.stringify({ body: 'flaky', to: R5 }))), context());
    expect(out.batchItemFailures).toEqual([]);
    expect(creates().map((r) => r.status)).toEqual([500, 201]);
  });

  test('retries exhausted by 5xx: a batch failure; the redelivery looks Twilio up, then sends once', async () => {
    rig.twilio.setDefault({ error: { status: 503, code: 20503 } });
    const record = snsRecord(JSON.stringify({ body: 'outage', to: R5 }), 'sns-outage');
    const out = await rig.handler(batch(record), context(4_000));
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(creates().length).toBeGreaterThanOrEqual(1);
    expect(rig.twilio.messages.size).toBe(0);
    const claim = await rig.item(`claim#sns-outage#${R5}`);
    expect(claim).toMatchObject({ state: 'pending' });
    expect(claim!.leaseUntil).toBeLessThanOrEqual(Date.now());

    rig.twilio.setDefault({});
    const again = await rig.handler(batch(record), context());
    expect(again.batchItemFailures).toEqual([]);
    expect(rig.twilio.requests.filter((r) => r.outcome === 'listed')).toHaveLength(1);
    expect(rig.twilio.messages.size).toBe(1);
    expect(await rig.item(`claim#sns-outage#${R5}`)).toMatchObject({ state: 'sent', attempts: 2 });
  });

  test('retries exhausted by 429s only: the claim is released and the redelivery sends without a lookup', async () => {
    rig.twilio.setDefault({ error: { status: 429, code: 20429 } });
    const record = snsRecord(JSON.stringify({ body: 'rate limited', to: R5 }), 'sns-429');
    const out = await rig.handler(batch(record), context(4_000));
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(await rig.item(`claim#sns-429#${R5}`)).toBeUndefined();
    rig.twilio.setDefault({});
    expect((await rig.handler(batch(record), context())).batchItemFailures).toEqual([]);
    expect(rig.twilio.requests.some((r) => r.method === 'GET')).toBe(false);
    expect(await rig.item(`claim#sns-429#${R5}`)).toMatchObject({ state: 'sent', attempts: 1 });
  });

  test.each([21211, 21408, 21610, 21612, 21614, 21617])('permanent error %d: the claim fails with the code, never retried', async (code) => {
    rig.twilio.enqueue({ error: { status: 400, code } });
    const snsId = `sns-permanent-${code}`;
    const record = snsRecord(JSON.stringify({ body: 'doomed', to: R5 }), snsId);
    const { result, metrics } = await captureStdout(() => rig.handler(batch(record), context()));
    expect(result.batchItemFailures).toEqual([]);
    expect(creates()).toHaveLength(1);
    expect(await rig.item(`claim#${snsId}#${R5}`)).toMatchObject({ state: 'failed', errorCode: String(code) });
    const failed = metrics.filter((m) => METRIC.MESSAGES_FAILED in m);
    expect(failed).toHaveLength(1);
    expect(failed[0].errorCode).toBe(String(code));
    // Redelivered: nothing more is sent.
    await rig.handler(batch(record), context());
    expect(creates()).toHaveLength(1);
  });

  test('20003 with the same credentials in the secret: a configuration error, the record kept, nothing marked failed', async () => {
    rig.handler = await loadHandler();
    rig.twilio.enqueue({ error: { status: 401, code: 20003 } });
    const record = snsRecord(JSON.stringify({ body: 'auth', to: R5 }), 'sns-20003');
    const { result, metrics } = await captureStdout(() => rig.handler(batch(record), context()));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(creates()).toHaveLength(1);
    expect(await rig.item(`claim#sns-20003#${R5}`)).toBeUndefined();
    expect(metricSum(metrics, METRIC.CONFIGURATION_ERRORS)).toBe(1);
    expect(metricSum(metrics, METRIC.MESSAGES_FAILED)).toBe(0);
  });

  test('20003 after a rotation: the secret is read again and the message goes out with the new API key', async () => {
    const apiKeySid = 'SK' + 'b'.repeat(32);
    rig.sm.setSecret(process.env.TWILIO_SECRET_ARN!, JSON.stringify({ accountSid: ACCOUNT_SID, authToken: 'auth-token-1', apiKeySid, apiKeySecret: 'key-secret' }));
    rig.twilio.setCredentials([{ username: apiKeySid, password: 'key-secret' }]);
    try {
      // A fresh environment that cached the old credentials: the forced re-read is rate-limited per environment.
      rig.handler = await loadHandler();
      rig.sm.setSecret(process.env.TWILIO_SECRET_ARN!, JSON.stringify({ accountSid: ACCOUNT_SID, authToken: 'auth-token-1' }));
      await rig.handler(batch(), context());
      rig.sm.setSecret(process.env.TWILIO_SECRET_ARN!, JSON.stringify({ accountSid: ACCOUNT_SID, authToken: 'auth-token-1', apiKeySid, apiKeySecret: 'key-secret' }));
      const out = await rig.handler(batch(snsRecord(JSON.stringify({ body: 'rotated', to: R5 }))), context());
      expect(out.batchItemFailures).toEqual([]);
      expect(creates().map((r) => [r.authUser, r.status])).toEqual([
        [ACCOUNT_SID, 401],
        [apiKeySid, 201],
      ]);
    } finally {
      rig.twilio.setCredentials(undefined);
    }
  });

  test.each(['before-create', 'after-create'] as const)(
    'a connection dropped %s: outcome unknown, never resent blindly; after the lease a lookup decides',
    async (when) => {
      rig.twilio.dropNext(1, when);
      const snsId = `sns-drop-${when}`;
      const record = snsRecord(JSON.stringify({ body: `dropped ${when}`, to: R5 }), snsId);
      const { result, metrics } = await captureStdout(() => rig.handler(batch(record), context()));
      expect(result.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
      expect(creates()).toHaveLength(1);
      expect(metricSum(metrics, METRIC.SEND_OUTCOME_UNKNOWN)).toBe(1);
      expect(await rig.item(`claim#${snsId}#${R5}`)).toMatchObject({ state: 'pending', outcome: 'unknown' });

      // Redelivered while the lease runs: nothing is sent.
      expect((await rig.handler(batch(record), context())).batchItemFailures).toHaveLength(1);
      expect(creates()).toHaveLength(1);

      await expireLease(`claim#${snsId}#${R5}`);
      expect((await rig.handler(batch(record), context())).batchItemFailures).toEqual([]);
      expect(rig.twilio.messages.size).toBe(1);
      const [message] = rig.twilio.messages.values();
      expect(creates()).toHaveLength(when === 'after-create' ? 1 : 2);
      expect(await rig.item(`claim#${snsId}#${R5}`)).toMatchObject({ state: 'sent', messageSid: message.sid });
      expect(await rig.item(message.sid)).toMatchObject({ notificationId: snsId, to: R5 });
    },
  );
  test('a slow answer that outlasts the time left: outcome unknown, the message (created) is not sent again', async () => {
    rig.twilio.enqueue({ delayMs: 6_000 });
    const snsId = 'sns-slow';
    const record = snsRecord(JSON.stringify({ body: 'slow', to: R5 }), snsId);
    const { result, metrics } = await captureStdout(() => rig.handler(batch(record), context(5_000)));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(metricSum(metrics, METRIC.SEND_OUTCOME_UNKNOWN)).toBe(1);
    expect(await rig.item(`claim#${snsId}#${R5}`)).toMatchObject({ state: 'pending', outcome: 'unknown', reason: expect.stringMatching(/no answer/) });
    await expireLease(`claim#${snsId}#${R5}`);
    expect((await rig.handler(batch(record), context())).batchItemFailures).toEqual([]);
    expect(creates()).toHaveLength(1);
    expect(await rig.item(`claim#${snsId}#${R5}`)).toMatchObject({ state: 'sent', messageSid: creates()[0].sid });
  });
});

describe('exactly once', () => {
  test('the same SNS notification delivered twice: one POST per recipient in total', async () => {
    const message = JSON.stringify(alarm());
    await rig.handler(batch(snsRecord(message, 'sns-dup', 'sqs-a')), context());
    await rig.handler(batch(snsRecord(message, 'sns-dup', 'sqs-b')), context());
    expect(creates()).toHaveLength(2);
    expect(createdTo(R1)).toHaveLength(1);
    expect(createdTo(R2)).toHaveLength(1);
  });

  test('the same notification twice in one batch: one copy waits for a redelivery, which sends nothing more', async () => {
    const message = JSON.stringify({ body: 'twice in a batch', to: [R3, R5] });
    const a = snsRecord(message, 'sns-dup-batch', 'sqs-1');
    const b = snsRecord(message, 'sns-dup-batch', 'sqs-2');
    const out = await rig.handler(batch(a, b), context());
    expect(out.batchItemFailures).toHaveLength(1);
    expect(creates()).toHaveLength(2);
    const again = await rig.handler(batch(out.batchItemFailures[0].itemIdentifier === 'sqs-1' ? a : b), context());
    expect(again.batchItemFailures).toEqual([]);
    expect(creates()).toHaveLength(2);
  });

  test('a redelivery sends only to the recipients not yet sent', async () => {
    const message = JSON.stringify({ body: 'partial', to: [R3, R5] });
    rig.twilio.setFaultInjector((r) => (r.kind === 'create' && r.params.some(([k, v]) => k === 'To' && v === R5) ? { error: { status: 503, code: 20503 } } : undefined));
    const record = snsRecord(message, 'sns-partial');
    expect((await rig.handler(batch(record), context(4_000))).batchItemFailures).toHaveLength(1);
    rig.twilio.setFaultInjector(undefined);
    expect((await rig.handler(batch(record), context())).batchItemFailures).toEqual([]);
    expect(createdTo(R3)).toHaveLength(1);
    expect(createdTo(R5)).toHaveLength(1);
  });

  describe('a crash between claim and POST (a pending claim whose lease expired)', () => {
    const text = 'after a crash';
    async function preClaim(snsId: string, leaseUntil: number, createdAt: Date) {
      await rig.put({
        id: `claim#${snsId}#${R5}`,
        kind: 'claim',
        notificationId: snsId,
        recipient: R5,
        state: 'pending',
        leaseUntil,
        attempts: 1,
        createdAt: createdAt.toISOString(),
        updatedAt: createdAt.toISOString(),
        expiresAt: Math.floor(Date.now() / 1000) + 86_400,
      });
    }

    test('no message at Twilio: the claim is taken over and the message sent', async () => {
      await preClaim('sns-crash-1', Date.now() - 1_000, new Date(Date.now() - 120_000));
      // Someone else's older message to the same number does not count.
      rig.twilio.addMessage({ to: R5, from: FROM, body: text, dateCreated: new Date(Date.now() - 600_000) });
      const out = await rig.handler(batch(snsRecord(JSON.stringify({ body: text, to: R5 }), 'sns-crash-1')), context());
      expect(out.batchItemFailures).toEqual([]);
      expect(creates()).toHaveLength(1);
      expect(await rig.item(`claim#sns-crash-1#${R5}`)).toMatchObject({ state: 'sent', attempts: 2, messageSid: creates()[0].sid });
    });

    test('the message reached Twilio: recorded with its SID, not resent', async () => {
      const claimedAt = new Date(Date.now() - 120_000);
      await preClaim('sns-crash-2', Date.now() - 1_000, claimedAt);
      const existing = rig.twilio.addMessage({ to: R5, from: FROM, body: text, statusCallback: CALLBACK_URL, dateCreated: new Date(claimedAt.getTime() + 200) });
      rig.twilio.setStatus(existing.sid, 'delivered');
      const out = await rig.handler(batch(snsRecord(JSON.stringify({ body: text, to: R5 }), 'sns-crash-2')), context());
      expect(out.batchItemFailures).toEqual([]);
      expect(creates()).toHaveLength(0);
      expect(await rig.item(`claim#sns-crash-2#${R5}`)).toMatchObject({ state: 'sent', messageSid: existing.sid });
      expect(await rig.item(existing.sid)).toMatchObject({ status: 'delivered', notificationId: 'sns-crash-2', to: R5 });
      // Accepted when Twilio created it (RFC 2822: whole seconds), not when the lookup found it.
      expect((await rig.item(existing.sid))!.acceptedAt).toBe(new Date(Math.floor((claimedAt.getTime() + 200) / 1000) * 1000).toISOString());
    });

    test('the lookup pages through Twilio\'s list until it passes the claim time', async () => {
      const claimedAt = new Date(Date.now() - 120_000);
      await preClaim('sns-crash-paged', Date.now() - 1_000, claimedAt);
      const ours = rig.twilio.addMessage({ to: R5, from: FROM, body: text, dateCreated: new Date(claimedAt.getTime() + 1_000) });
      // More later messages than one page holds: ours is on the second.
      for (let i = 0; i < PAGE_SIZE + 50; i++) rig.twilio.addMessage({ to: R5, from: FROM, body: `later alert ${i}`, dateCreated: new Date(claimedAt.getTime() + 2_000 + i) });
      const out = await rig.handler(batch(snsRecord(JSON.stringify({ body: text, to: R5 }), 'sns-crash-paged')), context());
      expect(out.batchItemFailures).toEqual([]);
      expect(creates()).toHaveLength(0);
      expect(rig.twilio.requests.filter((r) => r.outcome === 'listed')).toHaveLength(2);
      expect(await rig.item(`claim#sns-crash-paged#${R5}`)).toMatchObject({ state: 'sent', messageSid: ours.sid });
    });

    test('a message created after the claim\'s lease ended is not ours, even with the same text', async () => {
      const claimedAt = new Date(Date.now() - 120_000);
      await preClaim('sns-crash-late', claimedAt.getTime() + 60_000, claimedAt);
      rig.twilio.addMessage({ to: R5, from: FROM, body: text, dateCreated: new Date(claimedAt.getTime() + 90_000) });
      await rig.handler(batch(snsRecord(JSON.stringify({ body: text, to: R5 }), 'sns-crash-late')), context());
      expect(creates()).toHaveLength(1);
    });

    test('a template send is matched on its variables: another notification\'s template message is not ours', async () => {
      const contentSid = 'HX' + 'c'.repeat(32);
      const claimedAt = new Date(Date.now() - 120_000);
      const envelope = (v: string) => JSON.stringify({ contentSid, contentVariables: { 1: v }, to: WA4 });
      await rig.put({ id: `claim#sns-crash-tpl#${WA4}`, kind: 'claim', state: 'pending', leaseUntil: Date.now() - 1_000, attempts: 1, createdAt: claimedAt.toISOString() });
      rig.twilio.addMessage({ to: WA4, from: WHATSAPP_FROM, body: 'db-2 down', contentSid, dateCreated: new Date(claimedAt.getTime() + 100) });
      await rig.handler(batch(snsRecord(envelope('db-1 down'), 'sns-crash-tpl')), context());
      expect(creates()).toHaveLength(1);

      rig.twilio.reset();
      await rig.put({ id: `claim#sns-crash-tpl2#${WA4}`, kind: 'claim', state: 'pending', leaseUntil: Date.now() - 1_000, attempts: 1, createdAt: claimedAt.toISOString() });
      const ours = rig.twilio.addMessage({ to: WA4, from: WHATSAPP_FROM, body: 'db-3 down', contentSid, dateCreated: new Date(claimedAt.getTime() + 100) });
      await rig.handler(batch(snsRecord(envelope('db-3 down'), 'sns-crash-tpl2')), context());
      expect(creates()).toHaveLength(0);
      expect(await rig.item(`claim#sns-crash-tpl2#${WA4}`)).toMatchObject({ state: 'sent', messageSid: ours.sid });
    });

    test('a matching message already recorded for another notification is not ours', async () => {
      const claimedAt = new Date(Date.now() - 120_000);
      await preClaim('sns-crash-3', Date.now() - 1_000, claimedAt);
      const other = rig.twilio.addMessage({ to: R5, from: FROM, body: text, dateCreated: new Date(claimedAt.getTime() + 500) });
      await rig.put({ id: other.sid, kind: 'message', notificationId: 'another-notification', status: 'queued', statusRank: 1 });
      await rig.handler(batch(snsRecord(JSON.stringify({ body: text, to: R5 }), 'sns-crash-3')), context());
      expect(creates()).toHaveLength(1);
      expect((await rig.item(`claim#sns-crash-3#${R5}`))!.messageSid).toBe(creates()[0].sid);
    });

    test('the lease has not expired: the record is retried later, nothing is sent', async () => {
      await preClaim('sns-crash-4', Date.now() + 60_000, new Date());
      const record = snsRecord(JSON.stringify({ body: text, to: R5 }), 'sns-crash-4');
      expect((await rig.handler(batch(record), context())).batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
      expect(rig.twilio.requests).toHaveLength(0);
    });

    test('a lease that ends within seconds is waited for: no receive spent, decided in this invocation', async () => {
      await preClaim('sns-crash-soon', Date.now() + 1_200, new Date(Date.now() - 10_000));
      const out = await rig.handler(batch(snsRecord(JSON.stringify({ body: text, to: R5 }), 'sns-crash-soon')), context());
      expect(out.batchItemFailures).toEqual([]);
      expect(rig.twilio.requests.map((r) => r.outcome)).toEqual(['listed', 'created']);
      expect(await rig.item(`claim#sns-crash-soon#${R5}`)).toMatchObject({ state: 'sent', attempts: 2 });
    });

    test('a holder that finishes during the wait: the recipient is skipped', async () => {
      await preClaim('sns-crash-done', Date.now() + 1_200, new Date());
      const finish = new Promise<void>((resolve, reject) =>
        setTimeout(() => rig.put({ id: `claim#sns-crash-done#${R5}`, kind: 'claim', state: 'sent', messageSid: 'SM' + '9'.repeat(32), leaseUntil: 0, attempts: 1 }).then(resolve, reject), 300),
      );
      const out = await rig.handler(batch(snsRecord(JSON.stringify({ body: text, to: R5 }), 'sns-crash-done')), context());
      await finish;
      expect(out.batchItemFailures).toEqual([]);
      expect(rig.twilio.requests).toHaveLength(0);
    });

    test('Twilio cannot be asked: retried, and after repeated doubt left as unknown for an operator', async () => {
      await preClaim('sns-crash-5', Date.now() - 1_000, new Date(Date.now() - 120_000));
      rig.twilio.setDefault({ on: 'read', error: { status: 500, code: 20500 } });
      rig.twilio.setFaultInjector((r) => (r.kind === 'list' ? { error: { status: 500, code: 20500 } } : undefined));
      const record = snsRecord(JSON.stringify({ body: text, to: R5 }), 'sns-crash-5');
      expect((await rig.handler(batch(record), context())).batchItemFailures).toHaveLength(1);
      expect((await rig.handler(batch(record), context())).batchItemFailures).toHaveLength(1);
      const { result, metrics } = await captureStdout(() => rig.handler(batch(record), context()));
      expect(result.batchItemFailures).toEqual([]);
      expect(metricSum(metrics, METRIC.SEND_OUTCOME_UNKNOWN)).toBe(1);
      // An operator reads why: the last lookup's failure is on the claim and in its reason.
      expect(await rig.item(`claim#sns-crash-5#${R5}`)).toMatchObject({ state: 'unknown', doubts: 3, lastDoubt: expect.stringContaining('Internal Server Error'), reason: expect.stringMatching(/^Twilio lookup failed 3 times \(last: .*Internal Server Error.*\)/) });
      expect(creates()).toHaveLength(0);
    });
  });
});

describe('batches, validation and the allow-list', () => {
  test('a partial batch failure names only the record that must come back', async () => {
    rig.twilio.setFaultInjector((r) => (r.kind === 'create' && r.params.some(([k, v]) => k === 'To' && v === R3) ? { error: { status: 503, code: 20503 } } : undefined));
    const ok1 = snsRecord(JSON.stringify({ body: 'one', to: R5 }));
    const bad = snsRecord(JSON.stringify({ body: 'two', to: R3 }));
    const ok2 = snsRecord('three');
    const out = await rig.handler(batch(ok1, bad, ok2), context(4_000));
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: bad.messageId }]);
    expect(createdTo(R5)).toHaveLength(1);
    expect(createdTo(R1)).toHaveLength(1);
  });

  test('recipients outside the allowed set and invalid addresses are recorded as failed; the others are sent', async () => {
    const stranger = '+447700900123';
    const { result, metrics, logs } = await captureStdout(() =>
      rig.handler(batch(snsRecord(JSON.stringify({ body: 'hi', to: [R5, stranger, '555-1234'] }), 'sns-allow')), context()),
    );
    expect(result.batchItemFailures).toEqual([]);
    expect(creates().map((r) => param(r, 'To')[0])).toEqual([R5]);
    expect(await rig.item(`claim#sns-allow#${stranger}`)).toMatchObject({ state: 'failed', reason: 'recipient not in the allowed recipients' });
    expect(await rig.item('claim#sns-allow#invalid:555-1234')).toMatchObject({ state: 'failed', reason: expect.stringMatching(/E\.164/) });
    expect(metricSum(metrics, METRIC.MESSAGES_FAILED)).toBe(2);
    expect(logs.filter((l) => l.message === 'notification processed')).toEqual([
      expect.objectContaining({ notificationId: 'sns-allow', kind: 'envelope', recipients: 3, sent: 1, failed: 2, alreadyDone: 0, unknown: 0, retry: 0 }),
    ]);
    const text = JSON.stringify(logs);
    expect(text).not.toContain(stranger);
    expect(text).toContain('+4477***0123');
  });

  test.each([
    ['a body over 1600 characters', JSON.stringify({ body: 'x'.repeat(1601) }), /1600/],
    ['more than 10 media URLs', JSON.stringify({ mediaUrls: Array.from({ length: 11 }, (_, i) => `https://x.example/${i}.png`) }), /10 URLs/],
    ['an http media URL', JSON.stringify({ mediaUrls: ['http://x.example/1.png'] }), /https/],
    ['contentVariables that are not strings', JSON.stringify({ contentSid: 'HX' + 'a'.repeat(32), contentVariables: { 1: 5 } }), /object of strings/],
    ['an envelope with nothing to send', JSON.stringify({ to: [R5] }), /needs "body"/],
    ['a JSON object with nothing readable in it', JSON.stringify({ hello: { world: [] }, n: null }), /nothing readable/],
    ['an empty message', '   ', /empty/],
  ])('%s: recorded as failed once, no POST, no batch failure', async (_name, message, reason) => {
    const snsId = `sns-invalid-${Math.random()}`;
    const record = snsRecord(message, snsId);
    const { result, metrics } = await captureStdout(() => rig.handler(batch(record), context()));
    expect(result.batchItemFailures).toEqual([]);
    expect(rig.twilio.requests).toHaveLength(0);
    expect(await rig.item(`failed#${snsId}`)).toMatchObject({ kind: 'notification', reason: expect.stringMatching(reason) });
    expect(metricSum(metrics, METRIC.MESSAGES_FAILED)).toBe(1);
    const again = await captureStdout(() => rig.handler(batch(record), context()));
    expect(metricSum(again.metrics, METRIC.MESSAGES_FAILED)).toBe(0);
  });

  test('logs never carry a full number, a body or a credential', async () => {
    const secretBody = 'the secret body text that must not be logged in full';
    const { logs } = await captureStdout(() => rig.handler(batch(snsRecord(JSON.stringify({ body: secretBody, to: [R3, R5] }))), context()));
    const text = JSON.stringify(logs);
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [R3, R5, secretBody, 'auth-token-1']) expect(text).not.toContain(secret);
  });
});

describe('Twilio request parameters (create-message-params.json)', () => {
  // A copy of the CreateMessage parameters from Twilio's OpenAPI (its `source` field names the commit), kept with the tests.
  const spec = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'create-message-params.json'), 'utf8')) as {
    properties: Record<string, unknown>;
    required: string[];
  };

  test('every request of this file used only parameter names Twilio defines, and its rules', async () => {
    // Every kind of request once more, so that this test stands alone too (jest -t).
    rig.twilio.reset();
    await rig.handler(
      batch(
        snsRecord(JSON.stringify(alarm())),
        snsRecord(JSON.stringify({ body: 'mms', mediaUrls: ['https://x.example/1.png', 'https://x.example/2.png'], to: [R3, WA4] })),
        snsRecord(JSON.stringify({ contentSid: 'HX' + 'c'.repeat(32), contentVariables: { 1: 'v' }, to: [R5, WA4] })),
      ),
      context(),
    );
    allCreates.push(...rig.twilio.createRequests());
    expect(rig.twilio.createRequests()).toHaveLength(6);
    for (const r of allCreates) {
      const names = r.params.map(([k]) => k);
      for (const name of names) expect(Object.keys(spec.properties)).toContain(name);
      for (const name of spec.required) expect(names).toContain(name);
      expect(names.includes('From') !== names.includes('MessagingServiceSid')).toBe(true);
      expect(names.some((n) => n === 'Body' || n === 'MediaUrl' || n === 'ContentSid')).toBe(true);
      if (names.includes('ContentSid')) expect(names).not.toContain('Body');
      for (const v of param(r, 'ContentVariables')) expect(typeof JSON.parse(v)).toBe('object');
      const singles = names.filter((n) => n !== 'MediaUrl');
      expect(new Set(singles).size).toBe(singles.length);
      for (const url of param(r, 'MediaUrl')) expect(url).toMatch(/^https:\/\/\S+$/);
    }
  });
});
