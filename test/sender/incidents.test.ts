import { METRIC } from '../../lib/contract';
import { segmentCount } from '../../lambda/sender/encoding';
import type { RecordedRequest } from '../support/fake-twilio';
import { FakeSqs, SentSqsMessage, startFakeSqs } from '../support/fake-sqs';
import { deliveredRecord } from '../support/records';
import { alarm, batch, captureStdout, context, FROM, Handler, loadHandler, metricSum, rawRecord, Rig, snsRecord, startRig, WHATSAPP_FROM } from '../support/sender-rig';

/*
 * Incidents in the sender, through the real handler: an ALARM opens one
 * incident and pages stage 0 with `ACK <code>`, repeats page nobody, OK
 * resolves once and tells everyone paged; timers (SQS messages the handler
 * sends to the alert queue fake, handed back as records) escalate and repeat
 * at their time and never twice. The handler's clock (Date.now) is moved by
 * the test instead of waiting.
 */

const R1 = '+15551280001';
const R2 = '+15551280002';
const R3 = '+15551280003';
const WA4 = 'whatsapp:+15551280004';
const ESCALATION = { stages: [{ recipients: [R1], afterSeconds: 0 }, { recipients: [R2], afterSeconds: 600 }], repeats: 2, repeatAfterSeconds: 300 };
const CONFIG = { from: FROM, whatsappFrom: WHATSAPP_FROM, defaultRecipients: [R1], allowedRecipients: [R3, WA4], claimLeaseSeconds: 60, escalation: ESCALATION, storm: { windowSeconds: 0 } };

let rig: Rig;
let sqs: FakeSqs;
const realNow = Date.now.bind(Date);
let offsetMs = 0;
/** Moves the handler's clock on. */
const advance = (ms: number) => {
  offsetMs += ms;
};

beforeAll(async () => {
  sqs = await startFakeSqs();
  rig = await startRig(CONFIG, { ALERT_QUEUE_URL: sqs.queueUrl('alerts') });
  jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offsetMs);
});
afterAll(async () => {
  jest.restoreAllMocks();
  delete process.env.ALERT_QUEUE_URL;
  await Promise.all([rig.close(), sqs.close()]);
});
beforeEach(() => {
  rig.twilio.reset();
  sqs.sent.length = 0;
});

const param = (r: RecordedRequest, name: string) => r.params.filter(([k]) => k === name).map(([, v]) => v);
const createdTo = (to: string) => rig.twilio.createRequests().filter((r) => param(r, 'To')[0] === to && r.outcome === 'created');
const bodiesTo = (to: string) => createdTo(to).map((r) => param(r, 'Body')[0]);
let serial = 0;
const unique = (prefix: string) => `${prefix}-${++serial}`;
const arnOf = (name: string) => `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${name}`;
const alarmOf = (name: string, state = 'ALARM') => alarm({ AlarmName: name, AlarmArn: arnOf(name), NewStateValue: state });
const publish = (message: unknown, snsId?: string, handler: Handler = rig.handler) => handler(batch(snsRecord(JSON.stringify(message), snsId)), context());

interface TimerBody {
  kind: 'timer';
  timer: string;
  incidentId: string;
  dueAt: number;
  stage?: number;
  repeat?: number;
}
/** Timers the handler handed to SQS (not deferred copies of records, which carry the deferral attribute). */
const timers = (): Array<SentSqsMessage & { timer: TimerBody }> =>
  sqs.sent.filter((m) => Object.keys(m.messageAttributes).length === 0 && JSON.parse(m.body).kind === 'timer').map((m) => ({ ...m, timer: JSON.parse(m.body) as TimerBody }));
const fire = (m: SentSqsMessage, handler: Handler = rig.handler) => handler(batch(deliveredRecord(m)), context());

/** Opens an incident for a new alarm; returns its ids and code. */
async function openIncident(prefix: string, handler: Handler = rig.handler) {
  const name = unique(prefix);
  const snsId = `sns-${name}`;
  const out = await publish(alarmOf(name), snsId, handler);
  expect(out.batchItemFailures).toEqual([]);
  const incidentId = `incident#${snsId}`;
  const incident = await rig.item(incidentId);
  expect(incident).toMatchObject({ kind: 'incident', state: 'open' });
  return { name, snsId, incidentId, code: incident!.code as string, arn: arnOf(name) };
}

const events = async (incidentId: string) => ((await rig.item(incidentId))!.timeline as Array<Record<string, unknown>>).map((e) => e.event);

describe('opening', () => {
  test('an ALARM opens an incident: stage 0 paged once with ACK <code> in one segment, pointer and code reserved, timer for stage 1', async () => {
    const name = unique('db-open');
    const snsId = `sns-${name}`;
    const { result, metrics } = await captureStdout(() => publish(alarmOf(name), snsId));
    expect(result.batchItemFailures).toEqual([]);

    const incident = await rig.item(`incident#${snsId}`);
    expect(incident).toMatchObject({ kind: 'incident', incidentKey: arnOf(name), state: 'open', title: name, stage: 0, alarmRepeats: 0, pageRepeats: 0, openedBy: snsId, nextTimer: 'escalate#1' });
    const code = incident!.code as string;
    expect(code).toMatch(/^[23456789A-HJKMNP-Z]{2,6}$/);
    expect([...incident!.paged]).toEqual([R1]);
    expect(incident!.timeline).toEqual([
      { at: expect.any(String), event: 'opened', detail: snsId },
      { at: expect.any(String), event: 'paged', by: R1, stage: 0 },
    ]);

    const [body] = bodiesTo(R1);
    expect(bodiesTo(R1)).toHaveLength(1);
    expect(bodiesTo(R2)).toEqual([]);
    // The text is fitted around the hint: the hint always comes whole, at the end.
    expect(body).toMatch(new RegExp(`^ALARM ${name}\\n[^]* ACK ${code}$`));
    expect(body.length).toBeLessThanOrEqual(160);
    expect(segmentCount(body)).toBe(1);

    const [req] = createdTo(R1);
    expect(await rig.item(req.sid!)).toMatchObject({ kind: 'message', incidentId: `incident#${snsId}`, alertRecipient: R1, notificationId: snsId, alarmName: name });
    expect(await rig.item(`claim#${snsId}#${R1}`)).toMatchObject({ state: 'sent', messageSid: req.sid });
    expect(await rig.item(`incidentkey#${arnOf(name)}`)).toMatchObject({ kind: 'incident-key', incidentId: `incident#${snsId}`, code });
    expect(await rig.item(`incidentcode#${code}`)).toMatchObject({ kind: 'incident-code', incidentId: `incident#${snsId}` });
    expect(metricSum(metrics, METRIC.INCIDENTS_OPENED)).toBe(1);

    const [timer] = timers();
    expect(timers()).toHaveLength(1);
    expect(timer.timer).toEqual({ kind: 'timer', timer: 'escalate', incidentId: `incident#${snsId}`, stage: 1, dueAt: Date.parse(incident!.openedAt) + 600_000 });
    expect(timer.delaySeconds).toBe(600);
  });

  test('a redelivered opening (again later, and twice in one batch): one incident, one page, one timer', async () => {
    const name = unique('db-redeliver');
    const message = alarmOf(name);
    await publish(message, `sns-${name}`);
    const again = await captureStdout(() => publish(message, `sns-${name}`));
    expect(again.result.batchItemFailures).toEqual([]);
    expect(metricSum(again.metrics, METRIC.INCIDENTS_OPENED)).toBe(0);
    expect(bodiesTo(R1)).toHaveLength(1);
    expect(timers()).toHaveLength(1);

    const twin = unique('db-twin');
    const out = await rig.handler(batch(snsRecord(JSON.stringify(alarmOf(twin)), `sns-${twin}`, 'sqs-a'), snsRecord(JSON.stringify(alarmOf(twin)), `sns-${twin}`, 'sqs-b')), context());
    expect(out.batchItemFailures).toEqual([]);
    expect(bodiesTo(R1)).toHaveLength(2);
    const incidents = (await rig.scan()).filter((i) => i.kind === 'incident' && i.incidentKey === arnOf(twin));
    expect(incidents).toHaveLength(1);
    // The copy that found the other's claim pending was put back on the queue; when it comes back it sends nothing.
    for (const copy of sqs.sent.filter((m) => Object.keys(m.messageAttributes).length > 0)) expect((await fire(copy)).batchItemFailures).toEqual([]);
    expect(bodiesTo(R1)).toHaveLength(2);
  });

  test('two ALARMs of one alarm in one batch (different notifications): one incident, one page; the other counts as a repeat', async () => {
    const name = unique('db-race');
    const out = await rig.handler(batch(snsRecord(JSON.stringify(alarmOf(name)), `sns-${name}-a`), snsRecord(JSON.stringify(alarmOf(name)), `sns-${name}-b`)), context());
    expect(out.batchItemFailures).toEqual([]);
    expect(bodiesTo(R1)).toHaveLength(1);
    const incidents = (await rig.scan()).filter((i) => i.kind === 'incident' && i.incidentKey === arnOf(name));
    expect(incidents).toHaveLength(1);
    expect(incidents[0].alarmRepeats).toBe(1);
    const loser = incidents[0].id === `incident#sns-${name}-a` ? 'b' : 'a';
    expect(await rig.item(`notice#sns-${name}-${loser}`)).toMatchObject({ outcome: 'repeat-alarm', incidentId: incidents[0].id });
    // The loser's code reservation was given back: only the winner's is left.
    const codes = (await rig.scan()).filter((i) => i.kind === 'incident-code' && String(i.incidentId).startsWith(`incident#sns-${name}`));
    expect(codes.map((c) => c.incidentId)).toEqual([incidents[0].id]);
  });

  test('a repeat ALARM while the incident is open pages nobody; it is counted once, even when redelivered', async () => {
    const { name, incidentId } = await openIncident('db-repeat');
    rig.twilio.reset();
    const repeatId = `sns-${name}-repeat`;
    const { result, metrics } = await captureStdout(() => publish(alarmOf(name), repeatId));
    expect(result.batchItemFailures).toEqual([]);
    await publish(alarmOf(name), repeatId);
    expect(rig.twilio.requests).toHaveLength(0);
    expect(metricSum(metrics, METRIC.INCIDENTS_OPENED)).toBe(0);
    expect(await rig.item(incidentId)).toMatchObject({ alarmRepeats: 1, state: 'open' });
    expect(await events(incidentId)).toEqual(['opened', 'paged', 'repeat-alarm']);
    expect(await rig.item(`notice#${repeatId}`)).toMatchObject({ kind: 'notification', outcome: 'repeat-alarm', incidentId });
    expect(await rig.item(`incident#${repeatId}`)).toBeUndefined();
  });

  test('the timeline keeps the latest 30 events and counts the ones it dropped', async () => {
    const { name, incidentId } = await openIncident('db-storm');
    for (let b = 0; b < 5; b++) {
      const records = Array.from({ length: 7 }, (_, i) => snsRecord(JSON.stringify(alarmOf(name)), `sns-${name}-r${b}-${i}`));
      expect((await rig.handler(batch(...records), context())).batchItemFailures).toEqual([]);
    }
    const incident = await rig.item(incidentId);
    expect(incident!.alarmRepeats).toBe(35);
    expect(incident!.timeline).toHaveLength(30);
    // opened, paged and 35 repeats: the 7 oldest are gone.
    expect(incident!.timelineDropped).toBe(7);
    expect(incident!.timeline.map((e: Record<string, unknown>) => e.event)).toEqual(Array(30).fill('repeat-alarm'));
  });
});

describe('resolving', () => {
  test('OK resolves the incident once: one RESOLVED to every address it paged, the key and code freed; a later ALARM is a new incident', async () => {
    const { name, snsId, incidentId, code, arn } = await openIncident('db-1-cpu-high');
    const [stage1] = timers();
    advance(600_000);
    expect((await fire(stage1)).batchItemFailures).toEqual([]);
    expect(bodiesTo(R2)).toEqual([expect.stringMatching(new RegExp(` ACK ${code}$`))]);
    const repeatTimer = timers().find((t) => t.timer.timer === 'repeat')!;
    expect(repeatTimer.timer).toMatchObject({ repeat: 1, incidentId });

    advance(240_000);
    const okId = `sns-${name}-ok`;
    const { result, metrics } = await captureStdout(() => publish(alarmOf(name, 'OK'), okId));
    expect(result.batchItemFailures).toEqual([]);
    await publish(alarmOf(name, 'OK'), okId);
    for (const to of [R1, R2]) expect(bodiesTo(to).slice(1)).toEqual([`RESOLVED ${name} after 14 min`]);
    expect(metricSum(metrics, METRIC.INCIDENTS_RESOLVED)).toBe(1);
    const incident = await rig.item(incidentId);
    expect(incident).toMatchObject({ state: 'resolved', resolvedBy: okId, resolvedAt: expect.any(String) });
    expect((await events(incidentId)).slice(-1)).toEqual(['resolved']);
    expect(await rig.item(`incidentkey#${arn}`)).toBeUndefined();
    expect(await rig.item(`incidentcode#${code}`)).toBeUndefined();
    const resolvedItem = await rig.item(createdTo(R1)[1].sid!);
    expect(resolvedItem).toMatchObject({ incidentId, notificationId: `${incidentId}#resolved` });
    // Not a page: an ACK that looks for the newest page to this address does not find it.
    expect(resolvedItem!.alertRecipient).toBeUndefined();

    // The repeat timer comes after the resolve: nothing.
    advance(60_000);
    rig.twilio.reset();
    const stale = await captureStdout(() => fire(repeatTimer));
    expect(rig.twilio.requests).toHaveLength(0);
    expect(metricSum(stale.metrics, METRIC.TIMERS_STALE)).toBe(1);

    const reopened = `sns-${name}-again`;
    await publish(alarmOf(name), reopened);
    expect(await rig.item(`incident#${reopened}`)).toMatchObject({ state: 'open', incidentKey: arn });
    expect(bodiesTo(R1)).toEqual([expect.stringMatching(/ ACK [A-Z0-9]+$/)]);
    expect(await rig.item(snsId.replace(/^/, 'incident#'))).toMatchObject({ state: 'resolved' });
  });

  test('a redelivered OK finishes only the incident it resolved, never the one the alarm opened since', async () => {
    const { name, incidentId } = await openIncident('db-late-ok');
    const ok = snsRecord(JSON.stringify(alarmOf(name, 'OK')), `sns-${name}-ok`);
    await rig.handler(batch(ok), context());
    expect(await rig.item(incidentId)).toMatchObject({ state: 'resolved' });
    const next = `sns-${name}-next`;
    await publish(alarmOf(name), next);
    rig.twilio.reset();
    expect((await rig.handler(batch(ok), context())).batchItemFailures).toEqual([]);
    expect(rig.twilio.requests).toHaveLength(0);
    expect(await rig.item(`incident#${next}`)).toMatchObject({ state: 'open' });
    expect(await rig.item(`incidentkey#${arnOf(name)}`)).toMatchObject({ incidentId: `incident#${next}` });
  });

  test('a pointer left by a resolve that crashed before ending it does not swallow the next ALARM: it opens a new incident', async () => {
    const { name, incidentId, code, arn } = await openIncident('db-stale');
    const incident = await rig.item(incidentId);
    // As if the resolver had marked it resolved and died before sending RESOLVED and ending the pointer.
    await rig.put({ ...incident, state: 'resolved', resolvedAt: new Date(Date.now()).toISOString(), resolvedBy: 'sns-lost-ok' });
    rig.twilio.reset();
    const next = `sns-${name}-next`;
    expect((await publish(alarmOf(name), next)).batchItemFailures).toEqual([]);
    expect(await rig.item(`incident#${next}`)).toMatchObject({ state: 'open' });
    expect(await rig.item(`incidentkey#${arn}`)).toMatchObject({ incidentId: `incident#${next}` });
    expect(await rig.item(`incidentcode#${code}`)).toBeUndefined();
    expect(bodiesTo(R1)).toHaveLength(1);
  });

  test('an OK for an alarm with no live incident pages nobody and is recorded', async () => {
    const name = unique('db-unknown-ok');
    const { result, metrics } = await captureStdout(() => publish(alarmOf(name, 'OK'), `sns-${name}`));
    expect(result.batchItemFailures).toEqual([]);
    expect(rig.twilio.requests).toHaveLength(0);
    expect(sqs.sent).toHaveLength(0);
    expect(metricSum(metrics, METRIC.INCIDENTS_RESOLVED)).toBe(0);
    expect(await rig.item(`notice#sns-${name}`)).toMatchObject({ kind: 'notification', outcome: 'no-live-incident', incidentKey: arnOf(name) });
  });

  test('INSUFFICIENT_DATA while an incident is live: noted on its timeline, nobody paged, escalation goes on', async () => {
    const { name, incidentId } = await openIncident('db-insufficient');
    rig.twilio.reset();
    expect((await publish(alarmOf(name, 'INSUFFICIENT_DATA'), `sns-${name}-nodata`)).batchItemFailures).toEqual([]);
    expect(rig.twilio.requests).toHaveLength(0);
    expect(await rig.item(incidentId)).toMatchObject({ state: 'open' });
    expect(await events(incidentId)).toEqual(['opened', 'paged', 'state-change']);
    expect(await rig.item(`notice#sns-${name}-nodata`)).toMatchObject({ outcome: 'state-change', state: 'INSUFFICIENT_DATA', incidentId });
  });
});

describe('timers', () => {
  test('escalation: stage 1 is paged at its time, not before (an early timer is sent on for the time left)', async () => {
    const { incidentId, code } = await openIncident('db-escalate');
    const [stage1] = timers();
    rig.twilio.reset();

    advance(598_000);
    const early = await captureStdout(() => fire(stage1));
    expect(early.result.batchItemFailures).toEqual([]);
    expect(rig.twilio.requests).toHaveLength(0);
    const chained = timers().slice(1);
    expect(chained).toHaveLength(1);
    expect(chained[0].timer).toEqual(stage1.timer);
    expect(chained[0].delaySeconds).toBe(2);
    expect(metricSum(early.metrics, METRIC.TIMERS_FIRED) + metricSum(early.metrics, METRIC.TIMERS_STALE)).toBe(0);

    advance(2_000);
    const due = await captureStdout(() => fire(chained[0]));
    expect(due.result.batchItemFailures).toEqual([]);
    expect(bodiesTo(R1)).toEqual([]);
    expect(bodiesTo(R2)).toEqual([expect.stringMatching(new RegExp(` ACK ${code}$`))]);
    expect(metricSum(due.metrics, METRIC.ESCALATIONS_PAGED)).toBe(1);
    expect(metricSum(due.metrics, METRIC.TIMERS_FIRED)).toBe(1);
    const incident = await rig.item(incidentId);
    expect(incident).toMatchObject({ stage: 1, nextTimer: 'repeat#1' });
    expect([...incident!.paged].sort()).toEqual([R1, R2]);
    expect((await events(incidentId)).slice(2)).toEqual(['escalated', 'paged']);
    const [req] = createdTo(R2);
    expect(await rig.item(req.sid!)).toMatchObject({ incidentId, alertRecipient: R2, notificationId: `${incidentId}#stage#1` });
    const next = timers().slice(2);
    expect(next.map((t) => [t.timer.timer, t.timer.repeat, t.delaySeconds])).toEqual([['repeat', 1, 300]]);
  });

  test('a timer delivered twice (in one batch, then again) pages once and schedules the next step once', async () => {
    const { incidentId } = await openIncident('db-twice');
    const [stage1] = timers();
    rig.twilio.reset();
    advance(600_000);
    const out = await rig.handler(batch(deliveredRecord(stage1), deliveredRecord(stage1)), context());
    expect(out.batchItemFailures).toEqual([]);
    const { metrics } = await captureStdout(() => fire(stage1));
    for (const copy of sqs.sent.filter((m) => Object.keys(m.messageAttributes).length > 0)) await fire(copy);
    expect(createdTo(R2)).toHaveLength(1);
    expect(createdTo(R1)).toHaveLength(0);
    expect(metricSum(metrics, METRIC.TIMERS_STALE)).toBe(1);
    expect(timers().filter((t) => t.timer.timer === 'repeat')).toHaveLength(1);
    expect((await events(incidentId)).filter((e) => e === 'escalated')).toHaveLength(1);
  });

  test('SQS refusing the next timer keeps the opening for redelivery; the redelivery hands the timer over and pages nobody twice', async () => {
    const name = unique('db-sqs-down');
    const record = snsRecord(JSON.stringify(alarmOf(name)), `sns-${name}`);
    sqs.failNext(10);
    const first = await rig.handler(batch(record), context());
    sqs.failNext(0);
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(bodiesTo(R1)).toHaveLength(1);
    expect(timers()).toHaveLength(0);
    expect((await rig.handler(batch(record), context())).batchItemFailures).toEqual([]);
    expect(bodiesTo(R1)).toHaveLength(1);
    expect(timers().map((t) => t.timer)).toEqual([expect.objectContaining({ timer: 'escalate', stage: 1, incidentId: `incident#sns-${name}` })]);
    expect(await rig.item(`incident#sns-${name}`)).toMatchObject({ nextTimer: 'escalate#1' });
  });

  test('a timer after the incident was acknowledged does nothing and schedules nothing', async () => {
    const { incidentId } = await openIncident('db-acked');
    const [stage1] = timers();
    const incident = await rig.item(incidentId);
    await rig.put({ ...incident, state: 'acknowledged', acknowledgedBy: R1, acknowledgedAt: new Date(Date.now()).toISOString() });
    rig.twilio.reset();
    sqs.sent.length = 0;
    advance(600_000);
    const { result, metrics } = await captureStdout(() => fire(stage1));
    expect(result.batchItemFailures).toEqual([]);
    expect(rig.twilio.requests).toHaveLength(0);
    expect(sqs.sent).toHaveLength(0);
    expect(metricSum(metrics, METRIC.TIMERS_STALE)).toBe(1);
    expect(await rig.item(incidentId)).toMatchObject({ state: 'acknowledged', stage: 0 });
  });

  test('repeats: everyone paged so far, every repeatAfterSeconds after the last stage, at most `repeats` times', async () => {
    const { incidentId, code } = await openIncident('db-repeats');
    advance(600_000);
    await fire(timers()[0]);
    const repeat1 = timers().find((t) => t.timer.repeat === 1)!;
    expect(repeat1.delaySeconds).toBe(300);

    advance(300_000);
    const first = await captureStdout(() => fire(repeat1));
    expect(metricSum(first.metrics, METRIC.PAGES_REPEATED)).toBe(1);
    const repeat2 = timers().find((t) => t.timer.repeat === 2)!;
    expect(repeat2.delaySeconds).toBe(300);
    advance(300_000);
    await fire(repeat2);
    // The last repeat leaves nothing to schedule; a late copy of it does nothing.
    advance(300_000);
    const late = await captureStdout(() => fire(repeat2));
    expect(metricSum(late.metrics, METRIC.TIMERS_STALE)).toBe(1);

    for (const to of [R1, R2]) {
      expect(bodiesTo(to)).toHaveLength(3);
      for (const body of bodiesTo(to)) expect(body).toMatch(new RegExp(` ACK ${code}$`));
    }
    expect(timers().filter((t) => t.timer.timer === 'repeat').map((t) => t.timer.repeat)).toEqual([1, 2]);
    expect(await rig.item(incidentId)).toMatchObject({ pageRepeats: 2, stage: 1 });
    expect(await rig.item(`claim#${incidentId}#repeat#2#${R1}`)).toMatchObject({ state: 'sent' });
    expect((await events(incidentId)).filter((e) => e === 'repeated')).toHaveLength(2);
  });

  test('unreachable: when every address of the current stage is unreachable, the next stage is paged at once, and its own timer then does nothing', async () => {
    const { incidentId, code } = await openIncident('db-unreachable');
    const [stage1] = timers();
    const unreachableTimer = (id: string) => rawRecord(JSON.stringify({ kind: 'timer', timer: 'escalate', incidentId: id, dueAt: Date.now(), reason: 'unreachable' }));

    // Nothing unreachable yet: the signal alone brings nothing forward.
    const notYet = await captureStdout(() => rig.handler(batch(unreachableTimer(incidentId)), context()));
    expect(metricSum(notYet.metrics, METRIC.TIMERS_STALE)).toBe(1);
    expect(bodiesTo(R2)).toEqual([]);

    // As status-callback records it when stage 0's page ends undelivered.
    const incident = await rig.item(incidentId);
    await rig.put({ ...incident, unreachable: new Set([R1]) });
    advance(30_000);
    const { metrics } = await captureStdout(() => rig.handler(batch(unreachableTimer(incidentId)), context()));
    expect(bodiesTo(R2)).toEqual([expect.stringMatching(new RegExp(` ACK ${code}$`))]);
    expect(metricSum(metrics, METRIC.ESCALATIONS_PAGED)).toBe(1);
    expect((await rig.item(incidentId))!.timeline.find((e: Record<string, unknown>) => e.event === 'escalated')).toMatchObject({ stage: 1, detail: 'unreachable' });

    advance(570_000);
    await fire(stage1);
    expect(createdTo(R2)).toHaveLength(1);
  });

  test('a timer due beyond SQS\'s 900 s is chained: sent on with 900 s until the time left is shorter, then fires', async () => {
    const saved = process.env.SENDER_CONFIG;
    process.env.SENDER_CONFIG = JSON.stringify({ ...CONFIG, escalation: { stages: [{ recipients: [R1], afterSeconds: 0 }, { recipients: [R2], afterSeconds: 2_000 }] } });
    const handler = await loadHandler().finally(() => {
      process.env.SENDER_CONFIG = saved;
    });
    await openIncident('db-chain', handler);
    let [timer] = timers();
    const delays = [timer.delaySeconds];
    for (let i = 0; i < 2; i++) {
      advance(timer.delaySeconds * 1000);
      await fire(timer, handler);
      expect(bodiesTo(R2)).toEqual([]);
      timer = timers()[timers().length - 1];
      delays.push(timer.delaySeconds);
    }
    expect(delays).toEqual([900, 900, 200]);
    advance(200_000);
    await fire(timer, handler);
    expect(bodiesTo(R2)).toHaveLength(1);
  });

  test('a "kind": "timer" object published to the topic is not a timer: paged as the JSON it is to the default recipients, never stage 1, and no timer', async () => {
    const { incidentId } = await openIncident('db-forged');
    rig.twilio.reset();
    sqs.sent.length = 0;
    advance(600_000);
    const forged = `sns-forged-${serial}`;
    const out = await publish({ kind: 'timer', timer: 'escalate', incidentId, dueAt: 0, stage: 1 }, forged);
    expect(out.batchItemFailures).toEqual([]);
    // Any JSON a publisher sends is paged by its fields (a publish right can page the default recipients anyway).
    expect(bodiesTo(R1)).toEqual([expect.stringMatching(/^kind: timer\n/)]);
    expect(bodiesTo(R2)).toEqual([]);
    expect(sqs.sent).toHaveLength(0);
    expect(await rig.item(incidentId)).toMatchObject({ stage: 0 });
  });

  test('a raw timer that is not a valid one is recorded once with its reason', async () => {
    const record = rawRecord(JSON.stringify({ kind: 'timer', timer: 'escalate', incidentId: 'claim#x', dueAt: 0 }), `sqs-bad-timer-${serial}`);
    expect((await rig.handler(batch(record), context())).batchItemFailures).toEqual([]);
    expect(await rig.item(`failed#${record.messageId}`)).toMatchObject({ reason: expect.stringMatching(/"incidentId" must be an incident id/) });
    expect(rig.twilio.requests).toHaveLength(0);
  });
});

describe('envelopes and opt-outs', () => {
  test('an envelope with incidentKey opens an incident paging its `to` with the hint; resolve: true sends RESOLVED with its title', async () => {
    const key = unique('app-disk');
    const out = await publish({ incidentKey: key, title: 'Disk full on db-1', body: 'Disk 97% on db-1', to: [R3] }, `sns-${key}`);
    expect(out.batchItemFailures).toEqual([]);
    const incident = await rig.item(`incident#sns-${key}`);
    expect(incident).toMatchObject({ incidentKey: key, title: 'Disk full on db-1', stage0To: [R3] });
    expect(bodiesTo(R3)).toEqual([`Disk 97% on db-1 ACK ${incident!.code}`]);
    expect(bodiesTo(R1)).toEqual([]);
    expect(await rig.item(createdTo(R3)[0].sid!)).toMatchObject({ incidentId: `incident#sns-${key}`, alertRecipient: R3 });

    advance(90_000);
    await publish({ incidentKey: key, resolve: true }, `sns-${key}-resolve`);
    expect(bodiesTo(R3)).toEqual([expect.stringMatching(/ ACK /), 'RESOLVED Disk full on db-1 after 2 min']);
  });

  test('an envelope with resolve but no incidentKey is refused with the fix', async () => {
    const id = `sns-resolve-nokey-${serial}`;
    await publish({ body: 'fixed', resolve: true }, id);
    expect(await rig.item(`failed#${id}`)).toMatchObject({ reason: '"resolve" needs "incidentKey": name the incident to resolve' });
    expect(rig.twilio.requests).toHaveLength(0);
  });

  test('an opted-out address is not paged: a failed claim `opted-out`, counted unreachable; a stage all opted out brings the next stage at once', async () => {
    await rig.put({ id: `optout#${R3}`, kind: 'opt-out', optedOut: true, word: 'STOP', updatedAt: new Date(Date.now()).toISOString() });
    try {
      const key = unique('app-optout');
      await publish({ incidentKey: key, body: 'Queue depth 10k', to: [R3, WA4] }, `sns-${key}`);
      const incidentId = `incident#sns-${key}`;
      expect(bodiesTo(R3)).toEqual([]);
      expect(createdTo(WA4)).toHaveLength(1);
      expect(await rig.item(`claim#sns-${key}#${R3}`)).toMatchObject({ state: 'failed', reason: 'opted-out' });
      const incident = await rig.item(incidentId);
      expect([...incident!.paged]).toEqual([WA4]);
      expect([...incident!.unreachable]).toEqual([R3]);
      expect(incident!.timeline).toContainEqual({ at: expect.any(String), event: 'unreachable', by: R3, stage: 0, detail: 'opted-out' });
      expect(bodiesTo(R2)).toEqual([]);

      const alone = unique('app-optout-alone');
      const { metrics } = await captureStdout(() => publish({ incidentKey: alone, body: 'Replica lag 40 s', to: [R3] }, `sns-${alone}`));
      expect(bodiesTo(R3)).toEqual([]);
      expect(bodiesTo(R2)).toEqual([expect.stringMatching(/^Replica lag 40 s ACK [A-Z0-9]+$/)]);
      expect(metricSum(metrics, METRIC.ESCALATIONS_PAGED)).toBe(1);
      expect(await rig.item(`incident#sns-${alone}`)).toMatchObject({ stage: 1 });
    } finally {
      await rig.put({ id: `optout#${R3}`, kind: 'opt-out', optedOut: false, word: 'START', updatedAt: new Date(Date.now()).toISOString() });
    }
  });
});
