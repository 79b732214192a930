import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { statusRank } from '../status';
import { conditionally, Item, n, s } from './attributes';
import { expiresAt, KIND } from './items';
import type { Channel } from './messages';

/*
 * The inbound message items (items.ts): stored with the claim of their
 * publish, then marked published with what the reply did.
 */

/** An inbound message as verified and parsed (the inbound handler's inbound-message.ts), and as its item stores it. */
export interface InboundMessage {
  readonly messageSid: string;
  readonly from: string;
  readonly to: string;
  readonly body: string;
  readonly mediaUrls: readonly string[];
  readonly channel: Channel;
}

/** What the reply did, as the published item records it. */
export interface PublishedOutcome {
  readonly type: string;
  readonly reply?: string;
  readonly incidents: ReadonlyArray<{ readonly id: string }>;
}

/**
 * What storing an inbound message found. Exactly one delivery of a SID claims
 * its publish at a time: `claimed` holds it until `leaseUntil`, after which a
 * later delivery (a backlog record) may claim it again, so a crash between
 * claim and publish delays the message but does not lose it.
 */
export type StoredInbound =
  /** This delivery may publish: nobody has, and no one else holds a live claim. */
  | { readonly kind: 'claimed'; readonly receivedAt: string; readonly leaseUntil: number }
  /** On the inbound topic already (a retry): publish nothing, answer the `reply` answered before (if any). */
  | { readonly kind: 'published'; readonly reply?: string }
  /** Another delivery claimed it and its lease has not run out. */
  | { readonly kind: 'claimed-elsewhere'; readonly leaseUntil: number }
  /** The SID is one of our outbound messages' (a forged one): nothing written. */
  | { readonly kind: 'not-inbound' };

const LEASE = 'publishLeaseUntil';
const publishedWith = (reply: string | undefined): StoredInbound => (reply === undefined ? { kind: 'published' } : { kind: 'published', reply });

/**
 * Stores an inbound message (id = its SID) and claims its publish, in one
 * UpdateItem whose every stored field is if_not_exists: a retry changes
 * nothing but the claim, and reads back whether the message is published.
 * The condition refuses the claim while another delivery's lease is live; only
 * then (or for an outbound SID) does a consistent GetItem say which it was.
 *
 * @param receivedAt when the request arrived (epoch ms); the first delivery's is kept
 * @param now the clock the leases are compared with (epoch ms)
 */
export async function storeInbound(
  client: DynamoDBClient,
  tableName: string,
  msg: InboundMessage,
  receivedAt: number,
  now: number,
  leaseUntil: number,
): Promise<StoredInbound> {
  const at = new Date(receivedAt).toISOString();
  const fields: Item = {
    kind: s(KIND.MESSAGE),
    direction: s('inbound'),
    status: s('received'),
    statusRank: n(statusRank('received')),
    from: s(msg.from),
    to: s(msg.to),
    body: s(msg.body),
    mediaUrls: { L: msg.mediaUrls.map(s) },
    channel: s(msg.channel),
    receivedAt: s(at),
    createdAt: s(at),
    updatedAt: s(at),
    expiresAt: n(expiresAt(receivedAt)),
    published: { BOOL: false },
  };
  const names: Record<string, string> = { '#direction': 'direction', '#published': 'published', '#lease': LEASE };
  const values: Item = { ':inbound': s('inbound'), ':true': { BOOL: true }, ':now': n(now), ':until': n(leaseUntil) };
  const set = Object.entries(fields).map(([name, value]) => {
    names[`#${name}`] = name;
    values[`:${name}`] = value;
    return `#${name} = if_not_exists(#${name}, :${name})`;
  });
  // On a published item the lease written is inert: nothing reads it there.
  set.push('#lease = :until');
  const claimed = await conditionally(
    client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { id: s(msg.messageSid) },
        UpdateExpression: `SET ${set.join(', ')}`,
        ConditionExpression:
          // A SID is unique across directions: this keeps a forged one from rewriting an outbound item.
          '(attribute_not_exists(#direction) OR #direction = :inbound) AND (#published = :true OR attribute_not_exists(#lease) OR #lease < :now)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    ),
  );
  if (claimed.held) {
    const stored = claimed.out.Attributes;
    if (stored?.published?.BOOL === true) return publishedWith(stored.reply?.S);
    return { kind: 'claimed', receivedAt: stored?.receivedAt?.S ?? at, leaseUntil };
  }
  const { Item } = await client.send(
    new GetItemCommand({
      TableName: tableName,
      Key: { id: s(msg.messageSid) },
      ConsistentRead: true,
      ProjectionExpression: '#direction, #published, #lease, #reply',
      ExpressionAttributeNames: { '#direction': 'direction', '#published': 'published', '#lease': LEASE, '#reply': 'reply' },
    }),
  );
  if (Item?.direction?.S !== undefined && Item.direction.S !== 'inbound') return { kind: 'not-inbound' };
  if (Item?.published?.BOOL === true) return publishedWith(Item.reply?.S);
  // The claim was refused for a live lease (or the item vanished in between): someone holds it until then.
  return { kind: 'claimed-elsewhere', leaseUntil: Number(Item?.[LEASE]?.N ?? now) };
}

/**
 * Marks the message published, with what it did (`type`, the `reply`
 * answered, the `incidentIds` it acted on), and ends the claim, so that
 * retries answer the same without publishing.
 */
export async function markPublished(client: DynamoDBClient, tableName: string, messageSid: string, outcome: PublishedOutcome, now: number = Date.now()): Promise<void> {
  const at = s(new Date(now).toISOString());
  const values: Item = { ':true': { BOOL: true }, ':at': at, ':type': s(outcome.type) };
  let set = 'published = :true, publishedAt = :at, updatedAt = :at, #type = :type';
  if (outcome.reply !== undefined) {
    values[':reply'] = s(outcome.reply);
    set += ', #reply = :reply';
  }
  if (outcome.incidents.length > 0) {
    values[':incidents'] = { L: outcome.incidents.map((incident) => s(incident.id)) };
    set += ', incidentIds = :incidents';
  }
  await client.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: { id: s(messageSid) },
      UpdateExpression: `SET ${set} REMOVE #lease`,
      ConditionExpression: 'attribute_exists(id)',
      ExpressionAttributeNames: { '#lease': LEASE, '#type': 'type', ...(outcome.reply !== undefined ? { '#reply': 'reply' } : {}) },
      ExpressionAttributeValues: values,
    }),
  );
}
