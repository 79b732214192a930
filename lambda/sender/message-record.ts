import { AttributeValue, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../lib/contract';
import { expiresAt, isConditionFailure, KIND } from '../shared/table-items';
import { statusRank } from '../shared/status';
import { awaitingFinalUpdate, removeClause } from '../shared/awaiting-final';
import type { Channel } from './message-params';

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
}

/**
 * Writes the message item (table-items.ts) in one UpdateItem, so that a
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
  const values: Record<string, AttributeValue> = {
    ':now': { S: iso },
    ':history': { L: [{ M: { status: { S: m.status }, at: { S: iso }, source: { S: 'api' } } }] },
    ':empty': { L: [] },
    ':historyKey': { SS: [`api#${m.status}`] },
  };
  const set = ['#createdAt = if_not_exists(#createdAt, :now)', '#history = list_append(if_not_exists(#history, :empty), :history)'];
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
      ...(withStatus ? { ConditionExpression: 'attribute_not_exists(#statusRank) OR #statusRank < :rank' } : {}),
      ExpressionAttributeNames: withStatus ? { ...names, ...awaiting.names, '#status': 'status', '#statusRank': 'statusRank' } : names,
      ExpressionAttributeValues: withStatus
        ? { ...values, ...awaiting.values, ':status': { S: m.status }, ':rank': { N: String(statusRank(m.status)) } }
        : values,
    });
  try {
    await db.send(update(true));
    return 1;
  } catch (err) {
    const conditionFailed = isConditionFailure(err);
    if (!conditionFailed) throw err;
  }
  await db.send(update(false));
  return 2;
}
