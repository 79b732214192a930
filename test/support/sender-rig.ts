import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DeleteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SenderConfig } from '../../lib/contract';
import { useLocalAws } from './aws-env';
import { createStatusTable, LocalDynamo, startDynalite } from './dynalite';
import { FakeSecretsManager, startFakeSecretsManager } from './fake-secrets-manager';
import { FakeTwilio, startFakeTwilio } from './fake-twilio';
import { lambdaContext } from './lambda-context';
import { CapturedOutput, captureOutput } from './output';
import { getItem, putPlainItem, scanItems, TABLE_NAME, tableClient } from './table';

export { cloudWatchAlarm as alarm } from './notifications';
export { metricSum } from './output';
export { rawRecord, snsRecord, sqsEvent as batch } from './records';
export { TABLE_NAME } from './table';

/*
 * The sender's test rig: dynalite with the status table, the Secrets Manager
 * fake holding credentials, the fake Twilio, reached through env exactly as
 * in Lambda; the handler imported after the env is set.
 */

export const ACCOUNT_SID = 'AC' + 'a'.repeat(32);
export const AUTH_TOKEN = 'auth-token-1';
export const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio-AbCdEf';
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
  keptOutput();
  sm.setSecret(SECRET_ARN, JSON.stringify({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }));
  const db = tableClient(ddb.endpoint);
  const handler = await loadHandler();
  return {
    ddb,
    sm,
    twilio,
    db,
    handler,
    item: (id) => getItem(db, id),
    put: (item) => putPlainItem(db, item),
    scan: () => scanItems(db),
    forgetIncidents: async () => {
      const live = (await scanItems(db)).filter((i) => /^incident(key|code)#/.test(String(i.id)));
      await Promise.all(live.map((i) => db.send(new DeleteItemCommand({ TableName: TABLE_NAME, Key: { id: { S: String(i.id) } } }))));
    },
    close: async () => {
      kept?.restore();
      kept = undefined;
      db.destroy();
      await Promise.all([ddb.close(), sm.close(), twilio.close()]);
    },
  };
}

/**
 * Registers a sender test file's hooks: one rig for the file (started before
 * its first test, closed after its last), Twilio's recorded requests cleared
 * before each test and, with `forgetIncidents`, every live incident ended, so
 * each test's alarm is a new occurrence. The rig returned stands for the one
 * the hooks start.
 */
export function useSenderRig(config: SenderConfig, options: { readonly env?: Record<string, string>; readonly forgetIncidents?: boolean } = {}): Rig {
  let current: Rig | undefined;
  beforeAll(async () => {
    current = await startRig(config, options.env);
  });
  afterAll(() => current?.close());
  beforeEach(async () => {
    current!.twilio.reset();
    if (options.forgetIncidents) await current!.forgetIncidents();
  });
  return new Proxy({} as Rig, {
    get: (_, key) => Reflect.get(current!, key),
    set: (_, key, value) => Reflect.set(current!, key, value),
  });
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

/** A Lambda context for one sender invocation with `remainingMs` left. */
export function context(remainingMs = 30_000): Context {
  return lambdaContext('sender', remainingMs);
}

/*
 * The handler's stdout (Powertools JSON logs and EMF blobs) is kept in memory
 * from the rig's start to its close rather than printed: tests read it, and
 * the test output stays readable.
 */
let kept: CapturedOutput | undefined;
const keptOutput = (): CapturedOutput => (kept ??= captureOutput());

/** What the handler wrote to stdout and stderr while `fn` ran: Powertools log lines and EMF metric blobs. */
export function captureStdout<T>(fn: () => Promise<T>): Promise<{ result: T; logs: Array<Record<string, any>>; metrics: Array<Record<string, any>> }> {
  return keptOutput().during(fn);
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
