import { CfnResource, Duration, Names, RemovalPolicy, SecretValue, Stack, Token, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ALARM_TEXT_SEGMENTS, ENV, METRIC, METRICS_NAMESPACE, PLACEHOLDER_SECRET, SERVICE_DIMENSION, SenderConfig, TABLE } from './contract';
import { allowedWithEscalation, checkEscalation, senderEscalation } from './escalation';
import { handlerCode } from './handler-code';
import { recordForOperators } from './private/record-for-operators';
import { checkAccountAlias, checkHttpsBaseUrl, checkIntegerRange, checkSecondsRange, checkSenderIdentity } from './validation';

/** The API stage; part of the webhook URLs, so fixed rather than configurable. */
const STAGE_NAME = 'v1';
const STATUS_PATH = 'status';
const INBOUND_PATH = 'inbound';
const RUNTIME = lambda.Runtime.NODEJS_24_X;
const ARCHITECTURE = lambda.Architecture.ARM_64;
/** API Gateway gives up on an integration after 29 s; Twilio after 15 s. */
const WEBHOOK_TIMEOUT = Duration.seconds(10);
/**
 * Deliveries of a webhook backlog record before it is dead-lettered. With the
 * visibility timeout (six times the function's) that is about 15 minutes of
 * DynamoDB or SNS trouble; a longer outage ends in the dead-letter queue, for redrive.
 */
const WEBHOOK_BACKLOG_MAX_RECEIVES = 15;
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
   * strings, projection ALL).
   *
   * @default - a new on-demand table with point-in-time recovery
   */
  readonly existingTable?: dynamodb.ITable;

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
   * Steady-state requests per second the webhook API accepts.
   *
   * @default 50
   */
  readonly apiThrottlingRateLimit?: number;

  /**
   * Burst of requests the webhook API accepts.
   *
   * @default 100
   */
  readonly apiThrottlingBurstLimit?: number;

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

  constructor(scope: Construct, id: string, props: TwilioMessagingProps) {
    super(scope, id);
    validateProps(props);

    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const senderTimeout = props.senderTimeout ?? Duration.seconds(30);
    this.serviceName = Names.uniqueResourceName(this, { maxLength: 64 });

    // --- Encryption key, topics, queues ---------------------------------------------
    if (props.encryptionKey) {
      this.encryptionKey = props.encryptionKey;
    } else {
      this.encryptionKey = new kms.Key(this, 'TopicKey', {
        description: `Encrypts the Twilio messaging topics of ${this.node.path}`,
        enableKeyRotation: true,
        removalPolicy,
      });
    }
    // A CloudWatch alarm cannot publish to a topic under the AWS-managed SNS key and
    // fails silently; CloudWatch needs these on the topic's customer-managed key.
    this.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToUseTheKey',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        // Only on behalf of this account's alarms: no other account's CloudWatch may use the key.
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );

    if (props.existingTopic) {
      this.topic = props.existingTopic;
    } else {
      const topic = new sns.Topic(this, 'Topic', { masterKey: this.encryptionKey, enforceSSL: true });
      // The topic policy replaces SNS's default policy, so CloudWatch alarms of this
      // account need an explicit grant.
      topic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowCloudWatchAlarmsOfThisAccount',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [topic.topicArn],
          conditions: {
            StringEquals: { 'aws:SourceAccount': stack.account },
            ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
          },
        }),
      );
      this.topic = topic;
    }

    this.inboundTopic = new sns.Topic(this, 'InboundTopic', { masterKey: this.encryptionKey, enforceSSL: true });

    // SQS-managed encryption, not the topic key: with the topic's key on the queue,
    // SqsSubscription's key-policy statement for SNS names the topic (feature flag
    // @aws-cdk/aws-sns-subscriptions:restrictSqsDescryption, on in new CDK apps) while
    // the topic names the key, a cycle CloudFormation rejects. It also spares a KMS
    // call on every receive.
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    const deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.deadLetterQueue = deadLetterQueue;
    const queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS's guidance for Lambda event sources: at least six times the function timeout.
      visibilityTimeout: Duration.seconds(senderTimeout.toSeconds() * 6),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount },
    });
    this.queue = queue;
    // Not raw: the SNS envelope carries the MessageId the sender de-duplicates on.
    this.topic.addSubscription(new subscriptions.SqsSubscription(queue, { rawMessageDelivery: false }));

    // Each webhook's backlog: where a verified request goes when the table or the
    // inbound topic fails (Twilio does not retry an error answer by default).
    // Retention as long as the dead-letter queue's: SQS keeps a message's first
    // enqueue time when it moves it there.
    const webhookBacklogDeadLetterQueue = new sqs.Queue(this, 'WebhookBacklogDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.webhookBacklogDeadLetterQueue = webhookBacklogDeadLetterQueue;
    const webhookBacklog = (id: string) =>
      new sqs.Queue(this, id, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        visibilityTimeout: Duration.seconds(WEBHOOK_TIMEOUT.toSeconds() * 6),
        retentionPeriod: Duration.days(14),
        deadLetterQueue: { queue: webhookBacklogDeadLetterQueue, maxReceiveCount: WEBHOOK_BACKLOG_MAX_RECEIVES },
      });
    const statusCallbackBacklog = webhookBacklog('StatusCallbackBacklog');
    const inboundBacklog = webhookBacklog('InboundBacklog');
    this.statusCallbackBacklog = statusCallbackBacklog;
    this.inboundBacklog = inboundBacklog;

    // --- Secret and table -----------------------------------------------------------
    this.secret =
      props.existingSecret ??
      new secretsmanager.Secret(this, 'Secret', {
        description: `Twilio credentials of ${this.node.path}: {"accountSid","authToken"} and optionally {"apiKeySid","apiKeySecret"}`,
        // A placeholder the handlers recognise, not a credential: the operator fills in the value after deploy.
        secretStringValue: SecretValue.unsafePlainText(JSON.stringify(PLACEHOLDER_SECRET)),
        removalPolicy,
      });

    if (props.existingTable) {
      this.table = props.existingTable;
    } else {
      const table = new dynamodb.Table(this, 'Table', {
        partitionKey: { name: TABLE.PARTITION_KEY, type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        timeToLiveAttribute: TABLE.TTL_ATTRIBUTE,
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        removalPolicy,
      });
      table.addGlobalSecondaryIndex({
        indexName: TABLE.ALERTS_BY_RECIPIENT_INDEX,
        partitionKey: { name: TABLE.ALERT_RECIPIENT_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
        sortKey: { name: TABLE.ALERT_SORT_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
      this.table = table;
    }

    // --- Webhook API and URLs --------------------------------------------------------
    const accessLogs =
      props.apiAccessLogging === false ? undefined : new logs.LogGroup(this, 'ApiAccessLogs', { retention: logRetention, removalPolicy });
    const api = new apigateway.RestApi(this, 'Api', {
      restApiName: this.serviceName,
      description: `Twilio webhooks of ${this.node.path}`,
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      // Creating the account-wide API Gateway logging role is not a library's business.
      cloudWatchRole: false,
      deployOptions: {
        stageName: STAGE_NAME,
        throttlingRateLimit: props.apiThrottlingRateLimit ?? 50,
        throttlingBurstLimit: props.apiThrottlingBurstLimit ?? 100,
        ...(accessLogs
          ? {
              accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
              accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
            }
          : {}),
      },
    });
    this.api = api;

    // Built from the API id, not api.url: api.url depends on the deployment, which
    // depends on the methods, which depend on the functions whose environment holds
    // this URL: a cycle CloudFormation would reject.
    const baseUrl =
      props.publicCallbackBaseUrl !== undefined
        ? stripTrailingSlash(props.publicCallbackBaseUrl)
        : `https://${api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${STAGE_NAME}`;
    this.statusCallbackUrl = `${baseUrl}/${STATUS_PATH}`;
    this.inboundUrl = `${baseUrl}/${INBOUND_PATH}`;

    // --- Functions ------------------------------------------------------------------
    const commonEnvironment: Record<string, string> = {
      [ENV.TWILIO_SECRET_ARN]: this.secret.secretArn,
      [ENV.STATUS_TABLE_NAME]: this.table.tableName,
      [ENV.SECRET_CACHE_TTL_SECONDS]: String((props.secretCacheTtl ?? Duration.minutes(5)).toSeconds()),
      [ENV.STATUS_RETENTION_DAYS]: String(props.statusRetentionDays ?? 90),
      POWERTOOLS_SERVICE_NAME: this.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      NODE_OPTIONS: '--enable-source-maps',
    };

    const allowedRecipients = allowedWithEscalation(props);
    const senderConfig: SenderConfig = {
      ...(props.from !== undefined ? { from: props.from } : {}),
      ...(props.messagingServiceSid !== undefined ? { messagingServiceSid: props.messagingServiceSid } : {}),
      ...(props.whatsappFrom !== undefined ? { whatsappFrom: props.whatsappFrom } : {}),
      defaultRecipients: props.defaultRecipients,
      ...(allowedRecipients !== undefined ? { allowedRecipients } : {}),
      ...(props.whatsappContentSid !== undefined ? { whatsappContentSid: props.whatsappContentSid } : {}),
      ...(props.sendConcurrency !== undefined ? { sendConcurrency: props.sendConcurrency } : {}),
      claimLeaseSeconds: senderTimeout.toSeconds() * 2,
      ...(props.allowUnicode !== undefined ? { allowUnicode: props.allowUnicode } : {}),
      ...(props.alarmTextSegments !== undefined ? { alarmTextSegments: props.alarmTextSegments } : {}),
      ...(props.accountAlias !== undefined ? { accountAlias: props.accountAlias } : {}),
      maxReceiveCount,
      ...(props.escalation !== undefined ? { escalation: senderEscalation(props.escalation) } : {}),
    };

    const sender = this.createFunction('Sender', 'sender', {
      description: 'Sends queued alerts through the Twilio Messages API',
      timeout: senderTimeout,
      logRetention,
      removalPolicy,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      environment: {
        ...commonEnvironment,
        [ENV.STATUS_CALLBACK_URL]: this.statusCallbackUrl,
        [ENV.SENDER_CONFIG]: stack.toJsonString(senderConfig),
        [ENV.ALERT_QUEUE_URL]: queue.queueUrl,
      },
    });
    sender.addEventSource(
      new SqsEventSource(queue, {
        batchSize: props.senderBatchSize ?? 10,
        maxConcurrency: props.senderMaxConcurrency ?? 5,
        reportBatchItemFailures: true,
      }),
    );
    this.grantTable(sender, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    // Releasing a send claim after a request that cannot have created a message
    // deletes the claim, and a resolved incident frees its key's pointer and its
    // code; nothing else may be deleted.
    sender.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:DeleteItem'],
        resources: [this.table.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${TABLE.CLAIM_ID_PREFIX}*`, `${TABLE.INCIDENT_KEY_ID_PREFIX}*`, `${TABLE.INCIDENT_CODE_ID_PREFIX}*`] },
        },
      }),
    );
    // A record held up only by time goes back on the queue with a fresh receive count
    // (lambda/sender/defer.ts), and escalation timers are delayed messages to it.
    this.allowTimers(sender);
    this.senderFunction = sender;

    const statusCallback = this.createFunction('StatusCallback', 'status-callback', {
      description: 'Verifies Twilio status callbacks and records message status',
      timeout: WEBHOOK_TIMEOUT,
      logRetention,
      removalPolicy,
      environment: {
        ...commonEnvironment,
        [ENV.STATUS_CALLBACK_URL]: this.statusCallbackUrl,
        [ENV.WEBHOOK_BACKLOG_QUEUE_URL]: statusCallbackBacklog.queueUrl,
        [ENV.ALERT_QUEUE_URL]: queue.queueUrl,
      },
    });
    // One conditional UpdateItem per callback: it creates the item when the sender has not yet.
    // A page that ended undelivered/failed reads its incident (GetItem) before marking the address unreachable.
    this.grantTable(statusCallback, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    this.useWebhookBacklog(statusCallback, statusCallbackBacklog);
    // A page of an incident that ended undelivered/failed escalates at once: a timer.
    this.allowTimers(statusCallback);
    this.statusCallbackFunction = statusCallback;

    const inbound = this.createFunction('Inbound', 'inbound', {
      description: 'Verifies, records and publishes inbound Twilio messages',
      timeout: WEBHOOK_TIMEOUT,
      logRetention,
      removalPolicy,
      environment: {
        ...commonEnvironment,
        [ENV.INBOUND_URL]: this.inboundUrl,
        [ENV.INBOUND_TOPIC_ARN]: this.inboundTopic.topicArn,
        [ENV.WEBHOOK_BACKLOG_QUEUE_URL]: inboundBacklog.queueUrl,
        [ENV.ALERT_QUEUE_URL]: queue.queueUrl,
      },
    });
    // Inbound items are written with if_not_exists UpdateItems that also claim the publish and
    // return what a retry needs; a refused claim is told from an outbound SID by a GetItem.
    // A command reads the incidents of the replier's latest pages in one BatchGetItem.
    this.grantTable(inbound, ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem']);
    this.useWebhookBacklog(inbound, inboundBacklog);
    // An opt-out from an address a live incident paged escalates past it: a timer.
    this.allowTimers(inbound);
    // A reply command finds the latest pages sent to its number (and so their incidents) through the sparse index.
    inbound.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${this.table.tableArn}/index/${TABLE.ALERTS_BY_RECIPIENT_INDEX}`],
      }),
    );
    this.inboundTopic.grantPublish(inbound);
    this.inboundFunction = inbound;

    for (const fn of [sender, statusCallback, inbound]) this.secret.grantRead(fn);

    // Lambda proxy integrations pass the form-encoded body through untouched; the
    // handlers verify X-Twilio-Signature over it.
    api.root.addResource(STATUS_PATH).addMethod('POST', new apigateway.LambdaIntegration(statusCallback, { allowTestInvoke: false }));
    api.root.addResource(INBOUND_PATH).addMethod('POST', new apigateway.LambdaIntegration(inbound, { allowTestInvoke: false }));

    // --- Alarms (opt-in) -------------------------------------------------------------
    if (props.enableDeadLetterQueueAlarm) {
      this.deadLetterQueueAlarm = this.metricDeadLetterQueueDepth().createAlarm(this, 'DeadLetterQueueAlarm', {
        alarmDescription: `Messages in the Twilio messaging dead-letter queue of ${this.node.path}: alerts that were not sent`,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      this.webhookBacklogDeadLetterQueueAlarm = this.metricWebhookBacklogDeadLetterQueueDepth().createAlarm(this, 'WebhookBacklogDeadLetterQueueAlarm', {
        alarmDescription: `Messages in the webhook backlog dead-letter queue of ${this.node.path}: verified status callbacks or inbound messages not recorded`,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    if (props.enableSendFailureAlarm) {
      const failures = new cloudwatch.MathExpression({
        label: 'Messages that could not be sent',
        expression: 'FILL(failed, 0) + FILL(configurationErrors, 0)',
        usingMetrics: { failed: this.metricMessagesFailed(), configurationErrors: this.metricConfigurationErrors() },
        period: Duration.minutes(5),
      });
      this.sendFailureAlarm = failures.createAlarm(this, 'SendFailureAlarm', {
        alarmDescription: `Twilio messages of ${this.node.path} failed to send, or the credentials secret is unusable`,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    // What `npx cdk-twilio-messaging verify --stack` reads back (lib/private/operator-record.ts).
    recordForOperators(this, props, allowedRecipients);
    this.acknowledgeNagFindings(props, api);
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

  /** Lets the grantee read message status from the status table. */
  public grantReadStatus(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadData(grantee);
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
   * A webhook function sends to its own backlog (exactly sqs:SendMessage: a record
   * is not verified again, so no one else may write one) and consumes it.
   */
  private useWebhookBacklog(fn: lambda.Function, backlog: sqs.Queue): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [backlog.queueArn] }));
    fn.addEventSource(new SqsEventSource(backlog, { batchSize: 10, maxConcurrency: 2, reportBatchItemFailures: true }));
  }

  /**
   * Timers are delayed messages to the alert queue (ALERT_QUEUE_URL): exactly
   * sqs:SendMessage on it. The queue uses SQS-managed encryption, so no key grant.
   */
  private allowTimers(fn: lambda.Function): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
  }

  private createFunction(
    id: string,
    handlerName: string,
    options: {
      description: string;
      timeout: Duration;
      logRetention: logs.RetentionDays;
      removalPolicy: RemovalPolicy;
      environment: Record<string, string>;
      vpc?: ec2.IVpc;
      vpcSubnets?: ec2.SubnetSelection;
    },
  ): lambda.Function {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      retention: options.logRetention,
      removalPolicy: options.removalPolicy,
    });
    // Our own role instead of AWSLambdaBasicExecutionRole: log writes only to this
    // function's log group, and nothing else the function does not do.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${handlerName} function of ${this.node.path}`,
    });
    logGroup.grantWrite(role);
    if (options.vpc) {
      role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'));
    }
    return new lambda.Function(this, id, {
      description: options.description,
      runtime: RUNTIME,
      architecture: ARCHITECTURE,
      handler: 'index.handler',
      code: handlerCode(handlerName),
      memorySize: 256,
      timeout: options.timeout,
      role,
      logGroup,
      environment: options.environment,
      vpc: options.vpc,
      vpcSubnets: options.vpcSubnets,
    });
  }

  /** Item-level table access on the table itself (not its indexes), plus its key if it has one. */
  private grantTable(fn: lambda.IFunction, actions: string[]): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [this.table.tableArn] }));
    this.table.encryptionKey?.grantEncryptDecrypt(fn);
  }

  /**
   * cdk-nag AwsSolutions findings this design accepts, each with its reason (also
   * listed in the README). Acknowledged on the narrowest construct that raises them.
   */
  private acknowledgeNagFindings(props: TwilioMessagingProps, api: apigateway.RestApi): void {
    Validations.of(api).acknowledge(
      {
        id: 'AwsSolutions-APIG4',
        reason: 'Twilio cannot present IAM or Cognito credentials; each handler verifies the X-Twilio-Signature HMAC over the exact URL and body, which is the webhook authentication.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason: 'Twilio cannot present Cognito tokens; the X-Twilio-Signature check in the handlers authenticates each request.',
      },
      {
        id: 'AwsSolutions-APIG2',
        reason: 'The bodies are form-encoded Twilio webhooks; the handlers validate them after verifying the signature, which a request validator cannot do.',
      },
      {
        id: 'AwsSolutions-APIG3',
        reason: 'WAF is optional for signed webhooks: unsigned requests are rejected by the handlers, and stage throttling bounds the load. Attach a web ACL to the stage if your organisation requires one.',
      },
      {
        id: 'AwsSolutions-APIG6',
        reason: 'Access logs go to a log group of the construct with retention; execution logs would go to an API Gateway-owned log group without retention and, at INFO level, hold phone numbers. The handlers log every request they process.',
      },
    );
    if (props.apiAccessLogging === false) {
      Validations.of(api).acknowledge({
        id: 'AwsSolutions-APIG1',
        reason: 'Access logging was turned off (apiAccessLogging: false) because the account has no API Gateway CloudWatch Logs role; the handlers still log every request they process.',
      });
    }
    // sns:Publish to a topic under a customer-managed key needs kms:GenerateDataKey*
    // (GenerateDataKey and GenerateDataKeyWithoutPlaintext), on that one key only.
    Validations.of(this.inboundFunction.role!).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason: 'Publishing to the KMS-encrypted inbound topic needs kms:GenerateDataKey* on the topic key; the statement names that key only.',
    });
    if (this.table.encryptionKey) {
      for (const fn of [this.senderFunction, this.statusCallbackFunction, this.inboundFunction]) {
        Validations.of(fn.role!).acknowledge(
          {
            id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
            reason: 'DynamoDB item access on a table under a customer-managed key needs kms:GenerateDataKey* on that key; the statement names that key only.',
          },
          {
            id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
            reason: 'CDK grants kms:ReEncrypt* with encrypt/decrypt on the existing table key; the statement names that key only.',
          },
        );
      }
    }
    if (props.vpc) {
      Validations.of(this.senderFunction.role!).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason: 'A function in a VPC needs to manage its network interfaces; the AWS-managed policy is the documented minimum and ENI actions do not support resource scoping.',
      });
    }
    if (!props.existingSecret) {
      Validations.of(this.secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'Twilio credentials are rotated in the Twilio console, not by a Secrets Manager rotation function; the handlers re-read the secret after SECRET_CACHE_TTL_SECONDS.',
      });
    }
  }
}

function stripTrailingSlash(url: string): string {
  return Token.isUnresolved(url) ? url : url.replace(/\/+$/, '');
}

function validateProps(props: TwilioMessagingProps): void {
  checkSenderIdentity(props);
  checkEscalation(props);
  checkIntegerRange('senderBatchSize', props.senderBatchSize, 1, 10);
  checkIntegerRange('senderMaxConcurrency', props.senderMaxConcurrency, 2, 1000);
  checkIntegerRange('sendConcurrency', props.sendConcurrency, 1, 100);
  checkIntegerRange('maxReceiveCount', props.maxReceiveCount, 1, 100);
  checkIntegerRange('statusRetentionDays', props.statusRetentionDays, 1, 3650);
  checkIntegerRange('alarmTextSegments', props.alarmTextSegments, ALARM_TEXT_SEGMENTS.min, ALARM_TEXT_SEGMENTS.max);
  if (props.accountAlias !== undefined) checkAccountAlias(props.accountAlias);
  checkIntegerRange('apiThrottlingRateLimit', props.apiThrottlingRateLimit, 1, 10000);
  checkIntegerRange('apiThrottlingBurstLimit', props.apiThrottlingBurstLimit, 1, 5000);
  if (props.senderTimeout) checkSecondsRange('senderTimeout', props.senderTimeout.toSeconds(), 10, 300);
  if (props.secretCacheTtl) checkSecondsRange('secretCacheTtl', props.secretCacheTtl.toSeconds(), 0, 3600);
  if (props.publicCallbackBaseUrl !== undefined) checkHttpsBaseUrl('publicCallbackBaseUrl', props.publicCallbackBaseUrl);
  if (props.vpcSubnets && !props.vpc) {
    throw new Error('TwilioMessaging: vpcSubnets is given without vpc');
  }
}
