import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { ENV } from '../../lib/contract';
import { logger } from '../shared/observability';
import { authenticateWebhook } from '../webhook/webhook-auth';
import { backlogRecord, BacklogRecord } from '../webhook/webhook-backlog';
import { resolveWebhookConfig } from '../webhook/webhook-config';
import { handOver, holdUntilConfigured, webhookHandler } from '../webhook/webhook-handler';
import { emptyResponse, MalformedRequestError, twimlResponse } from '../webhook/webhook-request';
import type { CommandOutcome } from './command';
import { deliver, Delivery, DeliveryDeps, StepFailure } from './deliver';
import { InboundMessage, parseInbound } from './inbound-message';
import { isAckCommand, parseReplyCommand } from './reply-command';
import { REPLY, twimlMessage } from './reply-text';

/**
 * Inbound SMS/MMS/WhatsApp messages (API Gateway REST proxy, POST /inbound),
 * and this function's backlog queue (SQS): verify, store and claim, do what a
 * reply command asks (`ACK`, `ACK <code>`, `ACK ALL` acknowledge incidents;
 * opt-out words record the address as opted out and escalate past it, opt-in
 * words record it back), publish to the inbound topic with the reply's
 * `type`, and answer: a command with one TwiML line saying what happened or
 * why nothing did, anything else (opt-out and opt-in words included) with
 * empty TwiML. Answers: 200 TwiML once published, for a retry of a message
 * already published (the same line as before), and when the work was handed
 * to the backlog (DynamoDB, SNS or the alert queue failed, or a concurrent
 * delivery holds the claim; an ACK whose write had not landed is then told it
 * is not confirmed yet); 400 malformed (or a SID of one of our outbound
 * messages); 403 bad signature; 413 a body larger than any Twilio webhook; 500
 * a configuration error (the secret unusable, INBOUND_URL missing,
 * STATUS_TABLE_NAME or INBOUND_TOPIC_ARN missing or bad with no backlog to
 * hold the request: webhook-config.ts; with one it is held there and answered
 * as unconfirmed) or an unexpected failure; 502 only when Secrets Manager fails and no credentials
 * were ever read in this environment, or when the hand-over to the backlog
 * fails too (WEBHOOK_BACKLOG_QUEUE_URL missing included). Twilio does not
 * retry an error answer by default.
 */
const config = resolveWebhookConfig('inbound', {
  tableName: process.env[ENV.STATUS_TABLE_NAME],
  topicArn: process.env[ENV.INBOUND_TOPIC_ARN],
  alertQueueUrl: process.env[ENV.ALERT_QUEUE_URL],
});
const deps: DeliveryDeps = {
  dynamo: new DynamoDBClient({}),
  sns: new SNSClient({}),
  tableName: config.tableName,
  topicArn: config.topicArn,
};
const gate = { url: process.env[ENV.INBOUND_URL], urlVariable: ENV.INBOUND_URL };

const secondsUntil = (epochMs: number | undefined) => (epochMs === undefined ? 0 : Math.max(0, (epochMs - Date.now()) / 1000));

function refusedAsOutbound(msg: InboundMessage): void {
  logger.warn('inbound message rejected', { messageSid: msg.messageSid, reason: 'the SID belongs to an outbound message' });
}

/** What a reply that did this is answered with. */
const answer = (outcome: CommandOutcome): APIGatewayProxyResult => (outcome.reply === undefined ? twimlResponse() : twimlMessage(outcome.reply));

/**
 * The answer while the work waits in the backlog and nothing this delivery
 * did is confirmed: an ACK is told so (it must not read as acknowledged), the
 * rest get the usual silence.
 */
const unconfirmed = (msg: InboundMessage): APIGatewayProxyResult => (isAckCommand(parseReplyCommand(msg.body)) ? twimlMessage(REPLY.notConfirmed()) : twimlResponse());

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
  if (config.problems.length > 0) return holdUntilConfigured(config, backlog(), unconfirmed(msg), msg.messageSid);
  let delivery: Delivery;
  try {
    delivery = await deliver(deps, msg, receivedAt, context, 'request');
  } catch (err) {
    if (!(err instanceof StepFailure)) throw err;
    logger.error(`inbound message: ${err.step} failed`, { messageSid: msg.messageSid, error: (err.cause as Error)?.name });
    // A command done before the publish failed is durable: its answer stands, and the record
    // (which repeats it harmlessly) only has the publish left to do.
    const accepted = err.outcome ? answer(err.outcome) : unconfirmed(msg);
    // Delivered once this delivery's own claim has run out.
    return handOver(backlog(), accepted, { messageSid: msg.messageSid, reason: err.step, delaySeconds: secondsUntil(err.leaseUntil) });
  }
  switch (delivery.kind) {
    case 'not-inbound':
      refusedAsOutbound(msg);
      return emptyResponse(400);
    case 'claimed-elsewhere':
      // A concurrent delivery is publishing it. Should that one die before it does,
      // this record, delivered after its claim, publishes it.
      return handOver(backlog(), unconfirmed(msg), { messageSid: msg.messageSid, reason: 'claimed by a concurrent delivery', delaySeconds: secondsUntil(delivery.leaseUntil) });
    case 'published':
      logger.info('inbound message already published', { messageSid: msg.messageSid });
      return delivery.reply === undefined ? twimlResponse() : twimlMessage(delivery.reply);
    case 'delivered':
      return answer(delivery.outcome);
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

export const handler = webhookHandler({ webhook: 'inbound', handle, consume, config });
