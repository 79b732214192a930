import { parseNotification, unwrapRecord } from '../../lambda/sender/parse-notification';
import { checkRecipients, InvalidNotificationError, validateEnvelope } from '../../lambda/sender/validate';
import { loadSettings } from '../../lambda/sender/config';
import { buildMessage } from '../../lambda/sender/message-params';
import { Semaphore } from '../../lambda/sender/semaphore';
import { deferDelaySeconds, MAX_DEFERRALS } from '../../lambda/sender/defer';
import { classifyHttpError, classifyNetworkError } from '../../lambda/shared/twilio-errors';
import { authorizationHeader } from '../../lambda/shared/twilio-client';
import { alarm } from '../support/sender-rig';

describe('parsing', () => {
  test('an SNS envelope is unwrapped with its MessageId; anything else is the message itself', () => {
    const sns = JSON.stringify({ Type: 'Notification', MessageId: 'm-1', Message: 'hello' });
    expect(unwrapRecord({ messageId: 'sqs-1', body: sns })).toEqual({ notificationId: 'm-1', message: 'hello', published: true });
    expect(unwrapRecord({ messageId: 'sqs-2', body: 'plain' })).toEqual({ notificationId: 'sqs-2', message: 'plain', published: false });
    const notSns = JSON.stringify({ Type: 'SubscriptionConfirmation', MessageId: 'x', Message: 'y' });
    expect(unwrapRecord({ messageId: 'sqs-3', body: notSns })).toEqual({ notificationId: 'sqs-3', message: notSns, published: false });
  });

  test('text that merely starts with a brace is plain text', () => {
    expect(parseNotification('{not json} server down', { allowUnicode: false, alarmTextSegments: 1 })).toEqual({ kind: 'text', text: '{not json} server down' });
  });

  test('envelope "to" may be one address; duplicates collapse', () => {
    expect(validateEnvelope({ body: 'x', to: '+15551230001' }).to).toEqual(['+15551230001']);
    expect(validateEnvelope({ body: 'x', to: ['+15551230001', '+15551230001'] }).to).toEqual(['+15551230001']);
  });

  test.each([
    [{ body: 5 }, /body/],
    [{ body: 'x', to: [] }, /to/],
    [{ contentVariables: { 1: 'a' } }, /needs "contentSid"/],
    [{ contentSid: 'HX123' }, /contentSid/],
    [{ mediaUrls: 'https://x' }, /mediaUrls/],
  ])('envelope %j is rejected', (json, reason) => {
    expect(() => validateEnvelope(json as Record<string, unknown>)).toThrow(InvalidNotificationError);
    expect(() => validateEnvelope(json as Record<string, unknown>)).toThrow(reason);
  });

  test('recipients: invalid, not allowed, and channel without a sender are rejected with reasons', () => {
    const out = checkRecipients(['+15551230001', '+4477', '+15559999999', 'whatsapp:+15551230001'], new Set(['+15551230001', 'whatsapp:+15551230001']), { sms: true, whatsapp: false });
    expect(out.accepted).toEqual(['+15551230001']);
    expect(out.rejected.map((r) => r.reason)).toEqual(['not an E.164 or whatsapp:+E.164 address', 'recipient not in the allowed recipients', 'no WhatsApp sender configured']);
  });
});

describe('configuration', () => {
  const env = (config: unknown, extra: Record<string, string> = {}) => ({ STATUS_TABLE_NAME: 't', SENDER_CONFIG: JSON.stringify(config), ...extra });

  test('defaults: concurrency 10, lease 120 s, allowed = default recipients', () => {
    const s = loadSettings(env({ from: '+15550000000', defaultRecipients: ['+15551230001'] }));
    expect(s.sendConcurrency).toBe(10);
    expect(s.claimLeaseMs).toBe(120_000);
    expect([...s.allowed]).toEqual(['+15551230001']);
  });

  test.each([
    [{ defaultRecipients: ['+15551230001'] }, /one of/],
    [{ from: '+15550000000', messagingServiceSid: 'MG' + 'a'.repeat(32), defaultRecipients: ['+15551230001'] }, /not both/],
    [{ from: '+15550000000', defaultRecipients: ['15551230001'] }, /defaultRecipients\[0\]/],
    [{ from: '+15550000000', defaultRecipients: ['+15551230001'], allowedRecipients: 'x' }, /allowedRecipients/],
    [{ from: '+15550000000', defaultRecipients: ['+15551230001'], sendConcurrency: 0 }, /sendConcurrency/],
    [{ from: '+15550000000', defaultRecipients: ['+15551230001'], claimLeaseSeconds: 2 }, /claimLeaseSeconds must be an integer from 3/],
    [{ whatsappFrom: '+15550000000', defaultRecipients: ['+15551230001'] }, /whatsappFrom/],
    [{ from: '+15550000000', defaultRecipients: ['+15551230001'], whatsappContentSid: 'HX1' }, /whatsappContentSid/],
  ])('SENDER_CONFIG %j is refused', (config, reason) => {
    expect(() => loadSettings(env(config))).toThrow(reason);
  });

  test('alarmTextSegments: 1 by default, 1 to 10; accountAlias read when set', () => {
    const base = { from: '+15550000000', defaultRecipients: ['+15551230001'] };
    expect(loadSettings(env(base))).toMatchObject({ alarmTextSegments: 1 });
    expect(loadSettings(env(base)).accountAlias).toBeUndefined();
    expect(loadSettings(env({ ...base, alarmTextSegments: 10, accountAlias: 'prod' }))).toMatchObject({ alarmTextSegments: 10, accountAlias: 'prod' });
    for (const bad of [0, 11, 1.5, '2']) expect(() => loadSettings(env({ ...base, alarmTextSegments: bad }))).toThrow(/SENDER_CONFIG\.alarmTextSegments must be an integer from 1 to 10/);
    for (const bad of ['', 7]) expect(() => loadSettings(env({ ...base, accountAlias: bad }))).toThrow(/SENDER_CONFIG\.accountAlias must be a non-empty string/);
  });

  test('missing table name, non-JSON config and a callback URL with underscores are refused', () => {
    expect(() => loadSettings({ SENDER_CONFIG: '{}' })).toThrow(/STATUS_TABLE_NAME/);
    expect(() => loadSettings({ STATUS_TABLE_NAME: 't', SENDER_CONFIG: 'nope' })).toThrow(/not JSON/);
    expect(() => loadSettings(env({ from: '+15550000000', defaultRecipients: ['+15551230001'] }, { STATUS_CALLBACK_URL: 'https://my_api.example.com/status' }))).toThrow(/underscores/);
  });
});

describe('message parameters', () => {
  const settings = loadSettings({
    STATUS_TABLE_NAME: 't',
    SENDER_CONFIG: JSON.stringify({ from: '+15550000000', whatsappFrom: 'whatsapp:+15550000001', whatsappContentSid: 'HX' + 'a'.repeat(32), defaultRecipients: ['+15551230001'] }),
  });

  test('a WhatsApp template variable holds no newline, tab or long run of spaces', () => {
    const msg = buildMessage({ kind: 'text', text: 'line one\n\tline two      end' }, 'whatsapp:+15551230001', settings);
    expect(msg.params).toEqual([
      ['To', 'whatsapp:+15551230001'],
      ['From', 'whatsapp:+15550000001'],
      ['ContentSid', 'HX' + 'a'.repeat(32)],
      ['ContentVariables', JSON.stringify({ 1: 'line one - line two   end' })],
    ]);
  });

  test('a reply hint set on the notification ends every text of it; an alarm\'s text changes only by it', () => {
    const parsed = parseNotification(JSON.stringify(alarm()), settings);
    const hinted = { ...parsed, replyHint: 'ACK 7K' };
    const body = (n: typeof parsed, to: string) => buildMessage(n, to, settings).params.find(([k]) => k === 'Body')?.[1];
    const variable = (n: typeof parsed) => JSON.parse(buildMessage(n, 'whatsapp:+15551230001', settings).params.find(([k]) => k === 'ContentVariables')![1])['1'];
    expect(body(hinted, '+15551230001')).toBe(`${body(parsed, '+15551230001')} ACK 7K`);
    expect(variable(hinted)).toBe(`${variable(parsed)} ACK 7K`);
    const text = { kind: 'text' as const, text: 'Deploy failed', replyHint: 'ACK 7K' };
    expect(body(text, '+15551230001')).toBe('Deploy failed ACK 7K');
    expect(variable(text)).toBe('Deploy failed ACK 7K');
  });

  test('SMS: Body then one MediaUrl per URL; channel mms', () => {
    const msg = buildMessage({ kind: 'envelope', body: 'b', mediaUrls: ['https://a/1', 'https://a/2'] }, '+15551230001', settings);
    expect(msg.params).toEqual([
      ['To', '+15551230001'],
      ['From', '+15550000000'],
      ['Body', 'b'],
      ['MediaUrl', 'https://a/1'],
      ['MediaUrl', 'https://a/2'],
    ]);
    expect(msg.channel).toBe('mms');
  });
});

describe('Twilio error classification', () => {
  test.each([
    [429, '{"code":20429,"message":"Too Many Requests","status":429}', 'transient', '20429'],
    [500, '{"code":20500,"message":"Internal Server Error","status":500}', 'transient', '20500'],
    [503, '<html>Service Unavailable</html>', 'transient', undefined],
    [400, '{"code":21211,"message":"Invalid To","status":400}', 'permanent', '21211'],
    [401, '{"code":20003,"message":"Authenticate","status":401}', 'configuration', '20003'],
    [401, '<html>Unauthorized</html>', 'configuration', undefined],
    [404, '{"code":20404,"message":"Not found","status":404}', 'configuration', '20404'],
    [400, '{"code":21999,"message":"Something new","status":400}', 'unclassified', '21999'],
  ])('HTTP %d %s → %s', (status, body, failureClass, code) => {
    const err = classifyHttpError(status, body);
    expect(err.failureClass).toBe(failureClass);
    expect(err.code).toBe(code);
  });

  test('a network failure before the request was written is retryable; after, unknown', () => {
    expect(classifyNetworkError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), false)).toMatchObject({ failureClass: 'transient', code: 'ECONNREFUSED' });
    expect(classifyNetworkError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), true)).toMatchObject({ failureClass: 'unknown', code: 'ECONNRESET' });
  });

  test('Basic auth uses the API key when there is one', () => {
    const base = { accountSid: 'AC' + 'a'.repeat(32), authToken: 't' };
    expect(Buffer.from(authorizationHeader(base).slice(6), 'base64').toString()).toBe(`${base.accountSid}:t`);
    const withKey = { ...base, apiKeySid: 'SK' + 'b'.repeat(32), apiKeySecret: 's' };
    expect(Buffer.from(authorizationHeader(withKey).slice(6), 'base64').toString()).toBe(`${withKey.apiKeySid}:s`);
  });
});

test('the semaphore never runs more than its limit and runs everything', async () => {
  const sem = new Semaphore(3);
  let active = 0;
  let peak = 0;
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      sem.run(async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setImmediate(r));
        order.push(i);
        active--;
      }),
    ),
  );
  expect(peak).toBe(3);
  expect(order.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
});

test('a deferred copy comes back when its wait is over, at least 2^deferrals seconds later, never beyond SQS\'s 900', () => {
  const now = 1_000_000;
  expect(deferDelaySeconds(now, 0, now)).toBe(1);
  expect(deferDelaySeconds(now + 59_500, 0, now)).toBe(61);
  expect(deferDelaySeconds(now, 5, now)).toBe(32);
  expect(deferDelaySeconds(now + 3_600_000, 0, now)).toBe(900);
  expect(deferDelaySeconds(now, MAX_DEFERRALS, now)).toBe(900);
  // The deferrals end: their waits add up to a bounded time, then SQS receives count again.
  const total = Array.from({ length: MAX_DEFERRALS }, (_, n) => deferDelaySeconds(now, n, now)).reduce((a, b) => a + b, 0);
  expect(total).toBeLessThan(3_600);
});
