import { AttributeValue, DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { isConditionFailure } from './table-items';
import { Incident, readIncident, TIMELINE_LIMIT, TimelineEvent, timelineEntry } from './incident-items';

/**
 * A conditional change to an incident that records itself in the timeline.
 * Placeholders: the change's own `#…`/`:…` names must not collide with the
 * ones this module uses (`#id`, `#timeline`, `#dropped`, `#updatedAt`,
 * `:event`, `:empty`, `:limit`, `:now`, `:rewritten`, `:dropped`, `:size`,
 * `:seenDropped`, `:zero`).
 */
export interface IncidentChange {
  /** Must hold for the change to land, e.g. `#state = :open AND contains(#paged, :by)`. */
  readonly condition: string;
  readonly set: readonly string[];
  readonly add?: readonly string[];
  readonly names: Readonly<Record<string, string>>;
  readonly values: Readonly<Record<string, AttributeValue>>;
  readonly event: TimelineEvent;
}

export type IncidentUpdate =
  /** The change landed; the incident as it is now. */
  | { readonly kind: 'updated'; readonly incident: Incident }
  /** The change's condition did not hold: the incident as it is now (undefined when there is none). */
  | { readonly kind: 'refused'; readonly incident: Incident | undefined };

/** Writes that found the timeline changed under them before one lands or the change is refused. */
const MAX_ATTEMPTS = 5;

interface SeenTimeline {
  readonly entries: readonly AttributeValue[];
  readonly dropped: number;
}

/**
 * Applies the change in one conditional UpdateItem while the timeline has
 * room (list_append). DynamoDB cannot drop a list's head in the same
 * expression that appends to it, so a full timeline is rewritten as its latest
 * TIMELINE_LIMIT - 1 entries and the new one, conditioned on the length and
 * drop count read (a version: every append moves one of them), and
 * timelineDropped counts the ones that fell out. A refused write is explained
 * by one consistent read: a timeline with room, or unchanged since the
 * rewrite was built, means the change's own condition failed.
 *
 * @throws when writers keep changing the timeline for MAX_ATTEMPTS attempts (transient: the caller retries later)
 */
export async function updateIncident(client: DynamoDBClient, tableName: string, incidentId: string, change: IncidentChange, now: number): Promise<IncidentUpdate> {
  let seen: SeenTimeline | undefined;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const names: Record<string, string> = { ...change.names, '#id': 'id', '#timeline': 'timeline', '#updatedAt': 'updatedAt' };
    const values: Record<string, AttributeValue> = { ...change.values, ':now': { S: new Date(now).toISOString() } };
    const set = [...change.set, '#updatedAt = :now'];
    let room: string;
    if (seen === undefined || seen.entries.length < TIMELINE_LIMIT) {
      set.push('#timeline = list_append(if_not_exists(#timeline, :empty), :event)');
      values[':event'] = { L: [timelineEntry(change.event)] };
      values[':empty'] = { L: [] };
      values[':limit'] = { N: String(TIMELINE_LIMIT) };
      room = '(attribute_not_exists(#timeline) OR size(#timeline) < :limit)';
    } else {
      const kept = seen.entries.slice(-(TIMELINE_LIMIT - 1));
      names['#dropped'] = 'timelineDropped';
      set.push('#timeline = :rewritten', '#dropped = :dropped');
      values[':rewritten'] = { L: [...kept, timelineEntry(change.event)] };
      values[':dropped'] = { N: String(seen.dropped + seen.entries.length - kept.length) };
      values[':size'] = { N: String(seen.entries.length) };
      if (seen.dropped === 0) {
        values[':zero'] = { N: '0' };
        room = 'size(#timeline) = :size AND (attribute_not_exists(#dropped) OR #dropped = :zero)';
      } else {
        values[':seenDropped'] = { N: String(seen.dropped) };
        room = 'size(#timeline) = :size AND #dropped = :seenDropped';
      }
    }
    const add = change.add?.length ? ` ADD ${change.add.join(', ')}` : '';
    try {
      const out = await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { id: { S: incidentId } },
          UpdateExpression: `SET ${set.join(', ')}${add}`,
          ConditionExpression: `attribute_exists(#id) AND (${change.condition}) AND ${room}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      const incident = readIncident(out.Attributes);
      if (!incident) throw new Error(`${incidentId} is not an incident item`);
      return { kind: 'updated', incident };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: incidentId } }, ConsistentRead: true }));
    const incident = readIncident(Item);
    if (!Item || !incident) return { kind: 'refused', incident: undefined };
    const current: SeenTimeline = { entries: Item.timeline?.L ?? [], dropped: Number(Item.timelineDropped?.N ?? 0) };
    const unchanged = seen !== undefined && seen.entries.length === current.entries.length && seen.dropped === current.dropped;
    if (current.entries.length < TIMELINE_LIMIT || unchanged) return { kind: 'refused', incident };
    seen = current;
  }
  throw new Error(`the timeline of ${incidentId} kept changing: ${MAX_ATTEMPTS} writes refused`);
}
