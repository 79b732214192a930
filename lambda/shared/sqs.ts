import type { SQSClient } from '@aws-sdk/client-sqs';

/*
 * The one SQS client of an execution environment, loaded on first use: the
 * callers (the sender's deferrals, the webhooks' backlogs) are paths most
 * invocations never take, and the SDK module need not cost every cold start.
 */
let client: Promise<SQSClient> | undefined;

export function sqsClient(): Promise<SQSClient> {
  client ??= import('@aws-sdk/client-sqs').then(({ SQSClient: Client }) => new Client({}));
  return client;
}
