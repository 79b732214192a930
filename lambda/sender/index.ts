import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfigurationError, getCredentials, TwilioCredentials } from '../shared/credentials';
import { maskNumbersInText } from '../shared/mask';
import { ClaimStore } from './claims';
import { loadSettings, SenderSettings } from './config';
import { countConfigurationError, flushMetrics, logger } from './observability';
import { Semaphore } from './semaphore';
import { processRecord, RecordOutcome } from './send';

/**
 * SQS batch of published notifications → Twilio messages, exactly once per
 * recipient (send.ts). Answers with ReportBatchItemFailures: the records to
 * deliver again. A configuration error fails every record, so nothing is
 * lost: the records reach the DLQ and can be redriven once it is fixed.
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
    let credentials: TwilioCredentials;
    try {
      credentials = await getCredentials();
    } catch (err) {
      if (err instanceof ConfigurationError) {
        countConfigurationError();
        if (err.firstInProcess) logger.error('Twilio credentials unusable: records kept for redrive', { reason: err.message });
      } else {
        logger.warn('Twilio credentials could not be read: records will be retried', { error: (err as Error).name, message: maskNumbersInText((err as Error).message) });
      }
      return failAll(event);
    }
    const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : UNKNOWN_REMAINING_MS;
    const ctx = {
      settings,
      db,
      claims: new ClaimStore(db, settings.tableName),
      credentials,
      semaphore: new Semaphore(settings.sendConcurrency),
      deadline: Date.now() + remaining - safetyMs(remaining),
    };
    const outcomes = await Promise.all(
      event.Records.map((record) =>
        processRecord(record, ctx).catch((err: unknown): RecordOutcome => {
          logger.error('record failed, will retry', { messageId: record.messageId, error: (err as Error)?.name, message: maskNumbersInText(String((err as Error)?.message ?? err)) });
          return 'retry';
        }),
      ),
    );
    return { batchItemFailures: event.Records.filter((_, i) => outcomes[i] === 'retry').map((r) => ({ itemIdentifier: r.messageId })) };
  } finally {
    flushMetrics();
  }
};
