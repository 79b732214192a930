import { batch, context, loadHandler, snsRecord, useSenderRig } from '../support/sender-rig';

const recipients = Array.from({ length: 100 }, (_, i) => `+1555200${String(i).padStart(4, '0')}`);
const rig = useSenderRig({ from: '+15550000000', defaultRecipients: recipients });

test('100 recipients are sent concurrently up to the default bound of 10, each exactly once', async () => {
  // Answers wait until 10 requests are in flight: a sender that allowed fewer would show it by count.
  rig.twilio.setDefault({ awaitInFlight: 10, awaitMaxMs: 5_000 });
  rig.ddb.resetCalls();
  const out = await rig.handler(batch(snsRecord('fan-out', 'sns-fan-out')), context());
  expect(out.batchItemFailures).toEqual([]);
  const creates = rig.twilio.createRequests();
  expect(creates).toHaveLength(100);
  expect(new Set(creates.map((r) => r.params.find(([k]) => k === 'To')![1]))).toEqual(new Set(recipients));
  expect(rig.twilio.maxInFlight).toBe(10);
  expect(Math.max(...creates.map((r) => r.concurrent))).toBe(10);
  // Per recipient: the claim, then the message write and the claim marked sent.
  expect(Object.fromEntries(rig.ddb.calls)).toEqual({ PutItem: 100, UpdateItem: 200 });
  const claims = await Promise.all(recipients.map((to) => rig.item(`claim#sns-fan-out#${to}`)));
  expect(claims.every((c, i) => c?.state === 'sent' && c.messageSid === creates.find((r) => r.params[0][1] === recipients[i])?.sid)).toBe(true);
});

test('the bound follows sendConcurrency', async () => {
  const saved = process.env.SENDER_CONFIG;
  process.env.SENDER_CONFIG = JSON.stringify({ from: '+15550000000', defaultRecipients: recipients, sendConcurrency: 25 });
  const handler = await loadHandler().finally(() => {
    process.env.SENDER_CONFIG = saved;
  });
  rig.twilio.setDefault({ awaitInFlight: 25, awaitMaxMs: 5_000 });
  const out = await handler(batch(snsRecord('fan-out 25')), context());
  expect(out.batchItemFailures).toEqual([]);
  expect(rig.twilio.createRequests()).toHaveLength(100);
  expect(rig.twilio.maxInFlight).toBe(25);
});
