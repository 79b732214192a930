import type { SenderConfig } from '../../lib/contract';
import { measure } from '../../lambda/sender/encoding';
import type { RecordedRequest } from '../support/fake-twilio';
import * as shape from './render/shapes';
import { batch, captureStdout, context, FROM, rawRecord, Rig, snsRecord, startRig, WHATSAPP_FROM, withoutHint } from '../support/sender-rig';

/*
 * What the phone shows, through the sender's real handler (fake Twilio,
 * dynalite): EventBridge events paged, the SNS Subject heading plain text,
 * envelopes that name their text otherwise, any JSON paged, non-Latin
 * alarms as UCS-2 in one segment, and the two SENDER_CONFIG fields that
 * shape alarm texts.
 */

const R1 = '+15551230001';
const R2 = '+15551230002';
const R3 = '+15551230003';
const WA4 = 'whatsapp:+15551230004';
const TEMPLATE = 'HX' + 'e'.repeat(32);

const param = (r: RecordedRequest, name: string) => r.params.filter(([k]) => k === name).map(([, v]) => v);

describe('default settings (one segment per alarm text)', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ from: FROM, whatsappFrom: WHATSAPP_FROM, whatsappContentSid: TEMPLATE, defaultRecipients: [R1, R2], allowedRecipients: [R3, WA4], claimLeaseSeconds: 60 });
  });
  afterAll(() => rig.close());
  beforeEach(() => rig.twilio.reset());

  const created = () => rig.twilio.createRequests().filter((r) => r.outcome === 'created');
  const bodyTo = (to: string) => param(created().find((r) => param(r, 'To')[0] === to)!, 'Body')[0];

  test('an EventBridge event published to the topic pages the default recipients with its rendering (it used to be refused)', async () => {
    const id = 'sns-ecs-stopped';
    const { result, logs } = await captureStdout(() => rig.handler(batch(snsRecord(JSON.stringify(shape.ecsTaskStoppedEvent), id)), context()));
    expect(result.batchItemFailures).toEqual([]);
    const expected = 'ECS task STOPPED service:checkout-web\nEssentialContainerExited: Essential container in task exited\nweb exit 137: OutOfMemoryError: Container killed...';
    expect(bodyTo(R1)).toBe(expected);
    expect(bodyTo(R2)).toBe(expected);
    expect(await rig.item(`failed#${id}`)).toBeUndefined();
    expect(logs.find((l) => l.message === 'notification processed')).toMatchObject({ notificationId: id, kind: 'event', sent: 2 });
    const [req] = created();
    // Not an alarm: its message item stays out of the ACK index.
    const item = await rig.item(req.sid!);
    expect(item).toMatchObject({ kind: 'message', notificationId: id, segments: 1 });
    expect(item!.alarmName).toBeUndefined();
    expect(item!.alertRecipient).toBeUndefined();
  });

  test('an EventBridge CloudWatch Alarm State Change is an alarm: its text, and its message items join the ACK index', async () => {
    const out = await rig.handler(batch(snsRecord(JSON.stringify(shape.alarmStateChangeEvent))), context());
    expect(out.batchItemFailures).toEqual([]);
    expect(withoutHint(bodyTo(R1))).toBe('ALARM ServerCpuTooHigh\nCPUUtilization avg 99.5 > 50.0, 1/1 datapoints\ni-12345678901234567 us-east-1 123456789012 27 Nov 15:41 UTC');
    const req = created().find((r) => param(r, 'To')[0] === R1)!;
    expect(await rig.item(req.sid!)).toMatchObject({ alarmName: 'ServerCpuTooHigh', alertRecipient: R1 });
  });

  test('an EventBridge event straight on the queue (no SNS envelope) pages too', async () => {
    const out = await rig.handler(batch(rawRecord(JSON.stringify(shape.backupFailedEvent))), context());
    expect(out.batchItemFailures).toEqual([]);
    expect(bodyTo(R1)).toBe('Backup job FAILED EBS\nInsufficient privileges to perform this action.\nvolume/vol-0123456789abcdef0\nus-east-1 123456789012 27 Nov 15:41 UTC');
  });

  test('the SNS Subject heads plain text', async () => {
    const out = await rig.handler(batch(snsRecord('Deploy of api-v42 failed; rolling back', undefined, undefined, 'Deploy failed')), context());
    expect(out.batchItemFailures).toEqual([]);
    expect(bodyTo(R1)).toBe('Deploy failed\nDeploy of api-v42 failed; rolling back');
    expect(bodyTo(R2)).toBe('Deploy failed\nDeploy of api-v42 failed; rolling back');
  });

  test('a Subject the text already starts with is not repeated; a Subject on an alarm changes nothing', async () => {
    await rig.handler(batch(snsRecord('Deploy failed: api-v42', undefined, undefined, 'Deploy failed')), context());
    expect(bodyTo(R1)).toBe('Deploy failed: api-v42');
    rig.twilio.reset();
    await rig.handler(batch(snsRecord(JSON.stringify(shape.metricAlarm()), undefined, undefined, 'ALARM: "HighCPU-db-1" in US East (N. Virginia)')), context());
    expect(withoutHint(bodyTo(R1))).toBe('ALARM HighCPU-db-1\nCPUUtilization avg 95.2 > 90.0, 1/1 datapoints\ndb-1 us-east-1 123456789012 27 Nov 15:41 UTC\nCPU above 90% on db-1');
  });

  test.each([
    ['message', { message: 'Disk 91% on db-1', to: R3 }],
    ['text', { text: 'Disk 91% on db-1', to: R3 }],
    ['Body', { Body: 'Disk 91% on db-1', to: R3 }],
  ])('an envelope that names its text "%s" is sent (it used to be refused)', async (_name, envelope) => {
    const out = await rig.handler(batch(snsRecord(JSON.stringify(envelope))), context());
    expect(out.batchItemFailures).toEqual([]);
    expect(bodyTo(R3)).toBe('Disk 91% on db-1');
  });

  test('"body" wins over the other names; a wrong type in the one used is refused naming it', async () => {
    await rig.handler(batch(snsRecord(JSON.stringify({ body: 'from body', message: 'from message', to: R3 }))), context());
    expect(bodyTo(R3)).toBe('from body');
    const id = 'sns-message-number';
    await rig.handler(batch(snsRecord(JSON.stringify({ message: 42, to: R3 }), id)), context());
    expect(await rig.item(`failed#${id}`)).toMatchObject({ kind: 'notification', reason: '"message" must be a string' });
  });

  test('any other JSON pages the default recipients with its fields (it used to be refused)', async () => {
    const out = await rig.handler(batch(snsRecord(JSON.stringify(shape.rdsEventNotification))), context());
    expect(out.batchItemFailures).toEqual([]);
    expect(bodyTo(R1)).toBe('Event Message: DB instance shutdown\nEvent Source: db-instance\nSource ID: db-1\nSource ARN: arn:aws:rds:us-east-1:123456789012:db:db-1');
  });

  test.each([
    ['Japanese', shape.japaneseAlarm, 'ALARM データベースCPU高負荷-東京\nCPUUtilization avg 95.2 > 90.0, 1/1'],
    ['Cyrillic', shape.cyrillicAlarm, 'ALARM Платежи-ошибки-5xx\nCPUUtilization avg 95.2 > 90.0, 1/1'],
  ])('a %s alarm name is sent as UCS-2 in one segment, not as ???', async (_script, published, expected) => {
    const out = await rig.handler(batch(snsRecord(JSON.stringify(published))), context());
    expect(out.batchItemFailures).toEqual([]);
    const body = bodyTo(R1);
    expect(withoutHint(body)).toBe(expected);
    expect(body).not.toContain('?');
    expect(measure(body)).toMatchObject({ encoding: 'UCS-2', segments: 1 });
    const req = created().find((r) => param(r, 'To')[0] === R1)!;
    // Twilio's own count (the fake counts as Twilio does) agrees.
    expect(await rig.item(req.sid!)).toMatchObject({ segments: 1 });
  });

  test('WhatsApp: the default template gets the whole text on one line, its media as a link (the template carries none); MMS gets the media', async () => {
    await rig.handler(batch(snsRecord(JSON.stringify({ body: 'p99 latency high\nsee graph', mediaUrls: ['https://graphs.example.com/p99.png'], to: [WA4, R3] }))), context());
    const wa = created().find((r) => param(r, 'To')[0] === WA4)!;
    expect(param(wa, 'ContentSid')).toEqual([TEMPLATE]);
    expect(param(wa, 'MediaUrl')).toEqual([]);
    expect(JSON.parse(param(wa, 'ContentVariables')[0])).toEqual({ 1: 'p99 latency high - see graph - https://graphs.example.com/p99.png' });
    const mms = created().find((r) => param(r, 'To')[0] === R3)!;
    expect(param(mms, 'MediaUrl')).toEqual(['https://graphs.example.com/p99.png']);
    expect(param(mms, 'Body')).toEqual(['p99 latency high\nsee graph']);
  });

  test('media beside a contentSid cannot be sent: recorded on the message item, not dropped silently', async () => {
    const own = 'HX' + '1'.repeat(32);
    await rig.handler(batch(snsRecord(JSON.stringify({ contentSid: own, contentVariables: { 1: 'db-1' }, mediaUrls: ['https://graphs.example.com/1.png', 'https://graphs.example.com/2.png'], to: [WA4] }))), context());
    const wa = created().find((r) => param(r, 'To')[0] === WA4)!;
    expect(param(wa, 'MediaUrl')).toEqual([]);
    expect(await rig.item(wa.sid!)).toMatchObject({ bodyPreview: `[template ${own}] [2 media not sent: a template carries its own]` });
  });
});

describe('SENDER_CONFIG.alarmTextSegments and accountAlias', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ from: FROM, defaultRecipients: [R1], claimLeaseSeconds: 60, alarmTextSegments: 2, accountAlias: 'prod' } as SenderConfig);
  });
  afterAll(() => rig.close());

  test('an alarm text may take the segments configured: the description whole, the account by its alias', async () => {
    const out = await rig.handler(batch(snsRecord(JSON.stringify(shape.percentileAlarm))), context());
    expect(out.batchItemFailures).toEqual([]);
    const [req] = rig.twilio.createRequests();
    const body = param(req, 'Body')[0];
    expect(withoutHint(body)).toBe('ALARM api-p99-latency-eu-west-1\nLatency p99 2.51 > 2.0, 3/3 datapoints\npublic-api eu-west-1 prod 27 Nov 10:06 UTC\np99 latency of the public API. Runbook: https://wiki.example.com/rb/api-latency');
    expect(measure(body)).toMatchObject({ encoding: 'GSM-7', segments: 2 });
    expect(await rig.item(req.sid!)).toMatchObject({ segments: 2 });
  });
});
