import { n, s } from '../table/attributes';
import type { TimelineEvent } from './items';
import type { IncidentChange } from './update';

/*
 * Every change a handler makes to an existing incident, and the condition it
 * needs, in one place (updateIncident applies them). The state moves only
 * forward: `open` → `acknowledged` (inbound, from `open` only), `open` or
 * `acknowledged` → `resolved` (the sender). The sender records a stage or a
 * repeat only while the incident is `open` and only once (its number still
 * above the item's), so a timer delivered twice, a concurrent one, or one
 * that comes after an ACK records nothing twice and pages nobody new.
 */

const OPEN = { ':open': s('open') };

/** Sender: an ALARM repeated while the incident is live is counted and noted. */
export function alarmRepeated(notificationId: string, at: string): IncidentChange {
  return { add: ['#alarmRepeats :one'], values: { ':one': n(1) }, events: [{ at, event: 'repeat-alarm', detail: notificationId }] };
}

/** Sender: another alarm state (INSUFFICIENT_DATA, ...) noted on the live incident. */
export function stateNoted(state: string, at: string): IncidentChange {
  return { events: [{ at, event: 'state-change', detail: state }] };
}

/** Sender: the incident resolved by this notification, unless it is resolved already. */
export function resolved(notificationId: string, at: string): IncidentChange {
  return {
    set: ['#state = :resolved', '#resolvedAt = :resolvedAt', '#resolvedBy = :resolvedBy'],
    condition: '#state <> :resolved',
    values: { ':resolved': s('resolved'), ':resolvedAt': s(at), ':resolvedBy': s(notificationId) },
    events: [{ at, event: 'resolved', detail: notificationId }],
  };
}

/** Sender: the timer last handed to SQS (`escalate#<stage>` | `repeat#<n>`). */
export function timerScheduled(timerKey: string): IncidentChange {
  return { set: ['#nextTimer = :nextTimer'], values: { ':nextTimer': s(timerKey) } };
}

/**
 * Sender, before a later stage's pages are sent: its addresses join `paged`
 * (so that an ACK from one finds the incident however slow the rest of the
 * stage is), refused once the incident is no longer open or the stage was
 * recorded.
 */
export function stageStarting(stage: number, toPage: readonly string[]): IncidentChange {
  return {
    ...(toPage.length > 0 ? { add: ['#paged :toPage'] } : {}),
    condition: '#state = :open AND #stage < :stage',
    values: { ...OPEN, ':stage': n(stage), ...(toPage.length > 0 ? { ':toPage': { SS: [...toPage] } } : {}) },
  };
}

/** What became of the recipients of a stage's or a repeat's pages. */
export interface PagesOutcome {
  /** Every recipient was settled: the stage or repeat is done. */
  readonly complete: boolean;
  readonly unreachable: readonly string[];
  readonly events: readonly TimelineEvent[];
}

function outcome(o: PagesOutcome, step: IncidentChange): IncidentChange {
  return {
    ...step,
    ...(o.unreachable.length > 0 ? { add: ['#unreachable :unreachable'] } : {}),
    values: { ...step.values, ...(o.unreachable.length > 0 ? { ':unreachable': { SS: [...o.unreachable] } } : {}) },
    events: o.events,
  };
}

/** Sender, after a stage's pages: its events and unreachable addresses; a later stage done is recorded as the incident's stage, once. */
export function stagePaged(stage: number, o: PagesOutcome): IncidentChange {
  return outcome(o, stage > 0 && o.complete ? { set: ['#stage = :stage'], condition: '#stage < :stage', values: { ':stage': n(stage) } } : {});
}

/** Sender, before repeat `repeat` is sent: refused once the incident is no longer open or the repeat was recorded. */
export function repeatStarting(repeat: number): IncidentChange {
  return { condition: '#state = :open AND #pageRepeats < :repeat', values: { ...OPEN, ':repeat': n(repeat) } };
}

/** Sender, after a repeat's pages: its events and unreachable addresses; the repeat done is recorded, once. */
export function repeatPaged(repeat: number, o: PagesOutcome): IncidentChange {
  return outcome(o, o.complete ? { set: ['#pageRepeats = :repeat'], condition: '#pageRepeats < :repeat', values: { ':repeat': n(repeat) } } : {});
}

/**
 * Sender, before a fallback's page is sent for an unreachable `address`: the
 * fallback joins `paged` (it may acknowledge), refused once the incident is
 * no longer open or the fallback was recorded paged for this address.
 */
export function fallbackStarting(address: string, fallback: string): IncidentChange {
  return {
    add: ['#paged :fallback'],
    condition: '#state = :open AND NOT contains(#fellBack, :address)',
    values: { ...OPEN, ':address': s(address), ':fallback': { SS: [fallback] } },
  };
}

/** Sender, after a fallback's page: its events and unreachable addresses; once complete, the address is recorded as fallen back, once. */
export function fallbackPaged(address: string, o: PagesOutcome): IncidentChange {
  const add = [...(o.complete ? ['#fellBack :addresses'] : []), ...(o.unreachable.length > 0 ? ['#unreachable :unreachable'] : [])];
  return {
    ...(add.length > 0 ? { add } : {}),
    ...(o.complete ? { condition: 'NOT contains(#fellBack, :address)' } : {}),
    values: {
      ...(o.complete ? { ':address': s(address), ':addresses': { SS: [address] } } : {}),
      ...(o.unreachable.length > 0 ? { ':unreachable': { SS: [...o.unreachable] } } : {}),
    },
    events: o.events,
  };
}

/**
 * Inbound: `open` → `acknowledged` if the incident paged this address, with
 * acknowledgedBy/At/MessageSid kept from the first (the condition admits
 * only one).
 */
export function acknowledged(by: string, at: string, messageSid: string): IncidentChange {
  return {
    condition: '#state = :open AND contains(#paged, :by)',
    set: [
      '#state = :acknowledged',
      '#acknowledgedAt = if_not_exists(#acknowledgedAt, :at)',
      '#acknowledgedBy = if_not_exists(#acknowledgedBy, :by)',
      '#acknowledgedMessageSid = if_not_exists(#acknowledgedMessageSid, :sid)',
    ],
    values: { ...OPEN, ':acknowledged': s('acknowledged'), ':by': s(by), ':at': s(at), ':sid': s(messageSid) },
    events: [{ at, event: 'acknowledged', by }],
  };
}

/** Webhooks: an address the incident paged can no longer be reached; once per address, and never on a resolved incident. */
export function unreachableMarked(address: string, detail: string, at: string): IncidentChange {
  return {
    condition: '#state <> :resolved AND NOT contains(#unreachable, :address)',
    add: ['#unreachable :addresses'],
    values: { ':resolved': s('resolved'), ':address': s(address), ':addresses': { SS: [address] } },
    events: [{ at, event: 'unreachable', by: address, detail }],
  };
}
