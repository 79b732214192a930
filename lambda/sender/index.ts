import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ENV } from '../../lib/contract';
import { ConfigurationError, getCredentials } from '../shared/credentials';
import { IncidentStore } from '../shared/incidents/store';
import { maskNumbersInText } from '../shared/mask';
import { ClaimStore } from '../shared/table/claims';
import { loadSettings, SenderSettings } from './config';
import { DEFERRALS_ATTRIBUTE, deferDelaySeconds, MAX_DEFERRALS, NOTIFICATION_ID_ATTRIBUTE, sendDeferredCopy } from './defer';
import { countConfigurationError, countDeferred, flushMetrics, logger } from './observability';
import { Semaphore } from './semaphore';
import { DeferredRecord, processRecord, RecordOutcome, SendContext } from './send';

/**
 * SQS batch of published notifications → Twilio messages, exactly once per
 * recipient (send.ts). Answers with ReportBatchItemFailures: the records to
 * deliver again. A configuration error keeps the records it concerns (in the
 * queue, then the DLQ), so nothing is lost: they can be redriven once it is
 * fixed. A record held up only by time is put back with a fresh receive
 * count instead (defer.ts).
 */

/** Time kept back from the function's timeout for the writes after the last answer: a tenth of it, 0.5 to 2 s. */
const safetyMs = (remainingMs: number) => Math.min(2_000, Math.max(500, remainingMs / 10));
/** Budget when the context cannot tell (a local harness): Lambda's default 3 s would be too tight to be a useful guess. */
const UNKNOWN_REMAINING_MS = 30_000;

const db = new DynamoDBClient({});
let settings: SenderSettings | undefined;
let settingsError: string | undefined;
try {
  settings = loadSettings();
} catch (err) {
  settingsError = (err as Error).message;
}
let settingsErrorLogged = false;
/** Absent (a harness, or a deployment from before deferrals): time-only deferrals fall back to batch failures. */
const alertQueueUrl = process.env[ENV.ALERT_QUEUE_URL] || undefined;

function failAll(event: SQSEvent): SQSBatchResponse {
  return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
}

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  if (context) logger.addContext(context);
  try {
    if (!settings) {
      countConfigurationError();
      if (!settingsErrorLogged) logger.error('sender configuration error: nothing is sent until the deployment is fixed', { reason: settingsError });
      settingsErrorLogged = true;
      return failAll(event);
    }
    // A gate, not a copy: requests take their own credentials (send.ts). An unusable secret holds every record before any claim is made.
    try {
      await getCredentials();
    } catch (err) {
      if (err instanceof ConfigurationError) {
        countConfigurationError();
        if (err.firstInProcess) logger.error('Twilio credentials unusable: records kept for redrive', { reason: err.message });
      } else {
        logger.warn('Twilio credentials could not be read: records will be retried', { error: (err as Error).name, reason: maskNumbersInText((err as Error).message) });
      }
      return failAll(event);
    }
    const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : UNKNOWN_REMAINING_MS;
    const ctx: SendContext = {
      settings,
      db,
      claims: new ClaimStore(db, settings.tableName),
      semaphore: new Semaphore(settings.sendConcurrency),
      deadline: Date.now() + remaining - safetyMs(remaining),
      held: new Map(),
      incidents: new IncidentStore(db, settings.tableName),
      ...(alertQueueUrl ? { alertQueueUrl } : {}),
    };
    const outcomes = await Promise.all(
      event.Records.map(async (record): Promise<'done' | 'retry'> => {
        const deferrals = Number(record.messageAttributes?.[DEFERRALS_ATTRIBUTE]?.stringValue ?? 0) || 0;
        const queued = {
          messageId: record.messageId,
          body: record.body,
          receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? 1) || 1,
          notificationId: record.messageAttributes?.[NOTIFICATION_ID_ATTRIBUTE]?.stringValue || undefined,
          deferrals,
        };
        const outcome = await processRecord(queued, ctx).catch((err: unknown): RecordOutcome => {
          logger.error('record failed, will retry', { messageId: record.messageId, error: (err as Error)?.name, reason: maskNumbersInText(String((err as Error)?.message ?? err)) });
          return 'retry';
        });
        return typeof outcome === 'object' ? defer(record, outcome, deferrals) : outcome;
      }),
    );
    return { batchItemFailures: event.Records.filter((_, i) => outcomes[i] === 'retry').map((r) => ({ itemIdentifier: r.messageId })) };
  } finally {
    flushMetrics();
  }
};

/** Puts a record held up only by time back on the queue (defer.ts); a batch failure when that cannot be done. */
async function defer(record: SQSRecord, outcome: DeferredRecord, deferrals: number): Promise<'done' | 'retry'> {
  const { notificationId, progressed } = outcome;
  if (!alertQueueUrl) return 'retry';
  // A large fan-out on a slow Twilio that sends some recipients each time is not stuck: only a deferral without progress counts.
  if (!progressed && deferrals >= MAX_DEFERRALS) {
    logger.warn('record deferred too often: left to SQS redelivery', { messageId: record.messageId, notificationId, deferrals });
    return 'retry';
  }
  const counted = progressed ? deferrals : deferrals + 1;
  // Progress also resets the backoff: the rest is due as soon as its own wait allows.
  const delaySeconds = deferDelaySeconds(outcome.deferUntil, progressed ? 0 : deferrals);
  try {
    await sendDeferredCopy(alertQueueUrl, record.body, notificationId, counted, delaySeconds);
  } catch (err) {
    logger.warn('could not defer the record: left to SQS redelivery', { messageId: record.messageId, notificationId, error: (err as Error)?.name, reason: maskNumbersInText(String((err as Error)?.message ?? err)) });
    return 'retry';
  }
  countDeferred();
  logger.info('record deferred for time: put back on the queue with a fresh receive count', { messageId: record.messageId, notificationId, deferrals: counted, progressed, delaySeconds });
  return 'done';
}
