import { AttributeValue, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { KIND, expiresAt } from '../shared/table-items';
import { statusRank } from '../shared/status';
import type { Acknowledgement } from './acknowledge';
import type { InboundMessage } from './inbound-message';

/** What the table holds for an inbound message after it is stored. */
export interface StoredInbound {
  /** The receive time of the first delivery of this SID (a retry keeps it). */
  readonly receivedAt: string;
  /** True once the message reached the inbound topic: a Twilio retry must not publish it again. */
  readonly published: boolean;
}

const s = (value: string): AttributeValue => ({ S: value });

/**
 * Stores an inbound message (id = its SID) unless already stored, in one
 * UpdateItem whose every SET is if_not_exists: a retry of the same SID
 * changes nothing and reads back whether the first attempt got as far as
 * publishing. (A conditional PutItem would need a second read to learn that.)
 */
export async function storeInbound(client: DynamoDBClient, tableName: string, msg: InboundMessage, now: number = Date.now()): Promise<StoredInbound> {
  const at = new Date(now).toISOString();
  const fields: Record<string, AttributeValue> = {
    kind: s(KIND.MESSAGE),
    direction: s('inbound'),
    status: s('received'),
    statusRank: { N: String(statusRank('received')) },
    from: s(msg.from),
    to: s(msg.to),
    body: s(msg.body),
    mediaUrls: { L: msg.mediaUrls.map(s) },
    channel: s(msg.channel),
    receivedAt: s(at),
    createdAt: s(at),
    updatedAt: s(at),
    expiresAt: { N: String(expiresAt(now)) },
    published: { BOOL: false },
  };
  const names: Record<string, string> = { '#direction': 'direction' };
  const values: Record<string, AttributeValue> = {};
  const set = Object.entries(fields).map(([name, value]) => {
    names[`#${name}`] = name;
    values[`:${name}`] = value;
    return `#${name} = if_not_exists(#${name}, :${name})`;
  });
  const out = await client.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: { id: s(msg.messageSid) },
      UpdateExpression: `SET ${set.join(', ')}`,
      // A SID is unique across directions; this only keeps a forged one from rewriting an outbound item.
      ConditionExpression: 'attribute_not_exists(#direction) OR #direction = :direction',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW',
    }),
  );
  return {
    receivedAt: out.Attributes?.receivedAt?.S ?? at,
    published: out.Attributes?.published?.BOOL === true,
  };
}

/** Marks the message published (and what it acknowledged), so that retries answer without publishing. */
export async function markPublished(
  client: DynamoDBClient,
  tableName: string,
  messageSid: string,
  acknowledged: Acknowledgement | undefined,
  now: number = Date.now(),
): Promise<void> {
  const at = s(new Date(now).toISOString());
  const values: Record<string, AttributeValue> = { ':true': { BOOL: true }, ':at': at };
  let set = 'published = :true, publishedAt = :at, updatedAt = :at';
  if (acknowledged) {
    values[':ack'] = {
      M: Object.fromEntries(Object.entries(acknowledged).filter(([, v]) => v !== undefined).map(([k, v]) => [k, s(v as string)])),
    };
    set += ', acknowledged = :ack';
  }
  await client.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: { id: s(messageSid) },
      UpdateExpression: `SET ${set}`,
      ConditionExpression: 'attribute_exists(id)',
      ExpressionAttributeValues: values,
    }),
  );
}
