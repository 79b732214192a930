import { CfnResource, Duration, Names, RemovalPolicy } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, SERVICE_DIMENSION } from './contract';
import { buildAlertQueue, buildAlertTopic, buildInboundTopic, buildTopicKey } from './private/alert-intake';
import { buildDeadLetterQueueAlarms, buildSendFailureAlarm } from './private/alarms';
import { buildCredentialsSecret } from './private/credentials-secret';
import { buildReconciler } from './private/reconciler';
import { functionMemory } from './private/function-memory';
import { handlerContext } from './private/handler-function';
import { acknowledgeNagFindings } from './private/nag-acknowledgements';
import { recordForOperators } from './private/record-for-operators';
import { buildSenderConfig } from './private/sender-config';
import { buildSenderFunction } from './private/sender-function';
import { grantReadStatus } from './private/grants';
import { statusTableOf } from './private/status-table';
import { validateProps } from './private/validate-props';
import { buildWebhookApi, routeWebhooks } from './private/webhook-api';
import { buildWebhookBacklogs } from './private/webhook-backlogs';
import { stageThrottle } from './private/webhook-throttle';
import { buildInboundFunction, buildStatusCallbackFunction } from './private/webhook-functions';

/** What watch() can wire: alarms this app defines (an imported one has no resource to set). */
const WATCHABLE_ALARM_TYPES = [cloudwatch.CfnAlarm.CFN_RESOURCE_TYPE_NAME, cloudwatch.CfnCompositeAlarm.CFN_RESOURCE_TYPE_NAME];

/** Properties of {@link TwilioMessaging}. */
export interface TwilioMessagingProps {
  /**
   * The SMS/MMS sender: a Twilio phone number in E.164 (`+15551234567`) or an
   * alphanumeric sender ID (where the destination country allows one; it cannot receive replies):
   * up to 11 letters, digits, spaces and `+ - _ &`, at least one letter (`ACME-OPS`).
   * Give exactly one of `from` and `messagingServiceSid`; a Messaging Service SID (`MG…`)
   * belongs in `messagingServiceSid`.
   *
   * @default - none; `messagingServiceSid` must be given
   */
  readonly from?: string;

  /**
   * A Twilio Messaging Service SID (`MG` + 32 hex digits); Twilio picks the sender
   * from the service's pool. Give exactly one of `from` and `messagingServiceSid`.
   *
   * @default - none; `from` must be given
   */
  readonly messagingServiceSid?: string;

  /**
   * The WhatsApp sender (`whatsapp:+15551234567`). Needed when any recipient is a
   * `whatsapp:` address, unless `messagingServiceSid` is given: then WhatsApp messages
   * go through the Messaging Service, whose sender pool must hold a WhatsApp sender.
   *
   * @default - WhatsApp through `messagingServiceSid` when given, else no WhatsApp sending
   */
  readonly whatsappFrom?: string;

  /**
   * Who receives CloudWatch alarms (unless `escalation` names whom an incident pages),
   * plain-text messages and JSON envelopes without `to`: E.164 numbers or
   * `whatsapp:+<E.164>` addresses; at least one.
   */
  readonly defaultRecipients: string[];

  /**
   * Every address a JSON envelope's `to` may name. A publish right on the topic must
   * not become a way to text any number in the world (toll fraud), so when this is
   * not given only the default recipients may be addressed. Must include every
   * default recipient.
   *
   * @default - the default recipients only
   */
  readonly allowedRecipients?: string[];

  /**
   * An approved WhatsApp content template (`HX` + 32 hex digits) used for WhatsApp
   * recipients of messages that carry no `contentSid`: outside the 24-hour customer
   * service window WhatsApp only delivers templates. The message text is its variable 1.
   *
   * @default - WhatsApp recipients get free-form text (delivered only inside the 24-hour window)
   */
  readonly whatsappContentSid?: string;

  /**
   * Keep characters that have a GSM-7 look-alike (typographic quotes, accented
   * letters) as written in rendered alarm and event texts, which then go as UCS-2
   * (70 characters per segment instead of 160). Without it they are replaced by
   * their look-alikes. Scripts with no look-alike (Japanese, Cyrillic, emoji) are
   * sent as UCS-2 either way, never as `?`.
   *
   * @default false
   */
  readonly allowUnicode?: boolean;

  /**
   * How many SMS segments a rendered alarm text may use (an integer from 1 to 10).
   * Twilio bills each segment as a message.
   *
   * @default 1
   */
  readonly alarmTextSegments?: number;

  /**
   * A name shown in alarm texts instead of the 12-digit account id, such as `prod-payments`.
   * At most 32 characters, none of them control, format or line-separator characters.
   * A token is checked by the sender at cold start; its value must not hold `"` or `\`,
   * which CloudFormation cannot escape inside the sender's JSON configuration.
   *
   * @default - alarm texts show the account id
   */
  readonly accountAlias?: string;

  /**
   * Publish alerts to this topic instead of a topic the construct creates. Its owner
   * must let CloudWatch publish (topic policy) and, if it is encrypted, let
   * cloudwatch.amazonaws.com use its key.
   *
   * @default - a new topic encrypted with `encryptionKey`
   */
  readonly existingTopic?: sns.ITopic;

  /**
   * Use this secret for the Twilio credentials instead of one the construct creates.
   * Its value: `{"accountSid","authToken"}` and optionally `"apiKeySid","apiKeySecret"`.
   *
   * @default - a new secret holding a placeholder, to be filled in after deploy
   */
  readonly existingSecret?: secretsmanager.ISecret;

  /**
   * Use this status table instead of one the construct creates. It must have the
   * partition key `id` (string), the TTL attribute `expiresAt` and the global secondary
   * index `alertsByRecipient` (partition `alertRecipient`, sort `acceptedAt`, both
   * strings, projection ALL) and the global secondary index `awaitingFinalStatus`
   * (partition `reconcileStep`, sort `awaitingSince`, both strings, projection KEYS_ONLY),
   * and the global secondary index `byParent` (partition `parentId`, sort `createdAt`,
   * both strings, projection ALL), each added in a deploy of its own (README, "Upgrading
   * a table (new indexes)").
   *
   * @default - a new on-demand table with point-in-time recovery
   */
  readonly existingTable?: dynamodb.ITable;

  /**
   * Whether the status table the construct creates has the `byParent` index
   * (partition `parentId`, sort `createdAt`, projection ALL): every (notification,
   * recipient) outcome and the live incidents, which the command-line tool's `status`
   * and `incidents` read. CloudFormation adds one index per table update, so a stack
   * made by a release without `awaitingFinalStatus` and `byParent` deploys first with
   * `false`, then again without it (README, "Upgrading a table (new indexes)"). Not
   * allowed with `existingTable`, whose indexes are yours to add.
   *
   * @default true
   */
  readonly statusTableByParentIndex?: boolean;

  /**
   * The customer-managed KMS key for the alert and inbound topics. A key created in
   * the same app gets the key-policy statement the construct needs; an imported
   * key's policy must already let cloudwatch.amazonaws.com use it (kms:Decrypt,
   * kms:GenerateDataKey*). The queues use SQS-managed encryption (see the README).
   *
   * @default - a new key with rotation enabled
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * What happens to the secret, table, key and log groups when they leave the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Retention of the functions' and the API's log groups.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * SQS messages per sender invocation (1 to 10).
   *
   * @default 10
   */
  readonly senderBatchSize?: number;

  /**
   * At most this many sender invocations at once (the event source mapping's
   * maxConcurrency, 2 to 1000). Together with `sendConcurrency` it bounds the
   * concurrent requests to Twilio, which limits them per account.
   *
   * @default 5
   */
  readonly senderMaxConcurrency?: number;

  /**
   * At most this many Twilio requests in flight per sender invocation (1 to 100).
   *
   * @default 10
   */
  readonly sendConcurrency?: number;

  /**
   * The sender's timeout (10 seconds to 5 minutes). The queue's visibility timeout is
   * six times this, and a send claim is held for twice this.
   *
   * @default Duration.seconds(30)
   */
  readonly senderTimeout?: Duration;

  /**
   * The sender's memory in MiB (128 to 10,240). Lambda gives CPU in proportion to
   * memory (one vCPU at 1,769 MiB) and the sender's time is CPU: loading the bundle
   * on a cold page, and the per-call work of the DynamoDB and HTTP clients for each
   * recipient. BENCHMARKS.md measures both at each size's CPU share.
   *
   * @default 1769 - one full vCPU. `npm run bench` (BENCHMARKS.md) measured about 0.34 s of
   * CPU for a cold page (init and its first invocation) and 0.55 s for a 100-recipient incident fan-out,
   * whose ideal is 1 s: at 256 MiB (0.145 of a vCPU) the CPU alone takes 2.2 s and 4.4 s, at
   * 1,024 MiB 0.59 s and 0.94 s, at 1,769 MiB 0.34 s and 0.55 s. Node runs the handler on one
   * thread, so more memory does not make it faster; the duration stays far below the SMS price.
   */
  readonly senderMemorySize?: number;

  /**
   * The memory in MiB (128 to 10,240) of the two webhook functions (status callback,
   * inbound), which also drain their backlogs.
   *
   * @default 256 - a callback costs a few milliseconds of CPU and one or two DynamoDB
   * calls (BENCHMARKS.md, status callbacks), and Twilio waits up to 15 s for the answer.
   */
  readonly webhookMemorySize?: number;

  /**
   * Receives of one message before it moves to the dead-letter queue (1 to 100).
   *
   * @default 5
   */
  readonly maxReceiveCount?: number;

  /**
   * The public base URL of the webhooks when the API sits behind a custom domain
   * (e.g. `https://hooks.example.com/twilio`). Twilio signs the exact URL it posts
   * to, so the handlers must know it: the status and inbound URLs become
   * `<base>/status` and `<base>/inbound`.
   *
   * @default - the API's execute-api URL with stage `v1`
   */
  readonly publicCallbackBaseUrl?: string;

  /**
   * Run the sender in this VPC. It needs a route to api.twilio.com (NAT) and to
   * SQS, Secrets Manager and DynamoDB (NAT or VPC endpoints).
   *
   * @default - not in a VPC
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Subnets for the sender when `vpc` is given.
   *
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Write the webhook API's access logs to a log group of the construct. API Gateway
   * writes them only when the account has a CloudWatch Logs role set for API Gateway
   * in this region (one per account and region, which this construct does not
   * create); deployment fails otherwise with "CloudWatch Logs role ARN must be set in
   * account settings to enable logging". Turn this off in an account without that role.
   *
   * @default true
   */
  readonly apiAccessLogging?: boolean;

  /**
   * Steady-state requests per second the webhook API accepts. Sized by default so that
   * no status callback the sender can cause is refused: `senderMaxConcurrency` ×
   * `sendConcurrency` ÷ 0.1 s (Twilio's fastest create) × 3 callbacks per message, at most
   * 10,000 (API Gateway's account limit); 1,500 with the defaults. A callback refused
   * anyway is caught up by the reconciler. A value below that rate gets a synth warning.
   *
   * @default - sized from the sender's maximum send rate (README, "Delivery assurance")
   */
  readonly apiThrottlingRateLimit?: number;

  /**
   * Burst of requests the webhook API accepts.
   *
   * @default - twice the rate limit, at most 5,000 (API Gateway's account limit)
   */
  readonly apiThrottlingBurstLimit?: number;

  /**
   * How long after Twilio accepted a message without a final status the reconciler
   * first asks Twilio about it (whole seconds, 1 minute to 24 hours). It asks again at 3,
   * 12 and 48 times this after acceptance, then counts the message in `StatusNeverFinal`.
   *
   * @default Duration.minutes(5)
   */
  readonly reconcileAfter?: Duration;

  /**
   * How long the handlers use a cached copy of the credentials secret (0 to 1 hour);
   * a rotated secret takes effect within this time.
   *
   * @default Duration.minutes(5)
   */
  readonly secretCacheTtl?: Duration;

  /**
   * Days a status-table item lives before DynamoDB's TTL deletes it (1 to 3650).
   *
   * @default 90
   */
  readonly statusRetentionDays?: number;

  /**
   * Create alarms on the dead-letter queues' depth (any message counts): the alert
   * queue's (`deadLetterQueueAlarm`) and the webhook backlogs'
   * (`webhookBacklogDeadLetterQueueAlarm`: verified status callbacks or inbound
   * messages that could not be recorded). They have no action: add one with
   * `addAlarmAction(...)`.
   *
   * @default false
   */
  readonly enableDeadLetterQueueAlarm?: boolean;

  /**
   * Create an alarm on messages that could not be sent (MessagesFailed plus
   * ConfigurationErrors). It has no action: add one with
   * `sendFailureAlarm.addAlarmAction(...)`, preferably one that does not depend on
   * Twilio, such as an e-mail subscription.
   *
   * @default false
   */
  readonly enableSendFailureAlarm?: boolean;

  /**
   * Who an incident (a watched alarm in ALARM, or an envelope with `incidentKey`)
   * pages, and when, until someone acknowledges it: stages with delays, then repeats.
   * Its recipients become allowed recipients (an envelope may name them). Checked at
   * synth; its values may not be tokens.
   *
   * @default - one stage, the default recipients (an envelope's `to` when it names one), no repeats
   */
  readonly escalation?: EscalationPolicy;

  /**
   * Each address's fallback, e.g. `{ '+15551234567': 'whatsapp:+15551234567' }`: when an
   * incident's page to the first ends `undelivered` or `failed` (or the first opted out),
   * the same page, with its `ACK <code>`, goes once to the second, which may then
   * acknowledge it; the first counts unreachable (bringing the next stage forward) only
   * when the fallback is unreachable too. Both must be default, allowed or escalation
   * recipients, the fallback with a sender for its channel; a fallback may not have one
   * of its own. Checked at synth; its values may not be tokens.
   *
   * @default - no fallbacks: an address whose page fails counts unreachable at once
   */
  readonly fallbacks?: { [address: string]: string };

  /**
   * Storm control: per recipient, the first text in a window goes at once and
   * later ones are held and sent as one digest when the window closes (README,
   * "Storms and digests"). Checked at synth.
   *
   * @default - a 60-second window, one text at once per window
   */
  readonly storm?: StormControl;
}

/** Per-recipient storm window (the `storm` prop of `TwilioMessagingProps`). */
export interface StormControl {
  /**
   * How long a window stays open after a text sent at once, in whole seconds
   * from 0 to 3600. `Duration.seconds(0)` turns digests off: every text goes at once.
   *
   * @default Duration.seconds(60)
   */
  readonly window?: Duration;

  /**
   * Texts to one address sent at once per window (1 to 20); later ones wait
   * for the window's digest.
   *
   * @default 1
   */
  readonly immediatePages?: number;
}

/**
 * Stages of an incident's pages and how often the last is repeated
 * (the `escalation` prop of `TwilioMessagingProps`).
 */
export interface EscalationPolicy {
  /**
   * The stages in order, 1 to 5, at most 20 addresses over all of them. Stage 0 is paged
   * when the incident opens; each later stage at its `after`, if the incident is still
   * open (not acknowledged, not resolved). Earlier stages are not dropped; a stage
   * whose every address is unreachable brings the next one forward.
   */
  readonly stages: EscalationStage[];

  /**
   * How many times everyone paged so far is paged again after the last stage while
   * the incident stays open (0 to 10).
   *
   * @default 0
   */
  readonly repeats?: number;

  /**
   * From the last stage's time to the first repeat, and between repeats: whole
   * seconds, 1 minute to 24 hours.
   *
   * @default Duration.minutes(5)
   */
  readonly repeatAfter?: Duration;
}

/** One stage of an `EscalationPolicy`. */
export interface EscalationStage {
  /**
   * The addresses this stage pages: E.164 numbers (`+15551234567`) or
   * `whatsapp:+<E.164>` addresses (these need `whatsappFrom`), 1 to 10, each once.
   */
  readonly recipients: string[];

  /**
   * When this stage is paged, counted from the incident's opening (not from the
   * previous stage): whole seconds, at most 24 hours, greater than the previous
   * stage's. The first stage is paged at the opening: zero or absent.
   *
   * @default - zero, which only the first stage may have: every later stage must set it
   */
  readonly after?: Duration;
}

/**
 * SMS, MMS and WhatsApp alerting through Twilio's Messages API: an SNS topic whose
 * messages a queue-fed sender delivers to phones, a status table updated by Twilio's
 * verified delivery callbacks, and an inbound topic for replies.
 */
export class TwilioMessaging extends Construct {
  /** The topic to publish alerts to (CloudWatch alarms, JSON envelopes, plain text). */
  public readonly topic: sns.ITopic;
  /** The customer-managed key of the alert and inbound topics. */
  public readonly encryptionKey: kms.IKey;
  /** Replies and other inbound messages, published as JSON by the inbound function. */
  public readonly inboundTopic: sns.ITopic;
  /** Message status by Twilio message SID, plus send claims and inbound messages. */
  public readonly table: dynamodb.ITable;
  /** The Twilio credentials. */
  public readonly secret: secretsmanager.ISecret;
  /** The queue between the topic and the sender. */
  public readonly queue: sqs.IQueue;
  /** Messages the sender could not process after `maxReceiveCount` receives. */
  public readonly deadLetterQueue: sqs.IQueue;
  /** Sends the queued messages through Twilio. */
  public readonly senderFunction: lambda.IFunction;
  /** Verifies and records Twilio's status callbacks. */
  public readonly statusCallbackFunction: lambda.IFunction;
  /** Verifies, records and publishes inbound messages. */
  public readonly inboundFunction: lambda.IFunction;
  /** Asks Twilio for the status of messages that have had no final status for `reconcileAfter` (every 5 minutes). */
  public readonly reconcilerFunction: lambda.IFunction;
  /**
   * Verified status callbacks whose table write failed, consumed by the status
   * callback function, which finishes the job.
   */
  public readonly statusCallbackBacklog: sqs.IQueue;
  /** Verified inbound messages whose table or topic work failed, consumed by the inbound function. */
  public readonly inboundBacklog: sqs.IQueue;
  /** Backlog records of either webhook that could not be applied after repeated deliveries. */
  public readonly webhookBacklogDeadLetterQueue: sqs.IQueue;
  /** The webhook API (POST /status, POST /inbound). */
  public readonly api: apigateway.IRestApi;
  /** The URL Twilio posts delivery status to (sent as each message's StatusCallback). */
  public readonly statusCallbackUrl: string;
  /** The URL to configure as the Twilio number's "A message comes in" webhook. */
  public readonly inboundUrl: string;
  /** The `service` dimension value of this instance's metrics. */
  public readonly serviceName: string;
  /** The dead-letter queue depth alarm, when `enableDeadLetterQueueAlarm` is set. */
  public readonly deadLetterQueueAlarm?: cloudwatch.IAlarm;
  /** The webhook backlogs' dead-letter queue depth alarm, when `enableDeadLetterQueueAlarm` is set. */
  public readonly webhookBacklogDeadLetterQueueAlarm?: cloudwatch.IAlarm;
  /** The send failure alarm, when `enableSendFailureAlarm` is set. */
  public readonly sendFailureAlarm?: cloudwatch.IAlarm;
  private readonly watched = new Set<cloudwatch.AlarmBase>();

  // The data flow, in order: alerts come in through the topic and queue, the sender
  // sends them and records them in the table, Twilio's callbacks and replies come back
  // through the webhook API. Each resource is built in this construct's own scope
  // (lib/private/), so construct IDs, and with them logical IDs, stay put.
  constructor(scope: Construct, id: string, props: TwilioMessagingProps) {
    super(scope, id);
    validateProps(props);

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const senderTimeout = props.senderTimeout ?? Duration.seconds(30);
    const memory = functionMemory(props);
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    const accessLogging = props.apiAccessLogging !== false;
    this.serviceName = Names.uniqueResourceName(this, { maxLength: 64 });

    // --- Alert intake: the topics' key, the topics, the queue and its dead-letter queue
    this.encryptionKey = buildTopicKey(this, props.encryptionKey, removalPolicy);
    this.topic = props.existingTopic ?? buildAlertTopic(this, this.encryptionKey);
    this.inboundTopic = buildInboundTopic(this, this.encryptionKey);
    const alertQueues = buildAlertQueue(this, this.topic, { senderTimeout, maxReceiveCount });
    this.queue = alertQueues.queue;
    this.deadLetterQueue = alertQueues.deadLetterQueue;

    // --- Webhook backlogs: verified requests wait there while the table or topic fails
    const backlogs = buildWebhookBacklogs(this);
    this.statusCallbackBacklog = backlogs.statusCallbackBacklog;
    this.inboundBacklog = backlogs.inboundBacklog;
    this.webhookBacklogDeadLetterQueue = backlogs.deadLetterQueue;

    // --- Credentials and status table ----------------------------------------------
    this.secret = props.existingSecret ?? buildCredentialsSecret(this, removalPolicy);
    this.table = statusTableOf(this, props, removalPolicy);

    // --- Webhook API and URLs --------------------------------------------------------
    const throttle = stageThrottle(this, props);
    const webhooks = buildWebhookApi(this, {
      restApiName: this.serviceName,
      accessLogging,
      logRetention,
      removalPolicy,
      throttlingRateLimit: throttle.rateLimit,
      throttlingBurstLimit: throttle.burstLimit,
      publicCallbackBaseUrl: props.publicCallbackBaseUrl,
    });
    this.api = webhooks.api;
    this.statusCallbackUrl = webhooks.statusCallbackUrl;
    this.inboundUrl = webhooks.inboundUrl;

    // --- Sender configuration: SENDER_CONFIG, checked again at the sender's cold start
    const senderConfig = buildSenderConfig(props, { claimLeaseSeconds: senderTimeout.toSeconds() * 2, maxReceiveCount });

    // --- Handler functions and their grants ------------------------------------------
    const handlers = handlerContext({
      secret: this.secret,
      table: this.table,
      alertQueue: this.queue,
      logRetention,
      removalPolicy,
      serviceName: this.serviceName,
      secretCacheTtl: props.secretCacheTtl,
      statusRetentionDays: props.statusRetentionDays,
    });
    const sender = buildSenderFunction(this, handlers, {
      config: senderConfig,
      statusCallbackUrl: this.statusCallbackUrl,
      timeout: senderTimeout,
      memorySize: memory.sender,
      batchSize: props.senderBatchSize ?? 10,
      maxConcurrency: props.senderMaxConcurrency ?? 5,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
    });
    const statusCallback = buildStatusCallbackFunction(this, handlers, {
      statusCallbackUrl: this.statusCallbackUrl,
      memorySize: memory.webhook,
      backlog: backlogs.statusCallbackBacklog,
    });
    const inbound = buildInboundFunction(this, handlers, {
      inboundUrl: this.inboundUrl,
      inboundTopic: this.inboundTopic,
      memorySize: memory.webhook,
      backlog: backlogs.inboundBacklog,
    });
    routeWebhooks(webhooks.api, { statusCallback, inbound });
    this.senderFunction = sender;
    this.statusCallbackFunction = statusCallback;
    this.inboundFunction = inbound;
    this.reconcilerFunction = buildReconciler(this, handlers, { reconcileAfter: props.reconcileAfter });

    // --- Alarms (opt-in) -------------------------------------------------------------
    if (props.enableDeadLetterQueueAlarm) {
      const alarms = buildDeadLetterQueueAlarms(this, {
        deadLetterQueue: this.metricDeadLetterQueueDepth(),
        webhookBacklogDeadLetterQueue: this.metricWebhookBacklogDeadLetterQueueDepth(),
      });
      this.deadLetterQueueAlarm = alarms.deadLetterQueueAlarm;
      this.webhookBacklogDeadLetterQueueAlarm = alarms.webhookBacklogDeadLetterQueueAlarm;
    }
    if (props.enableSendFailureAlarm) {
      this.sendFailureAlarm = buildSendFailureAlarm(this, { failed: this.metricMessagesFailed(), configurationErrors: this.metricConfigurationErrors() });
    }

    // --- What `npx cdk-twilio-messaging verify --stack` reads back (lib/private/operator-record.ts)
    recordForOperators(this, props);

    // --- cdk-nag acknowledgements ----------------------------------------------------
    acknowledgeNagFindings({
      api: webhooks.api,
      accessLogging,
      sender,
      statusCallback,
      inbound,
      tableHasKey: this.table.encryptionKey !== undefined,
      inVpc: props.vpc !== undefined,
      createdSecret: props.existingSecret ? undefined : this.secret,
    });
  }

  /** An alarm action that publishes the alarm to the topic. To page on an alarm, prefer `watch(alarm)`, which also wires its OK. */
  public alarmAction(): cloudwatch.IAlarmAction {
    return new cwActions.SnsAction(this.topic);
  }

  /**
   * Pages on the alarm: adds the topic as its ALARM action and its OK action.
   *
   * ALARM opens an incident; OK resolves it (without the OK action an incident never
   * resolves). No INSUFFICIENT_DATA action is added. Takes a metric alarm or a
   * composite alarm defined in this app; watching it again adds nothing. An imported
   * alarm is refused: its actions can only be set where it is defined.
   */
  public watch(alarm: cloudwatch.AlarmBase): void {
    if (this.watched.has(alarm)) return;
    const resource = alarm.node.defaultChild;
    if (!CfnResource.isCfnResource(resource) || !WATCHABLE_ALARM_TYPES.includes(resource.cfnResourceType)) {
      throw new Error(
        `TwilioMessaging: watch(): alarm "${alarm.alarmName}" is imported (not defined in this app), so its actions cannot be set here; ` +
          "add the topic's ARN as its ALARM and OK action where the alarm is defined",
      );
    }
    const action = this.alarmAction();
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.watched.add(alarm);
  }

  /** Lets the grantee publish alerts to the topic (including use of its key). */
  public grantPublish(grantee: iam.IGrantable): iam.Grant {
    return this.topic.grantPublish(grantee);
  }

  /** Lets the grantee read the status table: its items, and Query on its indexes (`byParent` among them). */
  public grantReadStatus(grantee: iam.IGrantable): iam.Grant {
    return grantReadStatus(grantee, this.table);
  }

  /**
   * A metric the handlers emit, in namespace `TwilioMessaging` with this instance's
   * `service` dimension. Counts default to Sum over 5 minutes.
   */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { [SERVICE_DIMENSION]: this.serviceName },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...props,
    });
  }

  /** Messages Twilio accepted (HTTP 201). */
  public metricMessagesSent(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.MESSAGES_SENT, props);
  }

  /** Messages that can never be sent (invalid input, a permanent Twilio error). */
  public metricMessagesFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.MESSAGES_FAILED, props);
  }

  /** `delivered` (or `read`) statuses reported by Twilio. */
  public metricMessagesDelivered(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.MESSAGES_DELIVERED, props);
  }

  /** `undelivered` or `failed` statuses reported by Twilio. */
  public metricMessagesUndelivered(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.MESSAGES_UNDELIVERED, props);
  }

  /** Twilio calls retried after a 429, a 5xx, a connection failure or a 21611 (the sender's queue is full). */
  public metricSendRetries(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.SEND_RETRIES, props);
  }

  /**
   * Webhook requests refused before any table write: a signature that did not
   * verify (403, property `reason` = `signature`) or a body larger than any
   * Twilio webhook (413, `reason` = `too-large`).
   */
  public metricCallbackRejected(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.CALLBACK_REJECTED, props);
  }

  /**
   * Configuration an operator must fix: the credentials secret a placeholder or
   * malformed, credentials Twilio refuses (20003 / 401), a From or Messaging
   * Service Twilio refuses (20404, 21606, 21212), a country not enabled
   * (21408), an invalid sender configuration, a webhook URL or backlog queue
   * variable missing.
   */
  public metricConfigurationErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.CONFIGURATION_ERRORS, props);
  }

  /** Inbound messages stored and published. */
  public metricInboundReceived(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.INBOUND_RECEIVED, props);
  }

  /** Time from the first POST to Twilio's answer, in milliseconds (p99 by default). */
  public metricSendLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.SEND_LATENCY, { statistic: cloudwatch.Stats.p(99), ...props });
  }

  /** Messages waiting in the dead-letter queue (Maximum over 5 minutes by default). */
  public metricDeadLetterQueueDepth(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(5),
      ...props,
    });
  }

  /** Verified webhook requests handed to a backlog queue: the table or the inbound topic failed, or a concurrent delivery held the inbound claim. */
  public metricWebhooksBacklogged(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.WEBHOOKS_BACKLOGGED, props);
  }

  /** Backlog records in the webhook backlogs' dead-letter queue (Maximum over 5 minutes by default). */
  public metricWebhookBacklogDeadLetterQueueDepth(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.webhookBacklogDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(5),
      ...props,
    });
  }

  /**
   * Time from an alert's publishing (the SNS publish; a timer's page: when it was due) to its
   * `delivered` (or first `read`) callback, in milliseconds (p99 by default).
   */
  public metricDeliveryLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.DELIVERY_LATENCY, { statistic: cloudwatch.Stats.p(99), ...props });
  }

  /** Incidents opened (an ALARM, or an envelope with incidentKey, for a key with no live incident). */
  public metricIncidentsOpened(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.INCIDENTS_OPENED, props);
  }

  /** Incidents acknowledged for the first time (`ACK`, `ACK <code>`, each incident of `ACK ALL`). */
  public metricIncidentsAcknowledged(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.INCIDENTS_ACKNOWLEDGED, props);
  }

  /** Incidents resolved (an OK, or an envelope with resolve: true). */
  public metricIncidentsResolved(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.INCIDENTS_RESOLVED, props);
  }

  /**
   * Texts held in a storm window for its digest: a text to an address beyond the
   * storm's `immediatePages` in one window (each held text once, however often its
   * record is delivered).
   */
  public metricTextsHeld(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.TEXTS_HELD, props);
  }

  /**
   * Storm digests sent: one text carrying the two or more texts a window held (a
   * window that held one text sends it as it is, in metricMessagesSent only).
   */
  public metricDigestsSent(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.DIGESTS_SENT, props);
  }

  /** Held texts carried by the digests in metricDigestsSent (their sum). */
  public metricTextsDigested(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.TEXTS_DIGESTED, props);
  }

  /** Time from an incident's opening to the reply that acknowledged it first, in seconds (p99 by default). */
  public metricTimeToAcknowledge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.TIME_TO_ACKNOWLEDGE, { statistic: cloudwatch.Stats.p(99), ...props });
  }
}
