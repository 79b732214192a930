// Alert intake: the topics' key, the alert topic (and the inbound topic under the
// same key), and the queue with its dead-letter queue between the topic and the
// sender. Internal: not exported from lib/index.ts. Built in the construct's own
// scope, so construct IDs (and logical IDs) stay those of a flat construct.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * The given key or a new rotating one (`TopicKey`), either way with the key-policy
 * statement CloudWatch alarms need.
 */
export function buildTopicKey(scope: Construct, existing: kms.IKey | undefined, removalPolicy: RemovalPolicy): kms.IKey {
  const key =
    existing ??
    new kms.Key(scope, 'TopicKey', {
      description: `Encrypts the Twilio messaging topics of ${scope.node.path}`,
      enableKeyRotation: true,
      removalPolicy,
    });
  // A CloudWatch alarm cannot publish to a topic under the AWS-managed SNS key and
  // fails silently; CloudWatch needs these on the topic's customer-managed key.
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToUseTheKey',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      // Only on behalf of this account's alarms: no other account's CloudWatch may use the key.
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
    }),
  );
  return key;
}

/** The alert topic (`Topic`), which this account's CloudWatch alarms may publish to. */
export function buildAlertTopic(scope: Construct, key: kms.IKey): sns.ITopic {
  const stack = Stack.of(scope);
  const topic = new sns.Topic(scope, 'Topic', { masterKey: key, enforceSSL: true });
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
  return topic;
}

/** The topic the inbound function publishes replies to (`InboundTopic`), under the topics' key. */
export function buildInboundTopic(scope: Construct, key: kms.IKey): sns.ITopic {
  return new sns.Topic(scope, 'InboundTopic', { masterKey: key, enforceSSL: true });
}

export interface AlertQueueOptions {
  /** The sender's timeout: the queue's visibility timeout is six times this. */
  readonly senderTimeout: Duration;
  readonly maxReceiveCount: number;
}

export interface AlertQueues {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
}

/** The queue the topic delivers to (`Queue`) and its dead-letter queue (`DeadLetterQueue`). */
export function buildAlertQueue(scope: Construct, topic: sns.ITopic, options: AlertQueueOptions): AlertQueues {
  // SQS-managed encryption, not the topic key: with the topic's key on the queue,
  // SqsSubscription's key-policy statement for SNS names the topic (feature flag
  // @aws-cdk/aws-sns-subscriptions:restrictSqsDescryption, on in new CDK apps) while
  // the topic names the key, a cycle CloudFormation rejects. It also spares a KMS
  // call on every receive.
  const deadLetterQueue = new sqs.Queue(scope, 'DeadLetterQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const queue = new sqs.Queue(scope, 'Queue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    // AWS's guidance for Lambda event sources: at least six times the function timeout.
    visibilityTimeout: Duration.seconds(options.senderTimeout.toSeconds() * 6),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: options.maxReceiveCount },
  });
  // Not raw: the SNS envelope carries the MessageId the sender de-duplicates on.
  topic.addSubscription(new subscriptions.SqsSubscription(queue, { rawMessageDelivery: false }));
  return { queue, deadLetterQueue };
}
