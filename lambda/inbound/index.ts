import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ENV, METRIC } from '../../lib/contract';
import { maskAddress } from '../shared/mask';
import { logger, metrics } from '../shared/observability';
import { authenticateWebhook } from '../shared/webhook-auth';
import { webhookHandler } from '../shared/webhook-handler';
import { emptyResponse, MalformedRequestError, twimlResponse } from '../shared/webhook-request';
import { Acknowledgement, acknowledgeLatestAlert } from './acknowledge';
import { InboundMessage, isAck, parseInbound } from './inbound-message';
import { inboundEvent, publishInbound } from './publish';
import { markPublished, StoredInbound, storeInbound } from './store-inbound';

/**
 * Inbound SMS/MMS/WhatsApp messages (API Gateway REST proxy, POST /inbound):
 * verify, store, acknowledge an alert on `ACK`, publish to the inbound topic,
 * answer empty TwiML so Twilio sends no reply. Answers: 200 TwiML (also for a
 * retry of a message already published); 400 malformed; 403 bad signature;
 * 500 configuration error; 502 DynamoDB, SNS or Secrets Manager failed, so
 * Twilio tries again and the retry finishes the job.
 */
const dynamo = new DynamoDBClient({});
const sns = new SNSClient({});
const tableName = process.env[ENV.STATUS_TABLE_NAME] ?? '';
const topicArn = process.env[ENV.INBOUND_TOPIC_ARN] ?? '';
const gate = { url: process.env[ENV.INBOUND_URL], urlVariable: ENV.INBOUND_URL };

function dependencyFailure(step: string, msg: InboundMessage, err: unknown): APIGatewayProxyResult {
  logger.error(`inbound message: ${step} failed`, { messageSid: msg.messageSid, error: (err as Error).name });
  return emptyResponse(502);
}

async function handle(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const auth = await authenticateWebhook(event, gate);
  if (!auth.ok) return auth.response;

  let msg: InboundMessage;
  try {
    msg = parseInbound(auth.params);
  } catch (err) {
    if (!(err instanceof MalformedRequestError)) throw err;
    logger.warn('inbound message rejected', { reason: err.message });
    return emptyResponse(400);
  }

  let stored: StoredInbound;
  try {
    stored = await storeInbound(dynamo, tableName, msg);
  } catch (err) {
    if ((err as Error).name === 'ConditionalCheckFailedException') {
      logger.warn('inbound message rejected', { messageSid: msg.messageSid, reason: 'the SID belongs to an outbound message' });
      return emptyResponse(400);
    }
    return dependencyFailure('store', msg, err);
  }
  if (stored.published) {
    logger.info('inbound message already published', { messageSid: msg.messageSid });
    return twimlResponse();
  }

  let acknowledged: Acknowledgement | undefined;
  if (isAck(msg.body)) {
    try {
      const result = await acknowledgeLatestAlert(dynamo, tableName, msg.from);
      acknowledged = result.acknowledgement;
      if (result.firstAcknowledgement) metrics.addMetric(METRIC.ALERTS_ACKNOWLEDGED, MetricUnit.Count, 1);
    } catch (err) {
      return dependencyFailure('acknowledge', msg, err);
    }
  }

  try {
    await publishInbound(sns, topicArn, inboundEvent(msg, stored.receivedAt, acknowledged));
  } catch (err) {
    return dependencyFailure('publish', msg, err);
  }
  metrics.addMetric(METRIC.INBOUND_RECEIVED, MetricUnit.Count, 1);

  try {
    await markPublished(dynamo, tableName, msg.messageSid, acknowledged);
  } catch (err) {
    // The message is on the topic: answering 5xx would make Twilio's retry publish it twice.
    logger.warn('inbound message published but not marked so', { messageSid: msg.messageSid, error: (err as Error).name });
  }
  logger.info('inbound message', {
    messageSid: msg.messageSid,
    from: maskAddress(msg.from),
    channel: msg.channel,
    media: msg.mediaUrls.length,
    acknowledged: acknowledged?.messageSid,
  });
  return twimlResponse();
}

export const handler = webhookHandler(handle);
