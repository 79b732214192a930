import { randomUUID } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { SenderConfig } from '../../lib/contract';
import { createStatusTable, LocalDynamo, startDynalite } from '../support/dynalite';
import { FakeSecretsManager, startFakeSecretsManager } from '../support/fake-secrets-manager';
import { FakeTwilio, startFakeTwilio } from '../support/fake-twilio';
import { useLocalAws } from '../support/aws-env';

/*
 * The sender's test rig: dynalite with the status table, the Secrets Manager
 * fake holding credentials, the fake Twilio, reached through env exactly as
 * in Lambda; the handler imported after the env is set.
 */

export const ACCOUNT_SID = 'AC' + 'a'.repeat(32);
export const AUTH_TOKEN = 'auth-token-1';
export const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio-AbCdEf';
export const TABLE_NAME = 'status';
export const CALLBACK_URL = 'https://abc123.execute-api.us-east-1.amazonaws.com/prod/status';
export const FROM = '+15550000000';
export const WHATSAPP_FROM = 'whatsapp:+15550000001';

export type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface Rig {
  readonly ddb: LocalDynamo;
  readonly sm: FakeSecretsManager;
  readonly twilio: FakeTwilio;
  readonly db: DynamoDBClient;
  handler: Handler;
  item(id: string): Promise<Record<string, any> | undefined>;
  put(item: Record<string, unknown>): Promise<void>;
  /** Every item of the table (a scan), unmarshalled. */
  scan(): Promise<Array<Record<string, any>>>;
  /**
   * Ends every live incident as if each had been resolved (deletes the live
   * pointers and code reservations): tests that page the same alarm again
   * start from no live incident, as after an OK.
   */
  forgetIncidents(): Promise<void>;
  close(): Promise<void>;
}

export async function startRig(config: SenderConfig, env: Record<string, string> = {}): Promise<Rig> {
  const [ddb, sm, twilio] = await Promise.all([startDynalite(), startFakeSecretsManager(), startFakeTwilio({ accountSid: ACCOUNT_SID })]);
  useLocalAws({ dynamodb: ddb.endpoint, secretsManager: sm.url });
  process.env.POWERTOOLS_LOG_LEVEL = process.env.POWERTOOLS_LOG_LEVEL ?? 'DEBUG';
  process.env.TWILIO_SECRET_ARN = SECRET_ARN;
  process.env.STATUS_TABLE_NAME = TABLE_NAME;
  process.env.STATUS_CALLBACK_URL = CALLBACK_URL;
  process.env.TWILIO_API_BASE_URL = twilio.url;
  process.env.SENDER_CONFIG = JSON.stringify(config);
  process.env.SECRET_CACHE_TTL_SECONDS = '300';
  Object.assign(process.env, env);
  await createStatusTable(ddb.endpoint, TABLE_NAME);
  keepStdout();
  sm.setSecret(SECRET_ARN, JSON.stringify({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }));
  const db = new DynamoDBClient({ endpoint: ddb.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const handler = await loadHandler();
  return {
    ddb,
    sm,
    twilio,
    db,
    handler,
    item: async (id) => {
      const { Item } = await db.send(new GetItemCommand({ TableName: TABLE_NAME, Key: { id: { S: id } }, ConsistentRead: true }));
      return Item ? unmarshall(Item) : undefined;
    },
    put: async (item) => {
      await db.send(new PutItemCommand({ TableName: TABLE_NAME, Item: marshall(item, { removeUndefinedValues: true }) }));
    },
    scan: () => scanAll(db),
    forgetIncidents: async () => {
      const live = (await scanAll(db)).filter((i) => /^incident(key|code)#/.test(String(i.id)));
      await Promise.all(live.map((i) => db.send(new DeleteItemCommand({ TableName: TABLE_NAME, Key: { id: { S: String(i.id) } } }))));
    },
    close: async () => {
      spies.forEach((spy) => spy.mockRestore());
      spies = [];
      db.destroy();
      await Promise.all([ddb.close(), sm.close(), twilio.close()]);
    },
  };
}

async function scanAll(db: DynamoDBClient): Promise<Array<Record<string, any>>> {
  const items: Array<Record<string, any>> = [];
  let start: Record<string, any> | undefined;
  do {
    const out = await db.send(new ScanCommand({ TableName: TABLE_NAME, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }));
    items.push(...(out.Items ?? []).map((i) => unmarshall(i)));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/**
 * Imports the handler afresh (its own module registry: configuration,
 * credentials cache and clients are resolved again from the current env),
 * as a new Lambda execution environment would.
 */
export async function loadHandler(): Promise<Handler> {
  let handler: Handler | undefined;
  await jest.isolateModulesAsync(async () => {
    handler = (await import('../../lambda/sender')).handler;
  });
  return handler!;
}

export function context(remainingMs = 30_000): Context {
  const end = Date.now() + remainingMs;
  return {
    functionName: 'sender',
    awsRequestId: randomUUID(),
    getRemainingTimeInMillis: () => end - Date.now(),
  } as unknown as Context;
}

/** An SQS record carrying an SNS notification envelope (standard SNS→SQS delivery); SNS sets Subject only when the publisher gave one. */
export function snsRecord(message: string, snsMessageId: string = randomUUID(), sqsMessageId: string = randomUUID(), subject?: string): SQSRecord {
  return rawRecord(
    JSON.stringify({
      Type: 'Notification',
      MessageId: snsMessageId,
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:alerts',
      ...(subject !== undefined ? { Subject: subject } : {}),
      Message: message,
      Timestamp: new Date().toISOString(),
      SignatureVersion: '1',
      Signature: 'EXAMPLE',
      SigningCertURL: 'https://sns.us-east-1.amazonaws.com/cert.pem',
      UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
    }),
    sqsMessageId,
  );
}

/** An SQS record whose body was sent straight to the queue. */
export function rawRecord(body: string, sqsMessageId: string = randomUUID()): SQSRecord {
  return {
    messageId: sqsMessageId,
    receiptHandle: `rh-${sqsMessageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:alerts',
    awsRegion: 'us-east-1',
  };
}

export function batch(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

export function alarm(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    AlarmName: 'HighCPU-db-1',
    AlarmDescription: 'CPU above 90% on db-1',
    AWSAccountId: '123456789012',
    AlarmConfigurationUpdatedTimestamp: '2026-11-01T10:00:00.000+0000',
    NewStateValue: 'ALARM',
    NewStateReason:
      'Threshold Crossed: 1 out of the last 1 datapoints [95.2 (27/11/26 15:40:00)] was greater than the threshold (90.0) (minimum 1 datapoint for OK -> ALARM transition).',
    StateChangeTime: '2026-11-27T15:41:42.123+0000',
    Region: 'US East (N. Virginia)',
    AlarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:HighCPU-db-1',
    OldStateValue: 'OK',
    OKActions: [],
    AlarmActions: ['arn:aws:sns:us-east-1:123456789012:alerts'],
    InsufficientDataActions: [],
    Trigger: {
      MetricName: 'CPUUtilization',
      Namespace: 'AWS/RDS',
      StatisticType: 'Statistic',
      Statistic: 'AVERAGE',
      Unit: null,
      Dimensions: [{ value: 'db-1', name: 'DBInstanceIdentifier' }],
      Period: 60,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 90.0,
      TreatMissingData: 'missing',
      EvaluateLowSampleCountPercentile: '',
    },
    ...overrides,
  };
}

/*
 * The handler's stdout (Powertools JSON logs and EMF blobs) is kept in memory
 * rather than printed: tests read it, and the test output stays readable.
 */
const stdoutLines: string[] = [];
let spies: jest.SpyInstance[] = [];

/** Powertools writes INFO/DEBUG and EMF to stdout, WARN/ERROR to stderr: both are kept, in order. */
function keepStdout(): void {
  if (spies.length > 0) return;
  const keep = ((chunk: string | Uint8Array) => {
    stdoutLines.push(...String(chunk).split('\n').filter((l) => l.trim() !== ''));
    return true;
  }) as typeof process.stdout.write;
  spies = [jest.spyOn(process.stdout, 'write').mockImplementation(keep), jest.spyOn(process.stderr, 'write').mockImplementation(keep)];
}

function parseLines(lines: string[]): { logs: Array<Record<string, any>>; metrics: Array<Record<string, any>> } {
  const parsed = lines.map((l) => {
    try {
      return JSON.parse(l) as Record<string, any>;
    } catch {
      return { raw: l };
    }
  });
  return { logs: parsed.filter((p) => !('_aws' in p)), metrics: parsed.filter((p) => '_aws' in p) };
}

/** What the handler wrote to stdout while `fn` ran: Powertools log lines and EMF metric blobs. */
export async function captureStdout<T>(fn: () => Promise<T>): Promise<{ result: T; logs: Array<Record<string, any>>; metrics: Array<Record<string, any>> }> {
  keepStdout();
  const start = stdoutLines.length;
  const result = await fn();
  return { result, ...parseLines(stdoutLines.slice(start)) };
}

/** Sum of a metric's values over EMF blobs (values may be a number or an array). */
export function metricSum(blobs: Array<Record<string, any>>, name: string): number {
  let sum = 0;
  for (const b of blobs) {
    const v = b[name];
    if (v === undefined) continue;
    sum += Array.isArray(v) ? v.reduce((a: number, x: number) => a + x, 0) : Number(v);
  }
  return sum;
}

/**
 * A page's text without its reply hint: every page of an incident ends with
 * ` ACK <code>`, and the code differs per incident. Fails when there is none.
 */
export function withoutHint(text: string): string {
  const m = / ACK [2-9A-HJKMNP-Z]{2,4}$/.exec(text);
  if (!m) throw new Error(`expected a page ending with " ACK <code>", got ${JSON.stringify(text)}`);
  return text.slice(0, m.index);
}
