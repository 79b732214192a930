import { SQSClient } from '@aws-sdk/client-sqs';

/*
 * The one SQS client of an execution environment, made on first use: the
 * callers (the sender's timers and deferrals, the webhooks' backlogs) are
 * paths most invocations never take. The module is imported statically all
 * the same: a dynamic import() of it makes esbuild wrap every module it shares
 * with the rest of the bundle (the SDK's core) in a lazy initializer, which
 * cost more at each cold start than loading the SQS client's own modules
 * (test/bench: the sender's module load).
 */
let client: Promise<SQSClient> | undefined;

export function sqsClient(): Promise<SQSClient> {
  client ??= Promise.resolve(new SQSClient({}));
  return client;
}
