import { randomUUID } from 'node:crypto';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { ENV } from '../../../lib/contract';
import { useLocalAws } from '../../support/aws-env';
import { createStatusTable, LocalDynamo, startDynalite } from '../../support/dynalite';
import { FakeSecretsManager, startFakeSecretsManager } from '../../support/fake-secrets-manager';
import { FakeTwilio, startFakeTwilio } from '../../support/fake-twilio';

export const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
export const AUTH_TOKEN = 'bench-auth-token-0123456789abcdef';
export const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio-bench-AbCdEf';
export const TABLE_NAME = 'status';
export const STATUS_CALLBACK_URL = 'https://bench.execute-api.us-east-1.amazonaws.com/prod/status';
export const FROM = '+15005550001';

/** `count` distinct valid US numbers: +1555010xxxx. */
export function recipients(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `+1555010${String(i).padStart(4, '0')}`);
}

export interface BenchEnv {
  readonly dynamo: LocalDynamo;
  readonly secrets: FakeSecretsManager;
  readonly twilio: FakeTwilio;
  close(): Promise<void>;
}

/**
 * dynalite with the status table, the Secrets Manager fake holding real-shaped
 * credentials, and the fake Twilio; the environment the construct would set.
 * Call before loading a handler: handlers read it at module scope.
 */
export async function startBenchEnv(senderConfig: object): Promise<BenchEnv> {
  const dynamo = await startDynalite();
  await createStatusTable(dynamo.endpoint, TABLE_NAME);
  const secrets = await startFakeSecretsManager();
  secrets.setSecret(SECRET_ARN, JSON.stringify({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }));
  const twilio = await startFakeTwilio({ accountSid: ACCOUNT_SID });
  useLocalAws({ dynamodb: dynamo.endpoint, secretsManager: secrets.url });
  process.env[ENV.TWILIO_SECRET_ARN] = SECRET_ARN;
  process.env[ENV.STATUS_TABLE_NAME] = TABLE_NAME;
  process.env[ENV.STATUS_CALLBACK_URL] = STATUS_CALLBACK_URL;
  process.env[ENV.TWILIO_API_BASE_URL] = twilio.url;
  process.env[ENV.SENDER_CONFIG] = JSON.stringify(senderConfig);
  process.env.POWERTOOLS_SERVICE_NAME = 'bench';
  return {
    dynamo,
    secrets,
    twilio,
    close: async () => {
      await Promise.all([dynamo.close(), secrets.close(), twilio.close()]);
    },
  };
}

export function lambdaContext(functionName: string, timeoutMs = 30_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** A CloudWatch alarm notification as CloudWatch publishes it to SNS. */
export function alarmMessage(name: string): string {
  return JSON.stringify({
    AlarmName: name,
    AlarmDescription: 'p99 latency above 2 s',
    AWSAccountId: '123456789012',
    AlarmConfigurationUpdatedTimestamp: '2026-11-01T10:00:00.000+0000',
    NewStateValue: 'ALARM',
    NewStateReason: 'Threshold Crossed: 3 out of the last 3 datapoints [2.4 (27/11/26 15:00:00)] were greater than the threshold (2.0).',
    StateChangeTime: new Date().toISOString().replace('Z', '+0000'),
    Region: 'US East (N. Virginia)',
    AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${name}`,
    OldStateValue: 'OK',
    OKActions: [],
    AlarmActions: ['arn:aws:sns:us-east-1:123456789012:alerts'],
    InsufficientDataActions: [],
    Trigger: {
      MetricName: 'Latency',
      Namespace: 'AWS/ApiGateway',
      StatisticType: 'ExtendedStatistic',
      ExtendedStatistic: 'p99',
      Unit: null,
      Dimensions: [{ value: 'api', name: 'ApiName' }],
      Period: 60,
      EvaluationPeriods: 3,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 2.0,
      TreatMissingData: 'missing',
    },
  });
}

/** An SQS record whose body is the SNS envelope of `message` (standard SNS→SQS delivery). */
export function snsRecord(message: string, subject = 'ALARM'): SQSRecord {
  const snsMessageId = randomUUID();
  const now = Date.now();
  return {
    messageId: randomUUID(),
    receiptHandle: `AQEB${randomUUID()}`,
    body: JSON.stringify({
      Type: 'Notification',
      MessageId: snsMessageId,
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:alerts',
      Subject: subject,
      Message: message,
      Timestamp: new Date(now).toISOString(),
      SignatureVersion: '1',
      Signature: 'EXAMPLE',
      SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem',
      UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
    }),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(now),
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: String(now),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:alerts',
    awsRegion: 'us-east-1',
  };
}

export const sqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** Loads a bundled handler (what ships) after the environment is set. */
export function loadHandler(file: string): Handler {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(file) as { handler?: Handler };
  if (typeof mod.handler !== 'function') throw new Error(`${file} exports no handler`);
  return mod.handler;
}
