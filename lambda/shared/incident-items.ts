import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * The incident items of the status table (partition key `id`), as the
 * webhooks read them:
 *
 * - incident (`incident#<openingNotificationId>`): kind `incident`,
 *   incidentKey, state (`open` | `acknowledged` | `resolved`), code, title,
 *   openedAt, acknowledgedAt, acknowledgedBy, acknowledgedMessageSid (the SID
 *   of the reply that acknowledged it, so a redelivery of that reply answers
 *   as the first did), resolvedAt, stage (N: highest stage paged), paged (SS:
 *   only these addresses may acknowledge it), unreachable (SS), timeline (L of
 *   M `{ at, event, by?, stage?, detail? }`, the latest TIMELINE_LIMIT events)
 *   and timelineDropped (N: events that fell out of it), createdAt,
 *   updatedAt, expiresAt.
 * - live pointer (`incidentkey#<incidentKey>`): kind `incident-key`,
 *   incidentId, code, openedAt; only while the key has a live incident.
 * - code reservation (`incidentcode#<CODE>`): kind `incident-code`,
 *   incidentId; `ACK <code>` resolves a code through it. Deleted at resolve.
 * - opt-out (`optout#<address>`, the address exactly as Twilio's `From`):
 *   kind `opt-out`, optedOut (BOOL), word, receivedAt (when the word arrived:
 *   an older word never overrides a newer one), messageSid, updatedAt.
 * - message items of pages carry incidentId and alertRecipient (the
 *   alertsByRecipient index then finds an address's newest pages).
 *
 * The sender opens, pages and resolves incidents; the webhooks acknowledge
 * them and mark addresses unreachable.
 */
export const INCIDENT_KIND = {
  INCIDENT: 'incident',
  INCIDENT_KEY: 'incident-key',
  INCIDENT_CODE: 'incident-code',
  OPT_OUT: 'opt-out',
} as const;

export const INCIDENT_ID_PREFIX = 'incident#';
export const incidentCodeItemId = (code: string): string => `incidentcode#${code}`;
export const optOutItemId = (address: string): string => `optout#${address}`;

/** Events kept in an incident's timeline; older ones are dropped and counted in timelineDropped. */
export const TIMELINE_LIMIT = 30;

/** An incident code: 1 to 6 capital letters or digits. */
export const INCIDENT_CODE = /^[A-Z0-9]{1,6}$/;

export type IncidentState = 'open' | 'acknowledged' | 'resolved';

/** What a webhook needs to know of an incident (its timeline left out). */
export interface Incident {
  readonly id: string;
  readonly state: IncidentState;
  readonly code: string;
  readonly title: string;
  readonly openedAt: string;
  readonly stage: number;
  readonly paged: ReadonlySet<string>;
  readonly unreachable: ReadonlySet<string>;
  readonly acknowledgedAt?: string;
  readonly acknowledgedBy?: string;
  readonly acknowledgedMessageSid?: string;
  readonly resolvedAt?: string;
}

export interface TimelineEvent {
  readonly at: string;
  readonly event: string;
  readonly by?: string;
  readonly stage?: number;
  readonly detail?: string;
}

const STATES: ReadonlySet<string> = new Set<IncidentState>(['open', 'acknowledged', 'resolved']);

/** The attributes readIncident needs: reads leave the timeline (the bulk of the item) behind. */
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

/** An incident item as read; undefined when it is not one (a missing state, an id of another kind). */
export function readIncident(item: Record<string, AttributeValue> | undefined): Incident | undefined {
  const id = item?.id?.S;
  const state = item?.state?.S;
  if (!item || !id?.startsWith(INCIDENT_ID_PREFIX) || state === undefined || !STATES.has(state)) return undefined;
  const optional = (name: string) => (item[name]?.S !== undefined ? { [name]: item[name].S } : {});
  const code = item.code?.S ?? '';
  return {
    id,
    state: state as IncidentState,
    code,
    title: item.title?.S ?? code,
    openedAt: item.openedAt?.S ?? '',
    stage: Number(item.stage?.N ?? 0),
    paged: new Set(item.paged?.SS ?? []),
    unreachable: new Set(item.unreachable?.SS ?? []),
    ...optional('acknowledgedAt'),
    ...optional('acknowledgedBy'),
    ...optional('acknowledgedMessageSid'),
    ...optional('resolvedAt'),
  };
}

/** A timeline event as a DynamoDB map. */
export function timelineEntry(event: TimelineEvent): AttributeValue {
  const entry: Record<string, AttributeValue> = { at: { S: event.at }, event: { S: event.event } };
  if (event.by !== undefined) entry.by = { S: event.by };
  if (event.stage !== undefined) entry.stage = { N: String(event.stage) };
  if (event.detail !== undefined) entry.detail = { S: event.detail };
  return { M: entry };
}
