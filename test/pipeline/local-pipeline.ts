import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ENV, PLACEHOLDER_SECRET, SenderConfig } from '../../lib/contract';
import { createStatusTable, LocalDynamo, startDynalite } from '../support/dynalite';
import { DynamoProxy, startDynamoProxy } from '../support/dynamo-proxy';
import { FakeSecretsManager, startFakeSecretsManager } from '../support/fake-secrets-manager';
import { FakeSns, startFakeSns } from '../support/fake-sns';
import { FakeSqs, startFakeSqs } from '../support/fake-sqs';
import { FakeMessage, FakeTwilio, SenderPacing, startFakeTwilio } from '../support/fake-twilio';
import { CloudWatchAlarm, cloudWatchAlarm, cloudWatchTime } from '../support/notifications';
import { ApiGatewayBridge, StageThrottle, startApiGatewayBridge } from './api-gateway-bridge';
import { createLambdaFunction, LambdaFunction } from './lambda-runtime';
import { createPrng, Prng } from '../support/prng';
import { createQueueSimulation, QueueSimulation, QueueSimulationOptions } from './sqs-simulator';
import { CallbackDriver, CallbackDriverOptions, postForm, sendInbound, startCallbackDriver } from './twilio-callbacks';

/**
 * The whole product on one machine, running the BUILT handlers
 * (assets/<name>/index.js, what ships) against real protocols:
 *
 *   publish ─► SNS→SQS simulation ─► sender (worker-thread "Lambda") ─► fake Twilio
 *   fake Twilio ─► signed status callbacks ─► API Gateway bridge ─► status-callback ─► dynalite
 *   inbound reply ─► API Gateway bridge ─► inbound ─► dynalite + SNS fake
 *   a webhook's backlog: SendMessage ─► its own SQS queue ─► the same function (SQS event)
 *
 * Twilio's side follows Twilio's default webhook policy: an answer is final,
 * only a failed connection is tried once more, 15 s in all (twilio-callbacks.ts).
 * With `stageThrottle`, the bridge refuses requests beyond the stage's rate
 * and burst with 429, as API Gateway does, and such a callback is lost to the
 * webhook: only the reconciler (`reconcile`, the scheduled function run on
 * a controllable clock) finds the message's status then. With `pacing`,
 * Twilio sends each message in its turn per sender (fake-twilio.ts) and the
 * callbacks follow its departure.
 * Each webhook function has up to `webhookConcurrency` environments, started
 * on demand, and Twilio sends at most that many status callbacks at once: in
 * AWS each request gets an environment (Lambda scales on demand), so a
 * callback's time is the handler's own, never a wait behind others on this one
 * machine; the others wait at Twilio's side, where none of its timeouts runs.
 *
 * The SQS queues (the alerts queue, and each webhook's backlog queue) are
 * also served over HTTP in SQS's JSON protocol (test/support/fake-sqs.ts), and the
 * handlers get their URLs: the sender `ALERT_QUEUE_URL`, each webhook
 * `WEBHOOK_BACKLOG_QUEUE_URL` (the queue it hands a verified request to when
 * DynamoDB or SNS fails; the function consumes that queue itself, batch item
 * failures reported).
 *
 * Each handler runs in its own execution environments (worker threads) with
 * the environment the construct would set; AWS calls reach dynalite, the
 * Secrets Manager fake and the SNS fake through AWS_ENDPOINT_URL_*. Nothing
 * here mutates this process's environment, so a test can start one pipeline
 * after another.
 */
export interface LocalPipelineOptions {
  /** Seeds every random choice (faults, duplicates, delays). Default 1. */
  readonly seed?: number;
  /** The credentials secret at start: the real one (default) or the construct's placeholder. */
  readonly secret?: 'real' | 'placeholder';
  /** Overrides of the sender's SENDER_CONFIG (recipients, sendConcurrency, claimLeaseSeconds...). */
  readonly senderConfig?: Partial<SenderConfig>;
  /** Sender function timeout (ms). Default 6000. */
  readonly senderTimeoutMs?: number;
  /** Most sender execution environments (the event source mapping's maximum concurrency). Default 2. */
  readonly senderConcurrency?: number;
  /** Queue behaviour (batch size, visibility timeout, maxReceiveCount, duplicates...). */
  readonly queue?: Partial<Omit<QueueSimulationOptions, 'invoke' | 'random'>>;
  /** Status callback behaviour (delays, duplicates, reordering, fates). */
  readonly callbacks?: Partial<Omit<CallbackDriverOptions, 'accountSid' | 'authToken' | 'random'>>;
  /** Probability that API Gateway hands a webhook body over base64-encoded. Default 0. */
  readonly base64WebhookProbability?: number;
  /** POWERTOOLS_LOG_LEVEL of the handlers. Default WARN. */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /** Every handler log line (JSON), e.g. to print them. */
  readonly onLog?: (line: string, functionName: string) => void;
  /** Keep per-request records (bridge exchanges, callback posts, Twilio requests). Default true; off for long benchmarks. */
  readonly record?: boolean;
  /** Start the functions' execution environments before the first event (provisioned concurrency): all the sender's, two of each webhook's. Default true. */
  readonly warm?: boolean;
  /**
   * Most execution environments of each webhook function (status callback,
   * inbound). Default 10. Behind API Gateway, Lambda starts one for each
   * request it has none free for (the construct reserves no concurrency), so
   * a slow answer (DynamoDB retrying through an outage) does not hold the
   * next request back; beyond the two started in advance they start on
   * demand, cold, as Lambda's do.
   */
  readonly webhookConcurrency?: number;
  /**
   * Route the handlers' DynamoDB calls through the fault proxies (`senderDb`, `webhookDb`). Default true;
   * false talks to dynalite directly (one hop less, for throughput measurements; the proxies' faults then do nothing).
   */
  readonly dynamoProxy?: boolean;
  /** Seconds the handlers cache the secret. Default 1, so a fixed secret takes effect quickly. */
  readonly secretCacheTtlSeconds?: number;
  /** The webhooks' backlog queues (visibility timeout, maxReceiveCount...). */
  readonly backlogQueue?: Partial<Omit<QueueSimulationOptions, 'invoke' | 'random' | 'queueName' | 'topicArn'>>;
  /** API Gateway's stage throttle on the webhooks (see `webhookThrottle` in lib/private/webhook-throttle.ts for the construct's). Default none. */
  readonly stageThrottle?: StageThrottle;
  /** Twilio's per-sender queue (fake-twilio.ts `setPacing`). Default none: a message leaves at once. */
  readonly pacing?: SenderPacing;
  /** The reconciler's RECONCILE_AFTER_SECONDS. Default 60 (the least the construct allows). */
  readonly reconcileAfterSeconds?: number;
}

/** What one reconciler run did (assets/reconciler's RunSummary). */
export interface ReconcileRun {
  readonly asked: number;
  readonly reconciled: number;
  readonly final: number;
  readonly pending: number;
  readonly neverFinal: number;
  readonly notFound: number;
  readonly stoppedBy: string;
}

/** The environment variables of the webhook backlog and timers contract (the handlers read them when they support it). */
export const QUEUE_ENV = {
  /** sender and webhooks: the alerts queue (re-enqueueing, timers). */
  ALERT_QUEUE_URL: 'ALERT_QUEUE_URL',
  /** each webhook: its own backlog queue, consumed by the same function. */
  WEBHOOK_BACKLOG_QUEUE_URL: 'WEBHOOK_BACKLOG_QUEUE_URL',
} as const;

/** What a webhook hands its backlog queue: the verified request's parameters, in order. */
export interface WebhookBacklogMessage {
  readonly kind: 'webhook';
  readonly webhook: 'status' | 'inbound';
  readonly params: ReadonlyArray<readonly [string, string]>;
  /** ISO 8601: when the webhook received it. */
  readonly receivedAt: string;
}

/** A notification the pipeline should account for in its tally. */
export interface TrackedNotification {
  readonly notificationId: string;
  /** Who should receive it (empty for a record that can never be sent). */
  readonly recipients: readonly string[];
  /** A text found in every message sent for it (counts Twilio's messages independently of our table). */
  readonly marker?: string;
  readonly label?: string;
  /**
   * Nothing about it can fail for good (valid recipients Twilio accepts): a
   * recipient recorded `failed` lost its page, whatever the reason given
   * (a transient or configuration error marked permanent).
   */
  readonly mustBeSent?: boolean;
}

export type RecipientOutcome = 'sent' | 'failed' | 'unknown' | 'dead-lettered' | 'lost';

export interface Tally {
  readonly published: number;
  /** (notification, recipient) pairs accepted by Twilio and recorded. */
  readonly sent: number;
  /** Pairs (or whole never-sendable notifications) recorded as failed, with a reason. */
  readonly failed: number;
  /** Notifications whose message is in the DLQ (not yet sent to some recipient). */
  readonly deadLettered: number;
  /** Pairs left `unknown` for an operator (a request whose answer never came). */
  readonly unknown: number;
  /** Extra Twilio messages for one pair: must be 0. */
  readonly duplicates: number;
  /** Pairs with no outcome at all, recorded as sent with a message that is not theirs, or failed although they must be sent: must be 0. */
  readonly lost: number;
  /** Twilio messages created that no table item records. */
  readonly unrecorded: number;
  /** Detail per pair, for failing assertions. */
  readonly outcomes: ReadonlyArray<{ notificationId: string; recipient: string; outcome: RecipientOutcome; twilioMessages: number; reason?: string; label?: string }>;
}

export interface LocalPipeline {
  readonly accountSid: string;
  /** The account's primary auth token: Twilio signs webhooks with it. */
  readonly authToken: string;
  /** The API key the REST calls use now (see `rotateApiKey`). */
  readonly apiKey: { readonly sid: string; readonly secret: string };
  readonly secretArn: string;
  readonly tableName: string;
  readonly topicArn: string;
  readonly inboundTopicArn: string;
  readonly statusCallbackUrl: string;
  readonly inboundUrl: string;
  readonly senderConfig: SenderConfig;
  readonly random: Prng;

  readonly dynamo: LocalDynamo;
  /** What the sender's DynamoDB calls go through (faults, crash after a write). */
  readonly senderDb: DynamoProxy;
  /** What the webhook handlers' DynamoDB calls go through. */
  readonly webhookDb: DynamoProxy;
  readonly twilio: FakeTwilio;
  readonly secrets: FakeSecretsManager;
  readonly sns: FakeSns;
  readonly bridge: ApiGatewayBridge;
  readonly queue: QueueSimulation;
  /** Each webhook's backlog queue, consumed by the same function. */
  readonly backlog: { readonly status: QueueSimulation; readonly inbound: QueueSimulation };
  /** The HTTP face of the queues (alerts, backlogs): what the handlers' SQS clients reach. */
  readonly sqs: FakeSqs;
  /** Queue URLs as the handlers get them. */
  readonly queueUrls: { readonly alerts: string; readonly statusBacklog: string; readonly inboundBacklog: string };
  readonly callbacks: CallbackDriver;
  readonly sender: LambdaFunction;
  readonly statusCallback: LambdaFunction;
  readonly inbound: LambdaFunction;
  /** The scheduled reconciler (assets/reconciler), its environments started on the first run. */
  readonly reconciler: LambdaFunction;
  /** EMF metric totals from the handlers' logs, by metric name. */
  readonly metrics: Map<string, number>;
  /** Log lines that show a secret or an unmasked phone number (must stay empty). */
  readonly leaks: string[];
  /** The last handler log lines (bounded). */
  readonly recentLogs: string[];
  readonly tracked: TrackedNotification[];

  /** Publishes to the alerts topic (object → JSON). Tracks it when `track` is given. Returns the SNS MessageId. */
  publish(message: string | object, track?: Omit<TrackedNotification, 'notificationId'>): string;
  /**
   * Publishes a CloudWatch alarm notification (the JSON CloudWatch sends). Tracked
   * as a page of the default recipients with the alarm name as marker, unless
   * `track` says otherwise (`false`: not tracked, e.g. an OK, which sends under
   * its incident's ids, or an alarm whose incident repeats the same text).
   */
  publishAlarm(alarm?: Partial<CloudWatchAlarm>, track?: Omit<TrackedNotification, 'notificationId'> | false): string;
  /** Sends a body straight to the queue (no SNS envelope). */
  sendRaw(body: string, track?: Omit<TrackedNotification, 'notificationId'>): string;
  /** Adds a notification to the tally after the fact (e.g. fuzz, once its recipients are known). */
  track(notification: TrackedNotification): void;
  /**
   * Sets the credentials secret: the real one (the credentials Twilio accepts
   * now), the placeholder, `not-yet-promoted` (a well-formed secret whose auth
   * token Twilio does not know yet, and no API key: every REST call gets
   * 401 / 20003), or any text.
   */
  setSecret(secret: 'real' | 'placeholder' | 'not-yet-promoted' | string): void;
  /**
   * Rotates the REST credentials at once: a new API key goes into the secret
   * and Twilio refuses the old one from now on (the worst order: the old key
   * deleted as the secret changes, before any handler re-read it). Returns the new key.
   */
  rotateApiKey(): { sid: string; secret: string };
  /** A configuration update of the sender (SENDER_CONFIG); running invocations finish under the old one. */
  reconfigureSender(config: Partial<SenderConfig>): Promise<void>;
  /** Moves the DLQ back to the queue. */
  redrive(): number;
  /** Waits until the queue is drained and every status callback answered. */
  settle(timeoutMs?: number): Promise<void>;
  /**
   * One scheduled run of the reconciler, its clock `aheadMs` ahead of now
   * (default RECONCILE_AFTER_SECONDS and a second: every message accepted
   * until now is due for its first poll).
   */
  reconcile(options?: { aheadMs?: number }): Promise<ReconcileRun>;
  /** An inbound SMS/WhatsApp from `from` (signed, to INBOUND_URL), posted as Twilio posts it (retried once only if the connection failed). */
  reply(from: string, body: string, options?: { to?: string; mediaUrls?: string[]; messageSid?: string }): Promise<{ status: number; body: string }>;
  /** Invokes a webhook handler through the bridge with a raw request (forgeries, fuzz). */
  postWebhook(resource: '/status' | '/inbound', body: string, headers: Record<string, string>): Promise<{ status: number; body: string }>;
  /** Every table item (a Scan). */
  scanTable(): Promise<Array<Record<string, unknown>>>;
  /** The messages Twilio created for `to` whose sent text includes `marker` (every one without it), oldest first. */
  sentTo(to: string, marker?: string): FakeMessage[];
  /** One table item by id (a consistent GetItem), or undefined. */
  item(id: string): Promise<Record<string, unknown> | undefined>;
  /** Accounts for every tracked notification from the table, the DLQ and Twilio's messages. */
  tally(): Promise<Tally>;
  close(): Promise<void>;
}

/**
 * Waits until `check` holds (polled every 20 ms), then returns its value; throws
 * naming `what` when it still does not after `timeoutMs`. For a step of a flow
 * that happens at its own time (an escalation's timer), where `settle` would
 * wait for every later timer too.
 */
export async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The pipeline's alarm: the database CPU alarm firing now, through `topicArn`. */
function pipelineAlarm(overrides: Partial<CloudWatchAlarm>, topicArn: string): CloudWatchAlarm {
  const now = new Date();
  const alarm = cloudWatchAlarm(
    {
      AlarmName: 'db-1-cpu-high',
      AlarmDescription: 'CPU above 90% on the primary database',
      AlarmConfigurationUpdatedTimestamp: cloudWatchTime(new Date(now.getTime() - 86_400_000)),
      NewStateReason:
        'Threshold Crossed: 1 out of the last 1 datapoints [97.53 (27/11/26 15:40:00)] was greater than the threshold (90.0) (minimum 1 datapoint for OK -> ALARM transition).',
      StateChangeTime: cloudWatchTime(now),
      AlarmActions: [topicArn],
      ...overrides,
    },
    { Period: 300, DatapointsToAlarm: 1 },
  );
  return alarm as unknown as CloudWatchAlarm;
}

const ROOT = resolve(__dirname, '..', '..');
export const ASSETS = {
  sender: join(ROOT, 'assets', 'sender', 'index.js'),
  statusCallback: join(ROOT, 'assets', 'status-callback', 'index.js'),
  inbound: join(ROOT, 'assets', 'inbound', 'index.js'),
  reconciler: join(ROOT, 'assets', 'reconciler', 'index.js'),
};

/** Fails with what to do when the handlers have not been built. */
export function assertAssetsBuilt(): void {
  const missing = Object.values(ASSETS).filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new Error(`the built handlers are missing (${missing.map((p) => p.slice(ROOT.length + 1)).join(', ')}): run \`npm run build\` first`);
  }
}

export const PIPELINE_ACCOUNT_SID = `AC${'5a'.repeat(16)}`;
const AUTH_TOKEN = 'local-pipeline-auth-token-0123456789';
const API_KEY_SID = `SK${'7b'.repeat(16)}`;
const API_KEY_SECRET = 'local-pipeline-api-key-secret';

/** The default numbers: fictional (555-01xx). */
export const NUMBERS = {
  smsFrom: '+15550100100',
  whatsappFrom: 'whatsapp:+15550100200',
  onCallSms: '+15550101001',
  onCallWhatsapp: 'whatsapp:+15550101002',
  backupSms: '+15550101003',
} as const;

/** A token Twilio does not know (yet): what an operator puts in the secret before promoting it in the Console. */
const NOT_YET_PROMOTED_TOKEN = 'local-pipeline-not-yet-promoted-token';
const MAX_RECENT_LOGS = 200;
/** Webhook environments started before the first request; the others start on demand. */
const WARM_WEBHOOK_ENVIRONMENTS = 2;
const UNMASKED_NUMBER = /\+[1-9]\d{7,14}(?!\d)/;

export async function startLocalPipeline(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  assertAssetsBuilt();
  const random = createPrng(options.seed ?? 1);
  const record = options.record ?? true;
  const viaProxy = options.dynamoProxy ?? true;
  const webhookConcurrency = options.webhookConcurrency ?? 10;
  const tableName = 'twilio-messaging-status';
  const secretArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio-credentials-AbCdEf';
  const inboundTopicArn = 'arn:aws:sns:us-east-1:123456789012:twilio-inbound';
  const topicArn = 'arn:aws:sns:us-east-1:123456789012:twilio-alerts';
  let apiKey = { sid: API_KEY_SID, secret: API_KEY_SECRET };
  const realSecret = () => JSON.stringify({ accountSid: PIPELINE_ACCOUNT_SID, authToken: AUTH_TOKEN, apiKeySid: apiKey.sid, apiKeySecret: apiKey.secret });
  /** Every credential value the pipeline ever used: none may show in a log line. */
  const secretValues = new Set([AUTH_TOKEN, API_KEY_SECRET, NOT_YET_PROMOTED_TOKEN]);
  const twilioCredentials = () => [
    { username: apiKey.sid, password: apiKey.secret },
    { username: PIPELINE_ACCOUNT_SID, password: AUTH_TOKEN },
  ];

  const closers: Array<() => Promise<unknown> | void> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await Promise.resolve(close()).catch(() => undefined);
  };
  try {
    const dynamo = await startDynalite();
    closers.push(() => dynamo.close());
    await createStatusTable(dynamo.endpoint, tableName);
    const senderDb = await startDynamoProxy(dynamo.endpoint);
    closers.push(() => senderDb.close());
    const webhookDb = await startDynamoProxy(dynamo.endpoint);
    closers.push(() => webhookDb.close());
    const secrets = await startFakeSecretsManager();
    closers.push(() => secrets.close());
    secrets.setSecret(secretArn, options.secret === 'placeholder' ? JSON.stringify(PLACEHOLDER_SECRET) : realSecret());
    const sns = await startFakeSns();
    closers.push(() => sns.close());
    const twilio = await startFakeTwilio({ accountSid: PIPELINE_ACCOUNT_SID, credentials: twilioCredentials() });
    closers.push(() => twilio.close());
    const base64p = options.base64WebhookProbability ?? 0;
    const bridgeRandom = random.fork();
    if (options.pacing) twilio.setPacing(options.pacing);
    const bridge = await startApiGatewayBridge({ record, base64Body: () => bridgeRandom.chance(base64p), ...(options.stageThrottle ? { throttle: options.stageThrottle } : {}) });
    closers.push(() => bridge.close());
    const statusCallbackUrl = bridge.urlOf('/status');
    const inboundUrl = bridge.urlOf('/inbound');

    let senderConfig: SenderConfig = {
      from: NUMBERS.smsFrom,
      whatsappFrom: NUMBERS.whatsappFrom,
      defaultRecipients: [NUMBERS.onCallSms, NUMBERS.onCallWhatsapp],
      allowedRecipients: [NUMBERS.backupSms],
      sendConcurrency: 10,
      claimLeaseSeconds: 4,
      // Digests off unless a scenario turns them on (`senderConfig: { storm: { windowSeconds: 60 } }`): the other scenarios count one message per notification and recipient.
      storm: { windowSeconds: 0 },
      ...options.senderConfig,
    };

    const metrics = new Map<string, number>();
    const leaks: string[] = [];
    const recentLogs: string[] = [];
    const onLog = (line: string, fn: string) => {
      options.onLog?.(line, fn);
      if ([...secretValues].some((v) => line.includes(v)) || UNMASKED_NUMBER.test(line)) leaks.push(`${fn}: ${line}`);
      recentLogs.push(`${fn}: ${line}`);
      if (recentLogs.length > MAX_RECENT_LOGS) recentLogs.shift();
      if (line.includes('"_aws"') && line.includes('CloudWatchMetrics')) {
        try {
          const emf = JSON.parse(line) as { _aws: { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }> }> } } & Record<string, unknown>;
          for (const group of emf._aws.CloudWatchMetrics) {
            for (const { Name } of group.Metrics) {
              const value = emf[Name];
              const sum = Array.isArray(value) ? value.reduce((a: number, b) => a + Number(b), 0) : Number(value);
              metrics.set(Name, (metrics.get(Name) ?? 0) + (Number.isFinite(sum) ? sum : 0));
            }
          }
        } catch {
          // not EMF after all
        }
      }
    };

    // The queues exist before the functions (their URLs are configuration); they start polling once the functions do.
    const sqs = await startFakeSqs();
    closers.push(() => sqs.close());
    const queue = createQueueSimulation({
      queueName: 'twilio-alerts',
      topicArn,
      batchSize: 10,
      visibilityTimeoutMs: 2000,
      maxReceiveCount: 3,
      maxConcurrency: options.senderConcurrency ?? 2,
      ...options.queue,
      random: random.fork(),
      invoke: (event: SQSEvent) => sender.invoke<SQSBatchResponse>(event),
    });
    const backlogQueue = (name: string, fn: () => LambdaFunction) =>
      createQueueSimulation({
        batchSize: 10,
        visibilityTimeoutMs: 1000,
        maxReceiveCount: 5,
        maxConcurrency: 1,
        ...options.backlogQueue,
        queueName: name,
        random: random.fork(),
        invoke: (event: SQSEvent) => fn().invoke<SQSBatchResponse>(event),
      });
    const backlog = {
      status: backlogQueue('twilio-status-backlog', () => statusCallback),
      inbound: backlogQueue('twilio-inbound-backlog', () => inbound),
    };
    const queueUrls = {
      alerts: sqs.addQueue('twilio-alerts', queue),
      statusBacklog: sqs.addQueue('twilio-status-backlog', backlog.status),
      inboundBacklog: sqs.addQueue('twilio-inbound-backlog', backlog.inbound),
    };

    const commonEnv = (service: string, dynamoEndpoint: string): Record<string, string> => ({
      PATH: process.env.PATH ?? '',
      TZ: 'UTC',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDLOCALPIPELINE',
      AWS_SECRET_ACCESS_KEY: 'local-pipeline-aws-secret',
      AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
      AWS_ENDPOINT_URL_SNS: sns.url,
      AWS_ENDPOINT_URL_SQS: sqs.url,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_LAMBDA_FUNCTION_NAME: `twilio-messaging-${service}`,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      POWERTOOLS_SERVICE_NAME: 'twilio-messaging-local',
      POWERTOOLS_METRICS_NAMESPACE: 'TwilioMessaging',
      POWERTOOLS_LOG_LEVEL: options.logLevel ?? 'WARN',
      [ENV.TWILIO_SECRET_ARN]: secretArn,
      [ENV.STATUS_TABLE_NAME]: tableName,
      [ENV.SECRET_CACHE_TTL_SECONDS]: String(options.secretCacheTtlSeconds ?? 1),
    });

    const sender = createLambdaFunction({
      name: 'sender',
      assetPath: ASSETS.sender,
      timeoutMs: options.senderTimeoutMs ?? 6000,
      concurrency: options.senderConcurrency ?? 2,
      onLog,
      env: {
        ...commonEnv('sender', viaProxy ? senderDb.url : dynamo.endpoint),
        [ENV.STATUS_CALLBACK_URL]: statusCallbackUrl,
        [ENV.SENDER_CONFIG]: JSON.stringify(senderConfig),
        [ENV.TWILIO_API_BASE_URL]: twilio.url,
        [QUEUE_ENV.ALERT_QUEUE_URL]: queueUrls.alerts,
      },
    });
    closers.push(() => sender.close());
    const statusCallback = createLambdaFunction({
      name: 'status-callback',
      assetPath: ASSETS.statusCallback,
      timeoutMs: 10_000,
      concurrency: webhookConcurrency,
      onLog,
      env: {
        ...commonEnv('status-callback', viaProxy ? webhookDb.url : dynamo.endpoint),
        [ENV.STATUS_CALLBACK_URL]: statusCallbackUrl,
        [QUEUE_ENV.WEBHOOK_BACKLOG_QUEUE_URL]: queueUrls.statusBacklog,
        [QUEUE_ENV.ALERT_QUEUE_URL]: queueUrls.alerts,
      },
    });
    closers.push(() => statusCallback.close());
    const inbound = createLambdaFunction({
      name: 'inbound',
      assetPath: ASSETS.inbound,
      timeoutMs: 10_000,
      concurrency: webhookConcurrency,
      onLog,
      env: {
        ...commonEnv('inbound', viaProxy ? webhookDb.url : dynamo.endpoint),
        [ENV.INBOUND_URL]: inboundUrl,
        [ENV.INBOUND_TOPIC_ARN]: inboundTopicArn,
        [QUEUE_ENV.WEBHOOK_BACKLOG_QUEUE_URL]: queueUrls.inboundBacklog,
        [QUEUE_ENV.ALERT_QUEUE_URL]: queueUrls.alerts,
      },
    });
    closers.push(() => inbound.close());
    const reconcileAfterSeconds = options.reconcileAfterSeconds ?? 60;
    const reconciler = createLambdaFunction({
      name: 'reconciler',
      assetPath: ASSETS.reconciler,
      timeoutMs: 30_000,
      concurrency: 1,
      controllableClock: true,
      onLog,
      env: {
        ...commonEnv('reconciler', viaProxy ? webhookDb.url : dynamo.endpoint),
        [ENV.RECONCILE_AFTER_SECONDS]: String(reconcileAfterSeconds),
        [ENV.TWILIO_API_BASE_URL]: twilio.url,
      },
    });
    closers.push(() => reconciler.close());
    if (options.warm ?? true) await Promise.all([sender.warm(), statusCallback.warm(WARM_WEBHOOK_ENVIRONMENTS), inbound.warm(WARM_WEBHOOK_ENVIRONMENTS)]);
    bridge.route({ resource: '/status', invoke: (e: APIGatewayProxyEvent) => statusCallback.invoke<APIGatewayProxyResult>(e) });
    bridge.route({ resource: '/inbound', invoke: (e: APIGatewayProxyEvent) => inbound.invoke<APIGatewayProxyResult>(e) });

    for (const q of [queue, backlog.status, backlog.inbound]) {
      q.start();
      closers.push(() => q.stop());
    }

    const callbacks = startCallbackDriver(twilio, {
      accountSid: PIPELINE_ACCOUNT_SID,
      authToken: () => AUTH_TOKEN,
      record,
      // Lambda behind API Gateway starts an environment for each request it has none free for:
      // a request in flight never waits for another's. Here the environments are few, so Twilio
      // holds back the rest (queued on its side, where none of its timeouts runs).
      maxInFlight: webhookConcurrency,
      ...options.callbacks,
      random: random.fork(),
    });
    closers.push(() => callbacks.stop());

    const db = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDLOCALPIPELINE', secretAccessKey: 'local-pipeline-aws-secret' } }),
    );
    closers.push(() => db.destroy());

    const tracked: TrackedNotification[] = [];
    const track = (notificationId: string, t?: Omit<TrackedNotification, 'notificationId'>) => {
      if (t) tracked.push({ notificationId, ...t });
      return notificationId;
    };

    const scanTable = async () => {
      const items: Array<Record<string, unknown>> = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await db.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ...(ExclusiveStartKey ? { ExclusiveStartKey } : {}) }));
        items.push(...((page.Items ?? []) as Array<Record<string, unknown>>));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return items;
    };

    const queuesIdle = () => [queue, backlog.status, backlog.inbound].every((q) => q.depth === 0 && q.inFlightBatches === 0);

    const pipeline: LocalPipeline = {
      accountSid: PIPELINE_ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      get apiKey() {
        return apiKey;
      },
      secretArn,
      tableName,
      topicArn,
      inboundTopicArn,
      statusCallbackUrl,
      inboundUrl,
      get senderConfig() {
        return senderConfig;
      },
      random,
      dynamo,
      senderDb,
      webhookDb,
      twilio,
      secrets,
      sns,
      bridge,
      queue,
      backlog,
      sqs,
      queueUrls,
      callbacks,
      sender,
      statusCallback,
      inbound,
      reconciler,
      metrics,
      leaks,
      recentLogs,
      tracked,
      publish: (message, t) => track(queue.publish(typeof message === 'string' ? message : JSON.stringify(message)), t),
      publishAlarm: (alarm = {}, t) => {
        const body = pipelineAlarm(alarm, topicArn);
        const subject = `${body.NewStateValue}: "${body.AlarmName}" in ${body.Region}`.slice(0, 100);
        const id = queue.publish(JSON.stringify(body), { subject });
        if (t === false) return id;
        return track(id, t ?? { recipients: senderConfig.defaultRecipients, marker: body.AlarmName, label: `alarm ${body.AlarmName}`, mustBeSent: true });
      },
      sendRaw: (body, t) => track(queue.sendRaw(body), t),
      track: (t) => {
        tracked.push(t);
      },
      setSecret: (secret) => {
        const text =
          secret === 'real' ? realSecret()
          : secret === 'placeholder' ? JSON.stringify(PLACEHOLDER_SECRET)
          : secret === 'not-yet-promoted' ? JSON.stringify({ accountSid: PIPELINE_ACCOUNT_SID, authToken: NOT_YET_PROMOTED_TOKEN })
          : secret;
        secrets.setSecret(secretArn, text);
      },
      rotateApiKey: () => {
        apiKey = { sid: `SK${randomBytes(16).toString('hex')}`, secret: `local-pipeline-api-key-secret-${randomBytes(12).toString('hex')}` };
        secretValues.add(apiKey.secret);
        secrets.setSecret(secretArn, realSecret());
        twilio.setCredentials(twilioCredentials());
        return apiKey;
      },
      async reconfigureSender(config) {
        senderConfig = { ...senderConfig, ...config };
        await sender.reconfigure({ ...sender.env, [ENV.SENDER_CONFIG]: JSON.stringify(senderConfig) });
      },
      redrive: () => queue.redrive(),
      async settle(timeoutMs = 60_000) {
        const until = Date.now() + timeoutMs;
        for (;;) {
          for (const q of [queue, backlog.status, backlog.inbound]) await q.drained(Math.max(1, until - Date.now()));
          await callbacks.settled(Math.max(1, until - Date.now()));
          while (bridge.inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
          if (queuesIdle() && callbacks.pending === 0 && bridge.inFlight === 0) return;
          if (Date.now() >= until) throw new Error('the pipeline did not settle');
        }
      },
      reconcile: ({ aheadMs = reconcileAfterSeconds * 1000 + 1000 } = {}) =>
        reconciler.invoke<ReconcileRun>(
          { version: '0', id: randomBytes(16).toString('hex'), 'detail-type': 'Scheduled Event', source: 'aws.events', account: '123456789012', time: new Date(Date.now() + aheadMs).toISOString(), region: 'us-east-1', resources: [], detail: {} },
          { clockAheadMs: aheadMs },
        ),
      reply: (from, body, opts = {}) =>
        sendInbound(inboundUrl, AUTH_TOKEN, {
          accountSid: PIPELINE_ACCOUNT_SID,
          from,
          to: opts.to ?? (from.startsWith('whatsapp:') ? NUMBERS.whatsappFrom : NUMBERS.smsFrom),
          body,
          ...(opts.mediaUrls ? { mediaUrls: opts.mediaUrls } : {}),
          ...(opts.messageSid ? { messageSid: opts.messageSid } : {}),
        }),
      postWebhook: (resource, body, headers) => postForm(bridge.urlOf(resource), body, headers),
      scanTable,
      sentTo: (to, marker) =>
        [...twilio.messages.values()]
          .filter((m) => m.to === to && (marker === undefined || twilioText(m).includes(marker)))
          .sort((a, b) => a.dateCreated.getTime() - b.dateCreated.getTime()),
      async item(id) {
        const { Item } = await db.send(new GetCommand({ TableName: tableName, Key: { id }, ConsistentRead: true }));
        return Item as Record<string, unknown> | undefined;
      },
      async tally() {
        return computeTally(tracked, await scanTable(), queue, [...twilio.messages.values()]);
      },
      close: closeAll,
    };
    return pipeline;
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * The text we sent for a Twilio message (its create request's Body and
 * ContentVariables), not the body Twilio kept, which may differ (storedBody).
 */
export function twilioText(m: FakeMessage): string {
  const sent = (m.params ?? []).filter(([k]) => k === 'Body' || k === 'ContentVariables').map(([, v]) => v);
  return sent.length > 0 ? sent.join('\n') : `${m.body ?? ''}\n${m.contentVariables ?? ''}`;
}

/** Accounts for every tracked notification: each recipient sent, failed with a reason, unknown, dead-lettered, or lost. */
export function computeTally(tracked: readonly TrackedNotification[], items: ReadonlyArray<Record<string, unknown>>, queue: QueueSimulation, twilioMessages: readonly FakeMessage[]): Tally {
  const byId = new Map(items.map((i) => [String(i.id), i]));
  const recordedSids = new Set(items.filter((i) => i.kind === 'message').map((i) => String(i.id)));
  const inDlq = new Set(queue.dlq.map((m) => m.snsMessageId ?? m.messageId));
  const twilioBySid = new Map(twilioMessages.map((m) => [m.sid, m]));
  const twilioByTo = new Map<string, FakeMessage[]>();
  for (const m of twilioMessages) twilioByTo.set(m.to, [...(twilioByTo.get(m.to) ?? []), m]);
  const claimsBySid = new Map<string, number>();
  for (const i of items) if (i.kind === 'claim' && typeof i.messageSid === 'string') claimsBySid.set(i.messageSid, (claimsBySid.get(i.messageSid) ?? 0) + 1);
  const outcomes: Array<Tally['outcomes'][number]> = [];
  const deadLettered = new Set<string>();
  for (const t of tracked) {
    const label = t.label ? { label: t.label } : {};
    const notificationFailure = byId.get(`failed#${t.notificationId}`);
    if (notificationFailure) {
      for (const recipient of t.recipients.length > 0 ? t.recipients : ['']) {
        const reason = String(notificationFailure.reason ?? '');
        if (t.mustBeSent) outcomes.push({ notificationId: t.notificationId, recipient, outcome: 'lost', twilioMessages: 0, reason: `refused (${reason}) although it must be sent`, ...label });
        else outcomes.push({ notificationId: t.notificationId, recipient, outcome: 'failed', twilioMessages: 0, reason, ...label });
      }
      continue;
    }
    if (t.recipients.length === 0) {
      // Expected to be refused, yet no failure record: only the DLQ can account for it.
      const outcome: RecipientOutcome = inDlq.has(t.notificationId) ? 'dead-lettered' : 'lost';
      if (outcome === 'dead-lettered') deadLettered.add(t.notificationId);
      outcomes.push({ notificationId: t.notificationId, recipient: '', outcome, twilioMessages: 0, ...label });
      continue;
    }
    for (const recipient of t.recipients) {
      const twilioCount = t.marker ? (twilioByTo.get(recipient) ?? []).filter((m) => twilioText(m).includes(t.marker!)).length : 0;
      const claim = byId.get(`claim#${t.notificationId}#${recipient}`);
      let outcome: RecipientOutcome;
      let reason: string | undefined;
      const sid = typeof claim?.messageSid === 'string' ? claim.messageSid : undefined;
      const twilioMessage = sid ? twilioBySid.get(sid) : undefined;
      if (claim?.state === 'sent' && typeof claim.digest === 'string') {
        // Held in a storm window: it reached the phone inside its digest, whose own claim holds the message (its SID is on this claim too, once accepted).
        const digestClaim = byId.get(`claim#${claim.digest}#${recipient}`);
        const digestSid = typeof digestClaim?.messageSid === 'string' ? digestClaim.messageSid : undefined;
        if (digestClaim?.state === 'sent' && digestSid && byId.has(digestSid) && (sid === undefined || sid === digestSid)) {
          outcome = 'sent';
          reason = `in digest ${digestSid}`;
        } else {
          outcome = 'lost';
          reason = sid !== undefined && sid !== digestSid ? `recorded in digest ${claim.digest} with ${sid}, not the digest's message` : `held for digest ${claim.digest}, which was never sent`;
        }
      } else if (claim?.state === 'sent' && sid && t.marker && twilioMessage && !twilioText(twilioMessage).includes(t.marker)) {
        // Recorded as sent with another notification's message: this recipient never got its own.
        outcome = 'lost';
        reason = `recorded as sent with ${sid}, which carries another notification's text`;
      } else if (claim?.state === 'sent' && sid && !t.marker && (claimsBySid.get(sid) ?? 0) > 1) {
        // Without a marker to tell the rightful owner, a message claimed twice counts against both.
        outcome = 'lost';
        reason = `${sid} is recorded by ${claimsBySid.get(sid)} claims`;
      } else if (claim?.state === 'sent' && sid && byId.has(sid)) outcome = 'sent';
      else if (claim?.state === 'failed' && t.mustBeSent) {
        outcome = 'lost';
        reason = `recorded failed (${[claim.errorCode, claim.reason].filter((x) => x !== undefined).join(' ')}) although it must be sent`;
      } else if (claim?.state === 'failed') {
        outcome = 'failed';
        reason = [claim.errorCode, claim.reason].filter((x) => x !== undefined).join(' ');
      } else if (claim?.state === 'unknown') {
        outcome = 'unknown';
        reason = String(claim.reason ?? '');
      }
      else if (inDlq.has(t.notificationId)) outcome = 'dead-lettered';
      else outcome = 'lost';
      if (outcome === 'dead-lettered') deadLettered.add(t.notificationId);
      outcomes.push({ notificationId: t.notificationId, recipient, outcome, twilioMessages: twilioCount, ...(reason !== undefined ? { reason } : {}), ...label });
    }
  }
  const count = (o: RecipientOutcome) => outcomes.filter((x) => x.outcome === o).length;
  return {
    published: tracked.length,
    sent: count('sent'),
    failed: count('failed'),
    deadLettered: deadLettered.size,
    unknown: count('unknown'),
    duplicates: outcomes.reduce((sum, x) => sum + Math.max(0, x.twilioMessages - 1), 0),
    lost: count('lost'),
    unrecorded: twilioMessages.filter((m) => !recordedSids.has(m.sid)).length,
    outcomes,
  };
}

/** The tally as a one-line summary. */
export function formatTally(t: Tally): string {
  return `published ${t.published} · sent ${t.sent} · failed ${t.failed} · dead-lettered ${t.deadLettered} · unknown ${t.unknown} · duplicates ${t.duplicates} · lost ${t.lost} · unrecorded ${t.unrecorded}`;
}
