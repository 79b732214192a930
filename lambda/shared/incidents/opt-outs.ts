import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { conditionally, s } from '../table/attributes';
import { INCIDENT_KIND, optOutId } from './keys';

/*
 * The opt-out item `optout#<address>` (the address exactly as Twilio's
 * `From`): kind `opt-out`, optedOut (BOOL), word (the word received),
 * receivedAt (when it arrived: an older word never overrides a newer one),
 * messageSid, createdAt, updatedAt; no expiry (an opt-out lasts until an
 * opt-in). Inbound records the words; the sender reads `optedOut` before
 * paging an address.
 */

/** The reply that carried an opt-out or opt-in word. */
export interface OptWord {
  readonly from: string;
  readonly messageSid: string;
  /** When the reply first arrived (ISO 8601). */
  readonly receivedAt: string;
}

export interface OptChoice {
  /** The address's state moved (not opted out → opted out, or back): what the metrics count. */
  readonly changed: boolean;
  /** The address's state now. */
  readonly optedOut: boolean;
  /** The item holds this reply's word (not a newer one that arrived first). */
  readonly latest: boolean;
}

/**
 * Inbound: records an opt-out or opt-in word. Words can be applied out of
 * order (a backlog record is late), so the item keeps the newest word by its
 * arrival time: an older one changes nothing. A second delivery of the same
 * reply finds its own word there (`latest`, not `changed`).
 */
export async function recordOptChoice(client: DynamoDBClient, tableName: string, reply: OptWord, optedOut: boolean, word: string, now: number): Promise<OptChoice> {
  const key = { id: s(optOutId(reply.from)) };
  const recorded = await conditionally(
    client.send(
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
    ),
  );
  if (recorded.held) {
    const before = recorded.out.Attributes?.optedOut?.BOOL === true;
    return { changed: before !== optedOut, optedOut, latest: true };
  }
  const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
  return { changed: false, optedOut: Item?.optedOut?.BOOL === true, latest: Item?.messageSid?.S === reply.messageSid };
}

/** Sender: the addresses among `addresses` whose opt-out item says optedOut (one GetItem each, in parallel). */
export async function optedOutAmong(client: DynamoDBClient, tableName: string, addresses: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  await Promise.all(
    addresses.map(async (a) => {
      const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: { id: s(optOutId(a)) }, ConsistentRead: true, ProjectionExpression: 'optedOut' }));
      if (Item?.optedOut?.BOOL === true) out.add(a);
    }),
  );
  return out;
}
