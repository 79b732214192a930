// The sender: fed by the alert queue, it sends through Twilio and records each
// send in the table. Internal: not exported from lib/index.ts.
import { Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { ENV, SenderConfig, TABLE } from '../contract';
import { allowTimers, grantTableItems } from './grants';
import { buildHandlerFunction, HandlerContext, HandlerFunctionTuning } from './handler-function';

export interface SenderFunctionOptions extends HandlerFunctionTuning {
  readonly config: SenderConfig;
  readonly statusCallbackUrl: string;
  readonly timeout: Duration;
  /** SQS messages per invocation. */
  readonly batchSize: number;
  /** The event source mapping's maxConcurrency. */
  readonly maxConcurrency: number;
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
}

/** `Sender`, consuming the alert queue (`context.alertQueue`). */
export function buildSenderFunction(scope: Construct, context: HandlerContext, options: SenderFunctionOptions): lambda.Function {
  const fn = buildHandlerFunction(scope, 'Sender', 'sender', context, {
    description: 'Sends queued alerts through the Twilio Messages API',
    timeout: options.timeout,
    memorySize: options.memorySize,
    vpc: options.vpc,
    vpcSubnets: options.vpcSubnets,
    environment: {
      [ENV.STATUS_CALLBACK_URL]: options.statusCallbackUrl,
      [ENV.SENDER_CONFIG]: Stack.of(scope).toJsonString(options.config),
    },
  });
  fn.addEventSource(
    new SqsEventSource(context.alertQueue, {
      batchSize: options.batchSize,
      maxConcurrency: options.maxConcurrency,
      reportBatchItemFailures: true,
    }),
  );
  grantTableItems(fn, context.table, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
  // Releasing a send claim after a request that cannot have created a message
  // deletes the claim, and a resolved incident frees its key's pointer and its
  // code; nothing else may be deleted.
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['dynamodb:DeleteItem'],
      resources: [context.table.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${TABLE.CLAIM_ID_PREFIX}*`, `${TABLE.INCIDENT_KEY_ID_PREFIX}*`, `${TABLE.INCIDENT_CODE_ID_PREFIX}*`] },
      },
    }),
  );
  // A record held up only by time goes back on the queue with a fresh receive count
  // (lambda/sender/defer.ts), and escalation timers are delayed messages to it.
  allowTimers(fn, context.alertQueue);
  context.secret.grantRead(fn);
  return fn;
}
