// The two webhook functions Twilio's requests reach, each with its backlog queue
// and exactly the grants its handler needs. Internal: not exported from lib/index.ts.
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, TABLE } from '../contract';
import { allowTimers, grantTableItems, useWebhookBacklog } from './grants';
import { buildHandlerFunction, HandlerContext, HandlerFunctionTuning } from './handler-function';

/** API Gateway gives up on an integration after 29 s; Twilio after 15 s. */
export const WEBHOOK_TIMEOUT = Duration.seconds(10);

export interface StatusCallbackFunctionOptions extends HandlerFunctionTuning {
  readonly statusCallbackUrl: string;
  readonly backlog: sqs.IQueue;
}

/** `StatusCallback`: verifies Twilio's status callbacks and records message status. */
export function buildStatusCallbackFunction(scope: Construct, context: HandlerContext, options: StatusCallbackFunctionOptions): lambda.Function {
  const fn = buildHandlerFunction(scope, 'StatusCallback', 'status-callback', context, {
    description: 'Verifies Twilio status callbacks and records message status',
    timeout: WEBHOOK_TIMEOUT,
    memorySize: options.memorySize,
    environment: { [ENV.STATUS_CALLBACK_URL]: options.statusCallbackUrl },
  });
  // One conditional UpdateItem per callback: it creates the item when the sender has not yet.
  // A page that ended undelivered/failed reads its incident (GetItem) before marking the address unreachable.
  grantTableItems(fn, context.table, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
  useWebhookBacklog(fn, options.backlog);
  // A page of an incident that ended undelivered/failed escalates at once: a timer.
  allowTimers(fn, context.alertQueue);
  context.secret.grantRead(fn);
  return fn;
}

export interface InboundFunctionOptions extends HandlerFunctionTuning {
  readonly inboundUrl: string;
  readonly inboundTopic: sns.ITopic;
  readonly backlog: sqs.IQueue;
}

/** `Inbound`: verifies, records and publishes inbound messages, and answers reply commands. */
export function buildInboundFunction(scope: Construct, context: HandlerContext, options: InboundFunctionOptions): lambda.Function {
  const fn = buildHandlerFunction(scope, 'Inbound', 'inbound', context, {
    description: 'Verifies, records and publishes inbound Twilio messages',
    timeout: WEBHOOK_TIMEOUT,
    memorySize: options.memorySize,
    environment: {
      [ENV.INBOUND_URL]: options.inboundUrl,
      [ENV.INBOUND_TOPIC_ARN]: options.inboundTopic.topicArn,
    },
  });
  // Inbound items are written with if_not_exists UpdateItems that also claim the publish and
  // return what a retry needs; a refused claim is told from an outbound SID by a GetItem.
  // A command reads the incidents of the replier's latest pages in one BatchGetItem.
  grantTableItems(fn, context.table, ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem']);
  useWebhookBacklog(fn, options.backlog);
  // An opt-out from an address a live incident paged escalates past it: a timer.
  allowTimers(fn, context.alertQueue);
  // A reply command finds the latest pages sent to its number (and so their incidents) through the sparse index.
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['dynamodb:Query'],
      resources: [`${context.table.tableArn}/index/${TABLE.ALERTS_BY_RECIPIENT_INDEX}`],
    }),
  );
  options.inboundTopic.grantPublish(fn);
  context.secret.grantRead(fn);
  return fn;
}
