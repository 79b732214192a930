import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import * as crypto from 'node:crypto';
import { METRIC } from '../../lib/contract';
import { MAX_WEBHOOK_BODY_CHARS, MAX_WEBHOOK_PARAMS } from '../../lambda/webhook/webhook-request';
import { twilioFormBody, TwilioParams, TwilioSigningKey } from '../support/twilio-sign';
import {
  ACCOUNT_SID,
  captureOutput,
  CapturedOutput,
  EventOptions,
  getItem,
  goodSecret,
  INBOUND_URL,
  lambdaContext,
  SECRET_ARN,
  sid,
  SIGNING_KEY,
  STATUS_URL,
  startWorld,
  twilioEvent,
  WebhookWorld,
} from '../support/webhook-rig';

/*
 * The gate's limits and key handling, through the real webhook entry points:
 * a request larger than any Twilio webhook is refused with 413 before the
 * credentials are read and before any HMAC, and one as large as Twilio's
 * largest still verifies.
 */
type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

let world: WebhookWorld;
let statusCallback: Handler;
let inbound: Handler;
let out: CapturedOutput;
let nextSid = 1;
let hmacs: jest.SpyInstance;

beforeAll(async () => {
  world = await startWorld();
  ({ handler: statusCallback } = (await import('../../lambda/status-callback/index')) as { handler: Handler });
  ({ handler: inbound } = (await import('../../lambda/inbound/index')) as { handler: Handler });
});

afterAll(async () => {
  await world.close();
});

beforeEach(() => {
  out = captureOutput();
  world.secrets.setSecret(SECRET_ARN, goodSecret);
  world.dynamo.resetCalls();
  world.secrets.getCalls.clear();
  world.sns.published.length = 0;
  // Counts the HMACs the handlers compute; every call still goes to node:crypto.
  hmacs = jest.spyOn(crypto, 'createHmac');
});

afterEach(() => {
  hmacs.mockRestore();
  out.restore();
});

function callback(messageSid: string, extra: TwilioParams = []): TwilioParams {
  return [
    ['SmsSid', messageSid],
    ['SmsStatus', 'delivered'],
    ['MessageStatus', 'delivered'],
    ['To', '+15551230001'],
    ['MessageSid', messageSid],
    ['AccountSid', ACCOUNT_SID],
    ['From', '+15557650000'],
    ['ApiVersion', '2010-04-01'],
    ...extra,
  ];
}

const postStatus = (params: TwilioParams, options: EventOptions = {}) => statusCallback(twilioEvent('/status', STATUS_URL, params, options), lambdaContext('status-callback'));
const postInbound = (params: TwilioParams, options: EventOptions = {}) => inbound(twilioEvent('/inbound', INBOUND_URL, params, options), lambdaContext('inbound'));

/** Pads `params` with one `Pad` parameter so that the form body is exactly `chars` long. */
function paddedTo(params: TwilioParams, chars: number): TwilioParams {
  const base = twilioFormBody([...params, ['Pad', '']]).length;
  return [...params, ['Pad', 'a'.repeat(chars - base)]];
}

/** `count` parameters in all, padding with distinct names. */
function withParameterCount(params: TwilioParams, count: number): TwilioParams {
  return [...params, ...Array.from({ length: count - params.length }, (_, i): [string, string] => [`Extra${i}`, 'x'])];
}

/** A forged status callback whose body is the 5.5 MB / 380k-parameter flood of issue 9. */
function floodBody(): string {
  const parts = Array.from({ length: 380_000 }, (_, i) => `p${i.toString(36)}=${'v'.repeat(6)}`);
  const text = parts.join('&');
  return `${text}&Body=${'x'.repeat(5_500_000 - text.length - 6)}`;
}

function expectRefusedAsTooLarge(res: APIGatewayProxyResult, limit: 'body' | 'parameters'): void {
  expect(res.statusCode).toBe(413);
  // Refused before the credentials (any load is a read here: the cache TTL is 0) and before any HMAC.
  expect(world.secrets.getCalls.size).toBe(0);
  expect(hmacs).not.toHaveBeenCalled();
  expect(world.dynamo.calls.size).toBe(0);
  expect(world.sns.published).toHaveLength(0);
  expect(out.metrics()[METRIC.CALLBACK_REJECTED]).toBe(1);
  expect(out.metricRecords(METRIC.CALLBACK_REJECTED)[0].reason).toBe('too-large');
  const line = out.records().find((r) => r.message === 'webhook request refused: larger than any Twilio webhook');
  expect(line).toMatchObject({ level: 'WARN', limit });
  // No sizes or counts: a flood of different sizes logs the same line.
  expect(String(line?.message)).not.toMatch(/\d/);
  expect(String(line?.limit)).not.toMatch(/\d/);
}

describe('a request larger than any Twilio webhook: 413 before the credentials or any HMAC', () => {
  test('the 5.5 MB, 380,000-parameter forgery', async () => {
    const body = floodBody();
    expect(body).toHaveLength(5_500_000);
    const res = await postStatus(callback(sid('SM', nextSid++)), { body, headers: { 'X-Twilio-Signature': 'Zm9yZ2VkLXNpZ25hdHVyZS0wMDAwMDA=' } });
    expectRefusedAsTooLarge(res, 'body');
  });

  test('one character over the body limit, even correctly signed, on both webhooks', async () => {
    const id = sid('SM', nextSid++);
    expectRefusedAsTooLarge(await postStatus(paddedTo(callback(id), MAX_WEBHOOK_BODY_CHARS + 1)), 'body');
    expect(await getItem(world.table, id)).toBeUndefined();
    out.clear();
    world.dynamo.resetCalls();
    expectRefusedAsTooLarge(await postInbound(paddedTo(callback(sid('SM', nextSid++)), MAX_WEBHOOK_BODY_CHARS + 1)), 'body');
  });

  test('a base64 body (binary media type) over the limit is refused before it is decoded', async () => {
    expectRefusedAsTooLarge(await postStatus(paddedTo(callback(sid('SM', nextSid++)), MAX_WEBHOOK_BODY_CHARS + 3), { base64: true }), 'body');
  });

  test('one parameter over the limit, even correctly signed and small', async () => {
    const id = sid('SM', nextSid++);
    const params = withParameterCount(callback(id), MAX_WEBHOOK_PARAMS + 1);
    expect(twilioFormBody(params).length).toBeLessThan(MAX_WEBHOOK_BODY_CHARS / 10);
    expectRefusedAsTooLarge(await postStatus(params), 'parameters');
    expect(await getItem(world.table, id)).toBeUndefined();
  });

  test('a flood of separators with nothing between them counts as parameters', async () => {
    const res = await postStatus(callback(sid('SM', nextSid++)), { body: `${twilioFormBody(callback(sid('SM', nextSid++)))}${'&'.repeat(100_000)}` });
    expectRefusedAsTooLarge(res, 'parameters');
  });
});

describe('requests at the limits, and as large as Twilio sends, verify', () => {
  test('a body of exactly the limit, plain and base64', async () => {
    const id = sid('SM', nextSid++);
    const params = paddedTo(callback(id), MAX_WEBHOOK_BODY_CHARS);
    expect(twilioFormBody(params)).toHaveLength(MAX_WEBHOOK_BODY_CHARS);
    expect((await postStatus(params)).statusCode).toBe(200);
    expect(await getItem(world.table, id)).toMatchObject({ status: 'delivered' });
    const id2 = sid('SM', nextSid++);
    expect((await postStatus(paddedTo(callback(id2), MAX_WEBHOOK_BODY_CHARS), { base64: true })).statusCode).toBe(200);
    expect(out.metrics()[METRIC.CALLBACK_REJECTED]).toBeUndefined();
  });

  test('exactly the parameter limit', async () => {
    const id = sid('SM', nextSid++);
    expect((await postStatus(withParameterCount(callback(id), MAX_WEBHOOK_PARAMS))).statusCode).toBe(200);
    expect(await getItem(world.table, id)).toMatchObject({ status: 'delivered' });
  });

  test('an inbound message carrying everything Twilio can send at once: a 4,096-character WhatsApp body, ten media, WhatsApp\'s extras', async () => {
    const id = sid('SM', nextSid++);
    const from = 'whatsapp:+15551230017';
    // A 3-byte UTF-8 character takes 9 characters form-encoded: the longest body Twilio can send.
    const body = '€'.repeat(4096);
    const media = Array.from({ length: 10 }, (_, i): Array<[string, string]> => [
      [`MediaUrl${i}`, `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/MM${'f'.repeat(32)}/Media/ME${String(i).padStart(32, '0')}`],
      [`MediaContentType${i}`, 'image/jpeg'],
    ]).flat();
    const params: TwilioParams = [
      ...Object.entries({
        ToCountry: 'US', ToState: 'CA', ToCity: 'SAN FRANCISCO', ToZip: '94105', FromCountry: 'US', FromState: 'NY', FromCity: 'NEW YORK', FromZip: '10001',
        SmsMessageSid: id, SmsSid: id, MessageSid: id, SmsStatus: 'received', AccountSid: ACCOUNT_SID, MessagingServiceSid: `MG${'a'.repeat(32)}`,
        From: from, To: 'whatsapp:+15557650000', Body: body, NumMedia: '10', NumSegments: '1', ReferralNumMedia: '0', ApiVersion: '2010-04-01',
        ProfileName: 'Ådne Ørsted-Björk 🚨', WaId: '15551230017', Forwarded: 'true', FrequentlyForwarded: 'true', MessageType: 'image',
        ButtonText: 'Acknowledge', ButtonPayload: 'ack-'.repeat(64), Latitude: '37.7749295', Longitude: '-122.4194155', Address: '1 Market St, San Francisco, CA 94105, USA', Label: 'Office',
        ReferralBody: 'r'.repeat(1024), ReferralHeadline: 'h'.repeat(256), ReferralSourceId: '1234567890', ReferralSourceType: 'ad', ReferralSourceUrl: `https://fb.me/${'u'.repeat(200)}`,
        ReferralMediaId: 'm'.repeat(64), ReferralMediaContentType: 'image/jpeg', ReferralMediaUrl: `https://api.twilio.com/${'p'.repeat(200)}`, ReferralCtwaClid: 'c'.repeat(128),
        OriginalRepliedMessageSender: 'whatsapp:+15557650000', OriginalRepliedMessageSid: `SM${'b'.repeat(32)}`,
        ChannelMetadata: JSON.stringify({ type: 'whatsapp', data: { context: { ProfileName: 'Ådne', WaId: '15551230017', ReferralCtwaClid: 'c'.repeat(128) } } }),
      }),
      ...media,
    ];
    const encoded = twilioFormBody(params).length;
    // The limits leave room to spare over the largest real webhook.
    expect(encoded * 2).toBeLessThan(MAX_WEBHOOK_BODY_CHARS);
    expect(params.length * 2).toBeLessThan(MAX_WEBHOOK_PARAMS);
    const res = await postInbound(params);
    expect(res.statusCode).toBe(200);
    expect(out.metrics()[METRIC.CALLBACK_REJECTED]).toBeUndefined();
  });
});

describe('webhook signing keys with HMAC_SHA1 verify as twilio-node accepts them', () => {
  const sha1Keys: Array<[string, TwilioSigningKey]> = [
    ['a settings header without an algorithm', { ...SIGNING_KEY, omitAlgorithm: true }],
    ['algorithm=HMAC_SHA1', { ...SIGNING_KEY, algorithm: 'HMAC_SHA1' }],
  ];

  test.each(sha1Keys)('%s: a status callback is recorded, an inbound message answered', async (_name, signingKey) => {
    const id = sid('SM', nextSid++);
    expect((await postStatus(callback(id), { signingKey })).statusCode).toBe(200);
    expect(await getItem(world.table, id)).toMatchObject({ status: 'delivered' });
    const inboundId = sid('SM', nextSid++);
    const res = await postInbound(
      [
        ['MessageSid', inboundId],
        ['AccountSid', ACCOUNT_SID],
        ['From', '+15551230017'],
        ['To', '+15557650000'],
        ['Body', 'disk is fine now'],
      ],
      { signingKey },
    );
    expect(res.statusCode).toBe(200);
    expect(out.metrics()[METRIC.CALLBACK_REJECTED]).toBeUndefined();
  });

  test('the same header with the key signed as HMAC_SHA256, or with the auth token, is refused', async () => {
    const sha256 = { ...SIGNING_KEY, algorithm: 'HMAC_SHA256' as const };
    const signed = twilioEvent('/status', STATUS_URL, callback(sid('SM', nextSid++)), { signingKey: sha256 });
    // The SHA-256 signature under a header that reads HMAC_SHA1.
    signed.headers['X-Twilio-Webhooks-Signature-Settings'] = `key=${SIGNING_KEY.id}`;
    signed.multiValueHeaders['X-Twilio-Webhooks-Signature-Settings'] = [`key=${SIGNING_KEY.id}`];
    expect((await statusCallback(signed, lambdaContext('status-callback'))).statusCode).toBe(403);
    // Signed with the auth token, but claiming a signing key.
    expect((await postStatus(callback(sid('SM', nextSid++)), { extraHeaders: { 'X-Twilio-Webhooks-Signature-Settings': `key=${SIGNING_KEY.id},algorithm=HMAC_SHA1` } })).statusCode).toBe(403);
    expect(out.metrics()[METRIC.CALLBACK_REJECTED]).toBe(2);
    expect(out.metricRecords(METRIC.CALLBACK_REJECTED).map((r) => r.reason)).toEqual(['signature', 'signature']);
  });
});
