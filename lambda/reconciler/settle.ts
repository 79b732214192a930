import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../lib/contract';
import { isConditionFailure } from '../shared/table-items';
import type { TwilioMessage } from '../shared/twilio-client';
import { applyStatus, ApplyResult, StatusCallback } from '../status-callback/apply-status';

/** What a poll answered, in the status callback's terms: the same rank-guarded apply records it. */
export function polledStatus(sid: string, message: TwilioMessage): StatusCallback {
  return {
    messageSid: sid,
    status: message.status,
    ...(message.error_code !== undefined && message.error_code !== null ? { errorCode: String(message.error_code) } : {}),
    ...(message.to ? { to: message.to } : {}),
    ...(message.from ? { from: message.from } : {}),
  };
}

/** Records the polled status with history source `poll`; a final one takes the message out of the awaiting-final index. */
export function applyPolled(db: DynamoDBClient, tableName: string, polled: StatusCallback, now: number): Promise<ApplyResult> {
  return applyStatus(db, tableName, polled, now, 'poll');
}

const stepNames = { '#step': TABLE.RECONCILE_STEP_ATTRIBUTE, '#since': TABLE.AWAITING_SINCE_ATTRIBUTE };

/**
 * Moves a message that is still not final to the next step, waiting from now.
 * Conditional on the step it was found at: a final status written meanwhile (it
 * removed the step) or another run's move leaves the item as it is.
 * @returns false when the condition failed (nothing written)
 */
export async function nextStep(db: DynamoDBClient, tableName: string, sid: string, step: number, now: number): Promise<boolean> {
  try {
    await db.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { [TABLE.PARTITION_KEY]: { S: sid } },
        UpdateExpression: 'SET #step = :next, #since = :now',
        ConditionExpression: '#step = :step',
        ExpressionAttributeNames: stepNames,
        ExpressionAttributeValues: { ':step': { S: String(step) }, ':next': { S: String(step + 1) }, ':now': { S: new Date(now).toISOString() } },
      }),
    );
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    throw err;
  }
}

/** Why the reconciler stopped asking about a message that is not final (kept on the item as reconcileOutcome). */
export type GiveUpReason = 'still-pending' | 'not-found';

/**
 * Takes the message out of the awaiting-final index, keeping its status, and
 * records why (`reconcileOutcome`, `reconciledAt`). Conditional on the step it
 * was found at, like nextStep.
 * @returns false when the condition failed (nothing written)
 */
export async function stopAsking(db: DynamoDBClient, tableName: string, sid: string, step: number, reason: GiveUpReason, now: number): Promise<boolean> {
  try {
    await db.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { [TABLE.PARTITION_KEY]: { S: sid } },
        UpdateExpression: 'SET #outcome = :reason, #reconciledAt = :now REMOVE #step, #since',
        ConditionExpression: '#step = :step',
        ExpressionAttributeNames: { ...stepNames, '#outcome': 'reconcileOutcome', '#reconciledAt': 'reconciledAt' },
        ExpressionAttributeValues: { ':step': { S: String(step) }, ':reason': { S: reason }, ':now': { S: new Date(now).toISOString() } },
      }),
    );
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    throw err;
  }
}
