import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ENV } from '../../lib/contract';
import { IncidentStore } from '../shared/incidents/store';
import { openAccount } from './account';
import { ClaimStore } from '../shared/table/claims';
import { loadSettings, SenderSettings } from './config';
import type { SendContext } from './context';
import { requeue } from './defer';
import { countConfigurationError, flushMetrics, logger } from './observability';
import { processRecord, readQueued } from './record';
import { batchResponse, countAnswers, failAll, RecordAnswer } from './results';
import { Semaphore } from './semaphore';

/**
 * SQS batch of published notifications → Twilio messages, exactly once per
 * recipient. Each record walks forward on its own (record.ts) and answers a
 * result; the batch response (ReportBatchItemFailures: the records to
 * deliver again) and the metrics are made from the results (results.ts). A
 * configuration error keeps the records it concerns (in the queue, then the
 * DLQ), so nothing is lost: they can be redriven once it is fixed. A record
 * held up only by time is put back with a fresh receive count instead
 * (defer.ts).
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

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  if (context) logger.addContext(context);
  try {
    if (!settings) {
      countConfigurationError();
      if (!settingsErrorLogged) logger.error('sender configuration error: nothing is sent until the deployment is fixed', { reason: settingsError });
      settingsErrorLogged = true;
      return failAll(event.Records);
    }
    const account = await openAccount();
    if (!account) return failAll(event.Records);
    const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : UNKNOWN_REMAINING_MS;
    const ctx: SendContext = {
      settings,
      db,
      claims: new ClaimStore(db, settings.tableName),
      incidents: new IncidentStore(db, settings.tableName),
      account,
      semaphore: new Semaphore(settings.sendConcurrency),
      deadline: Date.now() + remaining - safetyMs(remaining),
      ...(alertQueueUrl ? { alertQueueUrl } : {}),
    };
    const answers = await Promise.all(
      event.Records.map(async (sqsRecord): Promise<RecordAnswer> => {
        const record = readQueued(sqsRecord);
        const result = await processRecord(record, ctx);
        return result.outcome === 'deferred' ? requeue(record, result, alertQueueUrl) : result;
      }),
    );
    countAnswers(answers);
    return batchResponse(event.Records, answers);
  } finally {
    flushMetrics();
  }
};
