import type { APIGatewayProxyResult } from 'aws-lambda';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ENV, METRIC } from '../../lib/contract';
import { TIMELINE_LIMIT } from '../../lambda/shared/incidents/items';
import { releaseReservations, seedIncident, SeededIncident, seedPage, twimlLine } from './incidents';
import {
  getItem,
  INBOUND_URL,
  inboundParams,
  lambdaContext,
  OUR_NUMBER,
  publishLeaseRunsOut,
  sid,
  TABLE_NAME,
  twilioEvent,
  useWebhookRig,
} from '../support/webhook-rig';

let nextSid = 1;
let nextPage = 0x500000;

const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';
const ALERT_QUEUE = 'alerts';

const rig = useWebhookRig('inbound', (world) => ({ [ENV.ALERT_QUEUE_URL]: world.sqs.queueUrl(ALERT_QUEUE) }));
const { post, deliverBacklog } = rig;

/** A reply from `from` with a new MessageSid; its params, to post again as a Twilio retry. */
async function reply(from: string, body: string): Promise<{ res: APIGatewayProxyResult; params: Array<[string, string]>; messageSid: string }> {
  const messageSid = sid('SM', nextSid++);
  const params = inboundParams(messageSid, from, body);
  return { res: await post(params), params, messageSid };
}

/** Seeds an incident and one page item per paged address (the index entries an ACK finds it by). */
async function incident(seed: SeededIncident & { pagedAt?: string }): Promise<void> {
  await seedIncident(rig.world.table, seed);
  for (const to of seed.paged) await seedPage(rig.world.table, { sid: sid('SM', nextPage++), to, incidentId: seed.id, acceptedAt: seed.pagedAt ?? seed.openedAt });
}

const incidentItem = (id: string) => getItem(rig.world.table, id) as Promise<Record<string, unknown> & { timeline: Array<Record<string, unknown>> }>;
/** The inbound topic's events; each one's `type` attribute must say what its JSON says. */
const events = () =>
  rig.world.sns.published.map((p) => {
    const event = JSON.parse(p.message) as Record<string, unknown>;
    expect(p.attributes.type).toEqual({ dataType: 'String', value: event.type });
    return event;
  });
const timers = (): Array<Record<string, unknown>> => rig.world.sqs.sent.filter((m) => m.queueUrl === rig.world.sqs.queueUrl(ALERT_QUEUE)).map((m) => ({ delaySeconds: m.delaySeconds, ...(JSON.parse(m.body) as Record<string, unknown>) }));

describe('ACK', () => {
  test('acknowledges the newest open incident that paged the replier, and answers with its title and code', async () => {
    const me = '+15551231001';
    await incident({ id: 'incident#ack-older', code: 'K1', title: 'db-1-cpu-high', paged: [me], openedAt: '2026-11-27T10:00:00.000Z' });
    await incident({ id: 'incident#ack-newer', code: 'K2', title: 'api-5xx <prod> & "edge"', paged: [me, '+15551231002'], openedAt: '2026-11-27T10:05:00.000Z' });
    // Resolved after both opened, and paged more recently: not a candidate for ACK.
    await incident({ id: 'incident#ack-resolved', code: 'K3', title: 'disk', state: 'resolved', paged: [me], openedAt: '2026-11-27T10:06:00.000Z', resolvedAt: '2026-11-27T10:07:00.000Z' });

    const { res, messageSid } = await reply(me, ' Ack. ');
    expect(res).toEqual({ statusCode: 200, headers: { 'Content-Type': 'text/xml' }, body: twimlLine('ACK api-5xx &lt;prod&gt; &amp; &quot;edge&quot; (K2): escalation stopped') });

    const receivedAt = (await getItem(rig.world.table, messageSid))?.receivedAt;
    const acknowledged = await incidentItem('incident#ack-newer');
    expect(acknowledged).toMatchObject({ state: 'acknowledged', acknowledgedBy: me, acknowledgedAt: receivedAt, acknowledgedMessageSid: messageSid });
    expect(acknowledged.timeline.at(-1)).toEqual({ at: receivedAt, event: 'acknowledged', by: me });
    expect((await incidentItem('incident#ack-older')).state).toBe('open');
    expect((await incidentItem('incident#ack-resolved')).state).toBe('resolved');

    expect(events()).toEqual([
      expect.objectContaining({
        type: 'ack',
        messageSid,
        body: ' Ack. ',
        reply: 'ACK api-5xx <prod> & "edge" (K2): escalation stopped',
        incidents: [{ incidentId: 'incident#ack-newer', code: 'K2', title: 'api-5xx <prod> & "edge"', state: 'acknowledged', acknowledgedBy: me, acknowledgedAt: receivedAt }],
      }),
    ]);
    expect(await getItem(rig.world.table, messageSid)).toMatchObject({ published: true, type: 'ack', reply: 'ACK api-5xx <prod> & "edge" (K2): escalation stopped', incidentIds: ['incident#ack-newer'] });
    expect(rig.out.metrics()[METRIC.INCIDENTS_ACKNOWLEDGED]).toBe(1);
    // Acknowledging stops escalation through the incident's state: no timer is sent for it.
    expect(timers()).toEqual([]);
  });

  test('ACK <code> acknowledges that incident, not the newest; case and punctuation do not matter', async () => {
    const me = '+15551231011';
    await incident({ id: 'incident#code-old', code: '7K', title: 'queue-depth', paged: [me], openedAt: '2026-11-27T11:00:00.000Z' });
    await incident({ id: 'incident#code-new', code: 'Q9', title: 'latency', paged: [me], openedAt: '2026-11-27T11:05:00.000Z' });
    const { res } = await reply(me, 'ack: 7k!');
    expect(res.body).toBe(twimlLine('ACK queue-depth (7K): escalation stopped'));
    expect((await incidentItem('incident#code-old')).state).toBe('acknowledged');
    expect((await incidentItem('incident#code-new')).state).toBe('open');
    expect(events()[0]).toMatchObject({ type: 'ack', incidents: [expect.objectContaining({ incidentId: 'incident#code-old', code: '7K' })] });
  });

  test('a code no live incident holds: "no open incident <code>", type ack-none, nothing changed', async () => {
    const me = '+15551231021';
    await incident({ id: 'incident#wrong-code', code: 'W1', title: 'cpu', paged: [me], openedAt: '2026-11-27T12:00:00.000Z' });
    const { res, messageSid } = await reply(me, 'ACK ZZ9');
    expect(res.body).toBe(twimlLine('no open incident ZZ9'));
    expect((await incidentItem('incident#wrong-code')).state).toBe('open');
    expect(events()).toEqual([expect.objectContaining({ type: 'ack-none', messageSid, reply: 'no open incident ZZ9' })]);
    expect(events()[0]).not.toHaveProperty('incidents');
    expect(rig.out.metrics()[METRIC.INCIDENTS_ACKNOWLEDGED]).toBeUndefined();
  });

  test('ACK ALL acknowledges every open incident that paged the replier, and only those', async () => {
    const me = '+15551231031';
    const other = '+15551231032';
    await incident({ id: 'incident#all-1', code: 'A1', title: 'one', paged: [me], openedAt: '2026-11-27T13:00:00.000Z' });
    await incident({ id: 'incident#all-2', code: 'A2', title: 'two', paged: [other, me], openedAt: '2026-11-27T13:01:00.000Z' });
    await incident({ id: 'incident#all-acked', code: 'A3', title: 'three', state: 'acknowledged', paged: [me, other], openedAt: '2026-11-27T13:02:00.000Z', acknowledgedBy: other, acknowledgedAt: '2026-11-27T13:03:00.000Z' });
    await incident({ id: 'incident#all-resolved', code: 'A4', title: 'four', state: 'resolved', paged: [me], openedAt: '2026-11-27T13:03:00.000Z' });
    await incident({ id: 'incident#all-not-mine', code: 'A5', title: 'five', paged: [other], openedAt: '2026-11-27T13:04:00.000Z' });

    const { res, params } = await reply(me, 'ack all');
    expect(res.body).toBe(twimlLine('ACK ALL: 2 incidents acknowledged'));
    expect((await incidentItem('incident#all-1')).state).toBe('acknowledged');
    expect(await incidentItem('incident#all-2')).toMatchObject({ state: 'acknowledged', acknowledgedBy: me });
    expect(await incidentItem('incident#all-acked')).toMatchObject({ state: 'acknowledged', acknowledgedBy: other });
    expect((await incidentItem('incident#all-resolved')).state).toBe('resolved');
    expect((await incidentItem('incident#all-not-mine')).state).toBe('open');
    expect(events()).toEqual([expect.objectContaining({ type: 'ack-all', reply: 'ACK ALL: 2 incidents acknowledged' })]);
    expect((events()[0].incidents as Array<{ incidentId: string }>).map((i) => i.incidentId).sort()).toEqual(['incident#all-1', 'incident#all-2']);
    expect(rig.out.metrics()[METRIC.INCIDENTS_ACKNOWLEDGED]).toBe(2);

    // Twilio retries it: the same answer, nothing acknowledged or published again.
    expect((await post(params)).body).toBe(twimlLine('ACK ALL: 2 incidents acknowledged'));
    expect(rig.world.sns.published).toHaveLength(1);

    // Nothing open left for this address.
    expect((await reply(me, 'ACK ALL')).res.body).toBe(twimlLine('no open incident paged you'));
    expect(events()[1]).toMatchObject({ type: 'ack-none' });
    expect(rig.out.metrics()[METRIC.INCIDENTS_ACKNOWLEDGED]).toBe(2);
  });

  test('ACK ALL with a single open incident says "1 incident"', async () => {
    const me = '+15551231035';
    await incident({ id: 'incident#all-single', code: 'S1', title: 'solo', paged: [me], openedAt: '2026-11-27T13:30:00.000Z' });
    expect((await reply(me, 'ACK ALL')).res.body).toBe(twimlLine('ACK ALL: 1 incident acknowledged'));
  });

  test('an address the incident did not page cannot acknowledge it, and learns nothing about it', async () => {
    const paged = '+15551231041';
    const stranger = '+15551231049';
    await incident({ id: 'incident#not-paged', code: 'NP', title: 'secret-db-name', paged: [paged], openedAt: '2026-11-27T14:00:00.000Z' });

    expect((await reply(stranger, 'ACK NP')).res.body).toBe(twimlLine('no open incident NP'));
    expect((await reply(stranger, 'ACK')).res.body).toBe(twimlLine('no open incident paged you'));
    expect((await reply(stranger, 'ACK ALL')).res.body).toBe(twimlLine('no open incident paged you'));
    const item = await incidentItem('incident#not-paged');
    expect(item.state).toBe('open');
    expect(item).not.toHaveProperty('acknowledgedBy');
    expect(events().map((e) => e.type)).toEqual(['ack-none', 'ack-none', 'ack-none']);
    expect(JSON.stringify(events())).not.toContain('secret-db-name');
  });

  test('after resolve: ACK <code> and ACK say the incident is resolved', async () => {
    const me = '+15551231051';
    await incident({ id: 'incident#resolved', code: 'R7', title: 'db-2', paged: [me], openedAt: '2026-11-27T15:00:00.000Z' });
    // The sender resolves it: state, and the code reservation freed.
    await rig.world.table.send(
      new UpdateItemCommand({
        TableName: TABLE_NAME,
        Key: { id: { S: 'incident#resolved' } },
        UpdateExpression: 'SET #state = :resolved, resolvedAt = :at',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':resolved': { S: 'resolved' }, ':at': { S: '2026-11-27T15:14:00.000Z' } },
      }),
    );
    await releaseReservations(rig.world.table, { id: 'incident#resolved', code: 'R7' });

    expect((await reply(me, 'ACK R7')).res.body).toBe(twimlLine('R7 is resolved'));
    expect((await reply(me, 'ACK')).res.body).toBe(twimlLine('R7 is resolved'));
    const item = await incidentItem('incident#resolved');
    expect(item.state).toBe('resolved');
    expect(item).not.toHaveProperty('acknowledgedBy');
    expect(events()).toEqual([
      expect.objectContaining({ type: 'ack-none', incidents: [expect.objectContaining({ incidentId: 'incident#resolved', state: 'resolved' })] }),
      expect.objectContaining({ type: 'ack-none', reply: 'R7 is resolved' }),
    ]);
  });

  test('a code freed by a resolve and taken by another incident: a replier the new one did not page hears about the old one', async () => {
    const me = '+15551231055';
    await incident({ id: 'incident#reused-old', code: 'RU', title: 'old', state: 'resolved', paged: [me], openedAt: '2026-11-27T15:20:00.000Z', reserved: false });
    await incident({ id: 'incident#reused-new', code: 'RU', title: 'new', paged: ['+15551231056'], openedAt: '2026-11-27T15:30:00.000Z' });
    expect((await reply(me, 'ACK RU')).res.body).toBe(twimlLine('RU is resolved'));
    expect((await incidentItem('incident#reused-new')).state).toBe('open');
  });

  test('a second ACK keeps the first acknowledgement and says who and when', async () => {
    const first = '+15551234567';
    const second = '+15551231062';
    await incident({ id: 'incident#twice', code: 'T2', title: 'cache', paged: [first, second], openedAt: '2026-11-27T16:00:00.000Z' });
    const { messageSid } = await reply(first, 'ACK T2');
    const acknowledgedAt = String((await getItem(rig.world.table, messageSid))?.receivedAt);
    const hhmm = acknowledgedAt.slice(11, 16);

    expect((await reply(second, 'ACK T2')).res.body).toBe(twimlLine(`T2 already acknowledged by …4567 at ${hhmm} UTC`));
    expect((await reply(second, 'ACK')).res.body).toBe(twimlLine(`T2 already acknowledged by …4567 at ${hhmm} UTC`));
    expect((await reply(first, 'ack t2')).res.body).toBe(twimlLine(`T2 already acknowledged by …4567 at ${hhmm} UTC`));
    const item = await incidentItem('incident#twice');
    expect(item).toMatchObject({ state: 'acknowledged', acknowledgedBy: first, acknowledgedAt, acknowledgedMessageSid: messageSid });
    expect(item.timeline.filter((e) => e.event === 'acknowledged')).toHaveLength(1);
    expect(events().map((e) => e.type)).toEqual(['ack', 'ack-none', 'ack-none', 'ack-none']);
    expect(rig.out.metrics()[METRIC.INCIDENTS_ACKNOWLEDGED]).toBe(1);
    // The full number is in the event for subscribers, never in the TwiML nor the logs.
    expect(events()[1].incidents).toEqual([expect.objectContaining({ acknowledgedBy: first })]);
    expect(rig.out.text()).not.toContain(first);
  });

  test('two paged people acknowledging at the same moment: one acknowledgement lands, the other is told who was first', async () => {
    const a = '+15551231065';
    const b = '+15551231066';
    await incident({ id: 'incident#race', code: 'RC', title: 'race', paged: [a, b], openedAt: '2026-11-27T16:30:00.000Z' });
    // Both requests are in flight before DynamoDB answers either.
    rig.world.dynamo.setLatency(25);
    const [first, second] = await Promise.all([reply(a, 'ACK RC'), reply(b, 'ACK')]);
    rig.world.dynamo.setLatency(0);
    const item = await incidentItem('incident#race');
    const winner = item.acknowledgedBy as string;
    expect([a, b]).toContain(winner);
    const hhmm = String(item.acknowledgedAt).slice(11, 16);
    expect([first.res.body, second.res.body].sort()).toEqual(
      [twimlLine('ACK race (RC): escalation stopped'), twimlLine(`RC already acknowledged by …${winner.slice(-4)} at ${hhmm} UTC`)].sort(),
    );
    expect(item.timeline.filter((e) => e.event === 'acknowledged')).toEqual([expect.objectContaining({ by: winner })]);
    expect(rig.out.metrics()[METRIC.INCIDENTS_ACKNOWLEDGED]).toBe(1);
  });

  test('Twilio retrying an ACK (the same MessageSid) acknowledges once and answers the same', async () => {
    const me = '+15551231071';
    await incident({ id: 'incident#retried', code: 'RT', title: 'payments', paged: [me], openedAt: '2026-11-27T17:00:00.000Z' });
    const { res, params } = await reply(me, 'ACK');
    const again = await post(params);
    expect(again).toEqual(res);
    expect(res.body).toBe(twimlLine('ACK payments (RT): escalation stopped'));
    const item = await incidentItem('incident#retried');
    expect(item.timeline.filter((e) => e.event === 'acknowledged')).toHaveLength(1);
    expect(rig.world.sns.published).toHaveLength(1);
    expect(rig.out.metrics()[METRIC.INCIDENTS_ACKNOWLEDGED]).toBe(1);
  });

  test('an ACK delivered twice at once (Twilio retrying while the first is running): one acknowledges and confirms, the other is told it is not confirmed yet', async () => {
    const me = '+15551231075';
    await incident({ id: 'incident#concurrent', code: 'CC', title: 'concurrent', paged: [me], openedAt: '2026-11-27T17:30:00.000Z' });
    const params = inboundParams(sid('SM', nextSid++), me, 'ACK CC');
    rig.world.dynamo.setLatency(25);
    const answers = await Promise.all([post(params), post(params)]);
    rig.world.dynamo.setLatency(0);
    expect(answers.map((a) => a.body).sort()).toEqual([twimlLine('ACK concurrent (CC): escalation stopped'), twimlLine('ACK not confirmed yet: paging may go on. Reply again in a minute to check')].sort());
    expect((await incidentItem('incident#concurrent')).timeline.filter((e) => e.event === 'acknowledged')).toHaveLength(1);
    expect(rig.world.sns.published).toHaveLength(1);
    // The loser's backlog record, after the winner's claim: nothing more.
    expect(await deliverBacklog()).toEqual({ batchItemFailures: [] });
    expect(rig.world.sns.published).toHaveLength(1);
  });

  test('the publish failing after the acknowledgement: the answer confirms it (it is durable); the backlog publishes it once, acknowledging nothing twice', async () => {
    const me = '+15551231081';
    await incident({ id: 'incident#publish-fails', code: 'PF', title: 'search', paged: [me], openedAt: '2026-11-27T18:00:00.000Z' });
    rig.world.sns.failNext(10);
    const { res, params, messageSid } = await reply(me, 'ACK PF');
    rig.world.sns.failNext(0);
    expect(res.body).toBe(twimlLine('ACK search (PF): escalation stopped'));
    expect((await incidentItem('incident#publish-fails')).state).toBe('acknowledged');
    expect(rig.world.sns.published).toHaveLength(0);
    expect(rig.out.metrics()[METRIC.WEBHOOKS_BACKLOGGED]).toBe(1);

    await publishLeaseRunsOut(rig.world.table, messageSid);
    expect(await deliverBacklog()).toEqual({ batchItemFailures: [] });
    expect(events()).toEqual([expect.objectContaining({ type: 'ack', messageSid, reply: 'ACK search (PF): escalation stopped', incidents: [expect.objectContaining({ incidentId: 'incident#publish-fails' })] })]);
    expect((await incidentItem('incident#publish-fails')).timeline.filter((e) => e.event === 'acknowledged')).toHaveLength(1);
    expect(rig.out.metrics()[METRIC.INCIDENTS_ACKNOWLEDGED]).toBe(1);
    // A Twilio retry afterwards answers what the first answer said.
    expect((await post(params)).body).toBe(twimlLine('ACK search (PF): escalation stopped'));
  });

  test('DynamoDB failing before the acknowledgement is written: the answer says it is not confirmed; the backlog record acknowledges it later', async () => {
    const me = '+15551231091';
    await incident({ id: 'incident#table-down', code: 'TD', title: 'kafka', paged: [me], openedAt: '2026-11-27T19:00:00.000Z' });
    rig.world.dynamo.setReachable(false);
    const { res, params } = await reply(me, 'ACK TD');
    rig.world.dynamo.setReachable(true);
    expect(res).toEqual({ statusCode: 200, headers: { 'Content-Type': 'text/xml' }, body: twimlLine('ACK not confirmed yet: paging may go on. Reply again in a minute to check') });
    expect((await incidentItem('incident#table-down')).state).toBe('open');

    expect(await deliverBacklog()).toEqual({ batchItemFailures: [] });
    expect(await incidentItem('incident#table-down')).toMatchObject({ state: 'acknowledged', acknowledgedBy: me });
    expect(events()).toEqual([expect.objectContaining({ type: 'ack', reply: 'ACK kafka (TD): escalation stopped' })]);
    // Replying again (or Twilio retrying) now gets the confirmation.
    expect((await post(params)).body).toBe(twimlLine('ACK kafka (TD): escalation stopped'));
  });

  test('the incident lookup failing after the store: not confirmed, handed to the backlog after the claim, whose record acknowledges once', async () => {
    const me = '+15551231095';
    await incident({ id: 'incident#update-fails', code: 'UF', title: 'redis', paged: [me], openedAt: '2026-11-27T19:30:00.000Z' });
    rig.world.dynamo.failOperation('Query', 100);
    const { res, messageSid } = await reply(me, 'ACK');
    rig.world.dynamo.failOperation('Query', 0);
    expect(res.body).toBe(twimlLine('ACK not confirmed yet: paging may go on. Reply again in a minute to check'));
    const [record] = rig.world.sqs.sent;
    expect(record.delaySeconds).toBeGreaterThanOrEqual(10);
    await publishLeaseRunsOut(rig.world.table, messageSid);
    expect(await deliverBacklog()).toEqual({ batchItemFailures: [] });
    expect((await incidentItem('incident#update-fails')).state).toBe('acknowledged');
    expect(rig.out.metrics()[METRIC.INCIDENTS_ACKNOWLEDGED]).toBe(1);
  });

  test('a full timeline keeps its latest entries: the oldest is dropped and counted', async () => {
    const me = '+15551231101';
    await incident({ id: 'incident#full', code: 'FU', title: 'full', paged: [me], openedAt: '2026-11-27T20:00:00.000Z', timelineLength: TIMELINE_LIMIT, timelineDropped: 4 });
    const before = (await incidentItem('incident#full')).timeline;
    expect((await reply(me, 'ACK FU')).res.body).toBe(twimlLine('ACK full (FU): escalation stopped'));
    const item = await incidentItem('incident#full');
    expect(item.timeline).toHaveLength(TIMELINE_LIMIT);
    expect(item.timeline.slice(0, -1)).toEqual(before.slice(1));
    expect(item.timeline.at(-1)).toMatchObject({ event: 'acknowledged', by: me });
    expect(item.timelineDropped).toBe(5);
  });

  test('text that only starts with ACK, or an argument that is no code, is a message', async () => {
    const me = '+15551231111';
    await incident({ id: 'incident#not-a-command', code: 'NC', title: 'x', paged: [me], openedAt: '2026-11-27T21:00:00.000Z' });
    for (const body of ['ACK but db-2 is still down', 'ACK TOOLONG7', 'ACKNC', 'ack 7k 8k']) {
      const { res } = await reply(me, body);
      expect(res.body).toBe(EMPTY_TWIML);
    }
    expect(events().map((e) => e.type)).toEqual(['message', 'message', 'message', 'message']);
    expect((await incidentItem('incident#not-a-command')).state).toBe('open');
  });

  test('a WhatsApp ACK acknowledges an incident that paged the WhatsApp address', async () => {
    const wa = 'whatsapp:+15551231121';
    await incident({ id: 'incident#wa-ack', code: 'WA', title: 'cdn', paged: [wa], openedAt: '2026-11-27T21:30:00.000Z' });
    expect((await reply(wa, 'Ack WA')).res.body).toBe(twimlLine('ACK cdn (WA): escalation stopped'));
    expect(await incidentItem('incident#wa-ack')).toMatchObject({ state: 'acknowledged', acknowledgedBy: wa });
    expect(events()[0]).toMatchObject({ type: 'ack', channel: 'whatsapp' });
  });
});

test('a forged ACK or STOP (bad signature) is refused before any table read or write', async () => {
  const me = '+15551231131';
  await incident({ id: 'incident#forged', code: 'FG', title: 'forged', paged: [me], openedAt: '2026-11-27T22:00:00.000Z' });
  rig.world.dynamo.resetCalls();
  for (const body of ['ACK FG', 'ACK ALL', 'STOP']) {
    const res = await rig.handler(twilioEvent('/inbound', INBOUND_URL, inboundParams(sid('SM', nextSid++), me, body), { token: 'not-the-auth-token' }), lambdaContext('inbound'));
    expect(res.statusCode).toBe(403);
  }
  expect(rig.world.dynamo.totalCalls()).toBe(0);
  expect(rig.world.sns.published).toHaveLength(0);
  expect(timers()).toEqual([]);
  expect((await incidentItem('incident#forged')).state).toBe('open');
  expect(await getItem(rig.world.table, `optout#${me}`)).toBeUndefined();
});

describe('opt-out and opt-in words', () => {
  test.each([
    ['SMS', '+15551232001', 'STOP'],
    ['WhatsApp', 'whatsapp:+15551232002', 'stop'],
  ])('%s: STOP records the opt-out, answers empty TwiML, and escalates past the address on every live incident that paged it', async (_channel, me, word) => {
    const tag = me.slice(-4);
    await incident({ id: `incident#stop-open-${tag}`, code: `SO${tag.slice(-2)}`, title: 'open', paged: [me, '+15551232099'], stage: 1, openedAt: '2026-11-28T10:00:00.000Z' });
    await incident({ id: `incident#stop-acked-${tag}`, code: `SA${tag.slice(-2)}`, title: 'acked', state: 'acknowledged', paged: [me], openedAt: '2026-11-28T10:01:00.000Z', acknowledgedBy: me, acknowledgedAt: '2026-11-28T10:02:00.000Z' });
    await incident({ id: `incident#stop-resolved-${tag}`, code: `SR${tag.slice(-2)}`, title: 'resolved', state: 'resolved', paged: [me], openedAt: '2026-11-28T10:03:00.000Z' });
    await incident({ id: `incident#stop-other-${tag}`, code: `SX${tag.slice(-2)}`, title: 'other', paged: ['+15551232099'], openedAt: '2026-11-28T10:04:00.000Z' });

    const before = Date.now();
    const { res, messageSid } = await reply(me, word);
    expect(res.body).toBe(EMPTY_TWIML);
    const receivedAt = (await getItem(rig.world.table, messageSid))?.receivedAt;
    expect(await getItem(rig.world.table, `optout#${me}`)).toMatchObject({ kind: 'opt-out', optedOut: true, word: 'STOP', receivedAt, messageSid });
    expect(rig.out.metrics()[METRIC.RECIPIENT_OPTED_OUT]).toBe(1);

    const open = await incidentItem(`incident#stop-open-${tag}`);
    expect(open.unreachable).toEqual(new Set([me]));
    expect(open.timeline.at(-1)).toMatchObject({ event: 'unreachable', by: me, detail: 'opted out (STOP)' });
    expect((await incidentItem(`incident#stop-acked-${tag}`)).unreachable).toEqual(new Set([me]));
    expect(await incidentItem(`incident#stop-resolved-${tag}`)).not.toHaveProperty('unreachable');
    expect(await incidentItem(`incident#stop-other-${tag}`)).not.toHaveProperty('unreachable');

    // One timer, for the open incident only: an acknowledged one has stopped escalating.
    expect(timers()).toEqual([{ delaySeconds: 0, kind: 'timer', timer: 'escalate', incidentId: `incident#stop-open-${tag}`, stage: 1, reason: 'unreachable', dueAt: expect.any(Number) }]);
    expect(timers()[0].dueAt as number).toBeGreaterThanOrEqual(before);
    expect(timers()[0].dueAt as number).toBeLessThanOrEqual(Date.now());

    expect(events()).toEqual([expect.objectContaining({ type: 'opt-out', messageSid })]);
    expect((events()[0].incidents as Array<{ incidentId: string }>).map((i) => i.incidentId).sort()).toEqual([`incident#stop-acked-${tag}`, `incident#stop-open-${tag}`]);
    expect(events()[0]).not.toHaveProperty('reply');

    // START: opted back in, counted; the incidents keep their record of the opt-out.
    const { res: startRes } = await reply(me, 'Start');
    expect(startRes.body).toBe(EMPTY_TWIML);
    expect(await getItem(rig.world.table, `optout#${me}`)).toMatchObject({ optedOut: false, word: 'START' });
    expect(rig.out.metrics()[METRIC.RECIPIENT_OPTED_IN]).toBe(1);
    expect(events()[1]).toMatchObject({ type: 'opt-in' });
    expect(events()[1]).not.toHaveProperty('incidents');
    expect(timers()).toHaveLength(1);
  });

  test('every opt-out and opt-in word counts, a repeated word is not a change, and a STOP retried by Twilio escalates once', async () => {
    const me = '+15551232011';
    await incident({ id: 'incident#words', code: 'WD', title: 'words', paged: [me], openedAt: '2026-11-28T11:00:00.000Z' });
    for (const word of ['STOPALL', 'unsubscribe', 'Cancel', 'END', 'quit.']) {
      expect((await reply(me, word)).res.body).toBe(EMPTY_TWIML);
      expect(await getItem(rig.world.table, `optout#${me}`)).toMatchObject({ optedOut: true, word: word.replace('.', '').toUpperCase() });
    }
    // Opted out once: the later words were no change.
    expect(rig.out.metrics()[METRIC.RECIPIENT_OPTED_OUT]).toBe(1);
    // The address became unreachable once, on the first word.
    expect((await incidentItem('incident#words')).timeline.filter((e) => e.event === 'unreachable')).toHaveLength(1);
    for (const word of ['YES', 'unstop', 'START']) {
      expect((await reply(me, word)).res.body).toBe(EMPTY_TWIML);
      expect(await getItem(rig.world.table, `optout#${me}`)).toMatchObject({ optedOut: false, word: word.toUpperCase() });
    }
    expect(rig.out.metrics()[METRIC.RECIPIENT_OPTED_IN]).toBe(1);
    expect(events().map((e) => e.type)).toEqual(['opt-out', 'opt-out', 'opt-out', 'opt-out', 'opt-out', 'opt-in', 'opt-in', 'opt-in']);

    const { params } = await reply(me, 'STOP');
    const timersBefore = timers().length;
    expect((await post(params)).body).toBe(EMPTY_TWIML);
    expect(timers()).toHaveLength(timersBefore);
    expect(rig.world.sns.published).toHaveLength(9);
  });

  test('a STOP applied late (from the backlog) after a newer START changes nothing and escalates nobody', async () => {
    const me = '+15551232021';
    await incident({ id: 'incident#late-stop', code: 'LS', title: 'late', paged: [me], openedAt: '2026-11-28T12:00:00.000Z' });
    // STOP arrives while DynamoDB is down: kept in the backlog.
    rig.world.dynamo.setReachable(false);
    const { res } = await reply(me, 'STOP');
    rig.world.dynamo.setReachable(true);
    expect(res.body).toBe(EMPTY_TWIML);
    // START arrives (later) and is applied at once.
    await new Promise((r) => setTimeout(r, 5));
    await reply(me, 'START');
    // The STOP's record is delivered afterwards.
    expect(await deliverBacklog()).toEqual({ batchItemFailures: [] });
    expect(await getItem(rig.world.table, `optout#${me}`)).toMatchObject({ optedOut: false, word: 'START' });
    expect(await incidentItem('incident#late-stop')).not.toHaveProperty('unreachable');
    expect(timers()).toEqual([]);
    expect(rig.out.metrics()[METRIC.RECIPIENT_OPTED_OUT]).toBeUndefined();
    expect(events().map((e) => e.type).sort()).toEqual(['opt-in', 'opt-out']);
  });

  test('the alert queue failing on an opt-out: handed to the backlog, whose record sends the timer', async () => {
    const me = '+15551232031';
    await incident({ id: 'incident#timer-fails', code: 'TF', title: 'tf', paged: [me], openedAt: '2026-11-28T13:00:00.000Z' });
    // Both attempts of the timer's SendMessage fail; the backlog's own send works.
    rig.world.sqs.failNext(2);
    const { res, messageSid } = await reply(me, 'STOP');
    expect(res.body).toBe(EMPTY_TWIML);
    expect(timers()).toEqual([]);
    expect(rig.world.sns.published).toHaveLength(0);
    await publishLeaseRunsOut(rig.world.table, messageSid);
    expect(await deliverBacklog()).toEqual({ batchItemFailures: [] });
    expect(timers()).toEqual([expect.objectContaining({ timer: 'escalate', incidentId: 'incident#timer-fails', reason: 'unreachable' })]);
    expect(events()).toEqual([expect.objectContaining({ type: 'opt-out' })]);
    expect(rig.out.metrics()[METRIC.RECIPIENT_OPTED_OUT]).toBe(1);
    expect((await incidentItem('incident#timer-fails')).timeline.filter((e) => e.event === 'unreachable')).toHaveLength(1);
  });
});

describe('other messages', () => {
  test('a message is stored and published with type message, answered with empty TwiML, and touches no incident', async () => {
    const me = '+15551233001';
    await incident({ id: 'incident#plain', code: 'PL', title: 'plain', paged: [me], openedAt: '2026-11-28T14:00:00.000Z' });
    const { res, messageSid } = await reply(me, 'looking into it now');
    expect(res).toEqual({ statusCode: 200, headers: { 'Content-Type': 'text/xml' }, body: EMPTY_TWIML });
    expect(events()).toEqual([{ type: 'message', messageSid, from: me, to: OUR_NUMBER, body: 'looking into it now', mediaUrls: [], channel: 'sms', receivedAt: expect.any(String) }]);
    expect(await getItem(rig.world.table, messageSid)).toMatchObject({ published: true, type: 'message' });
    expect(await getItem(rig.world.table, messageSid)).not.toHaveProperty('reply');
    expect((await incidentItem('incident#plain')).state).toBe('open');
    expect(timers()).toEqual([]);
  });
});
