import { randomUUID } from 'node:crypto';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { ENV } from '../../../lib/contract';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { useLocalAws } from '../../support/aws-env';
import type { FakeAnswer } from '../../support/fake-twilio';
import type { CreateRecord, FakesReady, FakeStats } from './fakes-process';

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
  readonly dynamoEndpoint: string;
  readonly twilioUrl: string;
  /** Call counts so far (read between invocations, never inside a timed region). */
  stats(): Promise<FakeStats>;
  /** The fake Twilio's answer to every create (e.g. `{ delayMs: 100 }`). */
  twilioDefault(answer: FakeAnswer): Promise<void>;
  resetTwilioCounters(): Promise<void>;
  /** Holds each DynamoDB call this long before dynalite serves it (0: none). */
  ddbLatency(ms: number): Promise<void>;
  twilioMessages(): Promise<Array<{ sid: string; to: string; body: string }>>;
  /** Twilio's latency for creates: uniform in base ± jitter (0, 0: the default answer's). */
  twilioLatency(baseMs: number, jitterMs: number, seed?: number): Promise<void>;
  /** Every create the fake Twilio has received, in order, with its arrival time (epoch ms). */
  twilioCreates(): Promise<CreateRecord[]>;
  /**
   * Ends the storm windows of `addresses` (their end moved into the past, nothing held), as the
   * window's 60 s passing would: the next text to each is a first page again. Between invocations only.
   */
  endStormWindows(addresses: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the fakes in their own process (support/fakes-process.ts) and sets
 * the environment the construct would set, pointing at them. Call before
 * loading a handler: handlers read it at module scope. As deployed, the sender
 * has ALERT_QUEUE_URL (the alert queue, here in the SQS fake), so storm
 * windows are on with the default window (60 s, immediatePages 1) unless
 * `senderConfig.storm` says otherwise: a second text to an address inside its
 * window is held for the digest, so a scenario that measures a page sends to
 * addresses not texted in the last window (or ends their windows between
 * invocations, endStormWindows).
 */
export async function startBenchEnv(senderConfig: object): Promise<BenchEnv> {
  const child = fork(join(__dirname, 'fakes-process.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_FAKES: JSON.stringify({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, secretArn: SECRET_ARN, tableName: TABLE_NAME }) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const pending = new Map<number, (value: unknown) => void>();
  let nextId = 1;
  const ready = await new Promise<FakesReady>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the fakes process exited with ${code}`)));
    child.on('message', (m: FakesReady | { id: number; value?: unknown }) => {
      if ('ready' in m) resolve(m);
      else pending.get(m.id)?.(m.value);
    });
  });
  const call = <T>(req: Record<string, unknown>): Promise<T> =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, (v) => {
        pending.delete(id);
        resolve(v as T);
      });
      child.send({ ...req, id });
    });
  child.removeAllListeners('exit');
  useLocalAws({ dynamodb: ready.dynamoEndpoint, secretsManager: ready.secretsUrl });
  process.env[ENV.TWILIO_SECRET_ARN] = SECRET_ARN;
  process.env[ENV.STATUS_TABLE_NAME] = TABLE_NAME;
  process.env[ENV.STATUS_CALLBACK_URL] = STATUS_CALLBACK_URL;
  process.env[ENV.TWILIO_API_BASE_URL] = ready.twilioUrl;
  process.env[ENV.SENDER_CONFIG] = JSON.stringify(senderConfig);
  process.env[ENV.ALERT_QUEUE_URL] = ready.alertQueueUrl;
  process.env.AWS_ENDPOINT_URL_SQS = ready.sqsUrl;
  process.env.POWERTOOLS_SERVICE_NAME = 'bench';
  return {
    dynamoEndpoint: ready.dynamoEndpoint,
    twilioUrl: ready.twilioUrl,
    stats: () => call<FakeStats>({ op: 'stats' }),
    twilioDefault: (answer) => call<void>({ op: 'twilioDefault', answer }),
    resetTwilioCounters: () => call<void>({ op: 'resetTwilioCounters' }),
    ddbLatency: (ms) => call<void>({ op: 'ddbLatency', ms }),
    twilioMessages: () => call({ op: 'twilioMessages' }),
    twilioLatency: (baseMs, jitterMs, seed) => call<void>({ op: 'twilioLatency', baseMs, jitterMs, seed }),
    twilioCreates: () => call<CreateRecord[]>({ op: 'twilioCreates' }),
    endStormWindows: (addresses) => call<void>({ op: 'endStormWindows', addresses: [...addresses] }),
    close: async () => {
      await call<void>({ op: 'close' });
      child.disconnect();
    },
  };
}

/** Differences of two call-count snapshots, by DynamoDB operation. */
export function ddbDelta(before: FakeStats, after: FakeStats): Record<string, number> {
  return countDelta(before.ddb, after.ddb);
}

/** SQS calls between two snapshots, by operation. */
export function sqsDelta(before: FakeStats, after: FakeStats): Record<string, number> {
  return countDelta(before.sqs, after.sqs);
}

/** Refused conditional writes between two snapshots, by operation. */
export function ddbFailedDelta(before: FakeStats, after: FakeStats): Record<string, number> {
  return countDelta(before.ddbConditionalFailures, after.ddbConditionalFailures);
}

function countDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [op, n] of Object.entries(after)) if (n - (before[op] ?? 0) > 0) out[op] = n - (before[op] ?? 0);
  return out;
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
