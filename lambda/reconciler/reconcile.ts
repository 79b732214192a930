import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC, TABLE } from '../../lib/contract';
import { ConfigurationError } from '../shared/credentials';
import { maskAddress } from '../shared/mask';
import { countConfigurationError, logger, metrics } from '../shared/observability';
import { isFinalStatus } from '../shared/status';
import { MIN_ATTEMPT_MS } from '../shared/twilio-client';
import { TwilioApiError } from '../shared/twilio-errors';
import { countOutcome } from '../status-callback/count-outcome';
import { askTwilio } from './ask';
import type { ReconcilerConfig } from './config';
import { DueMessage, dueMessages, isMissingIndex } from '../shared/table/reconcile-steps';
import { RECONCILE_ATTEMPTS, waitBeforeAsk } from './schedule';
import { applyPolled, GiveUpReason, nextStep, polledStatus, stopAsking } from './settle';

/** Twilio requests in flight at once: the sender shares the account's concurrency limit. */
export const POLL_CONCURRENCY = 4;
/** A poll is started only with this much time left: Twilio's answer, then up to two table writes. */
const MIN_POLL_MS = MIN_ATTEMPT_MS + 1_000;

/** What one run did. */
export interface RunSummary {
  /** Polls answered by Twilio (a message or a 404). */
  asked: number;
  /** Polls whose status moved the message forward (a callback was missed). */
  reconciled: number;
  /** Messages that were final when asked (they left the index). */
  final: number;
  /** Messages still not final, asked again later. */
  pending: number;
  /** Messages given up on after the last poll, still not final (StatusNeverFinal, reason still-pending). */
  neverFinal: number;
  /** Messages Twilio does not know (StatusNeverFinal, reason not-found). */
  notFound: number;
  /**
   * Why the run ended: every due message asked (`done`), the time budget
   * (`time`), Twilio refused or failed (`twilio`: 429, 5xx, network; the rest
   * wait for the next run), or a configuration an operator must fix.
   */
  stoppedBy: 'done' | 'time' | 'twilio' | 'configuration';
}

type Stop = Exclude<RunSummary['stoppedBy'], 'done'>;

class RunStopped extends Error {
  constructor(readonly why: Stop) {
    super(why);
  }
}

function countNeverFinal(reason: GiveUpReason): void {
  const single = metrics.singleMetric();
  single.addMetadata('reason', reason);
  single.addMetric(METRIC.STATUS_NEVER_FINAL, MetricUnit.Count, 1);
}

/**
 * One scheduled run: for each step of the awaiting-final index, the messages
 * whose wait is over (schedule.ts), oldest first, POLL_CONCURRENCY at a time;
 * each is asked of Twilio and the answer applied rank-guarded (history source
 * `poll`). A final answer takes the message out of the index; one still not
 * final moves to the next step, or after the last one is left with its status
 * and counted in StatusNeverFinal, as is a SID Twilio does not know. A Twilio
 * failure (429, 5xx, network) ends the run: those messages stay due and the
 * next run asks again. Nothing is started that could not finish by `deadline`.
 */
export async function reconcile(db: DynamoDBClient, config: ReconcilerConfig, deadline: number, now: number = Date.now()): Promise<RunSummary> {
  const summary: RunSummary = { asked: 0, reconciled: 0, final: 0, pending: 0, neverFinal: 0, notFound: 0, stoppedBy: 'done' };
  const giveUp = async (m: DueMessage, reason: GiveUpReason, at: number) => {
    if (!(await stopAsking(db, config.tableName, m.sid, m.step, reason, at))) return;
    countNeverFinal(reason);
    if (reason === 'not-found') summary.notFound++;
    else summary.neverFinal++;
  };

  const pollOne = async (m: DueMessage): Promise<void> => {
    if (deadline - Date.now() < MIN_POLL_MS) throw new RunStopped('time');
    let answer;
    try {
      answer = await askTwilio(m.sid, deadline);
    } catch (err) {
      if (err instanceof ConfigurationError) {
        if (err.firstInProcess) logger.error('the Twilio credentials secret is unusable', { reason: err.message });
        throw new RunStopped('configuration');
      }
      if (!(err instanceof TwilioApiError)) throw err;
      if (err.isAuthentication) {
        logger.error('Twilio refused the credentials: fix the secret', { messageSid: m.sid, errorCode: err.code });
        throw new RunStopped('configuration');
      }
      logger.warn('Twilio did not answer a poll: the rest waits for the next run', { messageSid: m.sid, httpStatus: err.httpStatus, errorCode: err.code });
      throw new RunStopped(err.code === 'NO_TIME_LEFT' ? 'time' : 'twilio');
    }
    summary.asked++;
    const at = Date.now();
    if (answer.kind === 'not-found') {
      logger.warn('Twilio does not know the message: no longer asked', { messageSid: m.sid, step: m.step });
      await giveUp(m, 'not-found', at);
      return;
    }
    const polled = polledStatus(m.sid, answer.message);
    const result = await applyPolled(db, config.tableName, polled, at);
    countOutcome(polled, result);
    if (result.outcome === 'advanced') {
      summary.reconciled++;
      metrics.addMetric(METRIC.STATUSES_RECONCILED, MetricUnit.Count, 1);
    }
    logger.info('poll', { messageSid: m.sid, step: m.step, status: polled.status, errorCode: polled.errorCode, outcome: result.outcome, to: maskAddress(polled.to) });
    if (isFinalStatus(polled.status)) {
      summary.final++;
      return;
    }
    if (m.step + 1 >= RECONCILE_ATTEMPTS) {
      await giveUp(m, 'still-pending', at);
      return;
    }
    if (await nextStep(db, config.tableName, m.sid, m.step, at)) summary.pending++;
  };

  try {
    for (let step = 0; step < RECONCILE_ATTEMPTS; step++) {
      const cutoff = new Date(now - waitBeforeAsk(step, config.afterSeconds)).toISOString();
      for await (const page of dueMessages(db, config.tableName, step, cutoff)) {
        for (let i = 0; i < page.length; i += POLL_CONCURRENCY) {
          const settled = await Promise.allSettled(page.slice(i, i + POLL_CONCURRENCY).map(pollOne));
          const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
          if (failure) throw failure.reason;
        }
      }
    }
  } catch (err) {
    if (err instanceof RunStopped) {
      summary.stoppedBy = err.why;
      if (err.why === 'configuration') countConfigurationError();
      return summary;
    }
    if (isMissingIndex(err)) {
      logger.error(`the status table has no index ${TABLE.AWAITING_FINAL_INDEX}: add it to an existing table (README, "Delivery assurance")`);
      countConfigurationError();
      summary.stoppedBy = 'configuration';
      return summary;
    }
    throw err;
  }
  return summary;
}
