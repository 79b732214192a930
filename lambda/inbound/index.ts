import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { ENV } from '../../lib/contract';
import { logger } from '../shared/observability';
import { authenticateWebhook } from '../shared/webhook-auth';
import { backlogRecord, BacklogRecord } from '../shared/webhook-backlog';
import { handOver, webhookHandler } from '../shared/webhook-handler';
import { emptyResponse, MalformedRequestError, twimlResponse } from '../shared/webhook-request';
import { deliver, Delivery, DeliveryDeps, StepFailure } from './deliver';
import { InboundMessage, parseInbound } from './inbound-message';

/**
 * Inbound SMS/MMS/WhatsApp messages (API Gateway REST proxy, POST /inbound),
 * and this function's backlog queue (SQS): verify, store and claim, acknowledge
 * an alert on `ACK`, publish to the inbound topic, answer empty TwiML so Twilio
 * sends no reply. Answers: 200 TwiML once published, for a retry of a message
 * already published, and when the work was handed to the backlog (DynamoDB or
 * SNS failed, or a concurrent delivery holds the claim); 400 malformed (or a
 * SID of one of our outbound messages); 403 bad signature; 413 a body larger
 * than any Twilio webhook; 500 a configuration error (the secret unusable,
 * INBOUND_URL missing) or an unexpected failure; 502 only when Secrets Manager
 * fails and no credentials were ever read in this environment, or when the
 * hand-over to the backlog fails too (WEBHOOK_BACKLOG_QUEUE_URL missing
 * included). Twilio does not retry an error answer by default.
 */
const deps: DeliveryDeps = {
  dynamo: new DynamoDBClient({}),
  sns: new SNSClient({}),
  tableName: process.env[ENV.STATUS_TABLE_NAME] ?? '',
  topicArn: process.env[ENV.INBOUND_TOPIC_ARN] ?? '',
};
const gate = { url: process.env[ENV.INBOUND_URL], urlVariable: ENV.INBOUND_URL };

const secondsUntil = (epochMs: number | undefined) => (epochMs === undefined ? 0 : Math.max(0, (epochMs - Date.now()) / 1000));

function refusedAsOutbound(msg: InboundMessage): void {
  logger.warn('inbound message rejected', { messageSid: msg.messageSid, reason: 'the SID belongs to an outbound message' });
}

async function handle(event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> {
  const receivedAt = Date.now();
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

  const backlog = () => backlogRecord('inbound', auth.params, receivedAt);
  let delivery: Delivery;
  try {
    delivery = await deliver(deps, msg, receivedAt, context, 'request');
  } catch (err) {
    if (!(err instanceof StepFailure)) throw err;
    logger.error(`inbound message: ${err.step} failed`, { messageSid: msg.messageSid, error: (err.cause as Error)?.name });
    // Delivered once this delivery's own claim has run out.
    return handOver(backlog(), twimlResponse(), { messageSid: msg.messageSid, reason: err.step, delaySeconds: secondsUntil(err.leaseUntil) });
  }
  switch (delivery.kind) {
    case 'not-inbound':
      refusedAsOutbound(msg);
      return emptyResponse(400);
    case 'claimed-elsewhere':
      // A concurrent delivery is publishing it. Should that one die before it does,
      // this record, delivered after its claim, publishes it.
      return handOver(backlog(), twimlResponse(), { messageSid: msg.messageSid, reason: 'claimed by a concurrent delivery', delaySeconds: secondsUntil(delivery.leaseUntil) });
    case 'published':
      logger.info('inbound message already published', { messageSid: msg.messageSid });
      return twimlResponse();
    case 'delivered':
      return twimlResponse();
  }
}

/** A backlog record: the delivery the request could not finish. Throwing leaves it to SQS's next delivery. */
async function consume(record: BacklogRecord, context: Context): Promise<void> {
  let msg: InboundMessage;
  try {
    msg = parseInbound(record.params);
  } catch (err) {
    if (!(err instanceof MalformedRequestError)) throw err;
    // The request would have been refused with a 400: so is the record.
    logger.warn('inbound message rejected', { reason: err.message, via: 'backlog' });
    return;
  }
  const delivery = await deliver(deps, msg, Date.parse(record.receivedAt), context, 'backlog');
  if (delivery.kind === 'not-inbound') refusedAsOutbound(msg);
  if (delivery.kind === 'claimed-elsewhere') throw new Error(`another delivery holds the claim for ${Math.ceil(secondsUntil(delivery.leaseUntil))} s more`);
}

export const handler = webhookHandler({ webhook: 'inbound', handle, consume });
