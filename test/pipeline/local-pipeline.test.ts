import { LocalPipeline, NUMBERS, startLocalPipeline } from './local-pipeline';

// The demo's path, asserted: an alarm through the built handlers to both
// default recipients, the status callbacks (all handed over base64-encoded
// here), and an ACK reply that acknowledges the alert and reaches the inbound topic.
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

test('an ACK reply acknowledges the latest alert to that number and is published to the inbound topic', async () => {
  const answer = await p.reply(NUMBERS.onCallSms, 'ACK');
  expect(answer.status).toBe(200);
  expect(answer.body).toContain('<Response/>');
  const items = await p.scanTable();
  const alert = items.find((i) => i.kind === 'message' && i.to === NUMBERS.onCallSms && i.alarmName === 'pipeline-test-alarm');
  expect(alert).toMatchObject({ acknowledgedBy: NUMBERS.onCallSms, acknowledgedAt: expect.any(String) });
  expect(items.filter((i) => i.direction === 'inbound')).toEqual([expect.objectContaining({ from: NUMBERS.onCallSms, body: 'ACK' })]);
  expect(p.sns.published).toHaveLength(1);
  expect(p.sns.published[0]).toMatchObject({ topicArn: p.inboundTopicArn, attributes: { from: { value: NUMBERS.onCallSms }, channel: { value: 'sms' } } });
}, 60_000);
