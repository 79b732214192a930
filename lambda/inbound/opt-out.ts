import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { INCIDENT_KIND, Incident, optOutItemId } from '../shared/incident-items';
import { markUnreachable } from '../shared/incident-unreachable';
import { isConditionFailure } from '../shared/table-items';
import type { ReplyContext } from './acknowledge';
import { incidentsThatPaged } from './paged-incidents';

export interface OptChoice {
  /** The address's state moved (not opted out → opted out, or back): what the metrics count. */
  readonly changed: boolean;
  /** The address's state now. */
  readonly optedOut: boolean;
  /** The item holds this reply's word (not a newer one that arrived first). */
  readonly latest: boolean;
}

/**
 * Records an opt-out or opt-in word on `optout#<address>`. Words can be
 * applied out of order (a backlog record is late), so the item keeps the
 * newest word by its arrival time: an older one changes nothing. A second
 * delivery of the same reply finds its own word there (`latest`, not
 * `changed`). The item has no expiry: an opt-out lasts until an opt-in.
 */
export async function recordOptChoice(client: DynamoDBClient, tableName: string, reply: ReplyContext, optedOut: boolean, word: string, now: number): Promise<OptChoice> {
  const key = { id: { S: optOutItemId(reply.from) } };
  try {
    const out = await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression:
          'SET #kind = :kind, #optedOut = :optedOut, #word = :word, #receivedAt = :at, #messageSid = :sid, #updatedAt = :now, #createdAt = if_not_exists(#createdAt, :now)',
        ConditionExpression: 'attribute_not_exists(#receivedAt) OR #receivedAt < :at',
        ExpressionAttributeNames: {
          '#kind': 'kind',
          '#optedOut': 'optedOut',
          '#word': 'word',
          '#receivedAt': 'receivedAt',
          '#messageSid': 'messageSid',
          '#updatedAt': 'updatedAt',
          '#createdAt': 'createdAt',
        },
        ExpressionAttributeValues: {
          ':kind': { S: INCIDENT_KIND.OPT_OUT },
          ':optedOut': { BOOL: optedOut },
          ':word': { S: word },
          ':at': { S: reply.receivedAt },
          ':sid': { S: reply.messageSid },
          ':now': { S: new Date(now).toISOString() },
        },
        ReturnValues: 'UPDATED_OLD',
      }),
    );
    const before = out.Attributes?.optedOut?.BOOL === true;
    return { changed: before !== optedOut, optedOut, latest: true };
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
  const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
  return { changed: false, optedOut: Item?.optedOut?.BOOL === true, latest: Item?.messageSid?.S === reply.messageSid };
}

/**
 * An address that opted out can no longer be paged: every live incident that
 * paged it gets it as unreachable, and the open ones an escalate timer
 * (markUnreachable), in parallel. Returns those incidents as they are now.
 */
export async function escalatePastOptedOut(client: DynamoDBClient, tableName: string, reply: ReplyContext, word: string, now: number): Promise<Incident[]> {
  const live = (await incidentsThatPaged(client, tableName, reply.from)).filter((incident) => incident.state !== 'resolved');
  const marks = await Promise.all(live.map((incident) => markUnreachable(client, tableName, incident.id, reply.from, `opted out (${word})`, now)));
  return marks.flatMap((mark) => (mark.incident ? [mark.incident] : []));
}
