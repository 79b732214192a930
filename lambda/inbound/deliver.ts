import type { Context } from 'aws-lambda';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SNSClient } from '@aws-sdk/client-sns';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC } from '../../lib/contract';
import { maskAddress } from '../shared/mask';
import { logger, metrics } from '../shared/observability';
import { CommandOutcome, runCommand } from './command';
import type { InboundMessage } from './inbound-message';
import { inboundEvent, publishInbound } from './publish';
import { parseReplyCommand } from './reply-command';
import { markPublished, StoredInbound, storeInbound } from '../shared/table/inbound';

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
async function markAfterPublish(dynamo: DynamoDBClient, tableName: string, messageSid: string, outcome: CommandOutcome, context: Context): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await markPublished(dynamo, tableName, messageSid, outcome);
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

/** A step of the delivery failed on DynamoDB, SNS or SQS. */
export class StepFailure extends Error {
  readonly name = 'StepFailure';
  constructor(
    readonly step: 'store' | 'command' | 'publish',
    readonly cause: unknown,
    /** The claim this delivery still holds, if it got that far. */
    readonly leaseUntil?: number,
    /** What the command did, when it was done before the step that failed (the publish). */
    readonly outcome?: CommandOutcome,
  ) {
    super(`${step} failed: ${(cause as Error)?.name}`);
  }
}

/** `delivered`: this delivery published it, with what its command did; `published`: an earlier one had. */
export type Delivery = { readonly kind: 'delivered'; readonly outcome: CommandOutcome } | Exclude<StoredInbound, { kind: 'claimed' }>;

export interface DeliveryDeps {
  readonly dynamo: DynamoDBClient;
  readonly sns: SNSClient;
  readonly tableName: string;
  readonly topicArn: string;
}

/**
 * One delivery of a verified inbound message, from a request or a backlog
 * record: store and claim, do what a command asks (ACK, opt-out, opt-in),
 * publish with its `type`, mark published with the answer. Throws StepFailure
 * when DynamoDB, SNS or the alert queue fails. The command's steps are safe to
 * repeat, so a delivery that failed after them (a backlog record, a claim
 * that ran out) does them again and answers the same.
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

  const command = parseReplyCommand(msg.body);
  let outcome: CommandOutcome;
  try {
    outcome = await runCommand(dynamo, tableName, command, { from: msg.from, messageSid: msg.messageSid, receivedAt: stored.receivedAt }, now);
  } catch (err) {
    throw new StepFailure('command', err, stored.leaseUntil);
  }

  try {
    await publishInbound(sns, topicArn, inboundEvent(msg, stored.receivedAt, outcome));
  } catch (err) {
    throw new StepFailure('publish', err, stored.leaseUntil, outcome);
  }
  metrics.addMetric(METRIC.INBOUND_RECEIVED, MetricUnit.Count, 1);

  await markAfterPublish(dynamo, tableName, msg.messageSid, outcome, context);
  logger.info('inbound message', {
    messageSid: msg.messageSid,
    from: maskAddress(msg.from),
    channel: msg.channel,
    media: msg.mediaUrls.length,
    type: outcome.type,
    incidents: outcome.incidents.map((incident) => incident.id),
    via,
  });
  return { kind: 'delivered', outcome };
}
