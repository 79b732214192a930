import { ENV, METRIC, PLACEHOLDER_SECRET } from '../../lib/contract';
import { HISTORY_LIMIT } from '../../lambda/shared/table/messages';
import { signTwilioRequest, TwilioParams } from '../support/twilio-sign';
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  EventOptions,
  getItem,
  goodSecret,
  lambdaContext,
  putItem,
  SECRET_ARN,
  sid,
  SIGNING_KEY,
  STATUS_URL,
  twilioEvent,
  useWebhookRig,
} from '../support/webhook-rig';

let nextSid = 1;

const TO = '+15551230001';
const FROM = '+15557650000';

const rig = useWebhookRig('status-callback');
const { post, deliverBacklog } = rig;

/** The parameters Twilio posts to a status callback. */
function callback(messageSid: string, status: string, extra: Record<string, string> = {}): Array<[string, string]> {
  return Object.entries({
    SmsSid: messageSid,
    SmsStatus: status,
    MessageStatus: status,
    To: TO,
    MessageSid: messageSid,
    AccountSid: ACCOUNT_SID,
    From: FROM,
    ApiVersion: '2010-04-01',
    ...extra,
  });
}

interface StoredMessage {
  status: string;
  statusRank: number;
  history: Array<{ status: string; source: string; errorCode?: string; token?: string }>;
  historyKeys: Set<string>;
  [key: string]: unknown;
}

async function stored(messageSid: string): Promise<StoredMessage | undefined> {
  return (await getItem(rig.world.table, messageSid)) as StoredMessage | undefined;
}

function statuses(item: StoredMessage | undefined): string[] {
  return (item?.history ?? []).map((h) => h.status);
}

describe('signature verification', () => {
  test('a correctly signed callback is recorded and answered 200 with an empty body', async () => {
    const id = sid('SM', nextSid++);
    const res = await post(callback(id, 'sent'));
    expect(res).toMatchObject({ statusCode: 200, body: '' });
    const item = await stored(id);
    expect(item).toMatchObject({ id, status: 'sent', statusRank: 3, to: TO, from: FROM, kind: 'message', direction: 'outbound-api', channel: 'sms' });
    expect(item?.history).toEqual([{ status: 'sent', at: expect.any(String), source: 'callback' }]);
    expect(typeof item?.expiresAt).toBe('number');
    expect(rig.out.metrics()[METRIC.CALLBACK_REJECTED]).toBeUndefined();
  });

  const forged: Array<[string, (id: string) => [TwilioParams, EventOptions]]> = [
    ['a tampered parameter (replayed body with a changed status)', (id) => {
      const signed = callback(id, 'sent');
      const sent = callback(id, 'failed', { ErrorCode: '30003' });
      return [sent, { headers: { 'X-Twilio-Signature': signTwilioRequest(AUTH_TOKEN, STATUS_URL, signed) } }];
    }],
    ['a signature over another URL', (id) => [callback(id, 'delivered'), { signedUrl: 'https://abc123.execute-api.us-east-1.amazonaws.com/prod/status' }]],
    ['a signature over the URL without its query string', (id) => [callback(id, 'delivered'), { signedUrl: 'https://alerts.example.com/twilio/status' }]],
    ['a signature with another token', (id) => [callback(id, 'delivered'), { token: 'not-the-auth-token' }]],
    ['no signature header', (id) => [callback(id, 'delivered'), { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }]],
    ['an empty signature header', (id) => [callback(id, 'delivered'), { headers: { 'X-Twilio-Signature': '' } }]],
    ['a truncated signature', (id) => [callback(id, 'delivered'), { headers: { 'X-Twilio-Signature': signTwilioRequest(AUTH_TOKEN, STATUS_URL, callback(id, 'delivered')).slice(0, 20) } }]],
    ['a signing-key header naming a key we do not hold', (id) => [callback(id, 'delivered'), { signingKey: { id: 'webhooks_sharedkey_unknown', secret: SIGNING_KEY.secret } }]],
    ['the right key id with the wrong key secret', (id) => [callback(id, 'delivered'), { signingKey: { id: SIGNING_KEY.id, secret: 'wrong' } }]],
    ['an SHA-1 signature sent as HMAC_SHA256', (id) => [callback(id, 'delivered'), {
      headers: {
        'X-Twilio-Signature': signTwilioRequest(AUTH_TOKEN, STATUS_URL, callback(id, 'delivered')),
        'X-Twilio-Webhooks-Signature-Settings': `key=${SIGNING_KEY.id},algorithm=HMAC_SHA256`,
      },
    }]],
    ['an unsupported algorithm', (id) => [callback(id, 'delivered'), {
      headers: {
        'X-Twilio-Signature': signTwilioRequest(AUTH_TOKEN, STATUS_URL, callback(id, 'delivered')),
        'X-Twilio-Webhooks-Signature-Settings': `key=${SIGNING_KEY.id},algorithm=HMAC_MD5`,
      },
    }]],
  ];

  test.each(forged)('%s: 403, CallbackRejected, no table write', async (_name, make) => {
    const id = sid('SM', nextSid++);
    const [params, options] = make(id);
    const res = await post(params, options);
    expect(res.statusCode).toBe(403);
    expect(await stored(id)).toBeUndefined();
    expect(rig.world.dynamo.calls.get('UpdateItem')).toBeUndefined();
    expect(rig.out.metrics()[METRIC.CALLBACK_REJECTED]).toBe(1);
  });

  test('Host and X-Forwarded-* headers naming the signed host do not make another URL verify', async () => {
    const id = sid('SM', nextSid++);
    const attackerUrl = 'https://evil.example.net/twilio/status?v=1';
    const res = await post(callback(id, 'delivered'), {
      signedUrl: attackerUrl,
      extraHeaders: { Host: 'evil.example.net', 'X-Forwarded-Host': 'evil.example.net', 'X-Forwarded-Proto': 'https' },
    });
    expect(res.statusCode).toBe(403);
    expect(await stored(id)).toBeUndefined();
  });

  test('the :443 variant of the configured URL verifies, as with Twilio\'s validator', async () => {
    const id = sid('SM', nextSid++);
    const res = await post(callback(id, 'sent'), { signedUrl: 'https://alerts.example.com:443/twilio/status?v=1' });
    expect(res.statusCode).toBe(200);
    expect((await stored(id))?.status).toBe('sent');
  });

  test('another port is not a variant', async () => {
    const id = sid('SM', nextSid++);
    const res = await post(callback(id, 'sent'), { signedUrl: 'https://alerts.example.com:8443/twilio/status?v=1' });
    expect(res.statusCode).toBe(403);
  });

  test('a base64-encoded body (binary media type) verifies and is recorded', async () => {
    const id = sid('SM', nextSid++);
    const res = await post(callback(id, 'undelivered', { ErrorCode: '30003', ChannelStatusMessage: 'Unreachable – handset off' }), { base64: true });
    expect(res.statusCode).toBe(200);
    expect(await stored(id)).toMatchObject({ status: 'undelivered', errorCode: '30003', channelStatusMessage: 'Unreachable – handset off' });
  });

  test('lower-case headers, and headers only in multiValueHeaders, are found', async () => {
    const id1 = sid('SM', nextSid++);
    const params1 = callback(id1, 'sent');
    const lower = { 'x-twilio-signature': signTwilioRequest(AUTH_TOKEN, STATUS_URL, params1) };
    expect((await post(params1, { headers: lower })).statusCode).toBe(200);
    const id2 = sid('SM', nextSid++);
    expect((await post(callback(id2, 'sent'), { multiValueOnly: true })).statusCode).toBe(200);
    expect((await stored(id2))?.status).toBe('sent');
  });

  test('a repeated parameter is verified as a list, the way Twilio signs lists', async () => {
    const id = sid('SM', nextSid++);
    const params = [...callback(id, 'sent'), ['Extra', 'b'], ['Extra', 'a']] as Array<[string, string]>;
    expect((await post(params)).statusCode).toBe(200);
    // The same values signed as if sent once each, in another order: still the same list.
    const id2 = sid('SM', nextSid++);
    const params2 = [...callback(id2, 'sent'), ['Extra', 'a'], ['Extra', 'b']] as Array<[string, string]>;
    const sig = signTwilioRequest(AUTH_TOKEN, STATUS_URL, [...callback(id2, 'sent'), ['Extra', 'b'], ['Extra', 'a']]);
    expect((await post(params2, { headers: { 'X-Twilio-Signature': sig } })).statusCode).toBe(200);
    // Dropping one value of the list breaks it.
    const id3 = sid('SM', nextSid++);
    const sig3 = signTwilioRequest(AUTH_TOKEN, STATUS_URL, [...callback(id3, 'sent'), ['Extra', 'b'], ['Extra', 'a']]);
    expect((await post([...callback(id3, 'sent'), ['Extra', 'a']], { headers: { 'X-Twilio-Signature': sig3 } })).statusCode).toBe(403);
  });

  test('a webhook signed with a signing key (HMAC-SHA256) verifies', async () => {
    const id = sid('SM', nextSid++);
    const res = await post(callback(id, 'delivered'), { signingKey: SIGNING_KEY });
    expect(res.statusCode).toBe(200);
    expect((await stored(id))?.status).toBe('delivered');
  });
});

describe('malformed requests', () => {
  test('no MessageSid or MessageStatus: 400, nothing written', async () => {
    const noSid = callback('', 'sent').filter(([k]) => k !== 'MessageSid' && k !== 'SmsSid');
    expect((await post(noSid)).statusCode).toBe(400);
    const noStatus = callback(sid('SM', nextSid++), '').filter(([k]) => k !== 'MessageStatus' && k !== 'SmsStatus');
    expect((await post(noStatus)).statusCode).toBe(400);
    const badSid = callback('claim#n1#+15551230001', 'sent');
    expect((await post(badSid)).statusCode).toBe(400);
    expect(rig.world.dynamo.calls.get('UpdateItem')).toBeUndefined();
  });

  test('a body marked base64 that is not base64, or not UTF-8: 400', async () => {
    const id = sid('SM', nextSid++);
    const event = twilioEvent('/status', STATUS_URL, callback(id, 'sent'));
    expect((await rig.handler({ ...event, body: 'this is not base64!', isBase64Encoded: true }, lambdaContext('status-callback'))).statusCode).toBe(400);
    const invalidUtf8 = Buffer.from([0x4d, 0x65, 0xff, 0xfe]).toString('base64');
    expect((await rig.handler({ ...event, body: invalidUtf8, isBase64Encoded: true }, lambdaContext('status-callback'))).statusCode).toBe(400);
    expect(await stored(id)).toBeUndefined();
  });
});

describe('ordering and duplicates', () => {
  test('queued → sent → delivered in order moves forward, one UpdateItem each', async () => {
    const id = sid('SM', nextSid++);
    for (const status of ['queued', 'sent', 'delivered']) {
      rig.world.dynamo.resetCalls();
      expect((await post(callback(id, status))).statusCode).toBe(200);
      expect(Object.fromEntries(rig.world.dynamo.calls)).toEqual({ UpdateItem: 1 });
    }
    const item = await stored(id);
    expect(item).toMatchObject({ status: 'delivered', statusRank: 4 });
    expect(statuses(item)).toEqual(['queued', 'sent', 'delivered']);
    expect(item?.historyKeys).toEqual(new Set(['delivered#', 'queued#', 'sent#']));
    expect(rig.out.metrics()[METRIC.MESSAGES_DELIVERED]).toBe(1);
  });

  test('delivered before sent: stays delivered, the late sent joins the history', async () => {
    const id = sid('SM', nextSid++);
    await post(callback(id, 'delivered'));
    rig.world.dynamo.resetCalls();
    expect((await post(callback(id, 'sent'))).statusCode).toBe(200);
    // The rank guard failed, then the history-only append: two writes, the uncommon case.
    expect(Object.fromEntries(rig.world.dynamo.calls)).toEqual({ UpdateItem: 2 });
    const item = await stored(id);
    expect(item?.status).toBe('delivered');
    expect(statuses(item)).toEqual(['delivered', 'sent']);
  });

  test('read after delivered moves on to read and counts one delivery', async () => {
    const id = sid('SM', nextSid++);
    await post(callback(id, 'sent', { To: 'whatsapp:+15551230001', From: 'whatsapp:+15557650000' }));
    await post(callback(id, 'delivered', { To: 'whatsapp:+15551230001', From: 'whatsapp:+15557650000' }));
    await post(callback(id, 'read', { To: 'whatsapp:+15551230001', From: 'whatsapp:+15557650000' }));
    const item = await stored(id);
    expect(item).toMatchObject({ status: 'read', statusRank: 5, channel: 'whatsapp', to: 'whatsapp:+15551230001' });
    expect(statuses(item)).toEqual(['sent', 'delivered', 'read']);
    expect(rig.out.metrics()[METRIC.MESSAGES_DELIVERED]).toBe(1);
  });

  test('read arriving before delivered: read stays, delivered is history, one delivery counted', async () => {
    const id = sid('SM', nextSid++);
    await post(callback(id, 'read'));
    await post(callback(id, 'delivered'));
    const item = await stored(id);
    expect(item?.status).toBe('read');
    expect(statuses(item)).toEqual(['read', 'delivered']);
    expect(rig.out.metrics()[METRIC.MESSAGES_DELIVERED]).toBe(1);
  });

  test('the same callback twice: recorded once, counted once, both answered 200', async () => {
    const id = sid('SM', nextSid++);
    expect((await post(callback(id, 'delivered'))).statusCode).toBe(200);
    expect((await post(callback(id, 'delivered'))).statusCode).toBe(200);
    const item = await stored(id);
    expect(statuses(item)).toEqual(['delivered']);
    expect(rig.out.metrics()[METRIC.MESSAGES_DELIVERED]).toBe(1);
  });

  test('equal ranks do not replace each other: queued after accepted, undelivered after delivered', async () => {
    const id = sid('SM', nextSid++);
    await post(callback(id, 'accepted'));
    await post(callback(id, 'queued'));
    expect((await stored(id))?.status).toBe('accepted');
    await post(callback(id, 'delivered'));
    await post(callback(id, 'undelivered', { ErrorCode: '30005' }));
    const item = await stored(id);
    expect(item?.status).toBe('delivered');
    expect(item?.errorCode).toBeUndefined();
    expect(item?.history.at(-1)).toMatchObject({ status: 'undelivered', errorCode: '30005' });
    expect(statuses(item)).toEqual(['accepted', 'queued', 'delivered', 'undelivered']);
  });

  test('the idempotency token is kept on the entry but is no key: it is not signed, so a new one does not make a callback new', async () => {
    const id = sid('SM', nextSid++);
    const token = (t: string) => ({ extraHeaders: { 'I-Twilio-Idempotency-Token': t } });
    expect((await post(callback(id, 'sent'), token('tok-1'))).statusCode).toBe(200);
    const first = await stored(id);
    expect((await post(callback(id, 'sent'), token('tok-1'))).statusCode).toBe(200);
    expect((await post(callback(id, 'sent'), token('tok-2'))).statusCode).toBe(200);
    const item = await stored(id);
    expect(item?.history.map((h) => [h.status, h.token])).toEqual([['sent', 'tok-1']]);
    expect(item?.historyKeys).toEqual(new Set(['sent#']));
    // A repeat changes nothing at all, not even a count or updatedAt.
    expect(item).toEqual(first);
  });

  test('undelivered and failed keep the error code, and are counted with it', async () => {
    const id = sid('SM', nextSid++);
    await post(callback(id, 'sent'));
    await post(callback(id, 'undelivered', { ErrorCode: '30006', RawDlrDoneDate: '2611271542' }));
    expect(await stored(id)).toMatchObject({ status: 'undelivered', errorCode: '30006', rawDlrDoneDate: '2611271542' });
    const failedId = sid('MM', nextSid++);
    await post(callback(failedId, 'failed', { ErrorCode: '30008' }));
    expect(await stored(failedId)).toMatchObject({ status: 'failed', errorCode: '30008', channel: 'mms' });
    const records = rig.out.metricRecords(METRIC.MESSAGES_UNDELIVERED);
    expect(records.map((r) => r.errorCode)).toEqual(['30006', '30008']);
    expect(rig.out.metrics()[METRIC.MESSAGES_UNDELIVERED]).toBe(2);
  });

  test('a callback before the sender\'s record creates the item; the sender\'s guarded write cannot move it back', async () => {
    const id = sid('SM', nextSid++);
    expect((await post(callback(id, 'sent'))).statusCode).toBe(200);
    // The sender's record, written as the sender does: only if it moves the status forward.
    const senderWrite = async (status: string, rank: number) => {
      const { UpdateItemCommand } = await import('@aws-sdk/client-dynamodb');
      return rig.world.table
        .send(
          new UpdateItemCommand({
            TableName: 'status',
            Key: { id: { S: id } },
            UpdateExpression: 'SET #status = :status, statusRank = :rank, notificationId = :n',
            ConditionExpression: 'attribute_not_exists(statusRank) OR statusRank < :rank',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':status': { S: status }, ':rank': { N: String(rank) }, ':n': { S: 'n-1' } },
          }),
        )
        .then(
          () => 'written',
          (err: Error) => err.name,
        );
    };
    expect(await senderWrite('queued', 1)).toBe('ConditionalCheckFailedException');
    expect((await stored(id))?.status).toBe('sent');
    await post(callback(id, 'delivered'));
    expect((await stored(id))?.status).toBe('delivered');
  });

  test('a callback for an item the sender wrote first updates it and keeps the sender\'s fields', async () => {
    const id = sid('SM', nextSid++);
    await putItem(rig.world.table, {
      id: { S: id },
      kind: { S: 'message' },
      direction: { S: 'outbound-api' },
      status: { S: 'queued' },
      statusRank: { N: '1' },
      to: { S: TO },
      createdAt: { S: '2026-11-27T15:00:00.000Z' },
      notificationId: { S: 'n-2' },
      history: { L: [{ M: { status: { S: 'queued' }, at: { S: '2026-11-27T15:00:00.000Z' }, source: { S: 'api' } } }] },
    });
    rig.world.dynamo.resetCalls();
    expect((await post(callback(id, 'delivered'))).statusCode).toBe(200);
    expect(Object.fromEntries(rig.world.dynamo.calls)).toEqual({ UpdateItem: 1 });
    const item = await stored(id);
    expect(item).toMatchObject({ status: 'delivered', notificationId: 'n-2', createdAt: '2026-11-27T15:00:00.000Z' });
    expect(item?.history.map((h) => `${h.source}:${h.status}`)).toEqual(['api:queued', 'callback:delivered']);
  });

  test('a shuffled storm of duplicated callbacks ends in the highest status with each callback once', async () => {
    const id = sid('SM', nextSid++);
    const sequence = ['delivered', 'queued', 'sent', 'delivered', 'sent', 'queued', 'delivered'];
    const results = await Promise.all(sequence.map((status) => post(callback(id, status))));
    expect(results.map((r) => r.statusCode)).toEqual(sequence.map(() => 200));
    const item = await stored(id);
    expect(item?.status).toBe('delivered');
    expect([...statuses(item)].sort()).toEqual(['delivered', 'queued', 'sent']);
    expect(rig.out.metrics()[METRIC.MESSAGES_DELIVERED]).toBe(1);
  });
});

describe('a bounded history', () => {
  test('hundreds of replays of one signed callback with fresh idempotency tokens leave the item as it was; a later delivered still lands', async () => {
    const id = sid('SM', nextSid++);
    const signed = callback(id, 'sent');
    expect((await post(signed, { extraHeaders: { 'I-Twilio-Idempotency-Token': 'genuine' } })).statusCode).toBe(200);
    const genuine = await stored(id);
    const REPLAYS = 300;
    for (let wave = 0; wave < REPLAYS / 20; wave++) {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => post(signed, { extraHeaders: { 'I-Twilio-Idempotency-Token': `replay-${wave}-${i}` } })),
      );
      expect(answers.map((a) => a.statusCode)).toEqual(answers.map(() => 200));
    }
    const replayed = await stored(id);
    expect(replayed?.history.map((h) => [h.status, h.token])).toEqual([['sent', 'genuine']]);
    expect(replayed?.historyKeys).toEqual(new Set(['sent#']));
    expect(replayed).toEqual(genuine);
    expect(replayed?.historyDropped).toBeUndefined();

    expect((await post(callback(id, 'delivered'))).statusCode).toBe(200);
    const item = await stored(id);
    expect(item).toMatchObject({ status: 'delivered', statusRank: 4 });
    expect(statuses(item)).toEqual(['sent', 'delivered']);
    expect(rig.out.metrics()[METRIC.MESSAGES_DELIVERED]).toBe(1);
  });

  test(`distinct callbacks that do not move the status stop at ${HISTORY_LIMIT} entries, counted; a forward move still lands in it`, async () => {
    const id = sid('SM', nextSid++);
    await post(callback(id, 'delivered'));
    const LATE = HISTORY_LIMIT + 10;
    for (let i = 0; i < LATE; i++) {
      expect((await post(callback(id, 'undelivered', { ErrorCode: String(30_100 + i) }))).statusCode).toBe(200);
    }
    const full = await stored(id);
    expect(full?.history).toHaveLength(HISTORY_LIMIT);
    expect(full?.historyKeys.size).toBe(HISTORY_LIMIT);
    expect(full?.historyDropped).toBe(LATE - (HISTORY_LIMIT - 1));
    expect(full?.status).toBe('delivered');

    // A replay of an entry the full history holds is a repeat, not a drop: the item is left as it was.
    expect((await post(callback(id, 'undelivered', { ErrorCode: '30100' }))).statusCode).toBe(200);
    expect((await post(callback(id, 'delivered'))).statusCode).toBe(200);
    expect(await stored(id)).toEqual(full);

    expect((await post(callback(id, 'read'))).statusCode).toBe(200);
    const item = await stored(id);
    expect(item?.status).toBe('read');
    expect(item?.history).toHaveLength(HISTORY_LIMIT + 1);
    expect(item?.history.at(-1)?.status).toBe('read');
  });
});

describe('what was verified is made durable: the backlog', () => {
  function expectContractRecord(body: string, params: Array<[string, string]>, before: number): { receivedAt: string } {
    const record = JSON.parse(body) as { receivedAt: string };
    expect(record).toEqual({ kind: 'webhook', webhook: 'status', params, receivedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });
    expect(Date.parse(record.receivedAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(record.receivedAt)).toBeLessThanOrEqual(Date.now());
    return record;
  }

  test('DynamoDB unreachable: 200, the verified callback goes to the backlog queue; its delivery records it once, at the time it arrived', async () => {
    const id = sid('SM', nextSid++);
    const params = callback(id, 'delivered');
    const before = Date.now();
    rig.world.dynamo.setReachable(false);
    const res = await post(params);
    rig.world.dynamo.setReachable(true);
    expect(res).toMatchObject({ statusCode: 200, body: '' });
    expect(await stored(id)).toBeUndefined();
    expect(rig.world.sqs.sent).toHaveLength(1);
    expect(rig.world.sqs.sent[0]).toMatchObject({ queueUrl: process.env[ENV.WEBHOOK_BACKLOG_QUEUE_URL], delaySeconds: 0 });
    const { receivedAt } = expectContractRecord(rig.world.sqs.sent[0].body, params, before);
    expect(rig.out.metrics()[METRIC.WEBHOOKS_BACKLOGGED]).toBe(1);
    expect(rig.out.metrics()[METRIC.MESSAGES_DELIVERED]).toBeUndefined();

    expect(await deliverBacklog(rig.world.sqs.sent)).toEqual({ batchItemFailures: [] });
    const item = await stored(id);
    expect(item).toMatchObject({ status: 'delivered', to: TO, createdAt: receivedAt });
    expect(item?.history).toEqual([{ status: 'delivered', at: receivedAt, source: 'callback' }]);
    expect(rig.out.metrics()[METRIC.MESSAGES_DELIVERED]).toBe(1);

    // SQS delivers at least once: a second delivery changes nothing but the count.
    expect(await deliverBacklog(rig.world.sqs.sent)).toEqual({ batchItemFailures: [] });
    expect(statuses(await stored(id))).toEqual(['delivered']);
    expect(rig.out.metrics()[METRIC.MESSAGES_DELIVERED]).toBe(1);
  });

  test('DynamoDB and the backlog both failing: 502, and the log says so', async () => {
    const id = sid('SM', nextSid++);
    rig.world.dynamo.setReachable(false);
    rig.world.sqs.failNext(10);
    const res = await post(callback(id, 'delivered'));
    rig.world.dynamo.setReachable(true);
    rig.world.sqs.failNext(0);
    expect(res.statusCode).toBe(502);
    expect(rig.world.sqs.sent).toHaveLength(0);
    expect(rig.out.records().some((r) => r.message === 'the backlog failed too: answered 502' && r.messageSid === id)).toBe(true);
    expect(rig.out.metrics()[METRIC.WEBHOOKS_BACKLOGGED]).toBeUndefined();
  });

  test('a record delivered while DynamoDB is still down is reported failed, so SQS delivers it again', async () => {
    const id = sid('SM', nextSid++);
    rig.world.dynamo.setReachable(false);
    await post(callback(id, 'sent'));
    const result = await deliverBacklog(rig.world.sqs.sent);
    rig.world.dynamo.setReachable(true);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: rig.world.sqs.sent[0].messageId }] });
    expect(await deliverBacklog(rig.world.sqs.sent)).toEqual({ batchItemFailures: [] });
    expect((await stored(id))?.status).toBe('sent');
  });

  test('a message that is not a status record of ours is reported failed (it ends in the dead-letter queue), the others in its batch are applied', async () => {
    const id = sid('SM', nextSid++);
    const good = { messageId: 'good', body: JSON.stringify({ kind: 'webhook', webhook: 'status', params: callback(id, 'sent'), receivedAt: new Date().toISOString() }) };
    const bad = [
      { messageId: 'not-json', body: 'MessageSid=SM1' },
      { messageId: 'a-timer', body: JSON.stringify({ kind: 'timer', incidentId: 'incident#1' }) },
      { messageId: 'inbound', body: JSON.stringify({ kind: 'webhook', webhook: 'inbound', params: callback(id, 'failed'), receivedAt: new Date().toISOString() }) },
      { messageId: 'bad-params', body: JSON.stringify({ kind: 'webhook', webhook: 'status', params: { MessageSid: id }, receivedAt: new Date().toISOString() }) },
      { messageId: 'bad-time', body: JSON.stringify({ kind: 'webhook', webhook: 'status', params: callback(id, 'failed'), receivedAt: 'yesterday' }) },
    ];
    const result = await deliverBacklog([bad[0], good, ...bad.slice(1)]);
    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(bad.map((b) => b.messageId).sort());
    expect(await stored(id)).toMatchObject({ status: 'sent' });
    expect(statuses(await stored(id))).toEqual(['sent']);
    const refused = rig.out.records().filter((r) => r.message === 'backlog record cannot be applied: kept for the dead-letter queue');
    expect(refused).toHaveLength(bad.length);
    // Each says why (a `message` field would be dropped by the logger, which keeps that key for the line's text).
    expect(refused.map((r) => r.errorMessage)).toEqual(expect.arrayContaining(['the body is not JSON', 'kind is not "webhook"', 'receivedAt is not an ISO 8601 UTC time']));
  });

  test('a record the request would have refused (no MessageSid) is dropped as the request would have been', async () => {
    const params = callback('', 'sent').filter(([k]) => k !== 'MessageSid' && k !== 'SmsSid');
    const result = await deliverBacklog([{ body: JSON.stringify({ kind: 'webhook', webhook: 'status', params, receivedAt: new Date().toISOString() }) }]);
    expect(result).toEqual({ batchItemFailures: [] });
    expect(rig.world.dynamo.calls.get('UpdateItem')).toBeUndefined();
    expect(rig.out.records().some((r) => r.message === 'status callback rejected' && r.via === 'backlog')).toBe(true);
  });

  test('WEBHOOK_BACKLOG_QUEUE_URL missing: a DynamoDB failure answers 502 and counts a configuration error, logged once', async () => {
    const unconfigured = await rig.loadWithout(ENV.WEBHOOK_BACKLOG_QUEUE_URL);
    rig.world.dynamo.setReachable(false);
    const answers = [];
    for (let i = 0; i < 2; i++) answers.push((await unconfigured.post(callback(sid('SM', nextSid++), 'sent'))).statusCode);
    rig.world.dynamo.setReachable(true);
    expect(answers).toEqual([502, 502]);
    expect(rig.out.metrics()[METRIC.CONFIGURATION_ERRORS]).toBe(2);
    expect(rig.out.records().filter((r) => r.message === 'configuration error' && r.reason === `${ENV.WEBHOOK_BACKLOG_QUEUE_URL} is not set`)).toHaveLength(1);
  });
});

describe('failures that answer 5xx', () => {
  test('the placeholder secret: 500, ConfigurationErrors, logged once, nothing written', async () => {
    rig.world.secrets.setSecret(SECRET_ARN, JSON.stringify(PLACEHOLDER_SECRET));
    const id = sid('SM', nextSid++);
    expect((await post(callback(id, 'delivered'))).statusCode).toBe(500);
    expect((await post(callback(id, 'delivered'))).statusCode).toBe(500);
    expect(await stored(id)).toBeUndefined();
    expect(rig.out.metrics()[METRIC.CONFIGURATION_ERRORS]).toBe(2);
    expect(rig.out.records().filter((r) => r.message === 'configuration error' && r.level === 'ERROR')).toHaveLength(1);
    rig.world.secrets.setSecret(SECRET_ARN, goodSecret);
    expect((await post(callback(id, 'delivered'))).statusCode).toBe(200);
  });

  test('STATUS_CALLBACK_URL missing from the environment: 500 and ConfigurationErrors, nothing verified or written', async () => {
    const unconfigured = await rig.loadWithout(ENV.STATUS_CALLBACK_URL);
    const id = sid('SM', nextSid++);
    const res = await unconfigured.post(callback(id, 'delivered'));
    expect(res.statusCode).toBe(500);
    expect(await stored(id)).toBeUndefined();
    expect(rig.out.metrics()[METRIC.CONFIGURATION_ERRORS]).toBe(1);
    expect(rig.out.records().find((r) => r.message === 'configuration error')?.reason).toBe(`${ENV.STATUS_CALLBACK_URL} is not set`);
  });

  test('Secrets Manager failing with no credentials ever read: 502', async () => {
    (await import('../../lambda/shared/credentials')).forgetCredentials();
    rig.world.secrets.failNext(10);
    const res = await post(callback(sid('SM', nextSid++), 'sent'));
    rig.world.secrets.failNext(0);
    expect(res.statusCode).toBe(502);
  });

  test('Secrets Manager failing after the cache expired: the last good credentials still verify', async () => {
    const id = sid('SM', nextSid++);
    expect((await post(callback(id, 'sent'))).statusCode).toBe(200);
    rig.world.secrets.failNext(10);
    const res = await post(callback(id, 'delivered'));
    rig.world.secrets.failNext(0);
    expect(res.statusCode).toBe(200);
    expect((await stored(id))?.status).toBe('delivered');
  });
});

test('logs carry masked numbers, never the auth token, signature or body', async () => {
  const id = sid('SM', nextSid++);
  const params = callback(id, 'failed', { ErrorCode: '30003' });
  await post(params);
  await post(params, { token: 'wrong-token' });
  const text = rig.out.text();
  expect(text).toContain('+1555***0001');
  expect(text).not.toContain(TO);
  expect(text).not.toContain(AUTH_TOKEN);
  expect(text).not.toContain(signTwilioRequest(AUTH_TOKEN, STATUS_URL, params));
  expect(text).not.toContain('MessageStatus=');
});
