import { findPage, renderPage } from '../../lib/cli/page-status';
import { StatusTable } from '../../lib/cli/table';
import type { OperatorRecord } from '../../lib/private/operator-record';
import { childrenOf, readFates } from '../../lambda/shared/table/fates';
import type { SentSqsMessage } from '../support/fake-sqs';
import { useHandlersRig } from '../support/handlers-rig';
import { getItem, TABLE_NAME } from '../support/webhook-rig';
import { batch, context, rawRecord, snsRecord } from '../support/sender-rig';

/*
 * What became of texts held in a storm window and sent inside a digest,
 * through the real handlers (sender, inbound, status callback, reconciler)
 * on one table with the default window (60 s, one text at once): each held
 * text's claim is its fate item under its incident, with the digest's SID
 * and status; a digest that ends undelivered is an undelivered page of each
 * open incident it named (fallback first, else the next stage at once),
 * once. The handlers' clock (Date.now) is moved by the test; each test pages
 * its own addresses.
 */

const OUR_NUMBER = '+15557650000';
const OUR_WHATSAPP = 'whatsapp:+15557650000';
const RECONCILE_AFTER_SECONDS = 300;
/** Stage 1 of every incident (stage 0 is each envelope's `to`). */
const NEXT_STAGE = '+15551450900';
/** Has a fallback. */
const WITH_FALLBACK = '+15551450800';
const FALLBACK = 'whatsapp:+15551450800';
const ADDRESSES = Array.from({ length: 10 }, (_, i) => `+1555145${String(i).padStart(4, '0')}`);

const rig = useHandlersRig({
  senderConfig: {
    from: OUR_NUMBER,
    whatsappFrom: OUR_WHATSAPP,
    defaultRecipients: [ADDRESSES[0]],
    allowedRecipients: [...ADDRESSES, NEXT_STAGE, WITH_FALLBACK, FALLBACK],
    claimLeaseSeconds: 60,
    escalation: { stages: [{ recipients: [ADDRESSES[0]], afterSeconds: 0 }, { recipients: [NEXT_STAGE], afterSeconds: 600 }], repeats: 0, repeatAfterSeconds: 300 },
    fallbacks: { [WITH_FALLBACK]: FALLBACK },
    // No `storm`: the default window.
  },
  handlers: ['sender', 'inbound', 'statusCallback', 'reconciler'],
  reconcileAfterSeconds: RECONCILE_AFTER_SECONDS,
  addresses: ADDRESSES,
});
const { world, twilio, sender, advance, fire, freshAddress, deliver, digestTimers, fireWhenDue, unreachableTimers, fireUnreachableTimers, postStatus, twilioLaterSays, runReconciler, incidentItem, claimOf } = rig;
const { messagesTo: textsTo, reply: postReply } = rig;
let serial = 0;

interface Paged {
  readonly key: string;
  readonly snsId: string;
  readonly incidentId: string;
  readonly code: string;
}
/** Opens an incident whose stage 0 is `to` (an envelope). */
async function page(to: string): Promise<Paged> {
  const key = `df-${++serial}`;
  const snsId = `sns-${key}`;
  expect((await deliver(snsRecord(JSON.stringify({ incidentKey: key, title: key, body: `${key} is down`, to: [to] }), snsId))).batchItemFailures).toEqual([]);
  const incidentId = `incident#${snsId}`;
  const incident = await incidentItem(incidentId);
  expect(incident).toMatchObject({ state: 'open' });
  return { key, snsId, incidentId, code: String(incident.code) };
}

/** Incidents page `to`: the first goes at once, the others wait in its window, and its digest timer fires. Returns them and the digest's message. */
async function digestOfTwo(to: string, beforeFlush?: (held: readonly Paged[]) => Promise<void>, whileSending?: () => Promise<void>): Promise<{ first: Paged; held: Paged[]; digest: { sid: string; body: string }; timer: SentSqsMessage }> {
  const first = await page(to);
  const held = [await page(to), await page(to)];
  expect(textsTo(to)).toHaveLength(1);
  await beforeFlush?.(held);
  const [timer] = digestTimers(to);
  const fired = fireWhenDue(timer);
  await whileSending?.();
  expect((await fired).batchItemFailures).toEqual([]);
  const texts = textsTo(to);
  expect(texts).toHaveLength(2);
  expect(texts[1].body).toMatch(/^\d+ alerts: /);
  return { first, held, digest: texts[1], timer };
}

const RECORD = { version: 1, construct: 'Stack/Alerts', topicArn: 'arn:aws:sns:us-east-1:123456789012:alerts', tableName: TABLE_NAME, recipients: [] } as unknown as OperatorRecord;
const fatesOf = async (parentId: string) => readFates(world.table, TABLE_NAME, await childrenOf(world.table, TABLE_NAME, parentId));

describe('a text sent inside a digest', () => {
  test("its claim is its fate item under its incident: byParent and `status <code>` show the digest's SID and its live status; a redelivered timer changes nothing", async () => {
    const to = freshAddress();
    const { held, digest, timer } = await digestOfTwo(to);

    for (const p of held) {
      // One Query of the byParent index finds the recipient's outcome: its claim.
      expect((await childrenOf(world.table, TABLE_NAME, p.incidentId)).map((i) => i.id.S)).toContain(`claim#${p.snsId}#${to}`);
      const [fate, ...more] = await fatesOf(p.incidentId);
      expect(more).toEqual([]);
      expect(fate).toMatchObject({ kind: 'claim', to, parentId: p.incidentId, notificationId: p.snsId, digest: { id: expect.stringMatching(/^digest#\d+$/), sid: digest.sid }, status: 'queued' });
    }
    await postStatus(digest.sid, to, 'sent');
    await postStatus(digest.sid, to, 'delivered');
    expect((await fatesOf(held[0].incidentId))[0]).toMatchObject({ status: 'delivered', digest: { sid: digest.sid } });

    const report = await findPage(new StatusTable(world.table, TABLE_NAME), held[1].code, RECORD);
    const lines = renderPage(report);
    const masked = `${to.slice(0, 5)}\\*\\*\\*${to.slice(-4)}`.replace('+', '\\+');
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^ +${masked} +sent in digest ${digest.sid} delivered · stage 1$`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`in digest +${masked}: held in its storm window, sent in digest ${digest.sid}$`)));

    // The timer again (SQS delivers at least once): the window moved on; the claims keep their one SID.
    const before = await claimOf(held[0].snsId, to);
    expect((await sender(batch(rawRecord(timer.body)), context())).batchItemFailures).toEqual([]);
    expect(textsTo(to)).toHaveLength(2);
    expect(await claimOf(held[0].snsId, to)).toEqual(before);
  });
});

describe('a digest that ends undelivered', () => {
  test('is an undelivered page of each open incident it named: the next stage at once, once, a duplicate callback included; an incident acknowledged before or after the flush is left alone', async () => {
    const to = freshAddress();
    let ackedBefore: Paged | undefined;
    const { held, digest } = await digestOfTwo(to, async () => {
      // A third held page, acknowledged while held: the digest says `acked` and does not name it as open.
      ackedBefore = await page(to);
      expect((await postReply(to, `ACK ${ackedBefore.code}`)).body).toContain('escalation stopped');
    });
    expect(digest.body).toContain('acked');
    const [open, ackedAfter] = held;
    expect((await postReply(to, `ACK ${ackedAfter.code}`)).body).toContain('escalation stopped');
    expect(await getItem(world.table, digest.sid)).toMatchObject({ incidentIds: [open.incidentId, ackedAfter.incidentId] });
    world.sqs.sent.length = 0;

    await postStatus(digest.sid, to, 'undelivered', '30003');
    await postStatus(digest.sid, to, 'undelivered', '30003');
    expect(await fireUnreachableTimers()).toBeGreaterThanOrEqual(1);
    expect(await fireUnreachableTimers()).toBe(0);

    expect(textsTo(NEXT_STAGE).map((t) => t.body)).toEqual([expect.stringContaining(`ACK ${open.code}`)]);
    const escalated = await incidentItem(open.incidentId);
    expect(escalated).toMatchObject({ state: 'open', stage: 1, unreachable: new Set([to]) });
    expect(escalated.timeline.filter((e) => e.event === 'unreachable')).toEqual([expect.objectContaining({ by: to, detail: 'undelivered 30003' })]);
    expect(escalated.timeline.filter((e) => e.event === 'escalated')).toEqual([expect.objectContaining({ stage: 1, detail: 'unreachable' })]);
    for (const p of [ackedBefore!, ackedAfter]) {
      const incident = await incidentItem(p.incidentId);
      expect(incident).toMatchObject({ state: 'acknowledged', stage: 0 });
      expect(incident.unreachable).toBeUndefined();
      expect(incident.timeline.filter((e) => e.event === 'unreachable' || e.event === 'escalated')).toEqual([]);
    }
  });

  test("seen by the reconciler's poll and then by the callback: the address's fallback gets each open incident's page once, before any stage", async () => {
    const to = WITH_FALLBACK;
    const { held, digest } = await digestOfTwo(to);
    world.sqs.sent.length = 0;
    await twilioLaterSays(digest.sid, 'failed', 30008);
    await runReconciler();
    expect(await getItem(world.table, digest.sid)).toMatchObject({ status: 'failed' });
    await postStatus(digest.sid, to, 'failed', '30008');
    expect(await fireUnreachableTimers()).toBeGreaterThanOrEqual(2);

    for (const p of held) {
      const incident = await incidentItem(p.incidentId);
      expect(incident).toMatchObject({ state: 'open', stage: 0, unreachable: new Set([to]), fellBack: new Set([to]) });
      expect(incident.timeline.filter((e) => e.event === 'unreachable')).toHaveLength(1);
      expect(incident.timeline.filter((e) => e.event === 'fallback')).toEqual([expect.objectContaining({ by: FALLBACK, detail: to })]);
    }
    // The fallback pages: one each, the first sent at once, the other held in the fallback's own window.
    const fallbackKeys = held.map((p) => `${p.incidentId}#fallback#${to}`);
    const window = (await getItem(world.table, `storm#${FALLBACK}`)) as { held: Record<string, unknown> };
    const sentAtOnce = await Promise.all(fallbackKeys.map((k) => claimOf(k, FALLBACK)));
    expect(fallbackKeys.map((k, i) => (sentAtOnce[i]?.state === 'sent' ? 'sent' : k in window.held ? 'held' : 'missing')).sort()).toEqual(['held', 'sent']);
    expect(textsTo(FALLBACK)).toHaveLength(1);
    expect(textsTo(NEXT_STAGE)).toEqual([]);
  });

  test("told before the sender listed the digest's incidents (Twilio's callback beat its 201): the sender's write of the list finds it undelivered and escalates them", async () => {
    const to = freshAddress();
    let digestSid: string | undefined;
    let answer201 = () => {};
    const { held, digest } = await digestOfTwo(
      to,
      async () => {
        // The digest's create is answered only after its undelivered callback.
        twilio.enqueue({ answerAfter: new Promise<void>((resolve) => (answer201 = resolve)) });
      },
      async () => {
        try {
          for (let i = 0; i < 250 && digestSid === undefined; i++) {
            // Twilio has created it (its 201 is held, so the request is not yet `created`).
            digestSid = [...twilio.messages.values()].filter((m) => m.to === to)[1]?.sid;
            if (digestSid === undefined) await new Promise((r) => setTimeout(r, 20));
          }
          expect(digestSid).toBeDefined();
          await postStatus(digestSid!, to, 'undelivered', '30003');
          // No incidents on the item yet: the callback marked nothing.
          expect(unreachableTimers()).toEqual([]);
        } finally {
          answer201();
        }
      },
    );
    expect(digest.sid).toBe(digestSid);
    expect(await getItem(world.table, digest.sid)).toMatchObject({ status: 'undelivered', incidentIds: held.map((p) => p.incidentId) });
    expect(await fireUnreachableTimers()).toBe(2);
    for (const p of held) expect(await incidentItem(p.incidentId)).toMatchObject({ stage: 1, unreachable: new Set([to]) });
  });
});

describe('a digest that never reached Twilio', () => {
  /** Two incidents held in `to`'s window behind a first page, and the digest timer that will send them. */
  async function twoHeld(to: string): Promise<{ held: Paged[]; timer: SentSqsMessage }> {
    await page(to);
    const held = [await page(to), await page(to)];
    expect(textsTo(to)).toHaveLength(1);
    const [timer] = digestTimers(to);
    advance(Math.max(0, timer.timer.dueAt - Date.now() + 5));
    return { held, timer };
  }

  test("refused for good: each held page's fate is `failed` with Twilio's code and why, and each open incident it named escalates past the address at once, once", async () => {
    const to = freshAddress();
    const { held, timer } = await twoHeld(to);
    world.sqs.sent.length = 0;
    twilio.enqueue({ on: 'create', error: { status: 400, code: 21211, message: "The 'To' number is not a valid phone number." } });
    expect((await fire(timer)).batchItemFailures).toEqual([]);
    expect(textsTo(to)).toHaveLength(1);

    for (const p of held) {
      const [fate, ...more] = await fatesOf(p.incidentId);
      expect(more).toEqual([]);
      expect(fate).toMatchObject({ kind: 'claim', to, notificationId: p.snsId, status: 'failed', errorCode: '21211', digest: { id: expect.stringMatching(/^digest#\d+$/) }, reason: expect.stringMatching(/^not sent: its storm digest digest#\d+ was not: .*not a valid phone number/) });
      expect(fate.digest?.sid).toBeUndefined();
    }
    // `status <code>` says so too, not "not accepted yet".
    const lines = renderPage(await findPage(new StatusTable(world.table, TABLE_NAME), held[0].code, RECORD));
    const masked = `${to.slice(0, 5)}\\*\\*\\*${to.slice(-4)}`.replace('+', '\\+');
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^ +${masked} +failed: not sent: its storm digest digest#\\d+ was not: .* \\(21211\\) · stage 1$`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`in digest +${masked}: held in its storm window, its digest digest#\\d+ was not sent$`)));
    expect(lines.join('\n')).not.toContain('not accepted yet');
    expect(await fireUnreachableTimers()).toBe(2);
    for (const p of held) {
      const incident = await incidentItem(p.incidentId);
      expect(incident).toMatchObject({ state: 'open', stage: 1, unreachable: new Set([to]) });
      expect(incident.timeline.filter((e) => e.event === 'unreachable')).toEqual([expect.objectContaining({ by: to, detail: 'failed 21211' })]);
    }
    // Stage 1 paged each: sent at once, or held in the next stage's own storm window (earlier tests paged it too).
    const stageKeys = held.map((p) => `${p.incidentId}#stage#1`);
    const nextWindow = (await getItem(world.table, `storm#${NEXT_STAGE}`)) as { held: Record<string, unknown> } | undefined;
    const stageClaims = await Promise.all(stageKeys.map((k) => claimOf(k, NEXT_STAGE)));
    expect(stageKeys.map((k, i) => stageClaims[i]?.state === 'sent' || (nextWindow !== undefined && k in nextWindow.held))).toEqual([true, true]);

    // The timer again: nothing is sent, no fate changes, nobody is paged twice.
    const before = await Promise.all(held.map((p) => claimOf(p.snsId, to)));
    expect((await fire(timer)).batchItemFailures).toEqual([]);
    expect(await Promise.all(held.map((p) => claimOf(p.snsId, to)))).toEqual(before);
    expect(await fireUnreachableTimers()).toBe(0);
    expect(textsTo(to)).toHaveLength(1);
  });

  test("its outcome unknown (no answer, then Twilio's log unreadable): each held page's fate is `unknown` (outcome-unknown) for an operator, and the incidents keep their scheduled escalation", async () => {
    const to = freshAddress();
    const { held, timer } = await twoHeld(to);
    world.sqs.sent.length = 0;
    twilio.dropNext(1, 'before-create');
    twilio.setFaultInjector((r) => (r.kind === 'list' ? { error: { status: 500, code: 20500 } } : undefined));
    try {
      for (let receive = 0; receive < 8; receive++) {
        await fire(timer);
        if ((await claimOf(held[0].snsId, to))?.status === 'unknown') break;
        // Past the digest claim's lease (claimLeaseSeconds 60), so the next receive looks Twilio up.
        advance(61_000);
      }
    } finally {
      twilio.setFaultInjector(undefined);
    }
    for (const p of held) {
      const [fate] = await fatesOf(p.incidentId);
      expect(fate).toMatchObject({ kind: 'claim', to, status: 'unknown', errorCode: 'outcome-unknown', reason: expect.stringMatching(/^outcome unknown: so is its storm digest digest#\d+'s: Twilio lookup failed 3 times/) });
    }
    const lines = renderPage(await findPage(new StatusTable(world.table, TABLE_NAME), held[0].code, RECORD));
    expect(lines).toContainEqual(expect.stringMatching(/: held in its storm window, its digest digest#\d+'s outcome is unknown$/));
    expect(unreachableTimers()).toEqual([]);
    for (const p of held) expect(await incidentItem(p.incidentId)).toMatchObject({ state: 'open', stage: 0 });
    expect(textsTo(to)).toHaveLength(1);
  });
});
