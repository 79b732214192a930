import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ENV, METRIC } from '../../lib/contract';
import { maskAddress } from '../shared/mask';
import { logger, metrics } from '../shared/observability';
import { authenticateWebhook } from '../shared/webhook-auth';
import { backlogRecord, BacklogRecord } from '../shared/webhook-backlog';
import { handOver, webhookHandler } from '../shared/webhook-handler';
import { emptyResponse, MalformedRequestError, twimlResponse } from '../shared/webhook-request';
import { Acknowledgement, acknowledgeLatestAlert } from './acknowledge';
import { InboundMessage, isAck, parseInbound } from './inbound-message';
import { inboundEvent, publishInbound } from './publish';
import { markPublished, StoredInbound, storeInbound } from './store-inbound';

/**
 * Inbound SMS/MMS/WhatsApp messages (API Gateway REST proxy, POST /inbound),
 * and this function's backlog queue (SQS): verify, store and claim, acknowledge
 * an alert on `ACK`, publish to the inbound topic, answer empty TwiML so Twilio
 * sends no reply. Answers: 200 TwiML once published, for a retry of a message
 * already published, and when the work was handed to the backlog (DynamoDB or
 * SNS failed, or a concurrent delivery holds the claim); 400 malformed; 403 bad
 * signature; 500 configuration error; 502 Secrets Manager failed, or the
 * backlog failed as well.
 */
const dynamo = new DynamoDBClient({});
const sns = new SNSClient({});
const tableName = process.env[ENV.STATUS_TABLE_NAME] ?? '';
const topicArn = process.env[ENV.INBOUND_TOPIC_ARN] ?? '';
const gate = { url: process.env[ENV.INBOUND_URL], urlVariable: ENV.INBOUND_URL };

/**
 * A claim outlives the invocation that took it (its remaining time) by this
 * much: once it has run out, that invocation has surely ended, published or not.
 */
const LEASE_MARGIN_MS = 2_000;

/** A step of the delivery failed on DynamoDB or SNS. */
class StepFailure extends Error {
  readonly name = 'StepFailure';
  constructor(
    readonly step: string,
    readonly cause: unknown,
    /** The claim this delivery still holds, if it got that far. */
    readonly leaseUntil?: number,
  ) {
    super(`${step} failed: ${(cause as Error)?.name}`);
  }
}

/** `delivered`: this delivery published it; `published`: an earlier one had. */
type Delivery = { readonly kind: 'delivered' } | Exclude<StoredInbound, { kind: 'claimed' }>;

async function deliver(msg: InboundMessage, receivedAt: number, context: Context, via: 'request' | 'backlog'): Promise<Delivery> {
  const now = Date.now();
  let stored: StoredInbound;
  try {
    stored = await storeInbound(dynamo, tableName, msg, receivedAt, now, now + context.getRemainingTimeInMillis() + LEASE_MARGIN_MS);
  } catch (err) {
    throw new StepFailure('store', err);
  }
  if (stored.kind !== 'claimed') return stored;

  let acknowledged: Acknowledgement | undefined;
  if (isAck(msg.body)) {
    try {
      const result = await acknowledgeLatestAlert(dynamo, tableName, msg.from);
      acknowledged = result.acknowledgement;
      if (result.firstAcknowledgement) metrics.addMetric(METRIC.ALERTS_ACKNOWLEDGED, MetricUnit.Count, 1);
    } catch (err) {
      throw new StepFailure('acknowledge', err, stored.leaseUntil);
    }
  }

  try {
    await publishInbound(sns, topicArn, inboundEvent(msg, stored.receivedAt, acknowledged));
  } catch (err) {
    throw new StepFailure('publish', err, stored.leaseUntil);
  }
  metrics.addMetric(METRIC.INBOUND_RECEIVED, MetricUnit.Count, 1);

  try {
    await markPublished(dynamo, tableName, msg.messageSid, acknowledged);
  } catch (err) {
    // The message is on the topic: handing it to the backlog would publish it twice.
    logger.warn('inbound message published but not marked so', { messageSid: msg.messageSid, error: (err as Error).name });
  }
  logger.info('inbound message', {
    messageSid: msg.messageSid,
    from: maskAddress(msg.from),
    channel: msg.channel,
    media: msg.mediaUrls.length,
    acknowledged: acknowledged?.messageSid,
    via,
  });
  return { kind: 'delivered' };
}

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
    delivery = await deliver(msg, receivedAt, context, 'request');
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
  const delivery = await deliver(msg, Date.parse(record.receivedAt), context, 'backlog');
  if (delivery.kind === 'not-inbound') refusedAsOutbound(msg);
  if (delivery.kind === 'claimed-elsewhere') throw new Error(`another delivery holds the claim for ${Math.ceil(secondsUntil(delivery.leaseUntil))} s more`);
}

export const handler = webhookHandler({ webhook: 'inbound', handle, consume });
