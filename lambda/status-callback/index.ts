import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ENV } from '../../lib/contract';
import { maskAddress } from '../shared/mask';
import { logger } from '../shared/observability';
import { authenticateWebhook } from '../webhook/webhook-auth';
import { backlogRecord, BacklogRecord } from '../webhook/webhook-backlog';
import { resolveWebhookConfig } from '../webhook/webhook-config';
import { handOver, holdUntilConfigured, webhookHandler } from '../webhook/webhook-handler';
import { emptyResponse, header, MalformedRequestError } from '../webhook/webhook-request';
import { ApplyResult, recordStatusCallback } from '../shared/table/messages';
import { parseStatusCallback, StatusCallback } from './parse-callback';
import { countOutcome } from './count-outcome';
import { markUndeliveredPage } from './unreachable-page';

/**
 * Twilio's message status callbacks (API Gateway REST proxy, POST /status),
 * and this function's backlog queue (SQS). A page of an incident that ends
 * `undelivered`/`failed` adds its address to the incident's `unreachable` and
 * sends an escalate timer (reason `unreachable`) to ALERT_QUEUE_URL. Answers: 200 (empty) once recorded,
 * for a duplicate, or when handed to the backlog because DynamoDB failed; 400
 * malformed; 403 bad signature; 413 a body larger than any Twilio webhook; 500
 * a configuration error (the secret unusable, STATUS_CALLBACK_URL missing,
 * STATUS_TABLE_NAME missing or bad with no backlog to hold the request:
 * webhook-config.ts; with one it is held there and answered 200) or an
 * unexpected failure; 502 only when Secrets Manager fails and no
 * credentials were ever read in this environment, or when DynamoDB fails and
 * the hand-over to the backlog fails too (WEBHOOK_BACKLOG_QUEUE_URL missing
 * included). Twilio does not retry an error answer by default.
 */
const dynamo = new DynamoDBClient({});
const config = resolveWebhookConfig('status', { tableName: process.env[ENV.STATUS_TABLE_NAME], alertQueueUrl: process.env[ENV.ALERT_QUEUE_URL] });
const tableName = config.tableName;
const gate = { url: process.env[ENV.STATUS_CALLBACK_URL], urlVariable: ENV.STATUS_CALLBACK_URL };

/**
 * Records the callback, counts and logs it; a page of an incident that ended
 * undelivered or failed then makes its address unreachable for the incident.
 * Throws when DynamoDB (or the alert queue) fails: the whole callback goes to
 * the backlog, whose replay is a `duplicate` that repeats only the incident step.
 */
async function record(cb: StatusCallback, receivedAt: number, via: 'request' | 'backlog'): Promise<void> {
  const result: ApplyResult = await recordStatusCallback(dynamo, tableName, cb, receivedAt);
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
  if (config.problems.length > 0) return holdUntilConfigured(config, backlogRecord('status', auth.params, receivedAt), emptyResponse(200), cb.messageSid);

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

export const handler = webhookHandler({ webhook: 'status', handle, consume, config });
