import { AttributeValue, DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { conditionally, Item, n, namesIn, s } from '../table/attributes';
import { Incident, readIncident, TIMELINE_LIMIT, TimelineEvent, timelineEntry } from './items';

/**
 * One change to an incident (changes.ts builds every change the handlers
 * make). Every `#name` in its expressions stands for the attribute `name`
 * (state, stage, ... are reserved words). Placeholders this module uses, which
 * a change must not: `#id`, `#timeline`, `#updatedAt`, `:now`, `:events`,
 * `:noEvents`, `:room`.
 */
export interface IncidentChange {
  /** Must hold for the change to land, e.g. `#state = :open AND contains(#paged, :by)`. */
  readonly condition?: string;
  /** SET clauses, e.g. `#state = :acknowledged`. */
  readonly set?: readonly string[];
  /** ADD clauses, e.g. `#unreachable :addresses`. */
  readonly add?: readonly string[];
  readonly values?: Readonly<Record<string, AttributeValue>>;
  /** Events the change records in the timeline, oldest first. */
  readonly events?: readonly TimelineEvent[];
}

export type IncidentUpdate =
  /** The change landed; the incident as it is now. */
  | { readonly kind: 'updated'; readonly incident: Incident }
  /**
   * The change's condition did not hold (or the incident is gone). A change
   * that records events reads the incident (consistently) to tell its own
   * condition from a full timeline, and returns it as read (absent when there
   * is none); a change without events is refused without a read.
   */
  | { readonly kind: 'refused'; readonly incident?: Incident };

const timelineOf = (item: Item | undefined): { entries: readonly AttributeValue[]; dropped: number } => ({
  entries: item?.timeline?.L ?? [],
  dropped: Number(item?.timelineDropped?.N ?? 0),
});

/**
 * Applies the change in one conditional UpdateItem and records its events in
 * the timeline, bounded to its latest TIMELINE_LIMIT entries:
 *
 * 1. Appended (list_append) on the condition that they fit: the usual case,
 *    one write.
 * 2. Refused, the incident is read once (consistently): a timeline the events
 *    fit in (below the bound it only grows) means the change's own condition
 *    failed.
 * 3. A full timeline: appended on the change's condition alone, so that no
 *    number of concurrent writers can make a change fail; then trimmed by
 *    writing the latest entries as that append returned them, guarded on the
 *    list's length and drop count (a version: every append moves the one,
 *    every trim the other), with timelineDropped counting the dropped ones.
 *    A trim that finds the version moved is skipped: the latest writer's
 *    trim lands. DynamoDB cannot drop a list's head in the expression that
 *    appends to it, hence the second write.
 *
 * No event is ever lost to a concurrent writer, and the bound is exceeded
 * only between an append and its trim.
 */
export async function updateIncident(client: DynamoDBClient, tableName: string, incidentId: string, change: IncidentChange, now: number): Promise<IncidentUpdate> {
  const events = change.events ?? [];
  const key = { id: s(incidentId) };
  const write = async (room: boolean): Promise<Item | undefined> => {
    const set = [...(change.set ?? []), '#updatedAt = :now', ...(events.length > 0 ? ['#timeline = list_append(if_not_exists(#timeline, :noEvents), :events)'] : [])];
    const update = `SET ${set.join(', ')}${change.add?.length ? ` ADD ${change.add.join(', ')}` : ''}`;
    const condition = [
      'attribute_exists(#id)',
      ...(change.condition ? [`(${change.condition})`] : []),
      ...(room ? ['(attribute_not_exists(#timeline) OR size(#timeline) <= :room)'] : []),
    ].join(' AND ');
    const written = await conditionally(
      client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: key,
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: namesIn(update, condition),
          ExpressionAttributeValues: {
            ...change.values,
            ':now': s(new Date(now).toISOString()),
            ...(events.length > 0 ? { ':events': { L: events.map(timelineEntry) }, ':noEvents': { L: [] } } : {}),
            ...(room ? { ':room': n(TIMELINE_LIMIT - events.length) } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return written.held ? written.out.Attributes ?? {} : undefined;
  };
  const read = async () => (await client.send(new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item;
  const written = (item: Item): Incident => {
    const incident = readIncident(item);
    if (!incident) throw new Error(`${incidentId} is not an incident item`);
    return incident;
  };
  const refused = (item: Item | undefined): IncidentUpdate => {
    const incident = readIncident(item);
    return incident ? { kind: 'refused', incident } : { kind: 'refused' };
  };

  if (events.length === 0) {
    const item = await write(false);
    return item ? { kind: 'updated', incident: written(item) } : { kind: 'refused' };
  }
  if (events.length <= TIMELINE_LIMIT) {
    const item = await write(true);
    if (item) return { kind: 'updated', incident: written(item) };
    const current = await read();
    if (!readIncident(current) || timelineOf(current).entries.length + events.length <= TIMELINE_LIMIT) return refused(current);
  }
  const item = await write(false);
  if (!item) return refused(await read());
  const incident = written(item);
  const trimmed = await trimTimeline(client, tableName, incidentId, timelineOf(item));
  return { kind: 'updated', incident: trimmed ? { ...incident, timelineLength: TIMELINE_LIMIT } : incident };
}

/** Keeps the latest TIMELINE_LIMIT entries of the timeline as written, if it is still that one; true when it trimmed. */
async function trimTimeline(client: DynamoDBClient, tableName: string, incidentId: string, seen: { entries: readonly AttributeValue[]; dropped: number }): Promise<boolean> {
  const drop = seen.entries.length - TIMELINE_LIMIT;
  if (drop <= 0) return false;
  const droppedGuard = seen.dropped === 0 ? '(attribute_not_exists(#timelineDropped) OR #timelineDropped = :seenDropped)' : '#timelineDropped = :seenDropped';
  const trimmed = await conditionally(
    client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { id: s(incidentId) },
        UpdateExpression: 'SET #timeline = :kept ADD #timelineDropped :drop',
        ConditionExpression: `size(#timeline) = :size AND ${droppedGuard}`,
        ExpressionAttributeNames: { '#timeline': 'timeline', '#timelineDropped': 'timelineDropped' },
        ExpressionAttributeValues: { ':kept': { L: seen.entries.slice(drop) }, ':drop': n(drop), ':size': n(seen.entries.length), ':seenDropped': n(seen.dropped) },
      }),
    ),
  );
  return trimmed.held;
}
