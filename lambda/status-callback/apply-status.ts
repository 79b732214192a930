import { AttributeValue, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../lib/contract';
import { KIND, expiresAt, isConditionFailure } from '../shared/table-items';
import { statusRank } from '../shared/status';
import { FormParams, MalformedRequestError, nonEmptyParam } from '../shared/webhook-request';

/** A status callback's fields we keep (Twilio's "Message Status Callback" parameters). */
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

// Twilio message SIDs: two letters and 32 hex digits. Anything else would also
// be able to collide with the table's other id shapes (`claim#…`).
const MESSAGE_SID = /^[A-Z]{2}[0-9a-fA-F]{32}$/;
const STATUS = /^[a-z_]{1,32}$/;
const TOKEN = /^[A-Za-z0-9._:-]{1,128}$/;

/** @throws MalformedRequestError when MessageSid or MessageStatus is missing or not Twilio's shape. */
export function parseStatusCallback(params: FormParams, idempotencyToken: string | undefined): StatusCallback {
  const messageSid = nonEmptyParam(params, 'MessageSid') ?? nonEmptyParam(params, 'SmsSid');
  const status = nonEmptyParam(params, 'MessageStatus') ?? nonEmptyParam(params, 'SmsStatus');
  if (!messageSid || !MESSAGE_SID.test(messageSid)) throw new MalformedRequestError('no valid MessageSid');
  if (!status || !STATUS.test(status)) throw new MalformedRequestError('no valid MessageStatus');
  const optional = (name: string, key: keyof StatusCallback) => {
    const value = nonEmptyParam(params, name);
    return value === undefined ? {} : { [key]: value.slice(0, 1024) };
  };
  return {
    messageSid,
    status,
    ...optional('ErrorCode', 'errorCode'),
    ...optional('ChannelStatusMessage', 'channelStatusMessage'),
    ...optional('RawDlrDoneDate', 'rawDlrDoneDate'),
    ...optional('To', 'to'),
    ...optional('From', 'from'),
    // A token we cannot store safely is left out of the history entry.
    ...(idempotencyToken !== undefined && TOKEN.test(idempotencyToken) ? { idempotencyToken } : {}),
  };
}

/**
 * The history de-duplication key (table-items.ts: historyKeys): what Twilio
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

export interface ApplyResult {
  readonly outcome: ApplyOutcome;
  /** The status before an `advanced` update; undefined when the item is new. */
  readonly previousStatus?: string;
  /**
   * For an `advanced` update to `undelivered`/`failed` of a page of an
   * incident: its incidentId and the address paged, read back by the same
   * UpdateItem (ReturnValues ALL_OLD for these statuses only).
   */
  readonly page?: { readonly incidentId: string; readonly to?: string };
  /** For an `advanced` update to `delivered`/`read` or `undelivered`/`failed`: when Twilio accepted the message (the item's acceptedAt, ISO 8601), if the sender wrote it. */
  readonly acceptedAt?: string;
}

/** The statuses that make a page's address unreachable for its incident. */
export function isUndeliveredStatus(status: string): boolean {
  return status === 'undelivered' || status === 'failed';
}

/** The statuses of a delivered message (`read` follows `delivered` on WhatsApp, and may arrive alone). */
export function isDeliveredStatus(status: string): boolean {
  return status === 'delivered' || status === 'read';
}

const s = (value: string): AttributeValue => ({ S: value });

function channelOf(cb: StatusCallback): string {
  if (cb.to?.startsWith('whatsapp:') || cb.from?.startsWith('whatsapp:')) return 'whatsapp';
  return cb.messageSid.startsWith('MM') ? 'mms' : 'sms';
}


/**
 * Records a status callback on the message item (id = MessageSid) in one
 * UpdateItem in the common case. DynamoDB enforces the order: the status moves
 * only to a higher rank, and a callback whose history key is already present
 * changes nothing but a count. A callback that does not move the status
 * forward (a late `sent` after `delivered`) is appended to the history by a
 * second UpdateItem while the history has room (HISTORY_LIMIT); one that finds
 * no room adds one to historyDropped with a third. An exact repeat of an entry
 * already recorded (same history key) fails all three conditions and leaves
 * the item as it was.
 * A callback that arrives before the sender has written the item creates it;
 * the sender's own rank guard keeps it from moving the status backwards.
 */
export async function applyStatus(client: DynamoDBClient, tableName: string, cb: StatusCallback, now: number = Date.now()): Promise<ApplyResult> {
  const at = new Date(now).toISOString();
  const key = historyKey(cb);
  const entry: Record<string, AttributeValue> = { status: s(cb.status), at: s(at), source: s('callback') };
  if (cb.errorCode) entry.errorCode = s(cb.errorCode);
  if (cb.idempotencyToken) entry.token = s(cb.idempotencyToken);

  const names: Record<string, string> = { '#history': 'history', '#historyKeys': 'historyKeys', '#updatedAt': 'updatedAt' };
  const values: Record<string, AttributeValue> = {
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

  const set = [...historyOnly.set, '#status = :status', '#statusRank = :rank'];
  const forwardNames: Record<string, string> = { ...names, '#status': 'status', '#statusRank': 'statusRank' };
  const forwardValues: Record<string, AttributeValue> = { ...values, ':status': s(cb.status), ':rank': { N: String(statusRank(cb.status)) } };
  const setIfGiven = (attribute: string, value: string | undefined) => {
    if (value === undefined) return;
    forwardNames[`#${attribute}`] = attribute;
    forwardValues[`:${attribute}`] = s(value);
    set.push(`#${attribute} = :${attribute}`);
  };
  const setIfAbsent = (attribute: string, value: AttributeValue | undefined) => {
    if (value === undefined) return;
    forwardNames[`#${attribute}`] = attribute;
    forwardValues[`:${attribute}`] = value;
    set.push(`#${attribute} = if_not_exists(#${attribute}, :${attribute})`);
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
  setIfAbsent('expiresAt', { N: String(expiresAt(now)) });

  try {
    const out = await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { id: s(cb.messageSid) },
        UpdateExpression: `SET ${set.join(', ')} ADD ${historyOnly.add}`,
        ConditionExpression: '(attribute_not_exists(#statusRank) OR #statusRank < :rank) AND NOT contains(#historyKeys, :key)',
        ExpressionAttributeNames: forwardNames,
        ExpressionAttributeValues: forwardValues,
        // The old status, to tell `delivered → read` from a first delivery, at no extra cost; for
        // a final status the whole old item: its incidentId says whether an incident paged it, its
        // acceptedAt when the delivery latency starts.
        ReturnValues: isUndeliveredStatus(cb.status) || isDeliveredStatus(cb.status) ? 'ALL_OLD' : 'UPDATED_OLD',
      }),
    );
    const previousStatus = out.Attributes?.status?.S;
    const incidentId = isUndeliveredStatus(cb.status) ? out.Attributes?.incidentId?.S : undefined;
    const to = out.Attributes?.to?.S;
    const acceptedAt = out.Attributes?.[TABLE.ALERT_SORT_ATTRIBUTE]?.S;
    return {
      outcome: 'advanced',
      ...(acceptedAt !== undefined ? { acceptedAt } : {}),
      ...(previousStatus !== undefined ? { previousStatus } : {}),
      ...(incidentId !== undefined ? { page: { incidentId, ...(to !== undefined ? { to } : {}) } } : {}),
    };
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }

  try {
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { id: s(cb.messageSid) },
        UpdateExpression: `SET ${historyOnly.set.join(', ')} ADD ${historyOnly.add}`,
        ConditionExpression: 'NOT contains(#historyKeys, :key) AND (attribute_not_exists(#history) OR size(#history) < :limit)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ...values, ':limit': { N: String(HISTORY_LIMIT) } },
      }),
    );
    return { outcome: 'recorded' };
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }

  try {
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { id: s(cb.messageSid) },
        UpdateExpression: 'ADD #historyDropped :one',
        // The first two writes failed on their conditions, so the item exists; never create a stub.
        // A key already in the history is a repeat, not an entry the bound left out: nothing to count.
        ConditionExpression: 'attribute_exists(#id) AND NOT contains(#historyKeys, :key)',
        ExpressionAttributeNames: { '#historyDropped': 'historyDropped', '#id': 'id', '#historyKeys': 'historyKeys' },
        ExpressionAttributeValues: { ':one': { N: '1' }, ':key': s(key) },
      }),
    );
    return { outcome: 'dropped' };
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
  return { outcome: 'duplicate' };
}
