import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ENV, METRICS_NAMESPACE } from '../../lib/contract';
import { useLocalAws } from './aws-env';
import { createStatusTable, LocalDynamo, startDynalite } from './dynalite';
import { startDynamoProxy } from './dynamo-proxy';
import { FakeSecretsManager, startFakeSecretsManager } from './fake-secrets-manager';
import { FakeSns, startFakeSns } from './fake-sns';
import { FakeSqs, SentSqsMessage, startFakeSqs } from './fake-sqs';
import { lambdaContext } from './lambda-context';
import { CapturedOutput, captureOutput } from './output';
import { deliveredRecord } from './records';
import { TABLE_NAME, tableClient } from './table';
import { twilioFormBody, TwilioParams, twilioWebhookHeaders } from './twilio-sign';

export { lambdaContext } from './lambda-context';
export { CapturedOutput, captureOutput } from './output';
export { getItem, putItem, TABLE_NAME } from './table';

/*
 * The webhooks' test rig: dynalite (behind a switch that can cut DynamoDB
 * off), the Secrets Manager, SNS and SQS fakes, and the environment the
 * construct gives the webhook functions; `useWebhookRig` loads one handler
 * for a test file and resets the world's faults before each test.
 */

export const AUTH_TOKEN = 'f00dfeedf00dfeedf00dfeedf00dfeed';
export const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
export const SIGNING_KEY = { id: 'webhooks_sharedkey_1', secret: 'shared-key-secret-1' };
export const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio-AbCdEf';
export const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:inbound';
// A custom domain with a stage-less path and a query string: what Twilio signs, not what API Gateway sees.
export const STATUS_URL = 'https://alerts.example.com/twilio/status?v=1';
export const INBOUND_URL = 'https://alerts.example.com/twilio/inbound';
/** The Twilio number (SMS, and WhatsApp as `whatsapp:` it) that pages go out from and replies come in to. */
export const OUR_NUMBER = '+15557650000';

export const goodSecret = JSON.stringify({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, webhookSigningKeys: { [SIGNING_KEY.id]: SIGNING_KEY.secret } });

/**
 * Dynalite behind the DynamoDB proxy, so a test can cut DynamoDB off for a
 * handler whose client was built at import; the calls counted are the ones
 * that reached dynalite.
 */
export interface SwitchableDynamo extends LocalDynamo {
  readonly backendEndpoint: string;
  setReachable(reachable: boolean): void;
  /**
   * Cuts the connections open now and refuses the next `n` new ones, then lets
   * connections through again: DynamoDB fails for exactly that many attempts.
   */
  refuseConnections(n: number): void;
  /**
   * Cuts the connection of the next `n` requests for this DynamoDB operation
   * (`Query`, `GetItem`, …) as they arrive; other operations go through.
   */
  failOperation(operation: string, n: number): void;
  /** Back to a reachable DynamoDB with no faults pending and no latency. */
  reset(): void;
}

async function switchable(ddb: LocalDynamo): Promise<SwitchableDynamo> {
  const proxy = await startDynamoProxy(ddb.endpoint);
  return {
    ...ddb,
    endpoint: proxy.url,
    backendEndpoint: ddb.endpoint,
    setReachable: proxy.setReachable,
    refuseConnections: proxy.refuseConnections,
    failOperation: proxy.cutNext,
    reset: () => {
      proxy.reset();
      ddb.setLatency(0);
    },
    close: async () => {
      await proxy.close();
      await ddb.close();
    },
  };
}

export interface WebhookWorld {
  readonly dynamo: SwitchableDynamo;
  readonly secrets: FakeSecretsManager;
  readonly sns: FakeSns;
  /** Where the webhooks' backlog messages go (WEBHOOK_BACKLOG_QUEUE_URL names it). */
  readonly sqs: FakeSqs;
  /** A client on dynalite itself (not through the switch), for arranging and reading items. */
  readonly table: DynamoDBClient;
  /** Between tests: the good secret, DynamoDB reachable and counted afresh, no SNS or SQS faults pending, nothing recorded. */
  reset(): void;
  close(): Promise<void>;
}

export const BACKLOG_QUEUE = 'webhook-backlog';

/** Starts dynalite (status table with its GSI), the Secrets Manager, SNS and SQS fakes, and points the SDK's env at them. */
export async function startWorld(): Promise<WebhookWorld> {
  const dynamo = await switchable(await startDynalite());
  await createStatusTable(dynamo.backendEndpoint, TABLE_NAME);
  const secrets = await startFakeSecretsManager();
  const sns = await startFakeSns();
  const sqs = await startFakeSqs();
  secrets.setSecret(SECRET_ARN, goodSecret);
  useLocalAws({ dynamodb: dynamo.endpoint, secretsManager: secrets.url, sns: sns.url });
  // The SQS client sends to the queue URL's host; the endpoint variable names the same one.
  process.env.AWS_ENDPOINT_URL_SQS = sqs.url;
  process.env[ENV.WEBHOOK_BACKLOG_QUEUE_URL] = sqs.queueUrl(BACKLOG_QUEUE);
  // Failures are tested here; two quick attempts keep those tests short.
  process.env.AWS_MAX_ATTEMPTS = '2';
  process.env.POWERTOOLS_METRICS_NAMESPACE = METRICS_NAMESPACE;
  process.env[ENV.TWILIO_SECRET_ARN] = SECRET_ARN;
  process.env[ENV.STATUS_TABLE_NAME] = TABLE_NAME;
  process.env[ENV.STATUS_CALLBACK_URL] = STATUS_URL;
  process.env[ENV.INBOUND_URL] = INBOUND_URL;
  process.env[ENV.INBOUND_TOPIC_ARN] = TOPIC_ARN;
  // Every test sees a secret change at once.
  process.env[ENV.SECRET_CACHE_TTL_SECONDS] = '0';
  const table = tableClient(dynamo.backendEndpoint);
  return {
    dynamo,
    secrets,
    sns,
    sqs,
    table,
    reset: () => {
      secrets.setSecret(SECRET_ARN, goodSecret);
      dynamo.reset();
      dynamo.resetCalls();
      sns.published.length = 0;
      sns.failNext(0);
      sns.onPublish(undefined);
      sqs.sent.length = 0;
      sqs.failNext(0);
    },
    close: async () => {
      table.destroy();
      await Promise.all([dynamo.close(), secrets.close(), sns.close(), sqs.close()]);
    },
  };
}

export interface EventOptions {
  /** Headers to send; the default is Twilio's, signed for `signedUrl`. */
  readonly headers?: Record<string, string>;
  readonly extraHeaders?: Record<string, string>;
  /** The URL the signature is computed over (default: the configured one). */
  readonly signedUrl?: string;
  readonly token?: string;
  readonly signingKey?: { readonly id: string; readonly secret: string };
  readonly base64?: boolean;
  /** Put headers only in multiValueHeaders (as some integrations do). */
  readonly multiValueOnly?: boolean;
  /** Replace the body sent (after signing), e.g. to tamper with it. */
  readonly body?: string;
}

/** An API Gateway REST proxy event as the construct's API delivers a Twilio webhook. */
export function twilioEvent(path: string, configuredUrl: string, params: TwilioParams, options: EventOptions = {}): APIGatewayProxyEvent {
  const headers = {
    ...(options.headers ?? twilioWebhookHeaders(options.token ?? AUTH_TOKEN, options.signedUrl ?? configuredUrl, params, options.signingKey)),
    Host: 'abc123.execute-api.us-east-1.amazonaws.com',
    'User-Agent': 'TwilioProxy/1.1',
    'X-Forwarded-Proto': 'https',
    'X-Forwarded-Port': '443',
    ...options.extraHeaders,
  };
  const text = options.body ?? twilioFormBody(params);
  const multiValueHeaders = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]]));
  return {
    resource: path,
    path: `/prod${path}`,
    httpMethod: 'POST',
    headers: options.multiValueOnly ? {} : headers,
    multiValueHeaders,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: { identity: { sourceIp: '203.0.113.9' } } as unknown as APIGatewayProxyEvent['requestContext'],
    body: options.base64 ? Buffer.from(text, 'utf8').toString('base64') : text,
    isBase64Encoded: options.base64 === true,
  };
}

/** The SQS event the backlog's event source mapping delivers for these messages (first receive unless told). */
export function backlogEvent(messages: ReadonlyArray<Pick<SentSqsMessage, 'body'> & Partial<SentSqsMessage>>, receiveCount = 1): SQSEvent {
  return {
    Records: messages.map((m, i) =>
      deliveredRecord({ body: m.body }, { messageId: m.messageId ?? `backlog-${i}`, queueName: BACKLOG_QUEUE, receiveCount, senderId: 'AROAEXAMPLE:webhook' }),
    ),
  };
}

/** The parameters Twilio posts to the number's messaging webhook for a message from `from`. */
export function inboundParams(messageSid: string, from: string, body: string, extra: Record<string, string> = {}): Array<[string, string]> {
  return Object.entries({
    ToCountry: 'US',
    SmsMessageSid: messageSid,
    NumMedia: '0',
    SmsSid: messageSid,
    SmsStatus: 'received',
    Body: body,
    To: from.startsWith('whatsapp:') ? `whatsapp:${OUR_NUMBER}` : OUR_NUMBER,
    NumSegments: '1',
    MessageSid: messageSid,
    AccountSid: ACCOUNT_SID,
    From: from,
    ApiVersion: '2010-04-01',
    ...extra,
  });
}

/**
 * Time passes past an inbound delivery's claim on the SID (its invocation has
 * ended, published or not): its publish lease lies in the past. `claimed`: only
 * where a claim is held (fails on an item without one).
 */
export async function publishLeaseRunsOut(table: DynamoDBClient, messageSid: string, options: { readonly claimed?: boolean } = {}): Promise<void> {
  await table.send(
    new UpdateItemCommand({
      TableName: TABLE_NAME,
      Key: { id: { S: messageSid } },
      UpdateExpression: 'SET publishLeaseUntil = :past',
      ...(options.claimed ? { ConditionExpression: 'attribute_exists(publishLeaseUntil)' } : {}),
      ExpressionAttributeValues: { ':past': { N: String(Date.now() - 1) } },
    }),
  );
}

/** A Twilio-shaped SID: two letters and 32 hex digits. */
export function sid(prefix: string, n: number): string {
  return `${prefix}${n.toString(16).padStart(32, '0')}`;
}

export type ApiHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
/** A webhook function as its backlog queue's event source mapping invokes it. */
export type BacklogHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** The sender as its alert queue's event source mapping invokes it. */
export type SenderHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** The three handlers that share the status table, each in an execution environment of its own. */
export interface LoadedHandlers {
  readonly sender: SenderHandler;
  readonly inbound: ApiHandler;
  readonly statusCallback: ApiHandler;
}

/** Imports one handler (a path from test/support, e.g. `../../lambda/reconciler/index`) in a module registry of its own. */
export async function loadHandler<T>(path: string): Promise<T> {
  let handler: T | undefined;
  await jest.isolateModulesAsync(async () => {
    ({ handler } = (await import(path)) as { handler: T });
  });
  return handler!;
}

/**
 * Imports the sender, inbound and status-callback handlers, each afresh (its
 * own module registry), as new Lambda execution environments would: every one
 * reads the environment set before this call.
 */
export async function loadWebhooks(): Promise<LoadedHandlers> {
  return {
    sender: await loadHandler<SenderHandler>('../../lambda/sender'),
    inbound: await loadHandler<ApiHandler>('../../lambda/inbound/index'),
    statusCallback: await loadHandler<ApiHandler>('../../lambda/status-callback/index'),
  };
}

export type WebhookName = 'status-callback' | 'inbound';
const ROUTES: Record<WebhookName, { readonly path: string; readonly url: string }> = {
  'status-callback': { path: '/status', url: STATUS_URL },
  inbound: { path: '/inbound', url: INBOUND_URL },
};

/** One webhook handler in one execution environment for a test file, over one world. */
export interface WebhookRig {
  readonly world: WebhookWorld;
  readonly handler: ApiHandler;
  /** What the handler wrote during the current test. */
  readonly out: CapturedOutput;
  /** Posts `params` as Twilio does (signed for the configured URL unless `options` say otherwise). */
  post(params: TwilioParams, options?: EventOptions): Promise<APIGatewayProxyResult>;
  /** Delivers backlog messages (default: every one sent to the backlog queue) as its SQS event source mapping does. */
  deliverBacklog(messages?: Parameters<typeof backlogEvent>[0]): Promise<SQSBatchResponse>;
  /** The handler loaded afresh (its own module registry) while `name` is missing from the environment, and a post to it. */
  loadWithout(name: string): Promise<{ readonly handler: ApiHandler; post(params: TwilioParams, options?: EventOptions): Promise<APIGatewayProxyResult> }>;
}

/**
 * Registers a webhook test file's hooks: the world and `webhook`'s handler
 * once for the file (`env(world)` set before the handler loads, removed
 * after), and before each test the world reset and the output captured.
 */
export function useWebhookRig(webhook: WebhookName, env: (world: WebhookWorld) => Record<string, string> = () => ({})): WebhookRig {
  let world: WebhookWorld | undefined;
  let handler: ApiHandler | undefined;
  let out: CapturedOutput | undefined;
  let extra: Record<string, string> = {};
  const route = ROUTES[webhook];
  const load = async () => ((await import(`../../lambda/${webhook}/index`)) as { handler: ApiHandler }).handler;
  const poster = (h: () => ApiHandler) => (params: TwilioParams, options: EventOptions = {}) => h()(twilioEvent(route.path, route.url, params, options), lambdaContext(webhook));
  const rig: WebhookRig = {
    get world() {
      return world!;
    },
    get handler() {
      return handler!;
    },
    get out() {
      return out!;
    },
    post: poster(() => rig.handler),
    deliverBacklog: (messages = rig.world.sqs.sent.filter((m) => m.queueName === BACKLOG_QUEUE)) =>
      (rig.handler as unknown as BacklogHandler)(backlogEvent(messages), lambdaContext(webhook)),
    loadWithout: async (name) => {
      const configured = process.env[name];
      delete process.env[name];
      let fresh: ApiHandler | undefined;
      try {
        await jest.isolateModulesAsync(async () => {
          fresh = await load();
        });
      } finally {
        if (configured !== undefined) process.env[name] = configured;
      }
      return { handler: fresh!, post: poster(() => fresh!) };
    },
  };
  beforeAll(async () => {
    world = await startWorld();
    extra = env(world);
    Object.assign(process.env, extra);
    handler = await load();
  });
  afterAll(async () => {
    for (const name of Object.keys(extra)) delete process.env[name];
    await world?.close();
  });
  beforeEach(() => {
    world!.reset();
    out = captureOutput();
  });
  afterEach(() => {
    out?.restore();
  });
  return rig;
}

/** Both webhook handlers in one execution environment, with a delivered status callback and an inbound reply to post. */
export interface WebhookPair {
  readonly world: WebhookWorld;
  readonly out: CapturedOutput;
  /** Posts a `delivered` callback for a new SID, signed with `token` (default: the world's auth token). */
  callback(token?: string): Promise<{ statusCode: number; id: string }>;
  /** Posts an inbound reply with a new SID, signed with `token` (default: the world's auth token). */
  reply(token?: string): Promise<number>;
  close(): Promise<void>;
}

/** A world, `env` set on top of it, then both handlers loaded (they read their environment at load). */
export async function startWebhookPair(env: Readonly<Record<string, string>> = {}): Promise<WebhookPair> {
  const world = await startWorld();
  Object.assign(process.env, env);
  const { handler: statusCallback } = (await import('../../lambda/status-callback/index')) as { handler: ApiHandler };
  const { handler: inbound } = (await import('../../lambda/inbound/index')) as { handler: ApiHandler };
  const out = captureOutput();
  let nextSid = 1;
  const signed = (token: string | undefined) => (token ? { token } : {});
  return {
    world,
    out,
    async callback(token) {
      const id = sid('SM', nextSid++);
      const params: Array<[string, string]> = [['MessageSid', id], ['MessageStatus', 'delivered'], ['AccountSid', ACCOUNT_SID]];
      const res = await statusCallback(twilioEvent('/status', STATUS_URL, params, signed(token)), lambdaContext('status-callback'));
      return { statusCode: res.statusCode, id };
    },
    async reply(token) {
      const params: Array<[string, string]> = [['MessageSid', sid('SM', nextSid++)], ['AccountSid', ACCOUNT_SID], ['From', '+15551230017'], ['To', '+15557650000'], ['Body', 'on it']];
      return (await inbound(twilioEvent('/inbound', INBOUND_URL, params, signed(token)), lambdaContext('inbound'))).statusCode;
    },
    async close() {
      out.restore();
      await world.close();
    },
  };
}
