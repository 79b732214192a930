// Each webhook's backlog: where a verified request goes when the table or the
// inbound topic fails (Twilio does not retry an error answer by default), with one
// dead-letter queue for both. Internal: not exported from lib/index.ts.
import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { WEBHOOK_TIMEOUT } from './webhook-functions';

/**
 * Deliveries of a webhook backlog record before it is dead-lettered. With the
 * visibility timeout (six times the function's) that is about 15 minutes of
 * DynamoDB or SNS trouble; a longer outage ends in the dead-letter queue, for redrive.
 */
const WEBHOOK_BACKLOG_MAX_RECEIVES = 15;

export interface WebhookBacklogs {
  readonly statusCallbackBacklog: sqs.Queue;
  readonly inboundBacklog: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
}

/** `StatusCallbackBacklog` and `InboundBacklog`, dead-lettering to `WebhookBacklogDeadLetterQueue`. */
export function buildWebhookBacklogs(scope: Construct): WebhookBacklogs {
  // Retention as long as the dead-letter queue's: SQS keeps a message's first
  // enqueue time when it moves it there.
  const deadLetterQueue = new sqs.Queue(scope, 'WebhookBacklogDeadLetterQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const backlog = (id: string) =>
    new sqs.Queue(scope, id, {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(WEBHOOK_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: WEBHOOK_BACKLOG_MAX_RECEIVES },
    });
  return { statusCallbackBacklog: backlog('StatusCallbackBacklog'), inboundBacklog: backlog('InboundBacklog'), deadLetterQueue };
}
