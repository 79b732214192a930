import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ENV, METRIC } from '../../lib/contract';
import { maskAddress } from '../shared/mask';
import { logger, metrics } from '../shared/observability';
import { statusRank } from '../shared/status';
import { authenticateWebhook } from '../shared/webhook-auth';
import { backlogRecord, BacklogRecord } from '../shared/webhook-backlog';
import { handOver, webhookHandler } from '../shared/webhook-handler';
import { emptyResponse, header, MalformedRequestError } from '../shared/webhook-request';
import { applyStatus, ApplyResult, parseStatusCallback, StatusCallback } from './apply-status';
import { markUndeliveredPage } from './unreachable-page';

/**
 * Twilio's message status callbacks (API Gateway REST proxy, POST /status),
 * and this function's backlog queue (SQS). A page of an incident that ends
 * `undelivered`/`failed` adds its address to the incident's `unreachable` and
 * sends an escalate timer (reason `unreachable`) to ALERT_QUEUE_URL. Answers: 200 (empty) once recorded,
 * for a duplicate, or when handed to the backlog because DynamoDB failed; 400
 * malformed; 403 bad signature; 413 a body larger than any Twilio webhook; 500
 * a configuration error (the secret unusable, STATUS_CALLBACK_URL missing) or
 * an unexpected failure; 502 only when Secrets Manager fails and no
 * credentials were ever read in this environment, or when DynamoDB fails and
 * the hand-over to the backlog fails too (WEBHOOK_BACKLOG_QUEUE_URL missing
 * included). Twilio does not retry an error answer by default.
 */
const dynamo = new DynamoDBClient({});
const tableName = process.env[ENV.STATUS_TABLE_NAME] ?? '';
const gate = { url: process.env[ENV.STATUS_CALLBACK_URL], urlVariable: ENV.STATUS_CALLBACK_URL };

function countOutcome(cb: StatusCallback, result: ApplyResult, receivedAt: number): void {
  if (result.outcome !== 'advanced') return;
  // `read` follows `delivered` for WhatsApp: one delivered message, counted once.
  const delivered = cb.status === 'delivered' || (cb.status === 'read' && statusRank(result.previousStatus ?? '') < statusRank('delivered'));
  if (delivered) {
    metrics.addMetric(METRIC.MESSAGES_DELIVERED, MetricUnit.Count, 1);
    const acceptedAt = Date.parse(result.acceptedAt ?? '');
    // Twilio's date_created (a message found by a lookup) may be a little ahead of our clock: never a negative latency.
    if (Number.isFinite(acceptedAt)) metrics.addMetric(METRIC.DELIVERY_LATENCY, MetricUnit.Milliseconds, Math.max(0, receivedAt - acceptedAt));
  }
  if (cb.status === 'undelivered' || cb.status === 'failed') {
    metrics.addMetadata('errorCode', cb.errorCode ?? '');
    metrics.addMetric(METRIC.MESSAGES_UNDELIVERED, MetricUnit.Count, 1);
  }
}

/**
 * Records the callback, counts and logs it; a page of an incident that ended
 * undelivered or failed then makes its address unreachable for the incident.
 * Throws when DynamoDB (or the alert queue) fails: the whole callback goes to
 * the backlog, whose replay is a `duplicate` that repeats only the incident step.
 */
async function record(cb: StatusCallback, receivedAt: number, via: 'request' | 'backlog'): Promise<void> {
  const result: ApplyResult = await applyStatus(dynamo, tableName, cb, receivedAt);
  countOutcome(cb, result, receivedAt);
  logger.info('status callback', {
    messageSid: cb.messageSid,
    status: cb.status,
    outcome: result.outcome,
    errorCode: cb.errorCode,
    to: maskAddress(cb.to),
    via,
  });
  await markUndeliveredPage(dynamo, tableName, cb, result, receivedAt);
}

async function handle(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const receivedAt = Date.now();
  const auth = await authenticateWebhook(event, gate);
  if (!auth.ok) return auth.response;

  let cb: StatusCallback;
  try {
    cb = parseStatusCallback(auth.params, header(event, 'I-Twilio-Idempotency-Token'));
  } catch (err) {
    if (!(err instanceof MalformedRequestError)) throw err;
    logger.warn('status callback rejected', { reason: err.message });
    return emptyResponse(400);
  }

  try {
    await record(cb, receivedAt, 'request');
  } catch (err) {
    logger.error('cannot record the status callback', { messageSid: cb.messageSid, status: cb.status, error: (err as Error).name });
    return handOver(backlogRecord('status', auth.params, receivedAt), emptyResponse(200), { messageSid: cb.messageSid, reason: 'table or alert queue' });
  }
  return emptyResponse(200);
}

/** A backlog record: applied as the request would have been, at the time it arrived (idempotent: the history key de-duplicates). */
async function consume(backlog: BacklogRecord): Promise<void> {
  let cb: StatusCallback;
  try {
    cb = parseStatusCallback(backlog.params, undefined);
  } catch (err) {
    if (!(err instanceof MalformedRequestError)) throw err;
    // The request would have been refused with a 400: so is the record.
    logger.warn('status callback rejected', { reason: err.message, via: 'backlog' });
    return;
  }
  await record(cb, Date.parse(backlog.receivedAt), 'backlog');
}

export const handler = webhookHandler({ webhook: 'status', handle, consume });
