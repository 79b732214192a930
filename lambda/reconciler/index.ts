import type { Context, ScheduledEvent } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { countConfigurationError, flushMetrics, logger } from '../shared/observability';
import { readConfig } from './config';
import { reconcile, RunSummary } from './reconcile';

/**
 * The reconciler (EventBridge schedule): asks Twilio about messages that have
 * had no final status for RECONCILE_AFTER_SECONDS, through the sparse
 * awaiting-final index (reconcile.ts). A configuration it cannot use is logged
 * and counted (ConfigurationErrors), and the run ends without an error:
 * EventBridge's retries of a failed invocation would not fix it.
 */
const db = new DynamoDBClient({});
const config = readConfig(process.env);
/** Left for the last writes and the metrics flush when the time budget ends the run. */
const SAFETY_MS = 3_000;

export async function handler(_event: ScheduledEvent, context: Context): Promise<RunSummary | { stoppedBy: 'configuration'; problem: string }> {
  try {
    if ('problem' in config) {
      logger.error('the reconciler is misconfigured', { reason: config.problem });
      countConfigurationError();
      return { stoppedBy: 'configuration', problem: config.problem };
    }
    const deadline = Date.now() + context.getRemainingTimeInMillis() - SAFETY_MS;
    const summary = await reconcile(db, config, deadline);
    logger.info('reconciled', { ...summary });
    return summary;
  } finally {
    flushMetrics();
  }
}
