import { alarmRepeated, fallbackPaged, fallbackStarting, repeatPaged, repeatStarting, resolved, stagePaged, stageStarting, stateNoted, timerScheduled } from '../../shared/incidents/changes';
import type { Incident, Pointer, TimelineEvent } from '../../shared/incidents/items';
import { fallbackNotificationId, incidentIdOf, repeatNotificationId, resolvedNotificationId, stageNotificationId } from '../../shared/incidents/keys';
import type { IncidentStore } from '../../shared/incidents/store';
import { EARLY_TOLERANCE_MS, sendTimer, Timer } from '../../shared/incidents/timers';
import { maskAddress } from '../../shared/mask';
import { countIncidentOpened, countIncidentResolved, countEscalationPaged, countPageRepeated, countTimer, logger } from '../observability';
import type { Deferred, Delivery, DeliveryResult } from '../send';
import { codeCandidates } from './codes';
import { commandOf, dueStep, IncidentCommand, nextTimer, PageContent, pageNotification, Step, stageRecipients, timerKey } from './decide';
import type { EscalationPlan } from './escalation';
import { dueFallback, NO_FALLBACKS } from './fallbacks';
import { resolvedText } from './texts';

/*
 * The incident flow in the sender (ARCHITECTURE.md, "Incidents"):
 *
 * - ALARM (or an envelope with incidentKey) → open: reserve a code, take the
 *   key's live pointer, create the incident, page stage 0 with `ACK <code>`.
 *   Each step is conditional, so a redelivered or concurrent opening ends in
 *   one incident; the loser of a race for the pointer counts as a repeat.
 * - ALARM while the key has a live incident → a repeat: counted, nobody paged.
 * - OK (or resolve: true) → resolve the live incident once and send one
 *   RESOLVED to every address it paged; an OK with no live incident pages
 *   nobody (a notice records it).
 * - INSUFFICIENT_DATA (any other state) → noted on a live incident; with none
 *   live, sent as a plain text as before incidents (see README, "On-call").
 * - A timer → re-read the incident and do what is due: the fallback page of
 *   an address that became unreachable (SENDER_CONFIG.fallbacks, once per
 *   address), the next stage at its time (or at once when its predecessor
 *   all counts unreachable: fallbacks.ts), repeats; then schedule the next
 *   timer. The webhooks' timer (reason `unreachable`) is what brings a
 *   fallback or the shortcut at once.
 *
 * Exactly-once sending stays with the send claims: stage 0 is claimed under
 * the opening notification's id, later stages, repeats and RESOLVED under
 * ids derived from the incident (shared/incidents/keys.ts), a fallback's page
 * under one per unreachable address. What each step
 * records, and the condition it needs, is in shared/incidents/changes.ts.
 */

export type FlowOutcome = 'done' | 'retry' | Deferred;

export interface FlowResult {
  readonly outcome: FlowOutcome;
  /** Some text was sent in this invocation. */
  readonly progressed: boolean;
  /** Not an incident matter after all: send it as a plain notification (an alarm state noted nowhere). */
  readonly plain?: boolean;
}

export interface IncidentContext {
  readonly store: IncidentStore;
  readonly plan: EscalationPlan;
  readonly allowUnicode: boolean;
  readonly alertQueueUrl?: string;
  /** How long an opening may hold a key's pointer without its incident before it counts as abandoned. */
  readonly claimLeaseMs: number;
  readonly deliver: (d: Delivery) => Promise<DeliveryResult>;
  /** The recipients among these the sender may send to (allowed, a sender for their channel). */
  readonly sendable: (recipients: readonly string[]) => string[];
}

const DONE: FlowResult = { outcome: 'done', progressed: false };
/** A pointer whose incident another invocation is creating: read again this often, this many times, then defer. */
const OPENING_POLL_MS = 100;
const OPENING_POLLS = 10;
const OPENING_WAIT_MS = 2_000;

const iso = (ms: number) => new Date(ms).toISOString();

/** The combined outcome of several steps: any retry wins, then the latest deferral. */
function combine(a: FlowResult, b: FlowResult): FlowResult {
  const progressed = a.progressed || b.progressed;
  if (a.outcome === 'retry' || b.outcome === 'retry') return { outcome: 'retry', progressed };
  if (typeof a.outcome === 'object' || typeof b.outcome === 'object') {
    const until = Math.max(typeof a.outcome === 'object' ? a.outcome.deferUntil : 0, typeof b.outcome === 'object' ? b.outcome.deferUntil : 0);
    return { outcome: { deferUntil: until }, progressed };
  }
  return { outcome: 'done', progressed };
}

export { commandOf };

/** Handles a notification that concerns incidents (commandOf). */
export async function handleIncidentNotification(cmd: IncidentCommand, notificationId: string, ictx: IncidentContext): Promise<FlowResult> {
  switch (cmd.action) {
    case 'open':
      return open(cmd, notificationId, ictx);
    case 'resolve':
      return resolve(cmd.incidentKey, notificationId, ictx);
    case 'note':
      return note(cmd.incidentKey, cmd.state, notificationId, ictx);
  }
}

/** The key's live incident, if it has one; `opening` when another invocation is creating it right now. */
async function liveIncident(pointer: Pointer | undefined, ictx: IncidentContext): Promise<Incident | 'opening' | undefined> {
  if (!pointer) return undefined;
  let incident = await ictx.store.incident(pointer.incidentId);
  const young = () => Date.now() - Date.parse(pointer.openedAt) < ictx.claimLeaseMs;
  // Two notifications of one key in one batch: the winner creates its incident moments after taking the pointer.
  for (let i = 0; !incident && young() && i < OPENING_POLLS; i++) {
    await new Promise((r) => setTimeout(r, OPENING_POLL_MS));
    incident = await ictx.store.incident(pointer.incidentId);
  }
  if (incident && incident.state !== 'resolved') return incident;
  if (!incident && young()) return 'opening';
  // Resolved (its resolver is still sending RESOLVED, or crashed before ending the pointer) or abandoned: the key is free.
  await ictx.store.releaseKey(pointer.incidentKey, pointer.incidentId);
  if (incident) await ictx.store.releaseCode(incident.code, incident.id);
  logger.info('stale incident pointer ended', { incidentKey: pointer.incidentKey, incidentId: pointer.incidentId, state: incident?.state ?? 'missing' });
  return undefined;
}

async function open(cmd: Extract<IncidentCommand, { action: 'open' }>, notificationId: string, ictx: IncidentContext): Promise<FlowResult> {
  const { store } = ictx;
  const id = incidentIdOf(notificationId);
  const stage0 = cmd.stage0To ?? ictx.plan.stages[0].recipients;
  // One round trip for everything the opening needs to know; the opt-outs are read even when the key turns out to be live (a repeat), which is rare.
  const [existing, firstPointer, optedOut] = await Promise.all([store.incident(id), store.pointer(cmd.incidentKey), store.optedOut(stage0)]);
  // A redelivered opening: finish what the first delivery started.
  if (existing) return afterOpening(existing, ictx, optedOut);

  let pointer = firstPointer;
  let code: string | undefined;
  for (let attempt = 0; attempt < 3 && code === undefined; attempt++) {
    if (pointer && pointer.incidentId === id) {
      code = pointer.code;
      break;
    }
    const live = await liveIncident(pointer, ictx);
    if (live === 'opening') return { outcome: { deferUntil: Date.now() + OPENING_WAIT_MS }, progressed: false };
    if (live) return repeatAlarm(live, notificationId, ictx);
    const reserved = await store.reserveCode(id, codeCandidates(id), Date.now());
    const claim = await store.claimKey(cmd.incidentKey, id, reserved, Date.now());
    if (claim.won) code = reserved;
    else {
      // Another notification opened the key's incident first: ours is a repeat of it.
      await store.releaseCode(reserved, id);
      pointer = claim.existing;
    }
  }
  if (code === undefined) return { outcome: 'retry', progressed: false };

  const now = Date.now();
  const paged = ictx.sendable(stage0).filter((a) => !optedOut.has(a));
  // Opted-out addresses get their timeline events from stage 0's delivery, which records them failed.
  const events: TimelineEvent[] = [{ at: iso(now), event: 'opened', detail: notificationId }];
  const { created, incident } = await store.create(
    { id, incidentKey: cmd.incidentKey, code, title: cmd.title, openedBy: notificationId, page: JSON.stringify(cmd.page), paged, unreachable: [...optedOut], ...(cmd.stage0To ? { stage0To: cmd.stage0To } : {}), events },
    now,
  );
  if (created) {
    countIncidentOpened();
    logger.info('incident opened', { incidentId: id, code, incidentKey: cmd.incidentKey, recipients: stage0.length, optedOut: optedOut.size });
  }
  return afterOpening(incident, ictx, optedOut);
}

/** Stage 0 (again, on a redelivery: the claims send nothing twice), then whatever is due at once, then the next timer. */
async function afterOpening(incident: Incident, ictx: IncidentContext, optedOut: ReadonlySet<string>): Promise<FlowResult> {
  if (incident.state !== 'open') return settleStopped(incident, ictx);
  const { result, incident: after } = await pageStage(incident, { kind: 'stage', stage: 0, shortcut: false }, ictx, optedOut);
  if (result.outcome !== 'done') return result;
  return combine(result, await advance(after ?? incident, ictx));
}

async function repeatAlarm(live: Incident, notificationId: string, ictx: IncidentContext): Promise<FlowResult> {
  if (await ictx.store.recordNotice(notificationId, { outcome: 'repeat-alarm', incidentId: live.id }, { incidentKey: live.incidentKey }, Date.now())) {
    await ictx.store.change(live.id, alarmRepeated(notificationId, iso(Date.now())), Date.now());
  }
  logger.info('alarm repeated while its incident is live: nobody paged', { notificationId, incidentId: live.id, state: live.state });
  return DONE;
}

async function note(incidentKey: string, state: string, notificationId: string, ictx: IncidentContext): Promise<FlowResult> {
  const live = await liveIncident(await ictx.store.pointer(incidentKey), ictx);
  if (live === 'opening') return { outcome: { deferUntil: Date.now() + OPENING_WAIT_MS }, progressed: false };
  if (!live) return { ...DONE, plain: true };
  if (await ictx.store.recordNotice(notificationId, { outcome: 'state-change', incidentId: live.id }, { incidentKey, state }, Date.now())) {
    await ictx.store.change(live.id, stateNoted(state, iso(Date.now())), Date.now());
  }
  logger.info('alarm state noted on its live incident: nobody paged', { notificationId, incidentId: live.id, state });
  return DONE;
}

async function resolve(incidentKey: string, notificationId: string, ictx: IncidentContext): Promise<FlowResult> {
  const { store } = ictx;
  // A redelivered OK finishes the incident it started to resolve, never one opened since.
  const notice = await store.notice(notificationId);
  if (notice) return notice.outcome === 'resolve' && notice.incidentId ? finishResolve(notice.incidentId, notificationId, ictx) : DONE;
  const live = await liveIncident(await store.pointer(incidentKey), ictx);
  if (live === 'opening') return { outcome: { deferUntil: Date.now() + OPENING_WAIT_MS }, progressed: false };
  if (!live) {
    await store.recordNotice(notificationId, { outcome: 'no-live-incident' }, { incidentKey }, Date.now());
    logger.info('OK with no live incident: nobody paged', { notificationId, incidentKey });
    return DONE;
  }
  if (!(await store.recordNotice(notificationId, { outcome: 'resolve', incidentId: live.id }, { incidentKey }, Date.now()))) {
    // A concurrent delivery of the same notification recorded it first: follow what it recorded.
    const recorded = await store.notice(notificationId);
    return recorded?.outcome === 'resolve' && recorded.incidentId ? finishResolve(recorded.incidentId, notificationId, ictx) : DONE;
  }
  return finishResolve(live.id, notificationId, ictx);
}

async function finishResolve(incidentId: string, notificationId: string, ictx: IncidentContext): Promise<FlowResult> {
  const { store } = ictx;
  const now = Date.now();
  let incident = await store.change(incidentId, resolved(notificationId, iso(now)), now);
  if (incident) {
    countIncidentResolved();
    logger.info('incident resolved', { incidentId, notificationId, paged: incident.paged.length });
  } else {
    incident = await store.incident(incidentId);
    // Resolved by another notification: that one sends the RESOLVED texts.
    if (!incident || incident.resolvedBy !== notificationId) return DONE;
  }
  const text = resolvedText(incident.title, incident.openedAt, incident.resolvedAt ?? iso(now), ictx.allowUnicode);
  const optedOut = await store.optedOut(incident.paged);
  const sent = await ictx.deliver({
    notification: { kind: 'text', text },
    notificationId: resolvedNotificationId(incidentId),
    recipients: incident.paged,
    incidentId,
    page: false,
    refused: new Map([...optedOut].map((a) => [a, 'opted-out'])),
  });
  if (sent.outcome !== 'done') return { outcome: sent.outcome, progressed: sent.progressed };
  // Every RESOLVED settled: the key and the code are free for the next occurrence.
  await Promise.all([store.releaseCode(incident.code, incidentId), store.releaseKey(incident.incidentKey, incidentId)]);
  return { outcome: 'done', progressed: sent.progressed };
}

/** Fires a timer: chained again when it came early, else the incident re-read and what is due done. */
export async function fireTimer(timer: Timer, ictx: IncidentContext): Promise<FlowResult> {
  const left = timer.dueAt - Date.now();
  if (left > EARLY_TOLERANCE_MS) {
    if (!ictx.alertQueueUrl) throw new Error(`${timer.incidentId}: a timer came early and ALERT_QUEUE_URL is not set to send it on`);
    const delaySeconds = await sendTimer(ictx.alertQueueUrl, timer, Date.now());
    logger.info('timer not due yet: sent on', { incidentId: timer.incidentId, timer: timer.timer, dueAt: iso(timer.dueAt), delaySeconds });
    return DONE;
  }
  // SQS counts whole seconds: a timer a little early waits here rather than fire before its time.
  if (left > 0) await new Promise((r) => setTimeout(r, left));
  const incident = await ictx.store.incident(timer.incidentId);
  if (!incident || incident.state !== 'open') {
    countTimer(false);
    logger.info('timer for an incident that is not open: nothing to page', { incidentId: timer.incidentId, timer: timer.timer, state: incident?.state ?? 'missing' });
    return incident ? settleStopped(incident, ictx) : DONE;
  }
  const { stepped, ...result } = await advance(incident, ictx);
  countTimer(stepped);
  return result;
}

/** Does every step due now, in order, then hands the next timer to SQS. */
async function advance(start: Incident, ictx: IncidentContext): Promise<FlowResult & { stepped: boolean }> {
  let incident: Incident | undefined = start;
  let result: FlowResult = DONE;
  let stepped = false;
  const fallbacks = ictx.plan.fallbacks ?? NO_FALLBACKS;
  // Bounded: each step moves the stage, the repeat count or the fallen-back addresses on, and a lost race only re-reads.
  for (let i = 0; incident && i < ictx.plan.stages.length + ictx.plan.repeats + fallbacks.size + 3; i++) {
    // A fallback first: the address it stands for counts unreachable only once the fallback does too.
    const fallback = incident.state === 'open' ? dueFallback(incident, fallbacks) : undefined;
    const step = fallback ? undefined : dueStep(incident, ictx.plan, Date.now());
    if (!fallback && !step) break;
    const done: StepResult = await (fallback
      ? pageFallback(incident, fallback.address, fallback.fallback, ictx)
      : step!.kind === 'stage'
        ? pageStage(incident, step!, ictx)
        : pageRepeat(incident, step!.repeat, ictx));
    result = combine(result, done.result);
    if (done.result.outcome !== 'done') return { ...result, stepped: true };
    stepped = stepped || done.recorded;
    incident = done.incident ?? (await ictx.store.incident(incident.id));
  }
  if (incident) await schedule(incident, ictx);
  return { ...result, stepped };
}

/**
 * An incident that stopped paging (acknowledged or resolved) while this
 * record's delivery was under way, say a crash after a POST: the sends it
 * had claimed are settled, and nothing new is sent (send.ts settleOnly).
 * The steps that can be under way are those not recorded done: stage 0
 * (whose end is not recorded), every stage above the recorded one, the next
 * repeat, and the fallback of each unreachable address not yet fallen back.
 * The record that started a step is the one redelivered, so its fate is
 * settled here, not left pending.
 */
async function settleStopped(incident: Incident, ictx: IncidentContext): Promise<FlowResult> {
  const { plan } = ictx;
  const steps: Array<{ readonly notificationId: string; readonly recipients: readonly string[] }> = [];
  plan.stages.forEach((_, k) => {
    if (k === 0 || k > incident.stage) steps.push({ notificationId: k === 0 ? incident.openedBy : stageNotificationId(incident.id, k), recipients: stageAddresses(incident, plan, k) });
  });
  if (incident.pageRepeats < plan.repeats) steps.push({ notificationId: repeatNotificationId(incident.id, incident.pageRepeats + 1), recipients: incident.paged });
  for (const [address, fallback] of plan.fallbacks ?? NO_FALLBACKS) {
    if (incident.unreachable.includes(address) && !incident.fellBack?.includes(address)) steps.push({ notificationId: fallbackNotificationId(incident.id, address), recipients: [fallback] });
  }
  const notification = pageNotification(JSON.parse(incident.page) as PageContent, incident.code);
  const settled = await Promise.all(steps.map((step) => ictx.deliver({ notification, ...step, incidentId: incident.id, page: true, settleOnly: true })));
  return settled.reduce<FlowResult>((all, one) => combine(all, { outcome: one.outcome, progressed: one.progressed }), DONE);
}

/** Hands the incident's next timer to SQS unless the incident records it as handed already. */
async function schedule(incident: Incident, ictx: IncidentContext): Promise<void> {
  const timer = nextTimer(incident, ictx.plan);
  if (!timer || incident.nextTimer === timerKey(timer)) return;
  if (!ictx.alertQueueUrl) {
    logger.error('escalation needs a timer but ALERT_QUEUE_URL is not set: later stages and repeats will not be sent', { incidentId: incident.id, timer: timerKey(timer) });
    return;
  }
  const delaySeconds = await sendTimer(ictx.alertQueueUrl, timer, Date.now());
  await ictx.store.change(incident.id, timerScheduled(timerKey(timer)), Date.now());
  logger.debug('timer scheduled', { incidentId: incident.id, timer: timerKey(timer), dueAt: iso(timer.dueAt), delaySeconds });
}

interface StepResult {
  readonly result: FlowResult;
  /** The incident after the step's record, when it was written. */
  readonly incident?: Incident;
  /** The step was recorded by this invocation (not by a concurrent one). */
  readonly recorded: boolean;
}

/** Timeline events and unreachable addresses from what became of each recipient in this invocation. */
function outcomes(sent: DeliveryResult, stage: number | undefined, optedOut: ReadonlySet<string>, now: number): { events: TimelineEvent[]; unreachable: string[] } {
  const events: TimelineEvent[] = [];
  const unreachable = new Set(optedOut);
  for (const [address, { state, now: settledNow }] of sent.settled) {
    if (state === 'failed') unreachable.add(address);
    if (!settledNow) continue;
    const event = state === 'sent' ? 'paged' : state === 'failed' ? 'unreachable' : 'page-unknown';
    events.push({ at: iso(now), event, by: address, ...(stage !== undefined ? { stage } : {}), ...(optedOut.has(address) ? { detail: 'opted-out' } : {}) });
  }
  return { events, unreachable: [...unreachable] };
}

/** A stage's addresses not in an earlier stage (those were paged then). */
function stageAddresses(incident: Incident, plan: EscalationPlan, stage: number): string[] {
  const earlier = new Set(Array.from({ length: stage }, (_, k) => stageRecipients(incident, plan, k)).flat());
  return stageRecipients(incident, plan, stage).filter((a) => !earlier.has(a));
}

/**
 * Pages one stage: its addresses not in an earlier stage (those were paged
 * then), minus opt-outs (recorded failed, counted unreachable). Not "not in
 * `paged`": this stage's own guard adds its addresses there before the send,
 * so a redo after a crash between the two would page nobody.
 */
async function pageStage(incident: Incident, step: Extract<Step, { kind: 'stage' }>, ictx: IncidentContext, knownOptedOut?: ReadonlySet<string>): Promise<StepResult> {
  const { store } = ictx;
  const { stage } = step;
  const recipients = stageAddresses(incident, ictx.plan, stage);
  const optedOut = knownOptedOut ?? (await store.optedOut(recipients));
  if (stage > 0) {
    // Recorded before the send, so that an ACK from a paged address finds it however slow the rest of the stage is; refused once the incident is no longer open.
    const toPage = ictx.sendable(recipients).filter((a) => !optedOut.has(a));
    const touched = await store.change(incident.id, stageStarting(stage, toPage), Date.now());
    if (!touched) return { result: DONE, recorded: false };
  }
  const sent = await deliverPage(incident, stage === 0 ? incident.openedBy : stageNotificationId(incident.id, stage), recipients, optedOut, ictx);
  const now = Date.now();
  const { events, unreachable } = outcomes(sent, stage, optedOut, now);
  const complete = sent.outcome === 'done';
  if (stage > 0 && complete) events.unshift({ at: iso(now), event: 'escalated', stage, ...(step.shortcut ? { detail: 'unreachable' } : {}) });
  const after = events.length > 0 || unreachable.length > 0 || (stage > 0 && complete) ? await store.change(incident.id, stagePaged(stage, { complete, unreachable, events }), now) : undefined;
  const recorded = stage > 0 && complete && after !== undefined;
  if (recorded) {
    countEscalationPaged();
    logger.info('escalation stage paged', { incidentId: incident.id, stage, shortcut: step.shortcut, recipients: recipients.length, optedOut: optedOut.size });
  }
  for (const a of optedOut) logger.info('opted-out address not paged', { incidentId: incident.id, stage, to: maskAddress(a) });
  return { result: { outcome: sent.outcome, progressed: sent.progressed }, ...(after ? { incident: after } : {}), recorded };
}

/** The incident's page, with its `ACK <code>`, to `recipients` under `notificationId`; opted-out ones recorded refused, not sent to. */
function deliverPage(incident: Incident, notificationId: string, recipients: readonly string[], optedOut: ReadonlySet<string>, ictx: IncidentContext) {
  return ictx.deliver({
    notification: pageNotification(JSON.parse(incident.page) as PageContent, incident.code),
    notificationId,
    recipients,
    incidentId: incident.id,
    page: true,
    refused: new Map([...optedOut].map((a) => [a, 'opted-out'])),
  });
}

/**
 * Pages `fallback` for the unreachable `address`: the incident's page with
 * its `ACK <code>`, claimed under the address's fallback notification id so
 * it is sent once however many timers ask. The fallback joins `paged`
 * before the send (it may acknowledge); `fellBack` records the address once
 * every claim settled, with a `fallback` timeline event. A fallback that
 * opted out or that Twilio refuses is unreachable at once.
 */
async function pageFallback(incident: Incident, address: string, fallback: string, ictx: IncidentContext): Promise<StepResult> {
  const { store } = ictx;
  if (!(await store.change(incident.id, fallbackStarting(address, fallback), Date.now()))) return { result: DONE, recorded: false };
  const optedOut = await store.optedOut([fallback]);
  const sent = await deliverPage(incident, fallbackNotificationId(incident.id, address), [fallback], optedOut, ictx);
  const now = Date.now();
  const { events, unreachable } = outcomes(sent, undefined, optedOut, now);
  const complete = sent.outcome === 'done';
  if (complete) events.unshift({ at: iso(now), event: 'fallback', by: fallback, detail: address });
  const after = complete || events.length > 0 || unreachable.length > 0 ? await store.change(incident.id, fallbackPaged(address, { complete, unreachable, events }), now) : undefined;
  const recorded = complete && after !== undefined;
  if (recorded) logger.info('fallback paged for an unreachable address', { incidentId: incident.id, to: maskAddress(fallback), for: maskAddress(address), unreachable: unreachable.length > 0 });
  return { result: { outcome: sent.outcome, progressed: sent.progressed }, ...(after ? { incident: after } : {}), recorded };
}

/** Pages everyone paged so far again (repeat `n`), unless the incident stopped being open meanwhile. */
async function pageRepeat(incident: Incident, repeat: number, ictx: IncidentContext): Promise<StepResult> {
  const { store } = ictx;
  if (!(await store.change(incident.id, repeatStarting(repeat), Date.now()))) return { result: DONE, recorded: false };
  const optedOut = await store.optedOut(incident.paged);
  const sent = await ictx.deliver({
    notification: pageNotification(JSON.parse(incident.page) as PageContent, incident.code),
    notificationId: repeatNotificationId(incident.id, repeat),
    recipients: incident.paged,
    incidentId: incident.id,
    page: true,
    refused: new Map([...optedOut].map((a) => [a, 'opted-out'])),
  });
  const now = Date.now();
  const { events, unreachable } = outcomes(sent, undefined, optedOut, now);
  const complete = sent.outcome === 'done';
  if (complete) events.unshift({ at: iso(now), event: 'repeated', detail: String(repeat) });
  const after = await store.change(incident.id, repeatPaged(repeat, { complete, unreachable, events }), now);
  const recorded = complete && after !== undefined;
  if (recorded) {
    countPageRepeated();
    logger.info('page repeated', { incidentId: incident.id, repeat, recipients: incident.paged.length });
  }
  return { result: { outcome: sent.outcome, progressed: sent.progressed }, ...(after ? { incident: after } : {}), recorded };
}
