import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { isIncidentId } from './keys';

/*
 * The shapes of the incident items (keys.ts has their ids) as every handler
 * reads them. The sender opens, pages and resolves incidents; the webhooks
 * acknowledge them and mark addresses unreachable (changes.ts has every
 * change either side makes).
 *
 * An incident: kind `incident`, incidentKey, state (`open` | `acknowledged` |
 * `resolved`), code, title, openedAt, openedBy (the opening notification),
 * stage (N: highest stage paged), paged (SS: only these addresses may
 * acknowledge it), unreachable (SS), fellBack (SS: addresses whose fallback
 * was paged for them), alarmRepeats (N), pageRepeats (N), page
 * (JSON of what its pages send), stage0To? (L: stage 0 named by an envelope),
 * nextTimer? (the timer last handed to SQS), acknowledgedAt/By/MessageSid (the
 * first acknowledgement; the SID lets a redelivery of that reply answer as the
 * first did), resolvedAt, resolvedBy, timeline (L of M `{ at, event, by?,
 * stage?, detail? }`, the latest TIMELINE_LIMIT events) and timelineDropped
 * (N: events that fell out of it), createdAt, updatedAt, expiresAt, parentId
 * (`incidents#<incidentKey>`: TABLE.BY_PARENT_INDEX lists a key's occurrences,
 * newest last).
 *
 * The live pointer (`incidentkey#…`) carries parentId `live-incidents`: it exists
 * only while its incident is live, so that byParent partition lists exactly the
 * live incidents (the CLI's `incidents`), bounded by how many are live rather
 * than by the table. A notice (`notice#…`) is filed under its notification
 * (`notification#<id>`) like the other outcomes of one.
 */

/** The byParent partition of the live pointers. */
export const LIVE_INCIDENTS_PARENT = 'live-incidents';
/** The byParent partition of every occurrence of one incident key. */
export const incidentKeyParentId = (incidentKey: string): string => `incidents#${incidentKey}`;

export type IncidentState = 'open' | 'acknowledged' | 'resolved';

export interface TimelineEvent {
  readonly at: string;
  readonly event: string;
  readonly by?: string;
  readonly stage?: number;
  readonly detail?: string;
}

/** The latest events kept on the item; older ones are dropped and counted in timelineDropped. */
export const TIMELINE_LIMIT = 30;

export interface Incident {
  readonly id: string;
  readonly incidentKey: string;
  readonly state: IncidentState;
  readonly code: string;
  readonly title: string;
  /** ISO 8601. */
  readonly openedAt: string;
  /** The notification that opened it (its stage 0 pages are claimed under this id). */
  readonly openedBy: string;
  /** Highest stage whose pages were sent, 0-based. */
  readonly stage: number;
  readonly paged: readonly string[];
  readonly unreachable: readonly string[];
  /** Unreachable addresses whose fallback (SENDER_CONFIG.fallbacks) has been paged for them. */
  readonly fellBack?: readonly string[];
  readonly alarmRepeats: number;
  /** Repeats sent so far. */
  readonly pageRepeats: number;
  /** JSON of the page (the sender's PageContent): what later stages and repeats send again. */
  readonly page: string;
  /** Stage 0's addresses when an envelope named them (`to`); absent: the plan's stage 0. */
  readonly stage0To?: readonly string[];
  /** The timer last handed to SQS (`escalate#<stage>` | `repeat#<n>`): a stale timer does not send it again. */
  readonly nextTimer?: string;
  readonly acknowledgedAt?: string;
  readonly acknowledgedBy?: string;
  /** The reply that acknowledged it. */
  readonly acknowledgedMessageSid?: string;
  readonly resolvedAt?: string;
  /** The notification that resolved it. */
  readonly resolvedBy?: string;
  /** Entries of the timeline as read (0 when the read left the timeline out). */
  readonly timelineLength: number;
}

export interface Pointer {
  readonly incidentKey: string;
  readonly incidentId: string;
  readonly code: string;
  readonly openedAt: string;
}

export type NoticeOutcome = 'no-live-incident' | 'repeat-alarm' | 'state-change' | 'resolve';

export interface Notice {
  readonly outcome: NoticeOutcome;
  readonly incidentId?: string;
}

const STATES: ReadonlySet<string> = new Set<IncidentState>(['open', 'acknowledged', 'resolved']);
const EPOCH = new Date(0).toISOString();
const str = (v: AttributeValue | undefined): string | undefined => v?.S;
const num = (v: AttributeValue | undefined): number => (v?.N !== undefined ? Number(v.N) : 0);

/** An incident item as read (whole, or through INCIDENT_PROJECTION); undefined when it is none (another kind of id, no valid state). */
export function readIncident(item: Record<string, AttributeValue> | undefined): Incident | undefined {
  const id = str(item?.id);
  const state = str(item?.state);
  if (!item || !isIncidentId(id) || state === undefined || !STATES.has(state)) return undefined;
  const optional = (key: string) => (item[key]?.S !== undefined ? { [key]: item[key].S } : {});
  const code = str(item.code) ?? '';
  return {
    id,
    incidentKey: str(item.incidentKey) ?? '',
    state: state as IncidentState,
    code,
    title: str(item.title) ?? code,
    openedAt: str(item.openedAt) ?? EPOCH,
    openedBy: str(item.openedBy) ?? '',
    stage: num(item.stage),
    paged: item.paged?.SS ?? [],
    unreachable: item.unreachable?.SS ?? [],
    fellBack: item.fellBack?.SS ?? [],
    alarmRepeats: num(item.alarmRepeats),
    pageRepeats: num(item.pageRepeats),
    page: str(item.page) ?? '{}',
    ...(item.stage0To?.L ? { stage0To: item.stage0To.L.map((a) => a.S ?? '').filter((a) => a !== '') } : {}),
    ...optional('nextTimer'),
    ...optional('acknowledgedAt'),
    ...optional('acknowledgedBy'),
    ...optional('acknowledgedMessageSid'),
    ...optional('resolvedAt'),
    ...optional('resolvedBy'),
    timelineLength: item.timeline?.L?.length ?? 0,
  } as Incident;
}

/**
 * What the webhooks read of an incident: everything they answer or decide
 * with, the timeline (the bulk of the item) left behind.
 */
export const INCIDENT_PROJECTION = {
  expression: '#id, #state, #code, #title, #openedAt, #stage, #paged, #unreachable, #acknowledgedAt, #acknowledgedBy, #acknowledgedMessageSid, #resolvedAt',
  names: {
    '#id': 'id',
    '#state': 'state',
    '#code': 'code',
    '#title': 'title',
    '#openedAt': 'openedAt',
    '#stage': 'stage',
    '#paged': 'paged',
    '#unreachable': 'unreachable',
    '#acknowledgedAt': 'acknowledgedAt',
    '#acknowledgedBy': 'acknowledgedBy',
    '#acknowledgedMessageSid': 'acknowledgedMessageSid',
    '#resolvedAt': 'resolvedAt',
  },
} as const;

export function readPointer(item: Record<string, AttributeValue>): Pointer {
  return { incidentKey: str(item.incidentKey) ?? '', incidentId: str(item.incidentId) ?? '', code: str(item.code) ?? '', openedAt: str(item.openedAt) ?? EPOCH };
}

export function readNotice(item: Record<string, AttributeValue>): Notice {
  return { outcome: str(item.outcome) as NoticeOutcome, ...(str(item.incidentId) ? { incidentId: str(item.incidentId) } : {}) };
}

/** A timeline event as a DynamoDB map. */
export function timelineEntry(e: TimelineEvent): AttributeValue {
  return {
    M: {
      at: { S: e.at },
      event: { S: e.event },
      ...(e.by !== undefined ? { by: { S: e.by } } : {}),
      ...(e.stage !== undefined ? { stage: { N: String(e.stage) } } : {}),
      ...(e.detail !== undefined ? { detail: { S: e.detail } } : {}),
    },
  };
}
