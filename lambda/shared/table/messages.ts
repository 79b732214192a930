import { AttributeValue, DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../../lib/contract';
import { isDeliveredStatus, isUndeliveredStatus, statusRank } from '../status';
import { conditionally, Item, n, s } from './attributes';
import { expiresAt, KIND, parentIdOf } from './items';
import { awaitingFinalUpdate, removeClause } from './awaiting-final';

/*
 * The message items (items.ts): the sender's write after Twilio accepted a
 * message, and the status callback's. Both guard the status with its rank
 * (../status.ts), so DynamoDB, not a read-then-write, keeps it moving forward.
 */

export type Channel = 'sms' | 'mms' | 'whatsapp';

/** What the sender knows about a message Twilio accepted. */
export interface AcceptedMessage {
  readonly sid: string;
  /** Twilio's status in the 201 (queued, accepted, scheduled), or the current one found by a lookup. */
  readonly status: string;
  readonly to: string;
  readonly from?: string;
  readonly messagingServiceSid?: string;
  readonly channel: Channel;
  readonly notificationId: string;
  /** Set for CloudWatch alarm notifications. */
  readonly alarmName?: string;
  /** The incident this text belongs to (a page, or its RESOLVED). */
  readonly incidentId?: string;
  /** A page (an alarm notification's text, an incident's page): the item then joins the ACK index. */
  readonly page?: boolean;
  readonly bodyPreview: string;
  readonly segments?: number;
  readonly price?: string;
  readonly priceUnit?: string;
  /** Epoch ms Twilio accepted it: the write's own time after a 201; date_created for a message found by a lookup. */
  readonly acceptedAt?: number;
  /**
   * Epoch ms the alert was published (the sender's `publishedAt`, record.ts): where the status
   * callback's DeliveryLatency starts. The first write's value is kept: a later write of the item
   * (a lookup after a crash, a redelivery) never moves it.
   */
  readonly publishedAt?: number;
}

/**
 * The sender's write of the message item in one UpdateItem, so that a
 * status callback that arrived first (it can: Twilio may call back before
 * our 201 has been read) keeps its later status: status and statusRank are
 * set only when no higher rank is stored; otherwise the write is repeated
 * without them (history and the other fields still land).
 *
 * @returns the number of UpdateItem calls made (1, or 2 after a lost race)
 */
export async function writeMessageRecord(db: DynamoDBClient, tableName: string, m: AcceptedMessage, now: number): Promise<number> {
  const iso = new Date(now).toISOString();
  // Every attribute by placeholder: several of ours (status, segments, ...) are DynamoDB reserved words.
  const fields: Array<[string, AttributeValue | undefined]> = [
    ['kind', { S: KIND.MESSAGE }],
    ['direction', { S: 'outbound-api' }],
    ['to', { S: m.to }],
    ['from', m.from !== undefined ? { S: m.from } : undefined],
    ['messagingServiceSid', m.messagingServiceSid !== undefined ? { S: m.messagingServiceSid } : undefined],
    ['channel', { S: m.channel }],
    ['notificationId', { S: m.notificationId }],
    ['alarmName', m.alarmName !== undefined ? { S: m.alarmName } : undefined],
    ['incidentId', m.incidentId !== undefined ? { S: m.incidentId } : undefined],
    // Files the message in TABLE.BY_PARENT_INDEX with the other outcomes of its incident or notification.
    [TABLE.PARENT_ATTRIBUTE, { S: parentIdOf(m.notificationId, m.incidentId) }],
    // The sparse ACK index (TABLE.ALERTS_BY_RECIPIENT_INDEX) holds pages only: alarm notifications and incidents' pages.
    [TABLE.ALERT_RECIPIENT_ATTRIBUTE, m.page === true || m.alarmName !== undefined ? { S: m.to } : undefined],
    ['bodyPreview', { S: m.bodyPreview }],
    ['segments', m.segments !== undefined && Number.isFinite(m.segments) ? { N: String(m.segments) } : undefined],
    ['price', m.price ? { S: m.price } : undefined],
    ['priceUnit', m.priceUnit ? { S: m.priceUnit } : undefined],
    [TABLE.ALERT_SORT_ATTRIBUTE, { S: m.acceptedAt !== undefined ? new Date(m.acceptedAt).toISOString() : iso }],
    ['updatedAt', { S: iso }],
    [TABLE.TTL_ATTRIBUTE, { N: String(expiresAt(now)) }],
  ];
  const names: Record<string, string> = { '#createdAt': 'createdAt', '#history': 'history', '#historyKeys': 'historyKeys' };
  const values: Item = {
    ':now': { S: iso },
    ':history': { L: [{ M: { status: { S: m.status }, at: { S: iso }, source: { S: 'api' } } }] },
    ':empty': { L: [] },
    ':historyKey': { SS: [`api#${m.status}`] },
  };
  const set = ['#createdAt = if_not_exists(#createdAt, :now)', '#history = list_append(if_not_exists(#history, :empty), :history)'];
  if (m.publishedAt !== undefined && Number.isFinite(m.publishedAt)) {
    names['#publishedAt'] = 'publishedAt';
    values[':publishedAt'] = { S: new Date(m.publishedAt).toISOString() };
    set.push('#publishedAt = if_not_exists(#publishedAt, :publishedAt)');
  }
  fields.forEach(([attr, value], i) => {
    if (value === undefined) return;
    names[`#f${i}`] = attr;
    values[`:f${i}`] = value;
    set.push(`#f${i} = :f${i}`);
  });
  // Only the write that moves the status forward places the item in (or takes it out of) the awaiting-final index.
  const awaiting = awaitingFinalUpdate(m.status, m.acceptedAt !== undefined ? new Date(m.acceptedAt).toISOString() : iso);
  const update = (withStatus: boolean) =>
    new UpdateItemCommand({
      TableName: tableName,
      Key: { [TABLE.PARTITION_KEY]: { S: m.sid } },
      UpdateExpression: withStatus
        ? `SET ${[...set, '#status = :status', '#statusRank = :rank', ...awaiting.set].join(', ')} ADD #historyKeys :historyKey${removeClause(awaiting.remove)}`
        : `SET ${set.join(', ')} ADD #historyKeys :historyKey`,
      // At an equal rank too: a `queued` callback may have created the item first, and only this write puts it in the awaiting-final index.
      ...(withStatus ? { ConditionExpression: 'attribute_not_exists(#statusRank) OR #statusRank <= :rank' } : {}),
      ExpressionAttributeNames: withStatus ? { ...names, ...awaiting.names, '#status': 'status', '#statusRank': 'statusRank' } : names,
      ExpressionAttributeValues: withStatus
        ? { ...values, ...awaiting.values, ':status': { S: m.status }, ':rank': { N: String(statusRank(m.status)) } }
        : values,
    });
  if ((await conditionally(db.send(update(true)))).held) return 1;
  await db.send(update(false));
  return 2;
}

/** A status callback's fields the message item keeps (Twilio's "Message Status Callback" parameters; the status-callback handler parses them). */
export interface StatusCallback {
  readonly messageSid: string;
  readonly status: string;
  readonly errorCode?: string;
  readonly channelStatusMessage?: string;
  readonly rawDlrDoneDate?: string;
  readonly to?: string;
  readonly from?: string;
  /** I-Twilio-Idempotency-Token: kept on the history entry for tracing; not signed, so never a key. */
  readonly idempotencyToken?: string;
}

/**
 * The history de-duplication key (items.ts: historyKeys): what Twilio
 * signed, never the I-Twilio-Idempotency-Token header, which is not signed: a
 * replayed callback with a fresh token must not be able to grow the item.
 */
export function historyKey(cb: StatusCallback): string {
  return `${cb.status}#${cb.errorCode ?? ''}`;
}

/**
 * Entries a callback that does not move the status may add to the history. The
 * forward moves always land (at most one per rank), so the item stays far below
 * DynamoDB's 400 KB whatever arrives; a new entry left out for want of room is
 * counted in historyDropped (a repeat of one recorded is not).
 */
export const HISTORY_LIMIT = 30;

export type ApplyOutcome =
  /** The status moved forward (or the item was created by this callback). */
  | 'advanced'
  /** The status already was as far or further: only the history grew. */
  | 'recorded'
  /** The history holds this status and error code already (a retry, a replay): nothing changed. */
  | 'duplicate'
  /** A new entry that found the history full: only historyDropped grew. */
  | 'dropped';

/** What a message was a page of: one incident's (incidentId), or the open incidents a storm digest named (incidentIds). */
export interface PageOf {
  readonly incidentIds: readonly string[];
  /** A storm digest's incidentIds, not a page's incidentId. */
  readonly digest: boolean;
  readonly to?: string;
}

/** The incidents a message item pages for: its `incidentId`, else a digest's `incidentIds` (L of S). */
function incidentsOf(item: Item | undefined): string[] {
  if (item?.incidentId?.S !== undefined) return [item.incidentId.S];
  return (item?.[DIGEST_INCIDENTS_ATTRIBUTE]?.L ?? []).flatMap((v) => (v.S !== undefined ? [v.S] : []));
}

function pageFrom(item: Item | undefined): PageOf | undefined {
  const incidentIds = incidentsOf(item);
  if (incidentIds.length === 0) return undefined;
  return { incidentIds, digest: item?.incidentId?.S === undefined, ...(item?.to?.S !== undefined ? { to: item.to.S } : {}) };
}

export interface ApplyResult {
  readonly outcome: ApplyOutcome;
  /** The status before an `advanced` update; undefined when the item is new. */
  readonly previousStatus?: string;
  /**
   * For an `advanced` update to `undelivered`/`failed` of a page of an
   * incident (or of a storm digest that named open incidents): the incidents
   * and the address paged, read back by the same UpdateItem (ReturnValues
   * ALL_OLD for these statuses only).
   */
  readonly page?: PageOf;
  /** For an `advanced` update to `delivered`/`read` or `undelivered`/`failed`: when Twilio accepted the message (the item's acceptedAt, ISO 8601), if the sender wrote it. */
  readonly acceptedAt?: string;
  /** As acceptedAt: when the alert was published (the item's publishedAt, ISO 8601), if the sender wrote it. */
  readonly publishedAt?: string;
}

/** The channel of a message item a callback creates (the sender's write, when it comes, keeps its own). */
function channelOf(cb: StatusCallback): string {
  if (cb.to?.startsWith('whatsapp:') || cb.from?.startsWith('whatsapp:')) return 'whatsapp';
  return cb.messageSid.startsWith('MM') ? 'mms' : 'sms';
}

/**
 * The lowest rank a message's status has (scheduled, accepted, queued): the
 * sender's write after a 201 stores one of them, so a callback of this rank
 * almost always finds the item there with a status at least as far.
 */
const LOWEST_RANK = statusRank('queued');

/** Who saw the status: Twilio's callback, or the reconciler's poll of the message (history `source`). */
export type StatusSource = 'callback' | 'poll';

/**
 * Records a status callback on the message item (id = MessageSid), one
 * UpdateItem in the common case. DynamoDB enforces the order: the status moves
 * only to a higher rank, and a callback whose history key is already present
 * changes nothing but a count.
 *
 * - A callback of the lowest rank (`queued` after the sender's `queued`) sets
 *   the status only if the item has none (`if_not_exists`: it can move nothing
 *   backwards) and joins the history while it has room: one write that either
 *   creates the item or records the callback, where a rank guard first would
 *   fail and a history-only write follow (two).
 * - Any other callback moves the status forward if its rank is higher; one that
 *   does not (a late `sent` after `delivered`) is appended to the history by a
 *   second UpdateItem while the history has room (HISTORY_LIMIT).
 * - A new entry that finds no room adds one to historyDropped (one more write).
 *   An exact repeat of an entry already recorded (same history key) fails every
 *   condition and leaves the item as it was.
 *
 * A callback that arrives before the sender has written the item creates it;
 * the sender's own rank guard keeps it from moving the status backwards. The
 * reconciler applies what a poll of Twilio answered the same way, with `source` `poll`.
 */
export async function recordStatusCallback(
  client: DynamoDBClient,
  tableName: string,
  cb: StatusCallback,
  now: number = Date.now(),
  source: StatusSource = 'callback',
): Promise<ApplyResult> {
  const at = new Date(now).toISOString();
  const key = historyKey(cb);
  const rank = statusRank(cb.status);
  const entry: Item = { status: s(cb.status), at: s(at), source: s(source) };
  if (cb.errorCode) entry.errorCode = s(cb.errorCode);
  if (cb.idempotencyToken) entry.token = s(cb.idempotencyToken);

  const names: Record<string, string> = { '#history': 'history', '#historyKeys': 'historyKeys', '#updatedAt': 'updatedAt' };
  const values: Item = {
    ':entry': { L: [{ M: entry }] },
    ':empty': { L: [] },
    ':key': s(key),
    ':keys': { SS: [key] },
    ':now': s(at),
  };
  const historyOnly = {
    set: ['#updatedAt = :now', '#history = list_append(if_not_exists(#history, :empty), :entry)'],
    add: '#historyKeys :keys',
  };
  const HAS_ROOM = '(attribute_not_exists(#history) OR size(#history) < :limit)';

  // What a callback writes beside the history: the fields it reports, and those of an item it creates.
  const given: string[] = [];
  const absent: string[] = [];
  const itemNames: Record<string, string> = { ...names, '#status': 'status', '#statusRank': 'statusRank' };
  const itemValues: Item = { ...values, ':status': s(cb.status), ':rank': n(rank) };
  const setIfGiven = (attribute: string, value: string | undefined) => {
    if (value === undefined) return;
    itemNames[`#${attribute}`] = attribute;
    itemValues[`:${attribute}`] = s(value);
    given.push(`#${attribute} = :${attribute}`);
  };
  const setIfAbsent = (attribute: string, value: AttributeValue | undefined) => {
    if (value === undefined) return;
    itemNames[`#${attribute}`] = attribute;
    itemValues[`:${attribute}`] = value;
    absent.push(`#${attribute} = if_not_exists(#${attribute}, :${attribute})`);
  };
  setIfGiven('errorCode', cb.errorCode);
  setIfGiven('channelStatusMessage', cb.channelStatusMessage);
  setIfGiven('rawDlrDoneDate', cb.rawDlrDoneDate);
  setIfAbsent('createdAt', s(at));
  setIfAbsent('kind', s(KIND.MESSAGE));
  setIfAbsent('direction', s('outbound-api'));
  setIfAbsent('channel', s(channelOf(cb)));
  setIfAbsent('to', cb.to === undefined ? undefined : s(cb.to));
  setIfAbsent('from', cb.from === undefined ? undefined : s(cb.from));
  setIfAbsent('expiresAt', n(expiresAt(now)));

  // The one-write form (above); a callback that carries fields of its own (an error code, ...) takes the guarded one.
  const lowest = rank <= LOWEST_RANK && given.length === 0;
  if (lowest) {
    const recorded = await conditionally(
      client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { id: s(cb.messageSid) },
          UpdateExpression: `SET ${[...historyOnly.set, '#status = if_not_exists(#status, :status)', '#statusRank = if_not_exists(#statusRank, :rank)', ...absent].join(', ')} ADD ${historyOnly.add}`,
          // A stored rank below this one (an unknown status, rank 0) must still be moved forward: the guarded form does it.
          // An item this write creates joins the awaiting-final index with the sender's write, which passes its
          // rank guard at an equal rank (writeMessageRecord).
          ConditionExpression: `NOT contains(#historyKeys, :key) AND (attribute_not_exists(#statusRank) OR #statusRank >= :rank) AND ${HAS_ROOM}`,
          ExpressionAttributeNames: itemNames,
          ExpressionAttributeValues: { ...itemValues, ':limit': n(HISTORY_LIMIT) },
          // Whether there was a status before: none means this write created the item's status.
          ReturnValues: 'ALL_OLD',
        }),
      ),
    );
    if (recorded.held) return { outcome: recorded.out.Attributes?.status?.S === undefined ? 'advanced' : 'recorded' };
  }

  // The forward move also keeps the item's place in the sparse index of messages awaiting a final status.
  const awaiting = awaitingFinalUpdate(cb.status, at);
  const forward = await conditionally(
    client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { id: s(cb.messageSid) },
        UpdateExpression: `SET ${[...historyOnly.set, '#status = :status', '#statusRank = :rank', ...given, ...absent, ...awaiting.set].join(', ')} ADD ${historyOnly.add}${removeClause(awaiting.remove)}`,
        ConditionExpression: '(attribute_not_exists(#statusRank) OR #statusRank < :rank) AND NOT contains(#historyKeys, :key)',
        ExpressionAttributeNames: { ...itemNames, ...awaiting.names },
        ExpressionAttributeValues: { ...itemValues, ...awaiting.values },
        // The old status, to tell `delivered → read` from a first delivery, at no extra cost; for
        // a final status the whole old item: its incidentId says whether an incident paged it, its
        // acceptedAt and publishedAt when the delivery latencies start.
        ReturnValues: isUndeliveredStatus(cb.status) || isDeliveredStatus(cb.status) ? 'ALL_OLD' : 'UPDATED_OLD',
      }),
    ),
  );
  if (forward.held) {
    const old = forward.out.Attributes;
    const previousStatus = old?.status?.S;
    const page = isUndeliveredStatus(cb.status) ? pageFrom(old) : undefined;
    const acceptedAt = old?.[TABLE.ALERT_SORT_ATTRIBUTE]?.S;
    const publishedAt = old?.publishedAt?.S;
    return {
      outcome: 'advanced',
      ...(acceptedAt !== undefined ? { acceptedAt } : {}),
      ...(publishedAt !== undefined ? { publishedAt } : {}),
      ...(previousStatus !== undefined ? { previousStatus } : {}),
      ...(page !== undefined ? { page } : {}),
    };
  }

  // The one-write form already was this append: refused, the key is there or the history is full.
  if (!lowest) {
    const appended = await conditionally(
      client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { id: s(cb.messageSid) },
          UpdateExpression: `SET ${historyOnly.set.join(', ')} ADD ${historyOnly.add}`,
          ConditionExpression: `NOT contains(#historyKeys, :key) AND ${HAS_ROOM}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ...values, ':limit': n(HISTORY_LIMIT) },
        }),
      ),
    );
    if (appended.held) return { outcome: 'recorded' };
  }

  const counted = await conditionally(
    client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { id: s(cb.messageSid) },
        UpdateExpression: 'ADD #historyDropped :one',
        // The writes before failed on their conditions, so the item exists; never create a stub.
        // A key already in the history is a repeat, not an entry the bound left out: nothing to count.
        ConditionExpression: 'attribute_exists(#id) AND NOT contains(#historyKeys, :key)',
        ExpressionAttributeNames: { '#historyDropped': 'historyDropped', '#id': 'id', '#historyKeys': 'historyKeys' },
        ExpressionAttributeValues: { ':one': n(1), ':key': s(key) },
      }),
    ),
  );
  return { outcome: counted.held ? 'dropped' : 'duplicate' };
}

/**
 * The incidents a message item pages for (a page's one, or a digest's), and
 * the address paged; undefined for any other message (one consistent GetItem
 * of three attributes).
 */
export async function pageOf(client: DynamoDBClient, tableName: string, messageSid: string): Promise<PageOf | undefined> {
  const { Item: item } = await client.send(
    new GetItemCommand({
      TableName: tableName,
      Key: { id: s(messageSid) },
      ConsistentRead: true,
      ProjectionExpression: '#incidentId, #incidentIds, #to',
      ExpressionAttributeNames: { '#incidentId': 'incidentId', '#incidentIds': DIGEST_INCIDENTS_ATTRIBUTE, '#to': 'to' },
    }),
  );
  return pageFrom(item);
}

/**
 * The attribute of a storm digest's message item (lambda/sender/storm/flush.ts)
 * that lists the incidents it named while they were open (L of S, in the
 * digest's order; absent when it named none). A digest that ends
 * `undelivered`/`failed` is an undelivered page of each of them
 * (lambda/status-callback/unreachable-page.ts). A page of one incident
 * carries `incidentId` instead, never both.
 */
export const DIGEST_INCIDENTS_ATTRIBUTE = 'incidentIds';

/**
 * Gives digest message `sid` the incidents it named (DIGEST_INCIDENTS_ATTRIBUTE),
 * after the sender's write of the item; the first list written stays (a
 * redelivered digest timer, whose incidents may have changed state since,
 * changes nothing). Returns the item's status and address as they are now: a status
 * callback that came first and found no incidents to mark is told by a
 * status already `undelivered`/`failed` (the caller then marks them).
 */
export async function recordDigestIncidents(db: DynamoDBClient, tableName: string, sid: string, incidentIds: readonly string[], now: number): Promise<{ readonly status?: string; readonly errorCode?: string; readonly to?: string }> {
  const { Attributes: item } = await db.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: { id: s(sid) },
      UpdateExpression: 'SET #incidentIds = if_not_exists(#incidentIds, :ids), #expiresAt = if_not_exists(#expiresAt, :expiresAt)',
      ExpressionAttributeNames: { '#incidentIds': DIGEST_INCIDENTS_ATTRIBUTE, '#expiresAt': TABLE.TTL_ATTRIBUTE },
      ExpressionAttributeValues: { ':ids': { L: incidentIds.map((id) => s(id)) }, ':expiresAt': n(expiresAt(now)) },
      ReturnValues: 'ALL_NEW',
    }),
  );
  return {
    ...(item?.status?.S !== undefined ? { status: item.status.S } : {}),
    ...(item?.errorCode?.S !== undefined ? { errorCode: item.errorCode.S } : {}),
    ...(item?.to?.S !== undefined ? { to: item.to.S } : {}),
  };
}

/** The notification a message item in the status table was recorded for, if any (one consistent GetItem of one attribute). */
export async function notificationIdOf(db: DynamoDBClient, tableName: string, sid: string): Promise<string | undefined> {
  const { Item } = await db.send(
    new GetItemCommand({ TableName: tableName, Key: { id: { S: sid } }, ProjectionExpression: '#n', ExpressionAttributeNames: { '#n': 'notificationId' }, ConsistentRead: true }),
  );
  return Item?.notificationId?.S;
}
