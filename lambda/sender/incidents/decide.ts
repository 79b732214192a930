import type { Incident } from '../../shared/incidents/items';
import type { Timer } from '../../shared/incidents/timers';
import type { Notification } from '../parse-notification';
import type { EscalationPlan } from './escalation';
import type { Page } from '../fit-text';
import { countedUnreachable, NO_FALLBACKS } from './fallbacks';
import { ackHint } from './texts';

/*
 * The decisions of the incident flow, without I/O: what a notification asks
 * of an incident, and what is due for an incident at a given time. The flow
 * (flow.ts) reads the table, asks these, acts, and records.
 */

/** What a page sends: the notification's content without its incident fields (stored on the incident as JSON). */
export type PageContent =
  | { readonly kind: 'alarm'; readonly alarmName: string; readonly page: Page; readonly text: string }
  | {
      readonly kind: 'envelope';
      readonly body?: string;
      readonly mediaUrls: readonly string[];
      readonly contentSid?: string;
      readonly contentVariables?: Readonly<Record<string, string>>;
    };

export type IncidentCommand =
  | { readonly action: 'open'; readonly incidentKey: string; readonly title: string; readonly page: PageContent; readonly stage0To?: readonly string[] }
  | { readonly action: 'resolve'; readonly incidentKey: string }
  /** Another alarm state (INSUFFICIENT_DATA, or one CloudWatch may add): noted on a live incident, else sent as a plain text. */
  | { readonly action: 'note'; readonly incidentKey: string; readonly state: string };

/** What a notification asks of incidents; undefined for one that has nothing to do with them (plain text, an envelope without incidentKey). */
export function commandOf(n: Notification): IncidentCommand | undefined {
  if (n.kind === 'alarm' && n.incidentKey !== undefined) {
    if (n.state === 'ALARM') return { action: 'open', incidentKey: n.incidentKey, title: n.alarmName, page: { kind: 'alarm', alarmName: n.alarmName, page: n.page, text: n.text } };
    if (n.state === 'OK') return { action: 'resolve', incidentKey: n.incidentKey };
    return { action: 'note', incidentKey: n.incidentKey, state: n.state ?? 'unknown' };
  }
  if (n.kind === 'envelope' && n.incidentKey !== undefined) {
    if (n.resolve) return { action: 'resolve', incidentKey: n.incidentKey };
    const title = n.title ?? n.incidentKey;
    const hasContent = n.body !== undefined || n.mediaUrls.length > 0 || n.contentSid !== undefined;
    const page: PageContent = {
      kind: 'envelope',
      ...(n.body !== undefined ? { body: n.body } : hasContent ? {} : { body: title }),
      mediaUrls: n.mediaUrls,
      ...(n.contentSid !== undefined ? { contentSid: n.contentSid } : {}),
      ...(n.contentVariables !== undefined ? { contentVariables: n.contentVariables } : {}),
    };
    return { action: 'open', incidentKey: n.incidentKey, title, page, ...(n.to ? { stage0To: n.to } : {}) };
  }
  return undefined;
}

/**
 * The page as sent: its reply hint `ACK <code>`, which message-params.ts fits the text around.
 * A template (contentSid) is sent as it is: its text is Twilio's.
 */
export function pageNotification(page: PageContent, code: string): Notification {
  if (page.kind === 'alarm') return { kind: 'alarm', alarmName: page.alarmName, page: page.page, text: page.text, replyHint: ackHint(code) };
  if (page.contentSid !== undefined) return { ...page };
  // Media without a text: the hint is the text.
  if (page.body === undefined) return { ...page, body: ackHint(code) };
  return { ...page, replyHint: ackHint(code) };
}

export function stageRecipients(incident: Incident, plan: EscalationPlan, stage: number): readonly string[] {
  if (stage === 0 && incident.stage0To) return incident.stage0To;
  return plan.stages[stage]?.recipients ?? [];
}

const openedMs = (incident: Incident) => Date.parse(incident.openedAt);

export function stageDueAt(incident: Incident, plan: EscalationPlan, stage: number): number {
  return openedMs(incident) + plan.stages[stage].afterSeconds * 1000;
}

/** Repeat `n` (1-based) is due `n` × repeatAfterSeconds after the last stage's time. */
export function repeatDueAt(incident: Incident, plan: EscalationPlan, n: number): number {
  const last = plan.stages[plan.stages.length - 1];
  return openedMs(incident) + (last.afterSeconds + n * plan.repeatAfterSeconds) * 1000;
}

/** True when every address of the incident's current stage counts unreachable (its fallback too, if it has one): the next stage need not wait for its time. */
export function currentStageUnreachable(incident: Incident, plan: EscalationPlan): boolean {
  const current = stageRecipients(incident, plan, incident.stage);
  const unreachable = countedUnreachable(incident, plan.fallbacks ?? NO_FALLBACKS);
  return current.length > 0 && current.every((a) => unreachable.has(a));
}

export type Step = { readonly kind: 'stage'; readonly stage: number; readonly shortcut: boolean } | { readonly kind: 'repeat'; readonly repeat: number };

/**
 * The next thing due for an incident at `now`, if any: only an open incident
 * has one. The next stage at its time, or at once when its predecessor is all
 * unreachable; after the last stage, the latest repeat whose time has come
 * (repeats missed while a timer was late are not sent one after another:
 * one repeat stands for them, and the count moves on).
 */
export function dueStep(incident: Incident, plan: EscalationPlan, now: number): Step | undefined {
  if (incident.state !== 'open') return undefined;
  const next = incident.stage + 1;
  if (next < plan.stages.length) {
    if (stageDueAt(incident, plan, next) <= now) return { kind: 'stage', stage: next, shortcut: false };
    if (currentStageUnreachable(incident, plan)) return { kind: 'stage', stage: next, shortcut: true };
    return undefined;
  }
  let repeat: number | undefined;
  for (let k = incident.pageRepeats + 1; k <= plan.repeats && repeatDueAt(incident, plan, k) <= now; k++) repeat = k;
  return repeat !== undefined ? { kind: 'repeat', repeat } : undefined;
}

/** The timer that brings the incident's next step at its time; undefined when nothing more can be due (not open, or all stages and repeats done). */
export function nextTimer(incident: Incident, plan: EscalationPlan): Timer | undefined {
  if (incident.state !== 'open') return undefined;
  const next = incident.stage + 1;
  if (next < plan.stages.length) return { kind: 'timer', timer: 'escalate', incidentId: incident.id, dueAt: stageDueAt(incident, plan, next), stage: next };
  if (incident.pageRepeats < plan.repeats) {
    const repeat = incident.pageRepeats + 1;
    return { kind: 'timer', timer: 'repeat', incidentId: incident.id, dueAt: repeatDueAt(incident, plan, repeat), repeat };
  }
  return undefined;
}

/** What the incident records as its scheduled timer: one per step, so a stale timer does not schedule the same step again. */
export function timerKey(timer: Timer): string {
  return timer.timer === 'escalate' ? `escalate#${timer.stage}` : `repeat#${timer.repeat}`;
}
