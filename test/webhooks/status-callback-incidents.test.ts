import { ENV, METRIC } from '../../lib/contract';
import { seedIncident, SeededIncident, seedPage } from './incidents';
import { ACCOUNT_SID, getItem, putItem, sid, useWebhookRig } from '../support/webhook-rig';

let nextSid = 0x700000;

const FROM = '+15557650000';
const ALERT_QUEUE = 'alerts';

const rig = useWebhookRig('status-callback', (world) => ({ [ENV.ALERT_QUEUE_URL]: world.sqs.queueUrl(ALERT_QUEUE) }));
const { post, deliverBacklog } = rig;

function callback(messageSid: string, to: string, status: string, errorCode?: string): Array<[string, string]> {
  return Object.entries({
    SmsSid: messageSid,
    SmsStatus: status,
    MessageStatus: status,
    To: to,
    MessageSid: messageSid,
    AccountSid: ACCOUNT_SID,
    From: to.startsWith('whatsapp:') ? `whatsapp:${FROM}` : FROM,
    ApiVersion: '2010-04-01',
    ...(errorCode ? { ErrorCode: errorCode } : {}),
  });
}

/** An incident and one page of it to `to`; returns the page's SID. */
async function pagedIncident(seed: Omit<SeededIncident, 'paged' | 'openedAt'>, to: string): Promise<string> {
  await seedIncident(rig.world.table, { ...seed, paged: [to], openedAt: '2026-11-28T09:00:00.000Z' });
  const page = sid('SM', nextSid++);
  await seedPage(rig.world.table, { sid: page, to, incidentId: seed.id, acceptedAt: '2026-11-28T09:00:01.000Z' });
  return page;
}

const incidentItem = (id: string) => getItem(rig.world.table, id) as Promise<Record<string, unknown> & { timeline: Array<Record<string, unknown>> }>;
const timers = (): Array<Record<string, unknown>> => rig.world.sqs.sent.filter((m) => m.queueUrl === rig.world.sqs.queueUrl(ALERT_QUEUE)).map((m) => ({ delaySeconds: m.delaySeconds, ...(JSON.parse(m.body) as Record<string, unknown>) }));

describe('a page that ends undelivered or failed', () => {
  test.each([
    ['undelivered', '30003', '+15551234001'],
    ['failed', '30008', 'whatsapp:+15551234002'],
  ])('%s: the address joins the incident\'s unreachable and an escalate timer goes to the alert queue at once', async (status, errorCode, to) => {
    const id = `incident#cb-${status}`;
    const page = await pagedIncident({ id, code: `U${status.length}`, title: 'cb', stage: 2 }, to);
    const before = Date.now();
    expect(await post(callback(page, to, status, errorCode))).toMatchObject({ statusCode: 200, body: '' });

    expect(await getItem(rig.world.table, page)).toMatchObject({ status, errorCode, incidentId: id });
    const item = await incidentItem(id);
    expect(item.unreachable).toEqual(new Set([to]));
    expect(item.timeline.at(-1)).toEqual({ at: expect.any(String), event: 'unreachable', by: to, detail: `${status} ${errorCode}` });
    expect(timers()).toEqual([{ delaySeconds: 0, kind: 'timer', timer: 'escalate', incidentId: id, stage: 2, reason: 'unreachable', dueAt: expect.any(Number) }]);
    expect(timers()[0].dueAt as number).toBeGreaterThanOrEqual(before);
    expect(rig.out.metrics()[METRIC.MESSAGES_UNDELIVERED]).toBe(1);
    // Masked in the logs.
    expect(rig.out.text()).not.toContain(to.replace('whatsapp:', ''));
  });

  test('the same callback again (Twilio retrying): the address is recorded once; the timer is sent again, which pages nothing twice', async () => {
    const to = '+15551234011';
    const id = 'incident#cb-repeat';
    const page = await pagedIncident({ id, code: 'CR', title: 'repeat' }, to);
    const params = callback(page, to, 'undelivered', '30005');
    await post(params);
    await post(params);
    const item = await incidentItem(id);
    expect(item.unreachable).toEqual(new Set([to]));
    expect(item.timeline.filter((e) => e.event === 'unreachable')).toHaveLength(1);
    expect(timers().map((t) => t.incidentId)).toEqual([id, id]);
  });

  test('another final status after the first (failed after undelivered) changes the incident no more', async () => {
    const to = '+15551234015';
    const id = 'incident#cb-second-final';
    const page = await pagedIncident({ id, code: 'SF', title: 'second' }, to);
    await post(callback(page, to, 'undelivered', '30003'));
    await post(callback(page, to, 'failed', '30008'));
    expect((await incidentItem(id)).timeline.filter((e) => e.event === 'unreachable')).toHaveLength(1);
    expect(timers()).toHaveLength(1);
  });

  test('an acknowledged incident records the address but sends no timer; a resolved one is left alone', async () => {
    const to = '+15551234021';
    const acked = await pagedIncident({ id: 'incident#cb-acked', code: 'CA', title: 'acked', state: 'acknowledged', acknowledgedBy: to, acknowledgedAt: '2026-11-28T09:01:00.000Z' }, to);
    const resolved = await pagedIncident({ id: 'incident#cb-resolved', code: 'CZ', title: 'resolved', state: 'resolved' }, to);
    await post(callback(acked, to, 'undelivered', '30003'));
    await post(callback(resolved, to, 'undelivered', '30003'));
    expect((await incidentItem('incident#cb-acked')).unreachable).toEqual(new Set([to]));
    const after = await incidentItem('incident#cb-resolved');
    expect(after).not.toHaveProperty('unreachable');
    expect(after.timeline.some((e) => e.event === 'unreachable')).toBe(false);
    expect(timers()).toEqual([]);
  });

  test('delivered pages, and failures of messages that are no page of an incident, touch no incident and send no timer', async () => {
    const to = '+15551234031';
    const id = 'incident#cb-delivered';
    const page = await pagedIncident({ id, code: 'CD', title: 'delivered' }, to);
    // A message the sender wrote for no incident, and one the callback creates (the sender has not written it yet).
    const plain = sid('SM', nextSid++);
    await putItem(rig.world.table, { id: { S: plain }, kind: { S: 'message' }, direction: { S: 'outbound-api' }, status: { S: 'sent' }, statusRank: { N: '3' }, to: { S: to } });
    rig.world.dynamo.resetCalls();
    await post(callback(page, to, 'delivered'));
    await post(callback(plain, to, 'undelivered', '30003'));
    await post(callback(sid('SM', nextSid++), to, 'failed', '30008'));
    // One write each and no read: the incidentId (or its absence) came back with the status write.
    expect(Object.fromEntries(rig.world.dynamo.calls)).toEqual({ UpdateItem: 3 });
    expect(await incidentItem(id)).not.toHaveProperty('unreachable');
    expect(timers()).toEqual([]);
  });

  test('the alert queue failing: the callback goes to the backlog (200), and its record marks nothing twice and sends the timer', async () => {
    const to = '+15551234041';
    const id = 'incident#cb-queue-fails';
    const page = await pagedIncident({ id, code: 'QF', title: 'queue' }, to);
    // Both attempts of the timer fail; the backlog's send works.
    rig.world.sqs.failNext(2);
    expect(await post(callback(page, to, 'undelivered', '30003'))).toMatchObject({ statusCode: 200 });
    expect(timers()).toEqual([]);
    expect((await incidentItem(id)).unreachable).toEqual(new Set([to]));
    expect(rig.out.metrics()[METRIC.WEBHOOKS_BACKLOGGED]).toBe(1);

    expect(await deliverBacklog()).toEqual({ batchItemFailures: [] });
    expect(timers()).toEqual([expect.objectContaining({ incidentId: id, reason: 'unreachable' })]);
    expect((await incidentItem(id)).timeline.filter((e) => e.event === 'unreachable')).toHaveLength(1);
    // Counted once: the replay was a duplicate of the status.
    expect(rig.out.metrics()[METRIC.MESSAGES_UNDELIVERED]).toBe(1);
  });

  test('DynamoDB failing on the incident step: the callback goes to the backlog, whose record (a duplicate status) finishes it', async () => {
    const to = '+15551234051';
    const id = 'incident#cb-incident-fails';
    // A full timeline: the incident write needs a read of the incident, which fails.
    const page = await pagedIncident({ id, code: 'IF', title: 'incident', timelineLength: 30 }, to);
    rig.world.dynamo.failOperation('GetItem', 100);
    expect(await post(callback(page, to, 'failed', '30008'))).toMatchObject({ statusCode: 200 });
    rig.world.dynamo.failOperation('GetItem', 0);
    expect(await getItem(rig.world.table, page)).toMatchObject({ status: 'failed' });
    expect(await incidentItem(id)).not.toHaveProperty('unreachable');
    expect(timers()).toEqual([]);
    expect(rig.out.metrics()[METRIC.WEBHOOKS_BACKLOGGED]).toBe(1);

    expect(await deliverBacklog()).toEqual({ batchItemFailures: [] });
    const item = await incidentItem(id);
    expect(item.unreachable).toEqual(new Set([to]));
    expect(item.timeline).toHaveLength(30);
    expect(item.timeline.at(-1)).toMatchObject({ event: 'unreachable', by: to, detail: 'failed 30008' });
    expect(item.timelineDropped).toBe(1);
    expect(timers()).toEqual([expect.objectContaining({ incidentId: id })]);
  });

  test('ALERT_QUEUE_URL missing: the address is still recorded, the timer skipped with a warning', async () => {
    const unconfigured = await rig.loadWithout(ENV.ALERT_QUEUE_URL);
    const to = '+15551234061';
    const id = 'incident#cb-no-queue';
    const page = await pagedIncident({ id, code: 'NQ', title: 'no queue' }, to);
    expect((await unconfigured.post(callback(page, to, 'undelivered', '30003'))).statusCode).toBe(200);
    expect((await incidentItem(id)).unreachable).toEqual(new Set([to]));
    expect(rig.world.sqs.sent).toEqual([]);
    expect(rig.out.records()).toContainEqual(expect.objectContaining({ level: 'WARN', message: 'escalation timer not sent: ALERT_QUEUE_URL is not set', incidentId: id }));
  });
});
