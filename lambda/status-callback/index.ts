import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ENV, METRIC } from '../../lib/contract';
import { maskAddress } from '../shared/mask';
import { logger, metrics } from '../shared/observability';
import { statusRank } from '../shared/status';
import { authenticateWebhook } from '../shared/webhook-auth';
import { webhookHandler } from '../shared/webhook-handler';
import { emptyResponse, header, MalformedRequestError } from '../shared/webhook-request';
import { applyStatus, ApplyResult, parseStatusCallback, StatusCallback } from './apply-status';

/**
 * Twilio's message status callbacks (API Gateway REST proxy, POST /status).
 * Answers: 200 (empty) once recorded or a duplicate; 400 malformed; 403 bad
 * signature; 500 configuration error; 502 DynamoDB or Secrets Manager failed,
 * so that Twilio tries again.
 */
const dynamo = new DynamoDBClient({});
const tableName = process.env[ENV.STATUS_TABLE_NAME] ?? '';
const gate = { url: process.env[ENV.STATUS_CALLBACK_URL], urlVariable: ENV.STATUS_CALLBACK_URL };

function countOutcome(cb: StatusCallback, result: ApplyResult): void {
  if (result.outcome !== 'advanced') return;
  // `read` follows `delivered` for WhatsApp: one delivered message, counted once.
  const delivered = cb.status === 'delivered' || (cb.status === 'read' && statusRank(result.previousStatus ?? '') < statusRank('delivered'));
  if (delivered) metrics.addMetric(METRIC.MESSAGES_DELIVERED, MetricUnit.Count, 1);
  if (cb.status === 'undelivered' || cb.status === 'failed') {
    metrics.addMetadata('errorCode', cb.errorCode ?? '');
    metrics.addMetric(METRIC.MESSAGES_UNDELIVERED, MetricUnit.Count, 1);
  }
}

async function handle(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
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

  let result: ApplyResult;
  try {
    result = await applyStatus(dynamo, tableName, cb);
  } catch (err) {
    logger.error('cannot record the status callback', { messageSid: cb.messageSid, status: cb.status, error: (err as Error).name });
    return emptyResponse(502);
  }
  countOutcome(cb, result);
  logger.info('status callback', {
    messageSid: cb.messageSid,
    status: cb.status,
    outcome: result.outcome,
    errorCode: cb.errorCode,
    to: maskAddress(cb.to),
  });
  return emptyResponse(200);
}

export const handler = webhookHandler(handle);
