import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { maskNumbersInText } from '../shared/mask';
import { sqsClient } from '../shared/sqs';
import type { QueuedRecord } from './context';
import { logger } from './observability';
import type { RecordAnswer, RecordResult } from './results';

/*
 * Slowness alone must never dead-letter a page. A record handed back to SQS
 * as a batch item failure spends one of its receives, and maxReceiveCount of
 * them send it to the DLQ, however healthy everything else is: a slow Twilio
 * (answers that outlast the time budget, a lease still held by the request
 * that went unanswered) reached exactly that.
 *
 * So a record that only ran out of time is not failed but put back: a copy
 * is sent to the alert queue (SendMessage, the one SQS call the sender's role
 * may make, on that queue only) with a DelaySeconds that brings it back when
 * another try can succeed (the holder's lease has ended), and the original is
 * reported done. The copy starts with a fresh receive count.
 *
 * Why this and not the alternatives: ChangeMessageVisibility postpones the
 * next receive but the count still grows; waiting inside the invocation is
 * bounded by the function's timeout; re-publishing to the topic would mint a
 * new notification id and send twice. The copy keeps the notification id
 * (the SNS envelope is the body unchanged; a raw record's id rides in a
 * message attribute, as does its SentTimestamp, the publish time of a raw
 * record), so the claims still guarantee one message per recipient
 * even if the original is also redelivered.
 *
 * Bounded: the copy carries its deferral count; after MAX_DEFERRALS a record
 * that is still only slow goes back to ordinary batch failures (receives, then
 * the DLQ for redrive). Each deferral waits at least 2^n seconds (capped at
 * SQS's 900), so the deferrals span about 45 minutes of continuous slowness
 * before receives are spent. A deferral of an invocation that sent some of
 * the record's recipients is not counted (and waits only as long as its
 * recipients need): a large fan-out on a slow Twilio progresses every time
 * and must not reach the bound from slowness.
 */

export const MAX_DEFERRALS = 12;
/** Message attribute: deferrals so far (Number). */
export const DEFERRALS_ATTRIBUTE = 'twilioMessagingDeferrals';
/** Message attribute: the original record's notification id (String). */
export const NOTIFICATION_ID_ATTRIBUTE = 'twilioMessagingNotificationId';
/** Message attribute: when the original record's body was first put on the queue (epoch ms, Number): a raw record's publish time. */
export const QUEUED_AT_ATTRIBUTE = 'twilioMessagingQueuedAt';
/** SQS's limit for DelaySeconds. */
const MAX_DELAY_SECONDS = 900;

/** Seconds until the copy is delivered: until `deferUntil` (plus a second), and at least 2^deferrals. */
export function deferDelaySeconds(deferUntil: number, deferrals: number, now: number = Date.now()): number {
  const untilDue = Math.ceil((deferUntil - now) / 1000) + 1;
  return Math.min(MAX_DELAY_SECONDS, Math.max(untilDue, 2 ** deferrals));
}

/** Sends the deferred copy; rejects when SQS refuses it (the caller then falls back to a batch failure). */
export async function sendDeferredCopy(queueUrl: string, body: string, notificationId: string, deferrals: number, delaySeconds: number, queuedAt?: number): Promise<void> {
  await (
    await sqsClient()
  ).send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: body,
      DelaySeconds: delaySeconds,
      MessageAttributes: {
        [DEFERRALS_ATTRIBUTE]: { DataType: 'Number', StringValue: String(deferrals) },
        [NOTIFICATION_ID_ATTRIBUTE]: { DataType: 'String', StringValue: notificationId },
        ...(queuedAt !== undefined ? { [QUEUED_AT_ATTRIBUTE]: { DataType: 'Number', StringValue: String(queuedAt) } } : {}),
      },
    }),
  );
}

/**
 * A deferred record's answer: put back on the queue (`requeued`), or a batch
 * failure when that cannot or must not be done (no queue, too many deferrals
 * without progress, SQS refused the copy).
 */
export async function requeue(record: QueuedRecord, deferred: Extract<RecordResult, { readonly outcome: 'deferred' }>, queueUrl: string | undefined): Promise<RecordAnswer> {
  const { notificationId, progressed, recipients } = deferred;
  const { deferrals } = record;
  const retry: RecordAnswer = { outcome: 'retry', recipients };
  if (!queueUrl) return retry;
  // A large fan-out on a slow Twilio that sends some recipients each time is not stuck: only a deferral without progress counts.
  if (!progressed && deferrals >= MAX_DEFERRALS) {
    logger.warn('record deferred too often: left to SQS redelivery', { messageId: record.messageId, notificationId, deferrals });
    return retry;
  }
  const counted = progressed ? deferrals : deferrals + 1;
  // Progress also resets the backoff: the rest is due as soon as its own wait allows.
  const delaySeconds = deferDelaySeconds(deferred.deferUntil, progressed ? 0 : deferrals);
  try {
    await sendDeferredCopy(queueUrl, record.body, notificationId, counted, delaySeconds, record.queuedAt);
  } catch (err) {
    logger.warn('could not defer the record: left to SQS redelivery', { messageId: record.messageId, notificationId, error: (err as Error)?.name, reason: maskNumbersInText(String((err as Error)?.message ?? err)) });
    return retry;
  }
  logger.info('record deferred for time: put back on the queue with a fresh receive count', { messageId: record.messageId, notificationId, deferrals: counted, progressed, delaySeconds });
  return { outcome: 'requeued', recipients };
}
