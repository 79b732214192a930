import { alarm, batch, context, loadHandler, metricSum, captureStdout, Rig, snsRecord, startRig, WHATSAPP_FROM, ACCOUNT_SID, SECRET_ARN, withoutHint } from '../support/sender-rig';
import type { RecordedRequest } from '../support/fake-twilio';
import { METRIC, PLACEHOLDER_SECRET } from '../../lib/contract';

const R1 = '+15551230001';
const WA2 = 'whatsapp:+15551230002';
const MG = 'MG' + 'd'.repeat(32);
const TEMPLATE = 'HX' + 'e'.repeat(32);
const API_KEY = 'SK' + 'f'.repeat(32);

let rig: Rig;
beforeAll(async () => {
  rig = await startRig({ messagingServiceSid: MG, whatsappFrom: WHATSAPP_FROM, whatsappContentSid: TEMPLATE, defaultRecipients: [R1, WA2] });
  rig.sm.setSecret(SECRET_ARN, JSON.stringify({ accountSid: ACCOUNT_SID, authToken: 'token', apiKeySid: API_KEY, apiKeySecret: 'key-secret' }));
  rig.handler = await loadHandler();
});
afterAll(() => rig.close());
beforeEach(async () => {
  rig.twilio.reset();
  // Each test's alarm is a new occurrence: the previous test's incident for the same alarm must not make it a repeat.
  await rig.forgetIncidents();
});

const param = (r: RecordedRequest, name: string) => r.params.filter(([k]) => k === name).map(([, v]) => v);
const sentTo = (to: string) => rig.twilio.createRequests().filter((r) => param(r, 'To')[0] === to);

test('SMS through a Messaging Service: MessagingServiceSid instead of From, status accepted, API key auth', async () => {
  const out = await rig.handler(batch(snsRecord(JSON.stringify(alarm()))), context());
  expect(out.batchItemFailures).toEqual([]);
  const [sms] = sentTo(R1);
  expect(param(sms, 'MessagingServiceSid')).toEqual([MG]);
  expect(param(sms, 'From')).toEqual([]);
  expect(sms.authUser).toBe(API_KEY);
  expect(await rig.item(sms.sid!)).toMatchObject({ status: 'accepted', statusRank: 1, messagingServiceSid: MG, channel: 'sms' });
});

test('WhatsApp template: the default contentSid with the rendered text as variable 1 (one line), no Body', async () => {
  await rig.handler(batch(snsRecord(JSON.stringify(alarm()))), context());
  const [wa] = sentTo(WA2);
  expect(param(wa, 'From')).toEqual([WHATSAPP_FROM]);
  expect(param(wa, 'ContentSid')).toEqual([TEMPLATE]);
  expect(param(wa, 'Body')).toEqual([]);
  const variables = JSON.parse(param(wa, 'ContentVariables')[0]) as Record<string, string>;
  expect(Object.keys(variables)).toEqual(['1']);
  // The whole rendering, not the SMS one: WhatsApp counts no segments.
  expect(withoutHint(variables['1'])).toBe('ALARM HighCPU-db-1 - CPUUtilization avg 95.2 > 90.0, 1/1 datapoints - db-1 us-east-1 123456789012 27 Nov 15:41 UTC - CPU above 90% on db-1');
  expect(variables['1']).not.toMatch(/[\n\t]/);
  expect(await rig.item(wa.sid!)).toMatchObject({ channel: 'whatsapp', alertRecipient: WA2, bodyPreview: expect.stringMatching(/^ALARM HighCPU-db-1/) });
});

test('an envelope naming its own contentSid uses it rather than the default template', async () => {
  const own = 'HX' + '1'.repeat(32);
  await rig.handler(batch(snsRecord(JSON.stringify({ to: [WA2], contentSid: own, contentVariables: { 1: 'x' } }))), context());
  expect(param(sentTo(WA2)[0], 'ContentSid')).toEqual([own]);
});

describe('configuration errors keep every record for redrive, logged once per cold start', () => {
  afterEach(async () => {
    rig.sm.setSecret(SECRET_ARN, JSON.stringify({ accountSid: ACCOUNT_SID, authToken: 'token' }));
    delete process.env.SENDER_CONFIG_BACKUP;
  });

  test('the placeholder secret', async () => {
    rig.sm.setSecret(SECRET_ARN, JSON.stringify(PLACEHOLDER_SECRET));
    const handler = await loadHandler();
    const records = [snsRecord('one'), snsRecord('two')];
    const first = await captureStdout(() => handler(batch(...records), context()));
    const second = await captureStdout(() => handler(batch(snsRecord('three')), context()));
    expect(first.result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.map((r) => r.messageId));
    expect(second.result.batchItemFailures).toHaveLength(1);
    expect(rig.twilio.requests).toHaveLength(0);
    const errors = [...first.logs, ...second.logs].filter((l) => l.level === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0].reason).toMatch(/placeholder/);
    expect(metricSum(first.metrics, METRIC.CONFIGURATION_ERRORS)).toBe(1);
    expect(metricSum(second.metrics, METRIC.CONFIGURATION_ERRORS)).toBe(1);
  });

  test('an invalid SENDER_CONFIG', async () => {
    const saved = process.env.SENDER_CONFIG;
    process.env.SENDER_CONFIG = JSON.stringify({ from: '+15550000000', defaultRecipients: [] });
    let handler;
    try {
      handler = await loadHandler();
    } finally {
      process.env.SENDER_CONFIG = saved;
    }
    const first = await captureStdout(() => handler(batch(snsRecord('one')), context()));
    const second = await captureStdout(() => handler(batch(snsRecord('two')), context()));
    expect(first.result.batchItemFailures).toHaveLength(1);
    expect(second.result.batchItemFailures).toHaveLength(1);
    const errors = [...first.logs, ...second.logs].filter((l) => l.level === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0].reason).toMatch(/defaultRecipients/);
    expect(metricSum(second.metrics, METRIC.CONFIGURATION_ERRORS)).toBe(1);
    expect(rig.twilio.requests).toHaveLength(0);
  });

  test('Secrets Manager unreachable: a transient failure, every record retried, no configuration metric', async () => {
    const handler = await loadHandler();
    rig.sm.failNext(20);
    try {
      const out = await captureStdout(() => handler(batch(snsRecord('one')), context()));
      expect(out.result.batchItemFailures).toHaveLength(1);
      expect(metricSum(out.metrics, METRIC.CONFIGURATION_ERRORS)).toBe(0);
      // The log says why (the logger drops a field named `message`).
      const warning = out.logs.find((l) => l.message === 'Twilio credentials could not be read: records will be retried');
      expect(warning?.reason).toEqual(expect.any(String));
      expect(warning?.reason).not.toBe('');
    } finally {
      rig.sm.failNext(0);
    }
    expect((await handler(batch(snsRecord('two')), context())).batchItemFailures).toEqual([]);
  });
});
