import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TwilioMessage } from '../shared/twilio-client';
import { ApplyResult, recordStatusCallback, StatusCallback } from '../shared/table/messages';

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
  return recordStatusCallback(db, tableName, polled, now, 'poll');
}

export { GiveUpReason, nextStep, stopAsking } from '../shared/table/reconcile-steps';
