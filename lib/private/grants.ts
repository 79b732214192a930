// The grants several handler functions need, each exactly what the handler does.
// Internal: not exported from lib/index.ts.
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { ENV, TABLE } from '../contract';

/** Item-level table access on the table itself (not its indexes), plus its key if it has one. */
export function grantTableItems(fn: lambda.IFunction, table: dynamodb.ITable, actions: string[]): void {
  fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [table.tableArn] }));
  table.encryptionKey?.grantEncryptDecrypt(fn);
}

/**
 * Reads of the status table for an operator's code (the construct's
 * grantReadStatus): its items, and Query on each of the construct's indexes by
 * name, byParent ("what happened to this incident / notification") among them.
 * The index ARNs are named because an imported table (existingTable) knows of
 * no indexes, so grantReadData alone would not cover them.
 */
export function grantReadStatus(grantee: iam.IGrantable, table: dynamodb.ITable): iam.Grant {
  const indexes = [TABLE.BY_PARENT_INDEX, TABLE.ALERTS_BY_RECIPIENT_INDEX, TABLE.AWAITING_FINAL_INDEX].map((index) => `${table.tableArn}/index/${index}`);
  return table.grantReadData(grantee).combine(iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: indexes }));
}

/**
 * Timers are delayed messages to the alert queue (ALERT_QUEUE_URL): exactly
 * sqs:SendMessage on it. The queue uses SQS-managed encryption, so no key grant.
 */
export function allowTimers(fn: lambda.Function, alertQueue: sqs.IQueue): void {
  fn.addEnvironment(ENV.ALERT_QUEUE_URL, alertQueue.queueUrl);
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [alertQueue.queueArn] }));
}

/**
 * A webhook function sends to its own backlog (WEBHOOK_BACKLOG_QUEUE_URL; exactly
 * sqs:SendMessage: a record is not verified again, so no one else may write one)
 * and consumes it.
 */
export function useWebhookBacklog(fn: lambda.Function, backlog: sqs.IQueue): void {
  fn.addEnvironment(ENV.WEBHOOK_BACKLOG_QUEUE_URL, backlog.queueUrl);
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [backlog.queueArn] }));
  fn.addEventSource(new SqsEventSource(backlog, { batchSize: 10, maxConcurrency: 2, reportBatchItemFailures: true }));
}
