import { AttributeValue, DeleteItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../lib/contract';
import { TABLE_NAME } from '../support/webhook-rig';

const put = (table: DynamoDBClient, tableName: string, item: Record<string, AttributeValue>) => table.send(new PutItemCommand({ TableName: tableName, Item: item }));

/*
 * Incident items as the sender writes them (the shapes of the shared
 * contract), seeded straight into dynalite so the webhooks can be tested
 * without the sender.
 */

export interface SeededIncident {
  readonly id: string;
  readonly code: string;
  readonly title: string;
  readonly state?: 'open' | 'acknowledged' | 'resolved';
  readonly paged: readonly string[];
  readonly openedAt: string;
  readonly stage?: number;
  readonly acknowledgedBy?: string;
  readonly acknowledgedAt?: string;
  readonly resolvedAt?: string;
  readonly unreachable?: readonly string[];
  /** Timeline entries before the ones this helper writes (`opened`, one `paged` per address). */
  readonly timelineLength?: number;
  readonly timelineDropped?: number;
  /** Writes the live pointer and the code reservation (default: while the incident is live). */
  readonly reserved?: boolean;
}

const s = (value: string): AttributeValue => ({ S: value });

/** `opened`, then `paged` events, up to `length` entries (default: one per paged address). */
function timeline(incident: SeededIncident): AttributeValue {
  const entries: AttributeValue[] = [{ M: { at: s(incident.openedAt), event: s('opened') } }];
  const length = incident.timelineLength ?? 1 + incident.paged.length;
  for (let i = 1; i < length; i++) {
    const by = incident.paged[(i - 1) % Math.max(1, incident.paged.length)] ?? '+15550000000';
    entries.push({ M: { at: s(incident.openedAt), event: s('paged'), by: s(by), stage: { N: '0' }, detail: s(`entry ${i}`) } });
  }
  return { L: entries };
}

export async function seedIncident(table: DynamoDBClient, incident: SeededIncident, tableName: string = TABLE_NAME): Promise<void> {
  const state = incident.state ?? 'open';
  const item: Record<string, AttributeValue> = {
    id: s(incident.id),
    kind: s('incident'),
    incidentKey: s(`key-${incident.id}`),
    state: s(state),
    code: s(incident.code),
    title: s(incident.title),
    openedAt: s(incident.openedAt),
    stage: { N: String(incident.stage ?? 0) },
    paged: { SS: [...incident.paged] },
    alarmRepeats: { N: '0' },
    pageRepeats: { N: '0' },
    timeline: timeline(incident),
    createdAt: s(incident.openedAt),
    updatedAt: s(incident.openedAt),
    expiresAt: { N: String(Math.floor(Date.now() / 1000) + 86_400) },
  };
  if (incident.timelineDropped !== undefined) item.timelineDropped = { N: String(incident.timelineDropped) };
  if (incident.unreachable?.length) item.unreachable = { SS: [...incident.unreachable] };
  if (incident.acknowledgedBy) item.acknowledgedBy = s(incident.acknowledgedBy);
  if (incident.acknowledgedAt) item.acknowledgedAt = s(incident.acknowledgedAt);
  if (incident.resolvedAt) item.resolvedAt = s(incident.resolvedAt);
  await put(table, tableName, item);
  if (incident.reserved ?? state !== 'resolved') {
    await put(table, tableName, { id: s(`incidentkey#key-${incident.id}`), kind: s('incident-key'), incidentId: s(incident.id), code: s(incident.code), openedAt: s(incident.openedAt) });
    await put(table, tableName, { id: s(`incidentcode#${incident.code}`), kind: s('incident-code'), incidentId: s(incident.id) });
  }
}

/** What resolving does to the reservations: the code and the live pointer are deleted. */
export async function releaseReservations(table: DynamoDBClient, incident: Pick<SeededIncident, 'id' | 'code'>): Promise<void> {
  for (const id of [`incidentcode#${incident.code}`, `incidentkey#key-${incident.id}`]) {
    await table.send(new DeleteItemCommand({ TableName: TABLE_NAME, Key: { id: s(id) } }));
  }
}

/** A page's message item as the sender writes it: in the alertsByRecipient index, with its incidentId. */
export async function seedPage(
  table: DynamoDBClient,
  page: { sid: string; to: string; incidentId: string; acceptedAt: string; status?: string; statusRank?: number },
  tableName: string = TABLE_NAME,
): Promise<void> {
  await put(table, tableName, {
    id: s(page.sid),
    kind: s('message'),
    direction: s('outbound-api'),
    status: s(page.status ?? 'sent'),
    statusRank: { N: String(page.statusRank ?? 3) },
    to: s(page.to),
    channel: s(page.to.startsWith('whatsapp:') ? 'whatsapp' : 'sms'),
    notificationId: s(`${page.incidentId}#stage#0`),
    incidentId: s(page.incidentId),
    [TABLE.ALERT_RECIPIENT_ATTRIBUTE]: s(page.to),
    [TABLE.ALERT_SORT_ATTRIBUTE]: s(page.acceptedAt),
  });
}

/** The XML Twilio gets for a reply line. */
export function twimlLine(text: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Message>${text}</Message></Response>`;
}
