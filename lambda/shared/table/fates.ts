import { AttributeValue, DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../../lib/contract';
import type { Item } from './attributes';
import { KIND } from './items';

/*
 * What happened to an incident or a notification: one Query of
 * TABLE.BY_PARENT_INDEX (items.ts), page by page. The items are written by
 * their owners (messages.ts, claims.ts, ../incidents/store.ts); this module
 * only reads them, in one shape.
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
  // A notice is kind `notification` too, but has no status: it tells what a notification did, not a send's fate.
  if (id === undefined || kind === undefined || !FATE_KINDS.has(kind) || status === undefined) return undefined;
  const optional = (key: string, as: string = key) => (str(key) !== undefined ? { [as]: str(key) } : {});
  return {
    id,
    kind: kind as Fate['kind'],
    parentId: str(TABLE.PARENT_ATTRIBUTE) ?? '',
    createdAt: str(TABLE.CREATED_AT_ATTRIBUTE) ?? '',
    status,
    ...optional('to'),
    ...optional('errorCode'),
    ...optional('reason'),
    ...(kind === KIND.MESSAGE ? { sid: id } : {}),
    ...optional('notificationId'),
    ...optional('incidentId'),
    ...optional('updatedAt'),
  } as Fate;
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
