import { FATE_CODE } from '../../lambda/shared/table/claims';
import type { SenderEscalation } from '../../lib/contract';
import type { FakeMessage } from '../support/fake-twilio';
import { LocalPipeline, twilioText, until } from '../pipeline/local-pipeline';

/*
 * Escalations under the reliability suite's fault mix: incidents of a
 * three-stage escalation with a repeat (seconds apart), some never answered,
 * some acknowledged at stage 1 or stage 2, each resolved by its OK; then an
 * account of every incident from the table and Twilio's messages: no page
 * twice, no stage skipped, no timer lost, nothing paged after an ACK.
 */

/** Stage 1, stage 2 (an SMS and a WhatsApp address), stage 3. None ends in 7 or 8 (the fake network's unreachable numbers). */
export const ESC = { first: '+15550106001', second: ['+15550106002', 'whatsapp:+15550106003'], third: '+15550106004' } as const;

export const ESCALATION: SenderEscalation = {
  stages: [
    { recipients: [ESC.first], afterSeconds: 0 },
    { recipients: [...ESC.second], afterSeconds: 2 },
    { recipients: [ESC.third], afterSeconds: 4 },
  ],
  repeats: 1,
  repeatAfterSeconds: 2,
};

/** The ACK's receivedAt and its write: a step due later than this after it cannot pass its guard. */
const ACK_WRITE_MS = 1_000;

export type EscalationKind = 'unanswered' | 'ack at stage 1' | 'ack at stage 2';
export const ESCALATION_KINDS: readonly EscalationKind[] = ['unanswered', 'ack at stage 1', 'ack at stage 2'];

export interface EscalationRun {
  readonly kind: EscalationKind;
  /** The alarm's name: unique, in every text of the incident. */
  readonly name: string;
  readonly notificationId: string;
  readonly incidentId: string;
  /** Who replied `ACK <code>`, and Twilio's answer's body. */
  ackFrom?: string;
  answer?: { status: number; body: string };
  /** What the run waited for and never saw (a lost timer, most likely). */
  waitedOut?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The code in a page's hint: its last `ACK <code>` (a WhatsApp template's text sits inside ContentVariables' JSON). */
const codeOf = (m: FakeMessage) => [...twilioText(m).matchAll(/\bACK ([A-Z0-9]{1,6})\b/g)].at(-1)?.[1];
const lastStageDueMs = () => ESCALATION.stages[ESCALATION.stages.length - 1].afterSeconds * 1000;
export const repeatDueMs = (n: number) => lastStageDueMs() + n * ESCALATION.repeatAfterSeconds * 1000;

/**
 * Opens one incident and plays its part: never answered (waits until the
 * repeat reached everyone), or `ACK <code>` from the address of stage 1 or
 * stage 2 once its page arrived (then waits past the repeat's time); then
 * publishes the OK.
 */
export async function playIncident(p: LocalPipeline, kind: EscalationKind, name: string, index: number, waitMs: number): Promise<EscalationRun> {
  const notificationId = p.publishAlarm({ AlarmName: name }, false);
  const run: EscalationRun = { kind, name, notificationId, incidentId: `incident#${notificationId}` };
  const everyone = [ESC.first, ...ESC.second, ESC.third];
  try {
    if (kind === 'unanswered') {
      // Every address has its stage's page and the repeat.
      await until(`${name}: the repeat to everyone`, () => everyone.every((a) => p.sentTo(a, name).length >= 2), waitMs);
    } else {
      const from = kind === 'ack at stage 1' ? ESC.first : ESC.second[index % ESC.second.length];
      const page = await until(`${name}: the page to ${kind === 'ack at stage 1' ? 'stage 1' : 'stage 2'}`, () => p.sentTo(from, name)[0], waitMs);
      run.ackFrom = from;
      const answer = await p.reply(from, `ACK ${codeOf(page) ?? '?'}`);
      run.answer = { status: answer.status, body: answer.body };
      const openedAt = Date.parse(String((await p.item(run.incidentId))?.openedAt));
      // Past the repeat's time: whatever the ACK stopped would have come by now.
      await sleep(Math.max(0, openedAt + repeatDueMs(1) + 1500 - Date.now()));
    }
  } catch (err) {
    run.waitedOut = (err as Error).message;
  }
  p.publishAlarm({ AlarmName: name, NewStateValue: 'OK', OldStateValue: 'ALARM' }, false);
  return run;
}

/** The ids an incident's texts are claimed under: stage 0 under the opening ALARM's, the rest derived from the incident. */
export function stepIds(run: Pick<EscalationRun, 'notificationId' | 'incidentId'>): { stages: string[]; repeats: string[]; resolved: string } {
  return {
    stages: ESCALATION.stages.map((_, k) => (k === 0 ? run.notificationId : `${run.incidentId}#stage#${k}`)),
    repeats: Array.from({ length: ESCALATION.repeats }, (_, n) => `${run.incidentId}#repeat#${n + 1}`),
    resolved: `${run.incidentId}#resolved`,
  };
}

export interface EscalationTally {
  readonly incidents: number;
  /** Pages sent (every stage and repeat, per address). */
  readonly pages: number;
  /** Stages paged after stage 1. */
  readonly escalations: number;
  readonly repeats: number;
  readonly resolvedTexts: number;
  /** Extra Twilio messages for one (step, address), or a message no claim accounts for. */
  readonly duplicates: number;
  /** A stage left out below one paged, a stage paged to only some of its addresses, an incident whose `stage` is not its highest paged. */
  readonly skipped: number;
  /** A step a run waited for in vain (the repeat of an unanswered incident, the page an ACK answers), a timer left in the DLQ. */
  readonly timersLost: number;
  /** A stage or repeat due after the ACK that was paged anyway. */
  readonly pagedAfterAck: number;
  /** An ACK not answered with its confirmation, or not recorded as its replier's. */
  readonly wrongAcks: number;
  /** An incident not resolved, or an address it paged without its RESOLVED. */
  readonly unresolved: number;
  /** Texts recorded as sent that Twilio never created. */
  readonly lost: number;
  /** Stages an ACK stopped while they were being paged (part of their addresses paged, or their record not written): allowed, counted. */
  readonly cutShort: number;
  /** Pages whose claimed send had not reached Twilio when the ACK came, settled `page-stopped` (never sent): allowed, counted. */
  readonly stoppedPages: number;
  /** How long after its time the latest step was claimed (ms): a timer's lateness. */
  readonly latestStepMs: number;
  readonly problems: readonly string[];
}

type Item = Record<string, unknown>;
const asList = (v: unknown): string[] => (v instanceof Set ? [...(v as Set<string>)] : Array.isArray(v) ? (v as string[]) : []);

/** Accounts for every run's incident from the table's items, Twilio's messages and the alert queue's DLQ. */
/** The tally's counters, counted up as the runs are accounted for. */
type Counts = { -readonly [K in Exclude<keyof EscalationTally, 'incidents' | 'problems'>]: number };

export function escalationTally(runs: readonly EscalationRun[], items: readonly Item[], twilioMessages: readonly FakeMessage[], dlqBodies: readonly string[] = []): EscalationTally {
  const byId = new Map(items.map((i) => [String(i.id), i]));
  const claimsOf = new Map<string, Item[]>();
  for (const i of items) if (i.kind === 'claim') claimsOf.set(String(i.notificationId), [...(claimsOf.get(String(i.notificationId)) ?? []), i]);
  const problems: string[] = [];
  const count: Counts = { pages: 0, escalations: 0, repeats: 0, resolvedTexts: 0, duplicates: 0, skipped: 0, timersLost: 0, pagedAfterAck: 0, wrongAcks: 0, unresolved: 0, lost: 0, cutShort: 0, stoppedPages: 0, latestStepMs: 0 };
  const problem = (run: EscalationRun, what: string) => problems.push(`${run.name} (${run.kind}): ${what}`);

  for (const run of runs) {
    const incident = byId.get(run.incidentId);
    if (!incident) {
      problem(run, 'no incident');
      count.unresolved++;
      continue;
    }
    const ids = stepIds(run);
    const openedAt = Date.parse(String(incident.openedAt));
    const sent = (id: string) => (claimsOf.get(id) ?? []).filter((c) => c.state === 'sent');
    const paged = ids.stages.map((id) => (claimsOf.get(id) ?? []).length > 0);
    const highest = paged.lastIndexOf(true);

    // No stage skipped.
    for (let k = 0; k < highest; k++) {
      if (!paged[k]) {
        count.skipped++;
        problem(run, `stage ${k + 1} skipped below stage ${highest + 1}`);
      }
    }
    // An ACK that lands while a stage is being paged stops the rest of it, and its record: the one exception.
    const acknowledged = incident.acknowledgedAt !== undefined;
    ESCALATION.stages.forEach((stage, k) => {
      if (!paged[k]) return;
      const to = new Set(sent(ids.stages[k]).map((c) => String(c.recipient)));
      const missing = stage.recipients.filter((a) => !to.has(a));
      if (missing.length === 0) return;
      if (acknowledged && k === highest) count.cutShort++;
      else {
        count.skipped++;
        problem(run, `stage ${k + 1} paged without ${missing.length} of its addresses`);
      }
    });
    const recorded = Number(incident.stage);
    if (recorded > highest || (recorded < highest && !acknowledged)) {
      count.skipped++;
      problem(run, `stage ${recorded + 1} recorded, stage ${highest + 1} paged`);
    } else if (recorded < highest) count.cutShort++;
    const repeated = ids.repeats.map((id) => (claimsOf.get(id) ?? []).length > 0);
    if (repeated.some(Boolean) && highest !== ESCALATION.stages.length - 1) {
      count.skipped++;
      problem(run, 'a repeat before the last stage');
    }

    // No timer lost: what a run waited for came (an unanswered incident: every stage and the repeat; an acknowledged one: the
    // page it answered). How late each step came after its time is measured (its first send claim), not judged here.
    const due = [...ESCALATION.stages.map((s, k) => ({ what: `stage ${k + 1}`, id: ids.stages[k], at: openedAt + s.afterSeconds * 1000, done: paged[k] })), ...repeated.map((done, n) => ({ what: `repeat ${n + 1}`, id: ids.repeats[n], at: openedAt + repeatDueMs(n + 1), done }))];
    for (const step of due) {
      const first = Math.min(...(claimsOf.get(step.id) ?? []).map((c) => Date.parse(String(c.createdAt))).filter(Number.isFinite));
      if (step.done && Number.isFinite(first)) count.latestStepMs = Math.max(count.latestStepMs, first - step.at);
    }
    if (run.waitedOut) {
      count.timersLost++;
      problem(run, run.waitedOut);
    }

    // Nothing paged after the ACK.
    if (incident.acknowledgedAt !== undefined) {
      const ackedAt = Date.parse(String(incident.acknowledgedAt));
      for (const step of due.slice(1)) {
        if (step.done && step.at > ackedAt + ACK_WRITE_MS) {
          count.pagedAfterAck++;
          problem(run, `${step.what}, due ${step.at - ackedAt} ms after the ACK, was paged`);
        }
      }
    }
    if (run.ackFrom !== undefined) {
      const confirmation = `<?xml version="1.0" encoding="UTF-8"?><Response><Message>ACK ${run.name} (${String(incident.code)}): escalation stopped</Message></Response>`;
      if (run.answer?.status !== 200 || run.answer.body !== confirmation || incident.acknowledgedBy !== run.ackFrom) {
        count.wrongAcks++;
        problem(run, `ACK answered ${run.answer?.status} ${run.answer?.body}, acknowledged by ${String(incident.acknowledgedBy)}`);
      }
    }

    // RESOLVED to everyone paged, once the incident resolved.
    const pagedAddresses = asList(incident.paged);
    const resolvedTo = new Set(sent(ids.resolved).map((c) => String(c.recipient)));
    if (incident.state !== 'resolved' || pagedAddresses.some((a) => !resolvedTo.has(a))) {
      count.unresolved++;
      problem(run, `state ${String(incident.state)}, RESOLVED to ${resolvedTo.size} of ${pagedAddresses.length}`);
    }

    // No page twice: Twilio's messages with the incident's name, per address, against the texts claimed for it.
    const claimed = new Map<string, number>();
    for (const id of [...ids.stages, ...ids.repeats, ids.resolved]) for (const c of sent(id)) claimed.set(String(c.recipient), (claimed.get(String(c.recipient)) ?? 0) + 1);
    const received = new Map<string, number>();
    for (const m of twilioMessages) if (twilioText(m).includes(run.name)) received.set(m.to, (received.get(m.to) ?? 0) + 1);
    for (const [to, n] of received) {
      const extra = n - (claimed.get(to) ?? 0);
      if (extra > 0) {
        count.duplicates += extra;
        problem(run, `${extra} more Twilio message(s) to ${to.slice(-4)} than texts claimed`);
      }
    }
    for (const [to, n] of claimed) {
      if ((received.get(to) ?? 0) < n) {
        count.lost += n - (received.get(to) ?? 0);
        problem(run, `${n - (received.get(to) ?? 0)} text(s) recorded sent to ${to.slice(-4)} that Twilio never created`);
      }
    }

    count.stoppedPages += [...ids.stages, ...ids.repeats].reduce((sum, id) => sum + (claimsOf.get(id) ?? []).filter((c) => c.errorCode === FATE_CODE.PAGE_STOPPED).length, 0);
    count.pages += [...ids.stages, ...ids.repeats].reduce((sum, id) => sum + sent(id).length, 0);
    count.escalations += paged.slice(1).filter(Boolean).length;
    count.repeats += repeated.filter(Boolean).length;
    count.resolvedTexts += resolvedTo.size;
  }
  for (const body of dlqBodies.filter((b) => b.includes('"kind":"timer"'))) {
    count.timersLost++;
    problems.push(`a timer in the alert queue's DLQ: ${body}`);
  }
  return { incidents: runs.length, ...count, problems };
}

export function formatEscalationTally(t: EscalationTally): string {
  return `incidents ${t.incidents} · pages ${t.pages} · escalations ${t.escalations} · repeats ${t.repeats} · RESOLVED ${t.resolvedTexts} · duplicates ${t.duplicates} · stages skipped ${t.skipped} · timers lost ${t.timersLost} · paged after ACK ${t.pagedAfterAck} · wrong ACK answers ${t.wrongAcks} · unresolved ${t.unresolved} · lost ${t.lost} · stages cut short by an ACK ${t.cutShort} · pages stopped before they reached Twilio ${t.stoppedPages} · latest step ${(t.latestStepMs / 1000).toFixed(1)} s after its time`;
}
