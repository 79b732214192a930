// The reconciler and the index it reads. Internal: not exported from the package.
import { Duration, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { HandlerContext } from './handler-function';
import { ENV, RECONCILE_AFTER_SECONDS_RANGE, TABLE } from '../contract';
import { handlerCode } from '../handler-code';
import { checkSecondsRange } from '../validation';
import { allowTimers } from './grants';

/** How often the schedule runs the reconciler. */
export const RECONCILE_RATE = Duration.minutes(5);
/** Well under the schedule's rate, so runs do not overlap; the handler stops a few seconds before it. */
export const RECONCILER_TIMEOUT = Duration.minutes(2);
export const DEFAULT_RECONCILE_AFTER = Duration.seconds(RECONCILE_AFTER_SECONDS_RANGE.default);

/** `reconcileAfter`: whole seconds, 1 minute to 24 hours. */
export function checkReconcileAfter(after: Duration | undefined): void {
  if (after === undefined) return;
  checkSecondsRange('reconcileAfter', after.toSeconds(), RECONCILE_AFTER_SECONDS_RANGE.min, RECONCILE_AFTER_SECONDS_RANGE.max);
}

/**
 * The sparse index of messages awaiting a final status (keys only: a status
 * callback's other attributes never cost an index write). Added to a table the
 * construct creates; an `existingTable` must have it (README, "Delivery assurance").
 */
export function addAwaitingFinalIndex(table: dynamodb.Table): void {
  table.addGlobalSecondaryIndex({
    indexName: TABLE.AWAITING_FINAL_INDEX,
    partitionKey: { name: TABLE.RECONCILE_STEP_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
    sortKey: { name: TABLE.AWAITING_SINCE_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.KEYS_ONLY,
  });
}

export interface ReconcilerOptions {
  readonly reconcileAfter?: Duration;
}

/**
 * The reconciler function (assets/reconciler), its log group and role, and the
 * EventBridge rule that runs it every RECONCILE_RATE, all in `scope` (the
 * TwilioMessaging construct). Its role may Query the awaiting-final index,
 * GetItem and UpdateItem the table (a polled page that ended undelivered is
 * read and marks its incident), send timers to the alert queue, and read the
 * secret; nothing else.
 */
export function buildReconciler(scope: Construct, context: HandlerContext, options: ReconcilerOptions): lambda.Function {
  const ownerPath = scope.node.path;
  const logGroup = new logs.LogGroup(scope, 'ReconcilerLogs', { retention: context.logRetention, removalPolicy: context.removalPolicy });
  const role = new iam.Role(scope, 'ReconcilerRole', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Execution role of the reconciler function of ${ownerPath}`,
  });
  logGroup.grantWrite(role);
  const fn = new lambda.Function(scope, 'Reconciler', {
    description: 'Asks Twilio for the status of messages without a final status',
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    handler: 'index.handler',
    code: handlerCode('reconciler'),
    memorySize: 256,
    timeout: RECONCILER_TIMEOUT,
    role,
    logGroup,
    environment: {
      ...context.environment,
      [ENV.RECONCILE_AFTER_SECONDS]: String((options.reconcileAfter ?? DEFAULT_RECONCILE_AFTER).toSeconds()),
    },
  });
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${context.table.tableArn}/index/${TABLE.AWAITING_FINAL_INDEX}`] }));
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [context.table.tableArn] }));
  allowTimers(fn, context.alertQueue);
  if (context.table.encryptionKey) {
    context.table.encryptionKey.grantEncryptDecrypt(fn);
    Validations.of(role).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason: 'DynamoDB item access on a table under a customer-managed key needs kms:GenerateDataKey* on that key; the statement names that key only.',
      },
      {
        id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
        reason: 'CDK grants kms:ReEncrypt* with encrypt/decrypt on the existing table key; the statement names that key only.',
      },
    );
  }
  context.secret.grantRead(fn);
  new events.Rule(scope, 'ReconcilerSchedule', {
    description: `Runs the reconciler of ${ownerPath}`,
    schedule: events.Schedule.rate(RECONCILE_RATE),
    // A failed run is not retried: the next one, RECONCILE_RATE later, asks the same messages.
    targets: [new targets.LambdaFunction(fn, { retryAttempts: 0 })],
  });
  return fn;
}
