import { DynamoDBClient, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../lib/contract';
import { isConditionFailure } from '../shared/table-items';

/** The alarm notification an ACK reply acknowledged, as the inbound event reports it. */
export interface Acknowledgement {
  /** The SID of the alarm notification message that was acknowledged. */
  readonly messageSid: string;
  readonly alarmName?: string;
  readonly notificationId?: string;
  /** When it was first acknowledged (a second ACK does not move it). */
  readonly acknowledgedAt: string;
}

export interface AcknowledgeResult {
  readonly acknowledgement?: Acknowledgement;
  /** False when the alert had already been acknowledged (a repeated ACK, or a retry). */
  readonly firstAcknowledgement: boolean;
}

/**
 * Marks the latest alarm notification sent to `from` as acknowledged by it:
 * one Query on the sparse alerts-by-recipient index, newest first, then one
 * UpdateItem. The first acknowledgement's who and when are kept.
 *
 * The recipient address is matched exactly, so an SMS ACK acknowledges the
 * latest SMS alert and a WhatsApp ACK the latest WhatsApp alert.
 */
export async function acknowledgeLatestAlert(client: DynamoDBClient, tableName: string, from: string, now: number = Date.now()): Promise<AcknowledgeResult> {
  const { Items } = await client.send(
    new QueryCommand({
      TableName: tableName,
      IndexName: TABLE.ALERTS_BY_RECIPIENT_INDEX,
      KeyConditionExpression: '#recipient = :recipient',
      ExpressionAttributeNames: { '#recipient': TABLE.ALERT_RECIPIENT_ATTRIBUTE },
      ExpressionAttributeValues: { ':recipient': { S: from } },
      ScanIndexForward: false,
      Limit: 1,
    }),
  );
  const alert = Items?.[0];
  const alertId = alert?.[TABLE.PARTITION_KEY]?.S;
  if (!alertId) return { firstAcknowledgement: false };
  const at = new Date(now).toISOString();
  let attributes;
  try {
    ({ Attributes: attributes } = await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { [TABLE.PARTITION_KEY]: { S: alertId } },
        UpdateExpression: 'SET acknowledgedBy = if_not_exists(acknowledgedBy, :by), acknowledgedAt = if_not_exists(acknowledgedAt, :at)',
        ConditionExpression: 'attribute_exists(#id)',
        ExpressionAttributeNames: { '#id': TABLE.PARTITION_KEY },
        ExpressionAttributeValues: { ':by': { S: from }, ':at': { S: at } },
        ReturnValues: 'ALL_NEW',
      }),
    ));
  } catch (err) {
    // The index is eventually consistent: the item may have expired since the Query saw it.
    if (isConditionFailure(err)) return { firstAcknowledgement: false };
    throw err;
  }
  const acknowledgedAt = attributes?.acknowledgedAt?.S ?? at;
  const alarmName = attributes?.alarmName?.S;
  const notificationId = attributes?.notificationId?.S;
  return {
    acknowledgement: {
      messageSid: alertId,
      ...(alarmName !== undefined ? { alarmName } : {}),
      ...(notificationId !== undefined ? { notificationId } : {}),
      acknowledgedAt,
    },
    firstAcknowledgement: acknowledgedAt === at,
  };
}
