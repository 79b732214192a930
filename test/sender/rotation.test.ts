import { METRIC } from '../../lib/contract';
import { ACCOUNT_SID, batch, captureStdout, context, FROM, loadHandler, metricSum, SECRET_ARN, snsRecord, useSenderRig } from '../support/sender-rig';

/*
 * Credentials have one owner (lambda/shared/credentials.ts): each request
 * takes them inside its semaphore slot and, refused, hands back exactly the
 * ones it used. Through the handler, with Twilio accepting only one token.
 */

const R1 = '+15551250001';
const R2 = '+15551250002';
const R3 = '+15551250003';
const secret = (authToken: string) => JSON.stringify({ accountSid: ACCOUNT_SID, authToken });
const only = (password: string) => [{ username: ACCOUNT_SID, password }];

const rig = useSenderRig({ from: FROM, defaultRecipients: [R1, R2, R3], sendConcurrency: 1 });
beforeEach(() => {
  rig.twilio.setCredentials(undefined);
});

test.each([1, 3])('a rotation during a fan-out (concurrency %d): every recipient sent after one refresh, nothing failed', async (sendConcurrency) => {
  const saved = process.env.SENDER_CONFIG;
  process.env.SENDER_CONFIG = JSON.stringify({ from: FROM, defaultRecipients: [R1, R2, R3], sendConcurrency });
  rig.sm.setSecret(SECRET_ARN, secret('old-token'));
  const handler = await loadHandler().finally(() => {
    process.env.SENDER_CONFIG = saved;
  });
  // The environment caches the old token; then the secret moves on and Twilio refuses the old one.
  expect((await handler(batch(), context())).batchItemFailures).toEqual([]);
  rig.sm.setSecret(SECRET_ARN, secret('new-token'));
  rig.twilio.setCredentials(only('new-token'));

  const snsId = `sns-rotation-${sendConcurrency}`;
  const { result, metrics } = await captureStdout(() => handler(batch(snsRecord('rotated mid fan-out', snsId)), context()));
  expect(result.batchItemFailures).toEqual([]);
  const creates = rig.twilio.createRequests();
  expect(creates.filter((r) => r.status === 201)).toHaveLength(3);
  // Only requests that started before the refresh used the old token.
  const refused = creates.filter((r) => r.status === 401).length;
  expect(refused).toBeGreaterThanOrEqual(1);
  expect(refused).toBeLessThanOrEqual(sendConcurrency);
  for (const to of [R1, R2, R3]) expect(await rig.item(`claim#${snsId}#${to}`)).toMatchObject({ state: 'sent' });
  expect(metricSum(metrics, METRIC.MESSAGES_FAILED)).toBe(0);
  expect(metricSum(metrics, METRIC.CONFIGURATION_ERRORS)).toBe(0);
});

test('a wrong token that the secret still holds: every record kept; after the secret is fixed, the redrive sends every page', async () => {
  rig.sm.setSecret(SECRET_ARN, secret('wrong-token'));
  rig.twilio.setCredentials(only('right-token'));
  const handler = await loadHandler();
  const a = snsRecord('page a', 'sns-wrong-a');
  const b = snsRecord('page b', 'sns-wrong-b');
  const { result, metrics, logs } = await captureStdout(() => handler(batch(a, b), context()));
  expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([a.messageId, b.messageId].sort());
  expect(rig.twilio.messages.size).toBe(0);
  expect(metricSum(metrics, METRIC.MESSAGES_FAILED)).toBe(0);
  expect(metricSum(metrics, METRIC.CONFIGURATION_ERRORS)).toBeGreaterThan(0);
  expect(logs.filter((l) => l.level === 'ERROR')).toHaveLength(1);
  for (const id of ['sns-wrong-a', 'sns-wrong-b']) for (const to of [R1, R2, R3]) expect(await rig.item(`claim#${id}#${to}`)).toBeUndefined();

  rig.sm.setSecret(SECRET_ARN, secret('right-token'));
  // A redrive comes later than the forced re-read's interval (5 s per environment): the handler's clock is moved on, not waited for.
  const realNow = Date.now.bind(Date);
  const clock = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 5_100);
  const redrive = await handler(batch(a, b), context()).finally(() => clock.mockRestore());
  expect(redrive.batchItemFailures).toEqual([]);
  expect(rig.twilio.messages.size).toBe(6);
  for (const id of ['sns-wrong-a', 'sns-wrong-b']) for (const to of [R1, R2, R3]) expect(await rig.item(`claim#${id}#${to}`)).toMatchObject({ state: 'sent' });
});

test('a 20003 after a 5xx re-reads the secret like any 20003, and looks the message up with the new credentials before any POST: one SMS', async () => {
  rig.sm.setSecret(SECRET_ARN, secret('old-token'));
  rig.twilio.setCredentials(only('old-token'));
  const handler = await loadHandler();
  let rotated = false;
  rig.twilio.setFaultInjector((r) => {
    if (r.kind === 'create' && r.index === 0) return { error: { status: 503, code: 20503 } };
    if (r.kind === 'list' && !rotated) {
      // The lookup after the 5xx is answered with the old token; then the secret moves on and Twilio refuses it.
      rotated = true;
      rig.sm.setSecret(SECRET_ARN, secret('new-token'));
      rig.twilio.setCredentials(only('new-token'));
    }
    return undefined;
  });
  const snsId = 'sns-5xx-then-20003';
  const { result, metrics } = await captureStdout(() => handler(batch(snsRecord(JSON.stringify({ body: 'after a 5xx', to: R1 }), snsId)), context()));
  expect(result.batchItemFailures).toEqual([]);
  expect(rig.twilio.requests.map((r) => [r.method, r.status])).toEqual([
    ['POST', 503],
    ['GET', 200],
    ['POST', 401],
    ['GET', 200],
    ['POST', 201],
  ]);
  expect(rig.twilio.messages.size).toBe(1);
  expect(await rig.item(`claim#${snsId}#${R1}`)).toMatchObject({ state: 'sent' });
  expect(metricSum(metrics, METRIC.CONFIGURATION_ERRORS)).toBe(0);
});

test('the lookup after a 5xx refused with 20003: the secret is re-read and the lookup made again with the new credentials before any POST: one SMS', async () => {
  rig.sm.setSecret(SECRET_ARN, secret('old-token'));
  rig.twilio.setCredentials(only('old-token'));
  const handler = await loadHandler();
  rig.twilio.setFaultInjector((r) => {
    if (r.kind !== 'create' || r.index !== 0) return undefined;
    rig.sm.setSecret(SECRET_ARN, secret('new-token'));
    rig.twilio.setCredentials(only('new-token'));
    return { error: { status: 502, code: 20502 } };
  });
  const snsId = 'sns-5xx-lookup-20003';
  const { result } = await captureStdout(() => handler(batch(snsRecord(JSON.stringify({ body: 'lookup refused', to: R1 }), snsId)), context()));
  expect(result.batchItemFailures).toEqual([]);
  expect(rig.twilio.requests.map((r) => [r.method, r.status])).toEqual([
    ['POST', 502],
    ['GET', 401],
    ['GET', 200],
    ['POST', 201],
  ]);
  expect(await rig.item(`claim#${snsId}#${R1}`)).toMatchObject({ state: 'sent' });
});
