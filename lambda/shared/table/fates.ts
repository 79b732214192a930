import { AttributeValue, DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../../lib/contract';
import type { Item } from './attributes';
import { KIND } from './items';

/*
 * What happened to an incident or a notification: one Query of
 * TABLE.BY_PARENT_INDEX (items.ts), page by page. The items are written by
 * their owners (messages.ts, claims.ts, ../incidents/store.ts); this module
 * only reads them, in one shape.
 *
 * A text held in a storm window and sent inside a digest has no message of
 * its own: its fate item is its claim, with `digest` and the digest
 * message's SID (`messageSid`), and its status is that message's, read from
 * it (inDigest; readFates does the reads). Before Twilio accepted the digest
 * the claim has no SID and its status is `pending`.
 */

/** One (notification, recipient) outcome, or a notification's own, as its fate item says. */
export interface Fate {
  /** The item: a message SID, `claim#…` or `failed#…`. */
  readonly id: string;
  readonly kind: 'message' | 'claim' | 'notification';
  readonly parentId: string;
  /** ISO 8601. */
  readonly createdAt: string;
  /** Twilio's status of a message; `failed` or `unknown` for a send that never got a SID. */
  readonly status: string;
  /** The address (absent for a notification refused as a whole). */
  readonly to?: string;
  /** Twilio's error code, or the project's own (`invalid-recipient`, `opted-out`, `outcome-unknown`, `invalid-notification`, …). */
  readonly errorCode?: string;
  readonly reason?: string;
  /** The Twilio message SID, for a message. */
  readonly sid?: string;
  /** A text sent inside a storm digest: the digest's notification id and, once Twilio accepted it, its message SID (whose status `status` is). */
  readonly digest?: { readonly id: string; readonly sid?: string };
  readonly notificationId?: string;
  readonly incidentId?: string;
  readonly updatedAt?: string;
}

const FATE_KINDS: ReadonlySet<string> = new Set([KIND.MESSAGE, KIND.CLAIM, KIND.NOTIFICATION]);

/** The fate an item of the index records; undefined for the other kinds filed beside them (a notice, an incident, a live pointer). */
export function readFate(item: Item): Fate | undefined {
  const str = (key: string) => item[key]?.S;
  const kind = str('kind');
  const id = str('id');
  const status = str('status');
  const digest = kind === KIND.CLAIM ? str('digest') : undefined;
  // A notice is kind `notification` too, but has no status: it tells what a notification did, not a send's fate.
  if (id === undefined || kind === undefined || !FATE_KINDS.has(kind) || (status === undefined && digest === undefined)) return undefined;
  const optional = (key: string, as: string = key) => (str(key) !== undefined ? { [as]: str(key) } : {});
  return {
    id,
    kind: kind as Fate['kind'],
    parentId: str(TABLE.PARENT_ATTRIBUTE) ?? '',
    createdAt: str(TABLE.CREATED_AT_ATTRIBUTE) ?? '',
    status: status ?? DIGEST_NOT_ACCEPTED,
    ...optional('to'),
    ...optional('errorCode'),
    ...optional('reason'),
    ...(kind === KIND.MESSAGE ? { sid: id } : {}),
    ...(digest !== undefined ? { digest: { id: digest, ...optional('messageSid', 'sid') } } : {}),
    ...optional('notificationId'),
    ...optional('incidentId'),
    ...optional('updatedAt'),
  } as Fate;
}

/** The status of a text whose digest Twilio has not accepted (yet). */
export const DIGEST_NOT_ACCEPTED = 'pending';

/** A digested text's fate with its digest message's status and error code (`message`: the item of `fate.digest.sid`, if read). */
export function inDigest(fate: Fate, message: Item | undefined): Fate {
  if (fate.digest?.sid === undefined || message === undefined) return fate;
  const { errorCode: _, ...rest } = fate;
  return { ...rest, status: message.status?.S ?? DIGEST_NOT_ACCEPTED, ...(message.errorCode?.S !== undefined ? { errorCode: message.errorCode.S } : {}) };
}

/** The fates of `items` (others left out), each digested text's with its digest's status: one GetItem per digest. */
export async function readFates(db: DynamoDBClient, tableName: string, items: readonly Item[]): Promise<Fate[]> {
  const fates = items.map(readFate).filter((f): f is Fate => f !== undefined);
  const sids = [...new Set(fates.flatMap((f) => (f.digest?.sid !== undefined ? [f.digest.sid] : [])))];
  const messages = new Map<string, Item | undefined>(
    await Promise.all(sids.map(async (sid) => [sid, (await db.send(new GetItemCommand({ TableName: tableName, Key: { [TABLE.PARTITION_KEY]: { S: sid } } }))).Item] as const)),
  );
  return fates.map((f) => (f.digest?.sid !== undefined ? inDigest(f, messages.get(f.digest.sid)) : f));
}

export interface ChildrenQuery {
  /** Newest first (default oldest first). */
  readonly newestFirst?: boolean;
  /** Items per Query page (DynamoDB's 1 MB bound applies as well). */
  readonly pageSize?: number;
}

/** Every item filed under `parentId` in TABLE.BY_PARENT_INDEX, one Query page at a time (the index projects ALL: whole items). */
export async function* childrenPages(db: DynamoDBClient, tableName: string, parentId: string, query: ChildrenQuery = {}): AsyncGenerator<Item[]> {
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: TABLE.BY_PARENT_INDEX,
        KeyConditionExpression: '#parent = :parent',
        ExpressionAttributeNames: { '#parent': TABLE.PARENT_ATTRIBUTE },
        ExpressionAttributeValues: { ':parent': { S: parentId } },
        ScanIndexForward: query.newestFirst !== true,
        ...(query.pageSize !== undefined ? { Limit: query.pageSize } : {}),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    yield page.Items ?? [];
    start = page.LastEvaluatedKey;
  } while (start);
}

/** Every item filed under `parentId`, every page read: what happened to this incident or notification. */
export async function childrenOf(db: DynamoDBClient, tableName: string, parentId: string, query: ChildrenQuery = {}): Promise<Item[]> {
  const items: Item[] = [];
  for await (const page of childrenPages(db, tableName, parentId, query)) items.push(...page);
  return items;
}

/** The first item filed under `parentId` in the given order, reading no further than it. */
export async function firstChild(db: DynamoDBClient, tableName: string, parentId: string, query: ChildrenQuery = {}): Promise<Item | undefined> {
  for await (const page of childrenPages(db, tableName, parentId, { ...query, pageSize: 1 })) if (page.length > 0) return page[0];
  return undefined;
}
