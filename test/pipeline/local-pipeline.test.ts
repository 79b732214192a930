import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { seedIncident, seedPage } from '../webhooks/incidents';
import { LocalPipeline, NUMBERS, startLocalPipeline } from './local-pipeline';
import { snsEnvelope } from '../support/records';
import { postForm } from './twilio-callbacks';

// The demo's path, asserted: an alarm through the built handlers to both
// default recipients, the status callbacks (all handed over base64-encoded
// here), and an ACK reply that acknowledges an incident and reaches the inbound topic.
let p: LocalPipeline;
beforeAll(async () => {
  p = await startLocalPipeline({ seed: 5, base64WebhookProbability: 1 });
}, 60_000);
afterAll(async () => {
  await p?.close();
});

test('an alarm reaches every default recipient once; the table holds the final status Twilio reported', async () => {
  const id = p.publishAlarm({ AlarmName: 'pipeline-test-alarm' });
  await p.settle(30_000);
  const tally = await p.tally();
  expect(tally.outcomes).toEqual(p.senderConfig.defaultRecipients.map((recipient) => expect.objectContaining({ notificationId: id, recipient, outcome: 'sent', twilioMessages: 1 })));
  const items = await p.scanTable();
  const messages = items.filter((i) => i.kind === 'message' && i.notificationId === id);
  expect(messages.map((m) => [m.to, m.status]).sort()).toEqual([
    [NUMBERS.onCallSms, 'delivered'],
    [NUMBERS.onCallWhatsapp, 'read'],
  ]);
  expect(p.bridge.exchanges.length).toBeGreaterThan(0);
  expect(p.bridge.exchanges.every((e) => e.status === 200)).toBe(true);
  // EMF lines come through the workers' stdout, which may trail their results a little.
  for (let i = 0; i < 250 && p.metrics.get('MessagesSent') !== 2; i++) await new Promise((r) => setTimeout(r, 20));
  expect(p.metrics.get('MessagesSent')).toBe(2);
  expect(p.leaks).toEqual([]);
}, 60_000);

test('an ACK <code> reply acknowledges the incident that paged that number, is answered with the confirmation and published with type ack', async () => {
  // The webhook path through the built bundle: an incident as the sender writes it (and a page of it in the index).
  const table = new DynamoDBClient({ endpoint: p.dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' } });
  try {
    await seedIncident(table, { id: 'incident#pipeline-ack', code: 'PQ7', title: 'pipeline-test-alarm', paged: [NUMBERS.onCallSms], openedAt: new Date().toISOString() }, p.tableName);
    await seedPage(table, { sid: `SM${'7'.repeat(32)}`, to: NUMBERS.onCallSms, incidentId: 'incident#pipeline-ack', acceptedAt: new Date().toISOString() }, p.tableName);
  } finally {
    table.destroy();
  }
  const answer = await p.reply(NUMBERS.onCallSms, 'ack pq7');
  expect(answer).toMatchObject({ status: 200, body: '<?xml version="1.0" encoding="UTF-8"?><Response><Message>ACK pipeline-test-alarm (PQ7): escalation stopped</Message></Response>' });
  const items = await p.scanTable();
  expect(items.find((i) => i.id === 'incident#pipeline-ack')).toMatchObject({ state: 'acknowledged', acknowledgedBy: NUMBERS.onCallSms, acknowledgedAt: expect.any(String) });
  expect(items.filter((i) => i.direction === 'inbound')).toEqual([expect.objectContaining({ from: NUMBERS.onCallSms, body: 'ack pq7', type: 'ack' })]);
  expect(p.sns.published).toHaveLength(1);
  expect(p.sns.published[0]).toMatchObject({ topicArn: p.inboundTopicArn, attributes: { from: { value: NUMBERS.onCallSms }, channel: { value: 'sms' }, type: { value: 'ack' } } });
}, 60_000);

/** Sends to a queue URL as the handlers' SQS client does (JSON protocol, at the queue URL's own host). */
const sendMessage = (queueUrl: string, body: string) =>
  postForm(new URL('/', queueUrl).toString(), JSON.stringify({ QueueUrl: queueUrl, MessageBody: body }), {
    'Content-Type': 'application/x-amz-json-1.0',
    'X-Amz-Target': 'AmazonSQS.SendMessage',
  });

test('each webhook has its own backlog queue, named in WEBHOOK_BACKLOG_QUEUE_URL, and what is sent there reaches the same function as an SQS event', async () => {
  expect(p.statusCallback.env).toMatchObject({ WEBHOOK_BACKLOG_QUEUE_URL: p.queueUrls.statusBacklog, AWS_ENDPOINT_URL_SQS: p.sqs.url });
  expect(p.inbound.env).toMatchObject({ WEBHOOK_BACKLOG_QUEUE_URL: p.queueUrls.inboundBacklog, AWS_ENDPOINT_URL_SQS: p.sqs.url });
  expect(p.queueUrls.statusBacklog).not.toBe(p.queueUrls.inboundBacklog);
  expect(p.queueUrls.statusBacklog.startsWith(`${p.sqs.url}/`)).toBe(true);
  for (const [webhook, fn, queue, url] of [
    ['status', p.statusCallback, p.backlog.status, p.queueUrls.statusBacklog],
    ['inbound', p.inbound, p.backlog.inbound, p.queueUrls.inboundBacklog],
  ] as const) {
    const invocations = fn.stats.invocations;
    const batches = queue.stats.batches;
    const body = JSON.stringify({ kind: 'webhook', webhook, params: [['MessageSid', `SM${'0'.repeat(32)}`]], receivedAt: new Date().toISOString() });
    const answer = await sendMessage(url, body);
    expect(answer.status).toBe(200);
    await p.settle(30_000);
    expect(queue.stats.batches - batches).toBe(1);
    expect(fn.stats.invocations - invocations).toBe(1);
    expect(p.sqs.sent.at(-1)).toMatchObject({ queueName: url.split('/').pop(), body });
  }
}, 60_000);

test('the sender gets ALERT_QUEUE_URL: a notification sent to it again is delivered to the sender like any record', async () => {
  expect(p.sender.env).toMatchObject({ ALERT_QUEUE_URL: p.queueUrls.alerts, AWS_ENDPOINT_URL_SQS: p.sqs.url });
  const envelope = snsEnvelope(p.topicArn, JSON.stringify({ body: 'sent again Rqz', to: [NUMBERS.backupSms] }), 'again-0001');
  expect((await sendMessage(p.queueUrls.alerts, envelope)).status).toBe(200);
  p.track({ notificationId: 'again-0001', recipients: [NUMBERS.backupSms], marker: 'Rqz', mustBeSent: true });
  await p.settle(30_000);
  expect((await p.tally()).outcomes.filter((o) => o.notificationId === 'again-0001')).toEqual([expect.objectContaining({ outcome: 'sent', twilioMessages: 1 })]);
}, 60_000);

test('rotateApiKey puts a new key in the secret and Twilio refuses the old one; reconfigureSender changes SENDER_CONFIG for new environments', async () => {
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const create = (authorization: string) =>
    postForm(`${p.twilio.url}/2010-04-01/Accounts/${p.accountSid}/Messages.json`, new URLSearchParams({ To: NUMBERS.backupSms, From: NUMBERS.smsFrom, Body: 'direct' }).toString(), {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: authorization,
    });
  const old = p.apiKey;
  const fresh = p.rotateApiKey();
  expect(fresh.sid).toMatch(/^SK[0-9a-f]{32}$/);
  expect(fresh.sid).not.toBe(old.sid);
  expect((await create(basic(old.sid, old.secret))).status).toBe(401);
  expect((await create(basic(fresh.sid, fresh.secret))).status).toBe(201);
  expect(JSON.parse(await secretText())).toMatchObject({ apiKeySid: fresh.sid, apiKeySecret: fresh.secret, authToken: p.authToken });
  p.setSecret('not-yet-promoted');
  expect(JSON.parse(await secretText())).toEqual({ accountSid: p.accountSid, authToken: expect.not.stringMatching(p.authToken) });
  p.setSecret('real');
  expect(JSON.parse(await secretText())).toMatchObject({ apiKeySid: fresh.sid });

  await p.reconfigureSender({ sendConcurrency: 3 });
  expect(JSON.parse(p.sender.env.SENDER_CONFIG)).toMatchObject({ sendConcurrency: 3, defaultRecipients: p.senderConfig.defaultRecipients });
  expect(p.senderConfig.sendConcurrency).toBe(3);
  // A page still goes out with the new key and the new configuration.
  const id = p.publish({ body: 'after rotation Rrotz', to: [NUMBERS.backupSms] }, { recipients: [NUMBERS.backupSms], marker: 'Rrotz', mustBeSent: true });
  await p.settle(30_000);
  expect((await p.tally()).outcomes.filter((o) => o.notificationId === id)).toEqual([expect.objectContaining({ outcome: 'sent', twilioMessages: 1 })]);
  expect(p.leaks).toEqual([]);
}, 60_000);

async function secretText(): Promise<string> {
  const res = await postForm(p.secrets.url, JSON.stringify({ SecretId: p.secretArn }), { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'secretsmanager.GetSecretValue' });
  return (JSON.parse(res.body) as { SecretString: string }).SecretString;
}
