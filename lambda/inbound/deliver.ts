import type { Context } from 'aws-lambda';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SNSClient } from '@aws-sdk/client-sns';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC } from '../../lib/contract';
import { maskAddress } from '../shared/mask';
import { logger, metrics } from '../shared/observability';
import { Acknowledgement, acknowledgeLatestAlert } from './acknowledge';
import { InboundMessage, isAck } from './inbound-message';
import { inboundEvent, publishInbound } from './publish';
import { markPublished, StoredInbound, storeInbound } from './store-inbound';

/**
 * A claim outlives the invocation that took it (its remaining time) by this
 * much: once it has run out, that invocation has surely ended, published or not.
 */
const LEASE_MARGIN_MS = 2_000;

/**
 * Waits before the second, third and fourth attempt to mark a published
 * message: a DynamoDB hiccup usually passes within these, and each retry is
 * only made while the invocation has MARK_RESERVE_MS left after its wait.
 */
const MARK_BACKOFF_MS = [50, 200, 800] as const;
const MARK_RESERVE_MS = 1_500;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Marks the published message so, retrying a failure a few times within the
 * invocation's time. The message is on the topic: handing it to the backlog
 * would publish it again, so a mark that still fails is logged and counted
 * (METRIC.INBOUND_PUBLISH_UNMARKED). A later delivery (a concurrent one's
 * backlog record, a Twilio retry) may then publish it a second time once the
 * claim runs out: the at-least-once window subscribers de-duplicate on messageSid.
 */
async function markAfterPublish(dynamo: DynamoDBClient, tableName: string, messageSid: string, acknowledged: Acknowledgement | undefined, context: Context): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await markPublished(dynamo, tableName, messageSid, acknowledged);
      if (attempt > 0) logger.info('inbound message marked published after a retry', { messageSid, attempts: attempt + 1 });
      return;
    } catch (err) {
      const wait = MARK_BACKOFF_MS[attempt];
      if (wait === undefined || context.getRemainingTimeInMillis() < wait + MARK_RESERVE_MS) {
        logger.error('inbound message published but not marked so: a later delivery may publish it again', {
          messageSid,
          attempts: attempt + 1,
          error: (err as Error).name,
        });
        metrics.addMetric(METRIC.INBOUND_PUBLISH_UNMARKED, MetricUnit.Count, 1);
        return;
      }
      await sleep(wait);
    }
  }
}

/** A step of the delivery failed on DynamoDB or SNS. */
export class StepFailure extends Error {
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
export type Delivery = { readonly kind: 'delivered' } | Exclude<StoredInbound, { kind: 'claimed' }>;

export interface DeliveryDeps {
  readonly dynamo: DynamoDBClient;
  readonly sns: SNSClient;
  readonly tableName: string;
  readonly topicArn: string;
}

/**
 * One delivery of a verified inbound message, from a request or a backlog
 * record: store and claim, acknowledge an alert on `ACK`, publish, mark
 * published. Throws StepFailure when DynamoDB or SNS fails.
 */
export async function deliver({ dynamo, sns, tableName, topicArn }: DeliveryDeps, msg: InboundMessage, receivedAt: number, context: Context, via: 'request' | 'backlog'): Promise<Delivery> {
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

  await markAfterPublish(dynamo, tableName, msg.messageSid, acknowledged, context);
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
