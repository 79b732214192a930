import type { SenderEscalation } from '../../lib/contract';
import type { FakeMessage } from '../support/fake-twilio';
import { LocalPipeline, NUMBERS, startLocalPipeline, twilioText, until } from './local-pipeline';

/*
 * An escalation end to end through the built handlers: the sender's timers
 * are SQS messages on the simulated alert queue (its DelaySeconds honoured),
 * the reply goes from Twilio's side through the signed inbound webhook, and
 * the status callbacks of a page that could not be delivered reach
 * status-callback, which brings the next stage forward. Delays are seconds
 * (the pipeline hands SENDER_CONFIG to the sender as it is; the construct's
 * own minimums are minutes).
 */

const FIRST = NUMBERS.onCallSms;
const SECOND = NUMBERS.backupSms;
/** The fake network reports numbers ending in 7 undelivered (30003). */
const UNREACHABLE = '+15550101007';

const TWO_STAGES: SenderEscalation = {
  stages: [
    { recipients: [FIRST], afterSeconds: 0 },
    { recipients: [SECOND], afterSeconds: 2 },
  ],
  repeats: 1,
  repeatAfterSeconds: 2,
};

type TimelineEvent = { at: string; event: string; by?: string; stage?: number; detail?: string };

let p: LocalPipeline;
beforeAll(async () => {
  p = await startLocalPipeline({
    seed: 13,
    senderConfig: { escalation: TWO_STAGES },
    // A page's callbacks start once the sender has recorded it, as they nearly always do: an
    // `undelivered` that beats the sender's write cannot be tied to its incident (README, Replies).
    callbacks: { before: (m) => until(`the sender's record of ${m.sid}`, () => p.item(m.sid), 10_000) },
  });
}, 60_000);
afterAll(async () => {
  await p?.close();
});

/** Twilio's messages to `to` about `alarm`, or undefined while there are none (for `until`). */
const pagesOf = (to: string, alarm: string) => {
  const sent = p.sentTo(to, alarm);
  return sent.length > 0 ? sent : undefined;
};
const codeOf = (m: FakeMessage) => /ACK ([A-Z0-9]{1,6})$/.exec(twilioText(m))?.[1];
const events = (incident: Record<string, unknown> | undefined) => ((incident?.timeline ?? []) as TimelineEvent[]).map((e) => [e.event, e.by, e.stage, e.detail].filter((x) => x !== undefined).join(' '));

test('stage 1 pages, nobody answers, stage 2 pages at its time; ACK <code> from stage 2 is confirmed in TwiML, stops the repeat, and OK sends RESOLVED to both', async () => {
  const alarm = 'db-1-cpu-high';
  const id = p.publishAlarm({ AlarmName: alarm }, false);
  const incidentId = `incident#${id}`;

  const [firstPage] = await until('the stage 1 page', () => pagesOf(FIRST, alarm));
  const code = codeOf(firstPage);
  expect(code).toMatch(/^[A-Z0-9]{1,6}$/);
  const opened = await p.item(incidentId);
  expect(opened).toMatchObject({ state: 'open', code, title: alarm, stage: 0 });
  expect(p.sentTo(SECOND)).toEqual([]);

  // Nobody answers stage 1: its escalate timer, delayed on the alert queue, pages stage 2.
  const [secondPage] = await until('the stage 2 page', () => pagesOf(SECOND, alarm), 20_000);
  expect(twilioText(secondPage)).toBe(twilioText(firstPage));
  // Never before its time: stage 2 is due 2 s after the opening.
  expect(secondPage.dateCreated.getTime()).toBeGreaterThanOrEqual(Date.parse(String(opened!.openedAt)) + 2000);
  const escalate = p.sqs.sent.find((m) => m.body.includes(incidentId) && JSON.parse(m.body).timer === 'escalate');
  expect(escalate).toMatchObject({ queueName: 'twilio-alerts', delaySeconds: expect.any(Number) });
  expect(escalate!.delaySeconds).toBeGreaterThanOrEqual(1);

  const answer = await p.reply(SECOND, `ack ${code!.toLowerCase()}`);
  expect(answer).toMatchObject({
    status: 200,
    body: `<?xml version="1.0" encoding="UTF-8"?><Response><Message>ACK ${alarm} (${code}): escalation stopped</Message></Response>`,
  });
  expect(await p.item(incidentId)).toMatchObject({ state: 'acknowledged', acknowledgedBy: SECOND, stage: 1 });

  // The repeat's timer was already on the queue; settling waits until it has fired and found the incident acknowledged.
  const repeat = p.sqs.sent.find((m) => m.body.includes(incidentId) && JSON.parse(m.body).timer === 'repeat');
  expect(repeat).toBeDefined();
  const repeatDue = (JSON.parse(repeat!.body) as { dueAt: number }).dueAt;
  await p.settle(30_000);
  expect(Date.now()).toBeGreaterThan(repeatDue);
  await until('the stale timer counted', () => (p.metrics.get('TimersStale') ?? 0) >= 1, 5000);
  expect(p.sentTo(FIRST, alarm)).toHaveLength(1);
  expect(p.sentTo(SECOND, alarm)).toHaveLength(1);

  p.publishAlarm({ AlarmName: alarm, NewStateValue: 'OK', OldStateValue: 'ALARM' }, false);
  await p.settle(30_000);
  for (const to of [FIRST, SECOND]) {
    expect(p.sentTo(to, alarm).map(twilioText)).toEqual([twilioText(firstPage), `RESOLVED ${alarm} after 1 min`]);
  }
  const resolved = await p.item(incidentId);
  expect(resolved).toMatchObject({ state: 'resolved', stage: 1, pageRepeats: 0, acknowledgedBy: SECOND, resolvedAt: expect.any(String) });
  expect(new Set(resolved!.paged as Set<string>)).toEqual(new Set([FIRST, SECOND]));
  expect(events(resolved)).toEqual([`opened ${id}`, `paged ${FIRST} 0`, 'escalated 1', `paged ${SECOND} 1`, `acknowledged ${SECOND}`, expect.stringMatching(/^resolved /)]);
  // The code and the key are free for the alarm's next occurrence.
  expect(await p.item(`incidentcode#${code}`)).toBeUndefined();
  expect(p.leaks).toEqual([]);
}, 60_000);

test('the sender crashing right after a stage\'s guard write (its addresses added to paged, nothing sent yet): the timer comes again and the stage is paged, once; an address of stage 1 too is not paged twice', async () => {
  await p.reconfigureSender({
    escalation: {
      stages: [
        { recipients: [FIRST], afterSeconds: 0 },
        { recipients: [FIRST, SECOND], afterSeconds: 2 },
      ],
      repeats: 0,
      repeatAfterSeconds: 300,
    },
  });
  const crashes = p.sender.stats.crashes;
  let crashedAfterGuard = false;
  p.senderDb.crashAfterWrite(
    (target, body) => target === 'UpdateItem' && /ADD [^;]*#paged :\w+/.test(body) && body.includes('#stage < :stage'),
    async () => {
      crashedAfterGuard = true;
      await p.sender.crashRunning();
    },
  );
  const alarm = 'db-3-replica-lag';
  const id = p.publishAlarm({ AlarmName: alarm }, false);
  const incidentId = `incident#${id}`;
  // The timer's record comes back after its visibility timeout, and pages the stage it was paging.
  await until('stage 2 paged after the crash', () => pagesOf(SECOND, alarm), 30_000);
  const incident = await until('stage 2 recorded', async () => {
    const item = await p.item(incidentId);
    return item?.stage === 1 ? item : undefined;
  });
  expect(crashedAfterGuard).toBe(true);
  expect(p.sender.stats.crashes - crashes).toBeGreaterThanOrEqual(1);
  expect(p.sentTo(SECOND, alarm)).toHaveLength(1);
  expect(p.sentTo(FIRST, alarm)).toHaveLength(1);
  expect(await p.item(`claim#${incidentId}#stage#1#${SECOND}`)).toMatchObject({ state: 'sent' });
  expect(events(incident)).toEqual([`opened ${id}`, `paged ${FIRST} 0`, 'escalated 1', `paged ${SECOND} 1`]);
}, 60_000);

test('a stage 1 page Twilio reports undelivered makes stage 2 page at once, long before its time', async () => {
  await p.reconfigureSender({
    escalation: {
      stages: [
        { recipients: [UNREACHABLE], afterSeconds: 0 },
        { recipients: [SECOND], afterSeconds: 600 },
      ],
      repeats: 0,
      repeatAfterSeconds: 300,
    },
  });
  const alarm = 'db-2-disk-full';
  const id = p.publishAlarm({ AlarmName: alarm }, false);
  const incidentId = `incident#${id}`;

  const [secondPage] = await until('stage 2 paged after the undelivered page', () => pagesOf(SECOND, alarm), 30_000);
  const [firstPage] = p.sentTo(UNREACHABLE, alarm);
  expect(p.callbacks.fates.get(firstPage.sid)).toMatchObject({ final: 'undelivered', errorCode: 30003 });
  // The stage is recorded once its page is settled.
  const incident = await until('stage 2 recorded', async () => {
    const item = await p.item(incidentId);
    return item?.stage === 1 ? item : undefined;
  });
  expect(secondPage.dateCreated.getTime()).toBeLessThan(Date.parse(String(incident!.openedAt)) + 600_000);
  expect(incident).toMatchObject({ state: 'open', stage: 1 });
  expect([...(incident!.unreachable as Set<string>)]).toEqual([UNREACHABLE]);
  expect(events(incident)).toEqual([`opened ${id}`, `paged ${UNREACHABLE} 0`, `unreachable ${UNREACHABLE} undelivered 30003`, 'escalated 1 unreachable', `paged ${SECOND} 1`]);
  // status-callback's timer, at once, told the sender; the stage's own timer still waits on the queue (and will find the stage paged).
  const timers = p.sqs.sent.filter((m) => m.body.includes(incidentId)).map((m): Record<string, unknown> & { delaySeconds: number } => ({ ...(JSON.parse(m.body) as Record<string, unknown>), delaySeconds: m.delaySeconds }));
  expect(timers).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ timer: 'escalate', stage: 1, delaySeconds: expect.any(Number) }),
      expect.objectContaining({ timer: 'escalate', reason: 'unreachable', stage: 0, delaySeconds: 0 }),
    ]),
  );
  expect(timers.find((t) => t.reason === undefined)!.delaySeconds).toBeGreaterThan(500);
  await until('both escalations counted', () => (p.metrics.get('EscalationsPaged') ?? 0) >= 2, 5000);
}, 60_000);
