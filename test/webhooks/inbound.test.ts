import { METRIC, PLACEHOLDER_SECRET, TABLE } from '../../lib/contract';
import {
  AUTH_TOKEN,
  getItem,
  inboundParams,
  OUR_NUMBER,
  publishLeaseRunsOut,
  putItem,
  SECRET_ARN,
  sid,
  SIGNING_KEY,
  TOPIC_ARN,
  useWebhookRig,
} from '../support/webhook-rig';

let nextSid = 1;

const TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

const rig = useWebhookRig('inbound');
const { post, deliverBacklog } = rig;

function publishedEvents(): Array<Record<string, unknown>> {
  return rig.world.sns.published.map((p) => JSON.parse(p.message) as Record<string, unknown>);
}

/** An alarm notification message item as the sender writes it (the sparse index's keys included). */
async function alertSent(messageSid: string, to: string, acceptedAt: string, alarmName: string, notificationId: string): Promise<void> {
  await putItem(rig.world.table, {
    id: { S: messageSid },
    kind: { S: 'message' },
    direction: { S: 'outbound-api' },
    status: { S: 'delivered' },
    statusRank: { N: '4' },
    to: { S: to },
    alarmName: { S: alarmName },
    notificationId: { S: notificationId },
    [TABLE.ALERT_RECIPIENT_ATTRIBUTE]: { S: to },
    [TABLE.ALERT_SORT_ATTRIBUTE]: { S: acceptedAt },
  });
}

describe('inbound messages', () => {
  test('stored, published with filterable attributes, answered with empty TwiML', async () => {
    const id = sid('SM', nextSid++);
    const from = '+15551230010';
    const res = await post(inboundParams(id, from, 'Disk alert seen, looking'));
    expect(res).toEqual({ statusCode: 200, headers: { 'Content-Type': 'text/xml' }, body: TWIML });

    const item = await getItem(rig.world.table, id);
    expect(item).toMatchObject({
      id,
      kind: 'message',
      direction: 'inbound',
      status: 'received',
      from,
      to: OUR_NUMBER,
      body: 'Disk alert seen, looking',
      mediaUrls: [],
      channel: 'sms',
      published: true,
      receivedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      expiresAt: expect.any(Number),
    });

    expect(rig.world.sns.published).toHaveLength(1);
    const [message] = rig.world.sns.published;
    expect(message.topicArn).toBe(TOPIC_ARN);
    expect(message.attributes).toEqual({
      from: { dataType: 'String', value: from },
      channel: { dataType: 'String', value: 'sms' },
      type: { dataType: 'String', value: 'message' },
    });
    expect(JSON.parse(message.message)).toEqual({
      messageSid: id,
      from,
      to: OUR_NUMBER,
      body: 'Disk alert seen, looking',
      mediaUrls: [],
      channel: 'sms',
      receivedAt: item?.receivedAt,
      type: 'message',
    });
    expect(rig.out.metrics()[METRIC.INBOUND_RECEIVED]).toBe(1);
  });

  test('MMS media URLs (NumMedia of them) and WhatsApp senders are kept, base64 bodies read', async () => {
    const mms = sid('MM', nextSid++);
    const params = inboundParams(mms, '+15551230011', '', {
      NumMedia: '2',
      MediaUrl0: 'https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME0',
      MediaContentType0: 'image/png',
      MediaUrl1: 'https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME1',
      MediaContentType1: 'image/jpeg',
    });
    expect((await post(params, { base64: true })).statusCode).toBe(200);
    const wa = sid('SM', nextSid++);
    expect((await post(inboundParams(wa, 'whatsapp:+15551230012', 'héllo 👋', { ProfileName: 'Ana', WaId: '15551230012' }))).statusCode).toBe(200);

    const [first, second] = publishedEvents();
    expect(first).toMatchObject({ messageSid: mms, channel: 'mms', body: '', mediaUrls: [params.find(([k]) => k === 'MediaUrl0')![1], params.find(([k]) => k === 'MediaUrl1')![1]] });
    expect(second).toMatchObject({ messageSid: wa, channel: 'whatsapp', from: 'whatsapp:+15551230012', body: 'héllo 👋' });
    expect(rig.world.sns.published[1].attributes.channel.value).toBe('whatsapp');
    expect((await getItem(rig.world.table, wa))?.body).toBe('héllo 👋');
  });

  test('a Twilio retry of a published message is answered with TwiML and not published again', async () => {
    const id = sid('SM', nextSid++);
    const params = inboundParams(id, '+15551230013', 'hello');
    expect((await post(params)).statusCode).toBe(200);
    const firstReceivedAt = (await getItem(rig.world.table, id))?.receivedAt;
    rig.world.dynamo.resetCalls();
    const retry = await post(params);
    expect(retry).toMatchObject({ statusCode: 200, body: TWIML });
    expect(rig.world.sns.published).toHaveLength(1);
    // One read-back write and nothing else.
    expect(Object.fromEntries(rig.world.dynamo.calls)).toEqual({ UpdateItem: 1 });
    expect((await getItem(rig.world.table, id))?.receivedAt).toBe(firstReceivedAt);
  });

  test('SNS failing: 200 TwiML, handed to the backlog after its own claim; the record publishes once when the claim has run out', async () => {
    const id = sid('SM', nextSid++);
    const params = inboundParams(id, '+15551230014', 'is anyone there');
    rig.world.sns.failNext(10);
    const before = Date.now();
    const res = await post(params);
    rig.world.sns.failNext(0);
    expect(res).toEqual({ statusCode: 200, headers: { 'Content-Type': 'text/xml' }, body: TWIML });
    expect(rig.world.sns.published).toHaveLength(0);
    expect(await getItem(rig.world.table, id)).toMatchObject({ published: false, body: 'is anyone there' });
    expect(rig.world.sqs.sent).toHaveLength(1);
    const record = JSON.parse(rig.world.sqs.sent[0].body);
    expect(record).toEqual({ kind: 'webhook', webhook: 'inbound', params, receivedAt: expect.any(String) });
    expect(Date.parse(record.receivedAt)).toBeGreaterThanOrEqual(before);
    // Not before the claim this invocation took (its remaining 10 s and a margin) has run out.
    expect(rig.world.sqs.sent[0].delaySeconds).toBeGreaterThanOrEqual(10);
    expect(rig.world.sqs.sent[0].delaySeconds).toBeLessThanOrEqual(13);
    expect(rig.out.metrics()[METRIC.WEBHOOKS_BACKLOGGED]).toBe(1);

    await publishLeaseRunsOut(rig.world.table, id, { claimed: true });
    expect(await deliverBacklog(rig.world.sqs.sent)).toEqual({ batchItemFailures: [] });
    expect(rig.world.sns.published).toHaveLength(1);
    expect(publishedEvents()[0]).toMatchObject({ messageSid: id, body: 'is anyone there', receivedAt: (await getItem(rig.world.table, id))?.receivedAt });
    const item = await getItem(rig.world.table, id);
    expect(item).toMatchObject({ published: true });
    expect(item).not.toHaveProperty('publishLeaseUntil');
    // Delivered again (at least once), or Twilio retrying: nothing more is published.
    expect(await deliverBacklog(rig.world.sqs.sent)).toEqual({ batchItemFailures: [] });
    expect((await post(params)).statusCode).toBe(200);
    expect(rig.world.sns.published).toHaveLength(1);
  });

  test('published but the table cannot mark it so: still 200, since a 5xx would make Twilio publish it twice', async () => {
    const id = sid('SM', nextSid++);
    rig.world.sns.onPublish(() => rig.world.dynamo.setReachable(false));
    const res = await post(inboundParams(id, '+15551230016', 'on my way'));
    rig.world.sns.onPublish(undefined);
    rig.world.dynamo.setReachable(true);
    expect(res).toMatchObject({ statusCode: 200, body: TWIML });
    expect(rig.world.sns.published).toHaveLength(1);
    expect(await getItem(rig.world.table, id)).toMatchObject({ published: false, body: 'on my way' });
    expect(rig.out.metrics()[METRIC.INBOUND_RECEIVED]).toBe(1);
  });

  test('a SID that belongs to one of our outbound messages: 400, the message item untouched, nothing published', async () => {
    const id = sid('SM', nextSid++);
    await alertSent(id, '+15551230017', '2026-11-27T10:00:00.000Z', 'db-1-cpu', 'n-outbound');
    const res = await post(inboundParams(id, '+15551230017', 'spoofed reply'));
    expect(res.statusCode).toBe(400);
    expect(rig.world.sns.published).toHaveLength(0);
    expect(await getItem(rig.world.table, id)).toMatchObject({ direction: 'outbound-api', status: 'delivered' });
    expect((await getItem(rig.world.table, id))?.body).toBeUndefined();
  });

  test('DynamoDB unreachable: 200 TwiML, handed to the backlog at once; the record stores and publishes it when DynamoDB is back', async () => {
    const id = sid('SM', nextSid++);
    rig.world.dynamo.setReachable(false);
    const res = await post(inboundParams(id, '+15551230015', 'hi'));
    expect(res).toMatchObject({ statusCode: 200, body: TWIML });
    expect(rig.world.sns.published).toHaveLength(0);
    expect(rig.world.sqs.sent.map((m) => m.delaySeconds)).toEqual([0]);
    const { receivedAt } = JSON.parse(rig.world.sqs.sent[0].body) as { receivedAt: string };

    // Still down at the first delivery: kept for the next one.
    expect(await deliverBacklog(rig.world.sqs.sent)).toEqual({ batchItemFailures: [{ itemIdentifier: rig.world.sqs.sent[0].messageId }] });
    rig.world.dynamo.setReachable(true);
    expect(await deliverBacklog(rig.world.sqs.sent)).toEqual({ batchItemFailures: [] });
    expect(await getItem(rig.world.table, id)).toMatchObject({ published: true, body: 'hi', receivedAt });
    expect(publishedEvents()).toEqual([expect.objectContaining({ messageSid: id, receivedAt })]);
    expect(rig.out.metrics()[METRIC.INBOUND_RECEIVED]).toBe(1);
  });

  test('a record the request would have refused (no From, or an outbound message\'s SID) is dropped as the request would have been', async () => {
    const noFrom = sid('SM', nextSid++);
    const outbound = sid('SM', nextSid++);
    await alertSent(outbound, '+15551230022', '2026-11-27T10:00:00.000Z', 'db-1-cpu', 'n-outbound-2');
    const record = (params: Array<[string, string]>) => ({ body: JSON.stringify({ kind: 'webhook', webhook: 'inbound', params, receivedAt: new Date().toISOString() }) });
    const result = await deliverBacklog([record(inboundParams(noFrom, '+15551230022', 'hi').filter(([k]) => k !== 'From')), record(inboundParams(outbound, '+15551230022', 'spoofed'))]);
    expect(result).toEqual({ batchItemFailures: [] });
    expect(rig.world.sns.published).toHaveLength(0);
    expect(await getItem(rig.world.table, noFrom)).toBeUndefined();
    expect(await getItem(rig.world.table, outbound)).toMatchObject({ direction: 'outbound-api' });
    expect((await getItem(rig.world.table, outbound))?.body).toBeUndefined();
    const rejected = rig.out.records().filter((r) => r.message === 'inbound message rejected');
    expect(rejected.map((r) => r.reason)).toEqual(['no From or To', 'the SID belongs to an outbound message']);
  });

  test('DynamoDB and the backlog both failing: 502, nothing published', async () => {
    rig.world.dynamo.setReachable(false);
    rig.world.sqs.failNext(10);
    const res = await post(inboundParams(sid('SM', nextSid++), '+15551230015', 'hi'));
    rig.world.dynamo.setReachable(true);
    rig.world.sqs.failNext(0);
    expect(res.statusCode).toBe(502);
    expect(rig.world.sns.published).toHaveLength(0);
  });

  test('a record for the other webhook, or not ours at all, is reported failed (for the dead-letter queue) and publishes nothing', async () => {
    const id = sid('SM', nextSid++);
    const result = await deliverBacklog([
      { messageId: 'status', body: JSON.stringify({ kind: 'webhook', webhook: 'status', params: inboundParams(id, '+15551230021', 'hi'), receivedAt: new Date().toISOString() }) },
      { messageId: 'garbage', body: '{"kind":"webhook"' },
    ]);
    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['garbage', 'status']);
    expect(rig.world.sns.published).toHaveLength(0);
    expect(await getItem(rig.world.table, id)).toBeUndefined();
  });

  test('a bad signature: 403, CallbackRejected, nothing stored or published', async () => {
    const id = sid('SM', nextSid++);
    const res = await post(inboundParams(id, '+15551230016', 'ACK'), { token: AUTH_TOKEN.replace(/f/g, 'e') });
    expect(res.statusCode).toBe(403);
    expect(rig.world.dynamo.totalCalls()).toBe(0);
    expect(await getItem(rig.world.table, id)).toBeUndefined();
    expect(rig.world.sns.published).toHaveLength(0);
    expect(rig.out.metrics()[METRIC.CALLBACK_REJECTED]).toBe(1);
  });

  test('a signature for the status callback URL does not verify here', async () => {
    const res = await post(inboundParams(sid('SM', nextSid++), '+15551230016', 'hi'), { signedUrl: 'https://alerts.example.com/twilio/status?v=1' });
    expect(res.statusCode).toBe(403);
  });

  test('a webhook signed with a signing key verifies', async () => {
    const res = await post(inboundParams(sid('SM', nextSid++), '+15551230017', 'hi'), { signingKey: SIGNING_KEY });
    expect(res.statusCode).toBe(200);
  });

  test('no From: 400, nothing stored', async () => {
    const id = sid('SM', nextSid++);
    const res = await post(inboundParams(id, '+15551230018', 'hi').filter(([k]) => k !== 'From'));
    expect(res.statusCode).toBe(400);
    expect(await getItem(rig.world.table, id)).toBeUndefined();
  });

  test('the placeholder secret: 500 and nothing stored', async () => {
    rig.world.secrets.setSecret(SECRET_ARN, JSON.stringify(PLACEHOLDER_SECRET));
    const id = sid('SM', nextSid++);
    expect((await post(inboundParams(id, '+15551230019', 'hi'))).statusCode).toBe(500);
    expect(await getItem(rig.world.table, id)).toBeUndefined();
    expect(rig.out.metrics()[METRIC.CONFIGURATION_ERRORS]).toBe(1);
  });

  test('logs mask the sender and never carry the body or token', async () => {
    await post(inboundParams(sid('SM', nextSid++), '+15551230020', 'my secret reply text'));
    const text = rig.out.text();
    expect(text).toContain('+1555***0020');
    expect(text).not.toContain('+15551230020');
    expect(text).not.toContain('my secret reply text');
    expect(text).not.toContain(AUTH_TOKEN);
  });
});

// Reply commands (ACK, opt-out and opt-in words) and their answers: inbound-commands.test.ts.

describe('one publish per message, whoever delivers it', () => {
  test('two simultaneous deliveries of one message publish it once; the other is handed to the backlog, whose record publishes nothing', async () => {
    const id = sid('SM', nextSid++);
    const params = inboundParams(id, '+15551230600', 'on it');
    // Both stores reach DynamoDB before it answers either, however the machine schedules the two requests.
    rig.world.dynamo.holdUntilArrived('UpdateItem', 2);
    const answers = await Promise.all([post(params), post(params)]);
    expect(answers).toEqual([
      { statusCode: 200, headers: { 'Content-Type': 'text/xml' }, body: TWIML },
      { statusCode: 200, headers: { 'Content-Type': 'text/xml' }, body: TWIML },
    ]);
    expect(rig.world.sns.published).toHaveLength(1);
    expect(rig.out.metrics()[METRIC.INBOUND_RECEIVED]).toBe(1);
    // The loser's record waits out the winner's claim, should the winner die before publishing.
    expect(rig.world.sqs.sent).toHaveLength(1);
    expect(rig.world.sqs.sent[0].delaySeconds).toBeGreaterThanOrEqual(10);
    expect(await deliverBacklog(rig.world.sqs.sent)).toEqual({ batchItemFailures: [] });
    expect(rig.world.sns.published).toHaveLength(1);
  });

  test('ten at once: one publish', async () => {
    const id = sid('SM', nextSid++);
    rig.world.dynamo.setLatency(10);
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(inboundParams(id, '+15551230601', 'storm'))));
    rig.world.dynamo.setLatency(0);
    expect(answers.map((a) => a.statusCode)).toEqual(answers.map(() => 200));
    expect(rig.world.sns.published).toHaveLength(1);
  });

  test('a crash between claim and publish loses nothing: a delivery meanwhile waits for the claim to run out, then publishes once', async () => {
    const id = sid('SM', nextSid++);
    const params = inboundParams(id, '+15551230602', 'anyone?');
    // The first delivery stored and claimed it, then its invocation died before publishing.
    await putItem(rig.world.table, {
      id: { S: id },
      kind: { S: 'message' },
      direction: { S: 'inbound' },
      status: { S: 'received' },
      body: { S: 'anyone?' },
      receivedAt: { S: '2026-11-27T16:00:00.000Z' },
      published: { BOOL: false },
      publishLeaseUntil: { N: String(Date.now() + 60_000) },
    });
    const res = await post(params);
    expect(res).toMatchObject({ statusCode: 200, body: TWIML });
    expect(rig.world.sns.published).toHaveLength(0);
    expect(rig.world.sqs.sent).toHaveLength(1);
    expect(rig.world.sqs.sent[0].delaySeconds).toBeGreaterThanOrEqual(59);

    // Delivered while the claim is live (SQS may be early after a redrive): kept, nothing published.
    expect(await deliverBacklog(rig.world.sqs.sent)).toEqual({ batchItemFailures: [{ itemIdentifier: rig.world.sqs.sent[0].messageId }] });
    expect(rig.world.sns.published).toHaveLength(0);

    await publishLeaseRunsOut(rig.world.table, id, { claimed: true });
    expect(await deliverBacklog(rig.world.sqs.sent)).toEqual({ batchItemFailures: [] });
    expect(publishedEvents()).toEqual([expect.objectContaining({ messageSid: id, body: 'anyone?', receivedAt: '2026-11-27T16:00:00.000Z' })]);
    expect(await getItem(rig.world.table, id)).toMatchObject({ published: true });
  });

  test('the mark failing for a moment after the publish is retried: marked published, so a concurrent delivery\'s backlog record publishes nothing', async () => {
    const id = sid('SM', nextSid++);
    const params = inboundParams(id, '+15551230604', 'mark me');
    // DynamoDB refuses the attempts right after the topic took the message: more than one SDK call's attempts.
    rig.world.sns.onPublish(() => rig.world.dynamo.refuseConnections(4));
    expect(await post(params)).toMatchObject({ statusCode: 200, body: TWIML });
    rig.world.sns.onPublish(undefined);
    expect(rig.world.sns.published).toHaveLength(1);
    expect(await getItem(rig.world.table, id)).toMatchObject({ published: true, publishedAt: expect.any(String) });
    expect(rig.out.metrics()[METRIC.INBOUND_PUBLISH_UNMARKED]).toBeUndefined();

    // The record a concurrent delivery left, delivered after the claim it waited for.
    await publishLeaseRunsOut(rig.world.table, id);
    const record = { body: JSON.stringify({ kind: 'webhook', webhook: 'inbound', params, receivedAt: new Date().toISOString() }) };
    expect(await deliverBacklog([record])).toEqual({ batchItemFailures: [] });
    expect(rig.world.sns.published).toHaveLength(1);
  });

  test('the mark still failing after its retries is logged and counted; the message stays published once for that delivery', async () => {
    const id = sid('SM', nextSid++);
    rig.world.sns.onPublish(() => rig.world.dynamo.refuseConnections(1_000));
    expect(await post(inboundParams(id, '+15551230605', 'unmarked'))).toMatchObject({ statusCode: 200, body: TWIML });
    rig.world.sns.onPublish(undefined);
    rig.world.dynamo.refuseConnections(0);
    expect(rig.world.sns.published).toHaveLength(1);
    // Nothing handed over: that would publish it a second time.
    expect(rig.world.sqs.sent).toHaveLength(0);
    expect(rig.out.metrics()[METRIC.INBOUND_PUBLISH_UNMARKED]).toBe(1);
    expect(rig.out.records()).toContainEqual(expect.objectContaining({ level: 'ERROR', messageSid: id, attempts: 4 }));
    expect(await getItem(rig.world.table, id)).toMatchObject({ published: false });
  });

  test('a delivery whose backlog also fails while another holds the claim answers 502', async () => {
    const id = sid('SM', nextSid++);
    await putItem(rig.world.table, {
      id: { S: id },
      direction: { S: 'inbound' },
      published: { BOOL: false },
      publishLeaseUntil: { N: String(Date.now() + 60_000) },
    });
    rig.world.sqs.failNext(10);
    const res = await post(inboundParams(id, '+15551230603', 'x'));
    rig.world.sqs.failNext(0);
    expect(res.statusCode).toBe(502);
  });
});
