import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../../lib/contract';

/*
 * The incident item kinds of the status table (ARCHITECTURE.md, "Incidents"),
 * shared with the inbound and status-callback handlers by shape only:
 *
 * - incident `incident#<openingNotificationId>`: one per occurrence; a
 *   redelivered opening maps to the same item.
 * - live pointer `incidentkey#<incidentKey>`: exists only while the key has a
 *   live incident; how a repeat ALARM or an OK finds it.
 * - code reservation `incidentcode#<CODE>`: makes the code unique among live
 *   incidents; `ACK <code>` resolves it.
 * - opt-out `optout#<address>`: written by inbound; the sender reads it.
 * - notice `notice#<notificationId>`: what became of a notification that paged
 *   nobody or resolved an incident (a repeat ALARM, an OK with no live
 *   incident, ...); written once, so a redelivery does it no second time.
 */

export const INCIDENT_KIND = {
  INCIDENT: 'incident',
  POINTER: 'incident-key',
  CODE: 'incident-code',
  NOTICE: 'notification',
} as const;

export const incidentIdOf = (openingNotificationId: string): string => `incident#${openingNotificationId}`;
export const pointerId = (incidentKey: string): string => `${TABLE.INCIDENT_KEY_ID_PREFIX}${incidentKey}`;
export const codeId = (code: string): string => `${TABLE.INCIDENT_CODE_ID_PREFIX}${code}`;
export const optOutId = (address: string): string => `optout#${address}`;
export const noticeId = (notificationId: string): string => `notice#${notificationId}`;
export const INCIDENT_ID_PREFIX = 'incident#';

/** Notification ids of an incident's later texts: each is its own set of send claims. */
export const stageNotificationId = (incidentId: string, stage: number): string => `${incidentId}#stage#${stage}`;
export const repeatNotificationId = (incidentId: string, repeat: number): string => `${incidentId}#repeat#${repeat}`;
export const resolvedNotificationId = (incidentId: string): string => `${incidentId}#resolved`;

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
  readonly alarmRepeats: number;
  /** Repeats sent so far. */
  readonly pageRepeats: number;
  /** JSON of the page (PageContent): what later stages and repeats send again. */
  readonly page: string;
  /** Stage 0's addresses when an envelope named them (`to`); absent: the plan's stage 0. */
  readonly stage0To?: readonly string[];
  /** The timer last handed to SQS (`escalate#<stage>` | `repeat#<n>`): a stale timer does not send it again. */
  readonly nextTimer?: string;
  readonly acknowledgedAt?: string;
  readonly acknowledgedBy?: string;
  readonly resolvedAt?: string;
  /** The notification that resolved it. */
  readonly resolvedBy?: string;
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

const str = (v: AttributeValue | undefined): string | undefined => v?.S;
const num = (v: AttributeValue | undefined, fallback = 0): number => (v?.N !== undefined ? Number(v.N) : fallback);

export function toIncident(item: Record<string, AttributeValue>): Incident {
  const opt = (key: string) => (item[key]?.S !== undefined ? { [key]: item[key].S } : {});
  return {
    id: str(item.id) ?? '',
    incidentKey: str(item.incidentKey) ?? '',
    state: (str(item.state) ?? 'open') as IncidentState,
    code: str(item.code) ?? '',
    title: str(item.title) ?? '',
    openedAt: str(item.openedAt) ?? new Date(0).toISOString(),
    openedBy: str(item.openedBy) ?? '',
    stage: num(item.stage),
    paged: item.paged?.SS ?? [],
    unreachable: item.unreachable?.SS ?? [],
    alarmRepeats: num(item.alarmRepeats),
    pageRepeats: num(item.pageRepeats),
    page: str(item.page) ?? '{}',
    ...(item.stage0To?.L ? { stage0To: item.stage0To.L.map((a) => a.S ?? '').filter((a) => a !== '') } : {}),
    ...opt('nextTimer'),
    ...opt('acknowledgedAt'),
    ...opt('acknowledgedBy'),
    ...opt('resolvedAt'),
    ...opt('resolvedBy'),
    timelineLength: item.timeline?.L?.length ?? 0,
  } as Incident;
}

export function toPointer(item: Record<string, AttributeValue>): Pointer {
  return { incidentKey: str(item.incidentKey) ?? '', incidentId: str(item.incidentId) ?? '', code: str(item.code) ?? '', openedAt: str(item.openedAt) ?? new Date(0).toISOString() };
}

export function timelineValue(events: readonly TimelineEvent[]): AttributeValue {
  return {
    L: events.map((e) => ({
      M: {
        at: { S: e.at },
        event: { S: e.event },
        ...(e.by !== undefined ? { by: { S: e.by } } : {}),
        ...(e.stage !== undefined ? { stage: { N: String(e.stage) } } : {}),
        ...(e.detail !== undefined ? { detail: { S: e.detail } } : {}),
      },
    })),
  };
}
