import { useHandlersRig } from '../support/handlers-rig';
import { getItem } from '../support/webhook-rig';
import { alarm, batch, context, rawRecord, snsRecord } from '../support/sender-rig';

/*
 * Failover (SENDER_CONFIG.fallbacks) through the real handlers on one table:
 * a page that ends undelivered/failed, seen by the status callback or by the
 * reconciler's poll of Twilio, sends the timer that makes the sender page the
 * address's fallback once, or, once the fallback fails too (or with no
 * fallback), the next stage at once.
 */

const R1 = '+15551440001';
const W1 = 'whatsapp:+15551440001';
const R2 = '+15551440002';
/** Paged as an envelope's stage 0; it has no fallback. */
const R3 = '+15551440003';
const OUR_NUMBER = '+15557650000';
const OUR_WHATSAPP = 'whatsapp:+15557650000';
const RECONCILE_AFTER_SECONDS = 300;
const ESCALATION = { stages: [{ recipients: [R1], afterSeconds: 0 }, { recipients: [R2], afterSeconds: 600 }], repeats: 0, repeatAfterSeconds: 300 };

const rig = useHandlersRig({
  senderConfig: {
    from: OUR_NUMBER,
    whatsappFrom: OUR_WHATSAPP,
    defaultRecipients: [R1],
    allowedRecipients: [R1, W1, R3],
    claimLeaseSeconds: 60,
    escalation: ESCALATION,
    fallbacks: { [R1]: W1 },
    // Each test opens an incident paging R1 again: no storm window holding those pages (test/sender/storm.test.ts is about that).
    storm: { windowSeconds: 0 },
  },
  handlers: ['sender', 'inbound', 'statusCallback', 'reconciler'],
  reconcileAfterSeconds: RECONCILE_AFTER_SECONDS,
});
const { world, twilio, sender, unreachableTimers, fireUnreachableTimers, incidentItem, postStatus, twilioLaterSays, runReconciler } = rig;
/** Messages the sender created for `to`: their SIDs and bodies. */
const { messagesTo: pagesTo, reply: postReply } = rig;
let serial = 0;

async function openIncident(prefix: string, envelopeTo?: readonly string[]): Promise<{ incidentId: string; code: string }> {
  const name = `${prefix}-${++serial}`;
  const snsId = `sns-${name}`;
  const message = envelopeTo
    ? JSON.stringify({ incidentKey: name, title: name, body: `${name} is down`, to: envelopeTo })
    : JSON.stringify(alarm({ AlarmName: name, AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${name}` }));
  expect((await sender(batch(snsRecord(message, snsId)), context())).batchItemFailures).toEqual([]);
  const incidentId = `incident#${snsId}`;
  const incident = await incidentItem(incidentId);
  expect(incident).toMatchObject({ state: 'open', stage: 0 });
  world.sqs.sent.length = 0;
  return { incidentId, code: String(incident.code) };
}

const ackHint = (code: string) => new RegExp(` ACK ${code}$`);

describe('a page that ends undelivered, told by the status callback', () => {
  test('the fallback gets the same page with its ACK code once, at once; it is on the timeline, may acknowledge, and the next stage waits', async () => {
    const { incidentId, code } = await openIncident('cb');
    const [page] = pagesTo(R1);
    await postStatus(page.sid, R1, 'undelivered', '30003');
    expect(await fireUnreachableTimers()).toBe(1);

    const [fallback] = pagesTo(W1);
    expect(fallback.body).toMatch(ackHint(code));
    expect(fallback.body).toBe(page.body);
    expect(pagesTo(R2)).toEqual([]);
    const incident = await incidentItem(incidentId);
    expect(incident).toMatchObject({ state: 'open', stage: 0, unreachable: new Set([R1]), fellBack: new Set([R1]) });
    expect(incident.paged).toEqual(new Set([R1, W1]));
    expect(incident.timeline).toContainEqual({ at: expect.any(String), event: 'fallback', by: W1, detail: R1 });
    // Its message item carries the incident, so its own status callbacks find it.
    expect(await getItem(world.table, fallback.sid)).toMatchObject({ incidentId, to: W1 });

    const ack = await postReply(W1, `ACK ${code}`);
    expect(ack.body).toContain(`(${code}): escalation stopped`);
    expect(await incidentItem(incidentId)).toMatchObject({ state: 'acknowledged', acknowledgedBy: W1 });
  });

  test('the same callback twice: two timers, one fallback page and one timeline event', async () => {
    const { incidentId } = await openIncident('twice');
    const [page] = pagesTo(R1);
    await postStatus(page.sid, R1, 'undelivered', '30003');
    await postStatus(page.sid, R1, 'undelivered', '30003');
    expect(await fireUnreachableTimers()).toBe(2);
    expect(pagesTo(W1)).toHaveLength(1);
    expect((await incidentItem(incidentId)).timeline.filter((e) => e.event === 'fallback')).toHaveLength(1);
  });

  test('the fallback\'s page fails too: the address counts unreachable and the next stage is paged at once', async () => {
    const { incidentId, code } = await openIncident('both-fail');
    const [page] = pagesTo(R1);
    await postStatus(page.sid, R1, 'failed', '30008');
    await fireUnreachableTimers();
    const [fallback] = pagesTo(W1);
    expect(pagesTo(R2)).toEqual([]);

    await postStatus(fallback.sid, W1, 'undelivered', '63016');
    expect(await fireUnreachableTimers()).toBe(1);
    expect(pagesTo(R2).map((p) => p.body)).toEqual([expect.stringMatching(ackHint(code))]);
    // No second fallback page, and no fallback for the fallback.
    expect(pagesTo(W1)).toHaveLength(1);
    const incident = await incidentItem(incidentId);
    expect(incident).toMatchObject({ stage: 1, unreachable: new Set([R1, W1]) });
    expect(incident.timeline).toContainEqual(expect.objectContaining({ event: 'escalated', stage: 1, detail: 'unreachable' }));
  });

  test('Twilio refuses the fallback for good (21211): the next stage is paged in the same invocation', async () => {
    const { incidentId, code } = await openIncident('fallback-refused');
    const [page] = pagesTo(R1);
    await postStatus(page.sid, R1, 'undelivered', '30005');
    twilio.enqueue({ error: { status: 400, code: 21211, message: 'Invalid To Phone Number' } });
    expect(await fireUnreachableTimers()).toBe(1);
    expect(pagesTo(W1)).toEqual([]);
    expect(pagesTo(R2).map((p) => p.body)).toEqual([expect.stringMatching(ackHint(code))]);
    const incident = await incidentItem(incidentId);
    expect(incident).toMatchObject({ stage: 1, unreachable: new Set([R1, W1]), fellBack: new Set([R1]) });
    expect(incident.timeline).toContainEqual(expect.objectContaining({ event: 'fallback', by: W1, detail: R1 }));
  });

  test('an acknowledged incident: no timer, and the sender pages no fallback even for a timer that comes anyway', async () => {
    const { incidentId, code } = await openIncident('acked');
    const [page] = pagesTo(R1);
    expect((await postReply(R1, `ACK ${code}`)).body).toContain('escalation stopped');
    await postStatus(page.sid, R1, 'undelivered', '30003');
    expect(unreachableTimers()).toEqual([]);
    // A timer sent before the acknowledgement landed, delivered after it.
    const late = { kind: 'timer', timer: 'escalate', incidentId, dueAt: Date.now(), stage: 0, reason: 'unreachable' };
    expect((await sender(batch(rawRecord(JSON.stringify(late), `late-${serial}`)), context())).batchItemFailures).toEqual([]);
    expect(pagesTo(W1)).toEqual([]);
    expect(await incidentItem(incidentId)).not.toHaveProperty('fellBack');
  });
});

describe('a page that ends undelivered, found by the reconciler\'s poll', () => {
  test('with no fallback: the address counts unreachable and the next stage is paged at once', async () => {
    const { incidentId, code } = await openIncident('poll-no-fallback', [R3]);
    const [page] = pagesTo(R3);
    await twilioLaterSays(page.sid, 'undelivered', 30003);
    expect(await runReconciler()).toMatchObject({ reconciled: 1, stoppedBy: 'done' });
    expect(await getItem(world.table, page.sid)).toMatchObject({ status: 'undelivered' });
    expect(await fireUnreachableTimers()).toBe(1);
    expect(pagesTo(R2).map((p) => p.body)).toEqual([expect.stringMatching(ackHint(code))]);
    expect(await incidentItem(incidentId)).toMatchObject({ stage: 1, unreachable: new Set([R3]) });
  });

  test('the poll and then the callback both see it: one fallback page', async () => {
    const { incidentId } = await openIncident('poll-and-callback');
    const [page] = pagesTo(R1);
    await twilioLaterSays(page.sid, 'undelivered', 30003);
    expect(await runReconciler()).toMatchObject({ reconciled: 1 });
    await postStatus(page.sid, R1, 'undelivered', '30003');
    expect(await fireUnreachableTimers()).toBe(2);
    expect(pagesTo(W1)).toHaveLength(1);
    expect(await incidentItem(incidentId)).toMatchObject({ fellBack: new Set([R1]), stage: 0 });
  });

  test('the alert queue failing: the polled status is not written, so the next run asks again and sends the timer', async () => {
    const { incidentId } = await openIncident('poll-queue-fails');
    const [page] = pagesTo(R1);
    await twilioLaterSays(page.sid, 'failed', 30008);
    // The timer's attempts (the SDK's retries included) fail.
    world.sqs.failNext(10);
    await expect(runReconciler()).rejects.toThrow();
    world.sqs.failNext(0);
    expect(await getItem(world.table, page.sid)).not.toMatchObject({ status: 'failed' });
    expect(await runReconciler()).toMatchObject({ reconciled: 1 });
    expect(await getItem(world.table, page.sid)).toMatchObject({ status: 'failed' });
    await fireUnreachableTimers();
    expect(pagesTo(W1)).toHaveLength(1);
    expect((await incidentItem(incidentId)).timeline.filter((e) => e.event === 'unreachable')).toHaveLength(1);
  });
});
