import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC } from '../../lib/contract';
import { maskNumbersInText } from '../shared/mask';
import { countConfigurationError, flushMetrics, logger, metrics } from '../shared/observability';
import { BacklogRecord, BacklogUnavailableError, InvalidBacklogRecordError, parseBacklogRecord, sendToBacklog, WebhookName } from './webhook-backlog';
import type { WebhookConfig } from './webhook-config';
import { emptyResponse } from './webhook-request';

/** A webhook function's two doors: Twilio's request through API Gateway, and its own backlog queue. */
export interface WebhookEndpoints {
  readonly webhook: WebhookName;
  /** A Twilio request (API Gateway REST proxy event). */
  readonly handle: (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
  /** A backlog record: finish what the request could not. Throws to have SQS deliver it again. */
  readonly consume: (record: BacklogRecord, context: Context) => Promise<void>;
  /** Resolved at cold start (webhook-config.ts): while it has problems, backlog records are kept, not applied. */
  readonly config: WebhookConfig;
}

function isSqsEvent(event: APIGatewayProxyEvent | SQSEvent): event is SQSEvent {
  return Array.isArray((event as SQSEvent).Records);
}

// Not `message`: the logger keeps that key for the line's own text and drops the field.
const errorFields = (err: unknown) => ({ error: (err as Error)?.name, errorMessage: maskNumbersInText(String((err as Error)?.message)) });

/** Each record on its own: a failed one is reported (ReportBatchItemFailures) and comes back; SQS dead-letters it in the end. */
async function consumeBacklog(event: SQSEvent, endpoints: WebhookEndpoints, context: Context): Promise<SQSBatchResponse> {
  const { problems } = endpoints.config;
  if (problems.length > 0) {
    countConfigurationError();
    logger.error('backlog records kept, not applied: the configuration is unusable', { records: event.Records.length, reasons: problems.map((p) => p.reason) });
    return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
  }
  const failed: string[] = [];
  for (const message of event.Records) {
    try {
      await endpoints.consume(parseBacklogRecord(message.body, endpoints.webhook), context);
    } catch (err) {
      failed.push(message.messageId);
      const invalid = err instanceof InvalidBacklogRecordError;
      logger[invalid ? 'error' : 'warn'](invalid ? 'backlog record cannot be applied: kept for the dead-letter queue' : 'backlog record not applied yet: SQS delivers it again', {
        messageId: message.messageId,
        receiveCount: message.attributes?.ApproximateReceiveCount,
        ...errorFields(err),
      });
    }
  }
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
}

/**
 * The Lambda entry point of a webhook function. An SQS event (it has `Records`)
 * is its backlog; anything else is a Twilio request through API Gateway, whose
 * unexpected error is answered 500 with its message masked. Request context in
 * the logs and metrics flushed whatever happened.
 */
export function webhookHandler(endpoints: WebhookEndpoints) {
  return async (event: APIGatewayProxyEvent | SQSEvent, context: Context): Promise<APIGatewayProxyResult | SQSBatchResponse> => {
    logger.addContext(context);
    try {
      if (isSqsEvent(event)) return await consumeBacklog(event, endpoints, context);
      return await endpoints.handle(event, context);
    } catch (err) {
      logger.error('unexpected failure', errorFields(err));
      return emptyResponse(500);
    } finally {
      flushMetrics();
    }
  };
}

let backlogMissingLogged = false;

/**
 * Makes a verified request durable after its table or topic work failed: hands it
 * to the backlog and answers `accepted` (Twilio does not retry an error answer by
 * default). Only when the backlog also fails is the answer 502.
 */
export async function handOver(
  record: BacklogRecord,
  accepted: APIGatewayProxyResult,
  why: { readonly messageSid: string; readonly reason: string; readonly delaySeconds?: number },
): Promise<APIGatewayProxyResult> {
  try {
    await sendToBacklog(record, why.delaySeconds ?? 0);
  } catch (err) {
    if (err instanceof BacklogUnavailableError) {
      countConfigurationError();
      if (!backlogMissingLogged) logger.error('configuration error', { reason: err.message });
      backlogMissingLogged = true;
    }
    logger.error('the backlog failed too: answered 502', { messageSid: why.messageSid, reason: why.reason, ...errorFields(err) });
    return emptyResponse(502);
  }
  metrics.addMetric(METRIC.WEBHOOKS_BACKLOGGED, MetricUnit.Count, 1);
  logger.warn('webhook handed to the backlog', { messageSid: why.messageSid, reason: why.reason, delaySeconds: why.delaySeconds ?? 0 });
  return accepted;
}

/**
 * A verified request this function cannot record, its configuration being
 * unusable (webhook-config.ts): handed to the backlog untouched and answered
 * `accepted`, to be applied once the configuration is fixed. Without a
 * backlog nothing can keep it: 500, a configuration error, which Twilio does
 * not retry (not 502, which says the failure may pass).
 */
export async function holdUntilConfigured(config: WebhookConfig, record: BacklogRecord, accepted: APIGatewayProxyResult, messageSid: string): Promise<APIGatewayProxyResult> {
  countConfigurationError();
  const reasons = config.problems.map((p) => p.reason);
  try {
    await sendToBacklog(record, 0);
  } catch (err) {
    logger.error('configuration error: the request cannot be recorded nor kept in the backlog: answered 500', { messageSid, reasons, ...errorFields(err) });
    return emptyResponse(500);
  }
  metrics.addMetric(METRIC.WEBHOOKS_BACKLOGGED, MetricUnit.Count, 1);
  logger.warn('webhook handed to the backlog', { messageSid, reason: `configuration: ${reasons.join('; ')}`, delaySeconds: 0 });
  return accepted;
}
