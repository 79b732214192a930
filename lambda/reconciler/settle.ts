import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TwilioMessage } from '../shared/twilio-client';
import { ApplyResult, recordStatusCallback, StatusCallback } from '../shared/table/messages';
import { markPolledUndeliveredPage } from '../status-callback/unreachable-page';

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

/**
 * Records the polled status with history source `poll`; a final one takes the
 * message out of the awaiting-final index. A page of an incident that ended
 * `undelivered`/`failed` first takes the status callback's path
 * (markPolledUndeliveredPage: the address unreachable, a timer for its
 * fallback or the next stage), so a failure there leaves the message to be
 * asked again on the next run rather than final with its incident untold.
 * @throws on DynamoDB or SQS errors (the message stays due)
 */
export async function applyPolled(db: DynamoDBClient, tableName: string, polled: StatusCallback, now: number): Promise<ApplyResult> {
  await markPolledUndeliveredPage(db, tableName, polled, now);
  return recordStatusCallback(db, tableName, polled, now, 'poll');
}

export { GiveUpReason, nextStep, stopAsking } from '../shared/table/reconcile-steps';
