import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Vpc } from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { TwilioMessaging } from '../../lib';
import { MINIMAL, actionsOfRole, environmentOf, logicalId, render, statementsOfRole, synth } from './helpers';

const HEX32 = '0123456789abcdef0123456789abcdef';
const senderConfig = (template: Template) => JSON.parse(environmentOf(template, 'AlertsSender').SENDER_CONFIG as string);
const resourcesOf = (template: Template) => template.toJSON().Resources as Record<string, any>;

test('messaging service, WhatsApp, allowed recipients and sender options all reach SENDER_CONFIG', () => {
  const { template } = synth({
    from: undefined,
    messagingServiceSid: `MG${HEX32}`,
    whatsappFrom: 'whatsapp:+15005550006',
    whatsappContentSid: `HX${HEX32}`,
    defaultRecipients: ['+15005550001', 'whatsapp:+15005550002'],
    allowedRecipients: ['+15005550001', 'whatsapp:+15005550002', '+15005550003'],
    sendConcurrency: 4,
    allowUnicode: true,
  });
  expect(senderConfig(template)).toEqual({
    messagingServiceSid: `MG${HEX32}`,
    whatsappFrom: 'whatsapp:+15005550006',
    whatsappContentSid: `HX${HEX32}`,
    defaultRecipients: ['+15005550001', 'whatsapp:+15005550002'],
    allowedRecipients: ['+15005550001', 'whatsapp:+15005550002', '+15005550003'],
    sendConcurrency: 4,
    claimLeaseSeconds: 60,
    allowUnicode: true,
    maxReceiveCount: 5,
  });
});

test('sender timeout, batch size, concurrency and maxReceiveCount size the function, queue and claim lease', () => {
  const { template } = synth({ senderTimeout: Duration.minutes(1), senderBatchSize: 3, senderMaxConcurrency: 20, maxReceiveCount: 3 });
  const resources = resourcesOf(template);
  expect(resources[logicalId(template, 'AWS::Lambda::Function', 'AlertsSender')].Properties.Timeout).toBe(60);
  expect(resources[logicalId(template, 'AWS::SQS::Queue', 'AlertsQueue')].Properties).toMatchObject({
    VisibilityTimeout: 360,
    RedrivePolicy: { maxReceiveCount: 3 },
  });
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 3, ScalingConfig: { MaximumConcurrency: 20 } });
  expect(senderConfig(template).claimLeaseSeconds).toBe(120);
  // The sender bounds an unclassified error's retries by the queue's receives.
  expect(senderConfig(template).maxReceiveCount).toBe(3);
});

test('existing topic: subscribed, used by alarmAction, no topic of ours; the queue stays ours and encrypted', () => {
  let existing!: sns.Topic;
  const { template, messaging } = synth(
    {},
    (stack) => {
      existing = new sns.Topic(stack, 'OpsTopic');
      return { existingTopic: existing };
    },
    (m, stack) => {
      new cloudwatch.Alarm(stack, 'Probe', {
        metric: m.metricMessagesFailed(),
        threshold: 1,
        evaluationPeriods: 1,
      }).addAlarmAction(m.alarmAction());
    },
  );
  expect(messaging.topic).toBe(existing);
  const topics = Object.keys(template.findResources('AWS::SNS::Topic'));
  expect(topics.filter((id) => id.startsWith('AlertsTopic'))).toEqual([]);
  const opsTopic = logicalId(template, 'AWS::SNS::Topic', 'OpsTopic');
  template.hasResourceProperties('AWS::SNS::Subscription', { TopicArn: { Ref: opsTopic }, Protocol: 'sqs' });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: opsTopic }] });
  // The queue is still ours and encrypted.
  template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, VisibilityTimeout: 180 });
});

test('an imported topic ARN works as existingTopic', () => {
  const { template } = synth({}, (stack) => ({
    existingTopic: sns.Topic.fromTopicArn(stack, 'Imported', 'arn:aws:sns:us-east-1:111111111111:ops'),
  }));
  template.hasResourceProperties('AWS::SNS::Subscription', { TopicArn: 'arn:aws:sns:us-east-1:111111111111:ops' });
});

test('existing secret: no secret of ours; every handler reads the given one', () => {
  const { template } = synth({}, (stack) => ({
    existingSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Creds', 'arn:aws:secretsmanager:us-east-1:111111111111:secret:twilio-AbCdEf'),
  }));
  template.resourceCountIs('AWS::SecretsManager::Secret', 0);
  for (const prefix of ['AlertsSender', 'AlertsStatusCallback', 'AlertsInbound']) {
    expect(environmentOf(template, prefix).TWILIO_SECRET_ARN).toBe('arn:aws:secretsmanager:us-east-1:111111111111:secret:twilio-AbCdEf');
    const reads = statementsOfRole(template, `${prefix}Role`).filter((s) => ([] as string[]).concat(s.Action).includes('secretsmanager:GetSecretValue'));
    expect(reads.map((s) => s.Resource)).toEqual(['arn:aws:secretsmanager:us-east-1:111111111111:secret:twilio-AbCdEf']);
  }
});

test('existing table with its own key: no table of ours; grants name that table and key', () => {
  const tableArn = 'arn:aws:dynamodb:us-east-1:111111111111:table/status';
  const keyArn = 'arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const { template } = synth({}, (stack) => ({
    existingTable: dynamodb.Table.fromTableAttributes(stack, 'Status', {
      tableArn,
      encryptionKey: kms.Key.fromKeyArn(stack, 'StatusKey', keyArn),
    }),
  }));
  template.resourceCountIs('AWS::DynamoDB::Table', 0);
  expect(environmentOf(template, 'AlertsSender').STATUS_TABLE_NAME).toBe('status');
  const senderStatements = statementsOfRole(template, 'AlertsSenderRole');
  expect(senderStatements.find((s) => ([] as string[]).concat(s.Action).includes('dynamodb:PutItem'))!.Resource).toEqual(tableArn);
  expect(senderStatements.some((s) => ([] as string[]).concat(s.Action).includes('kms:Encrypt') && s.Resource === keyArn)).toBe(true);
  const queryStatement = statementsOfRole(template, 'AlertsInboundRole').find((s) => ([] as string[]).concat(s.Action).includes('dynamodb:Query'))!;
  expect(queryStatement.Resource).toBe(`${tableArn}/index/alertsByRecipient`);
});

test('encryptionKey of the same app: used for both topics, and given the CloudWatch statement', () => {
  const { template } = synth({}, (stack) => ({ encryptionKey: new kms.Key(stack, 'OpsKey', { enableKeyRotation: true }) }));
  const keys = Object.keys(template.findResources('AWS::KMS::Key'));
  expect(keys).toEqual([logicalId(template, 'AWS::KMS::Key', 'OpsKey')]);
  const keyArn = { 'Fn::GetAtt': [keys[0], 'Arn'] };
  for (const topic of Object.values(template.findResources('AWS::SNS::Topic'))) expect(topic.Properties.KmsMasterKeyId).toEqual(keyArn);
  expect(Object.keys(template.findResources('AWS::SNS::Topic'))).toHaveLength(2);
  template.hasResourceProperties('AWS::KMS::Key', {
    KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' } })]) },
  });
});

test('an imported encryptionKey is used as is (its policy is its owner\'s business)', () => {
  const keyArn = 'arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const { template } = synth({}, (stack) => ({ encryptionKey: kms.Key.fromKeyArn(stack, 'Imported', keyArn) }));
  template.resourceCountIs('AWS::KMS::Key', 0);
  template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: keyArn });
});

test('removalPolicy DESTROY reaches the secret, table, key and log groups', () => {
  const { template } = synth({ removalPolicy: RemovalPolicy.DESTROY });
  for (const type of ['AWS::SecretsManager::Secret', 'AWS::DynamoDB::Table', 'AWS::KMS::Key', 'AWS::Logs::LogGroup']) {
    const found = Object.values(template.findResources(type));
    expect(found.length).toBeGreaterThan(0);
    for (const resource of found) expect(resource.DeletionPolicy).toBe('Delete');
  }
});

test('by default the key and log groups are retained too', () => {
  const { template } = synth();
  for (const type of ['AWS::KMS::Key', 'AWS::Logs::LogGroup']) {
    for (const resource of Object.values(template.findResources(type))) expect(resource.DeletionPolicy).toBe('Retain');
  }
});

test('logRetention applies to the four function log groups and the access logs', () => {
  const { template } = synth({ logRetention: logs.RetentionDays.ONE_WEEK });
  const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
  expect(groups).toHaveLength(5);
  for (const group of groups) expect(group.Properties.RetentionInDays).toBe(7);
});

test('publicCallbackBaseUrl replaces the execute-api base (trailing slash dropped)', () => {
  const { template, messaging, stack } = synth({ publicCallbackBaseUrl: 'https://hooks.example.com/twilio/' });
  expect(environmentOf(template, 'AlertsSender').STATUS_CALLBACK_URL).toBe('https://hooks.example.com/twilio/status');
  expect(environmentOf(template, 'AlertsStatusCallback').STATUS_CALLBACK_URL).toBe('https://hooks.example.com/twilio/status');
  expect(environmentOf(template, 'AlertsInbound').INBOUND_URL).toBe('https://hooks.example.com/twilio/inbound');
  expect(stack.resolve(messaging.inboundUrl)).toBe('https://hooks.example.com/twilio/inbound');
});

test('vpc puts the sender, and only the sender, in the VPC', () => {
  const { template } = synth({}, (stack) => ({ vpc: new Vpc(stack, 'Vpc') }));
  const resources = resourcesOf(template);
  const sender = resources[logicalId(template, 'AWS::Lambda::Function', 'AlertsSender')].Properties;
  expect(sender.VpcConfig.SubnetIds.length).toBeGreaterThan(0);
  expect(render(sender.VpcConfig.SubnetIds)).toContain('PrivateSubnet');
  for (const prefix of ['AlertsStatusCallback', 'AlertsInbound']) {
    expect(resources[logicalId(template, 'AWS::Lambda::Function', prefix)].Properties.VpcConfig).toBeUndefined();
  }
});

test('API throttling, secret cache TTL and status retention are configurable', () => {
  const { template } = synth({
    apiThrottlingRateLimit: 10,
    apiThrottlingBurstLimit: 20,
    secretCacheTtl: Duration.minutes(1),
    statusRetentionDays: 7,
  });
  template.hasResourceProperties('AWS::ApiGateway::Stage', {
    MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 })],
  });
  for (const prefix of ['AlertsSender', 'AlertsStatusCallback', 'AlertsInbound']) {
    expect(environmentOf(template, prefix)).toMatchObject({ SECRET_CACHE_TTL_SECONDS: '60', STATUS_RETENTION_DAYS: '7' });
  }
});

test('opt-in alarms: dead-letter queue depth and send failures', () => {
  const { template, messaging } = synth({ enableDeadLetterQueueAlarm: true, enableSendFailureAlarm: true });
  expect(messaging.deadLetterQueueAlarm).toBeDefined();
  expect(messaging.sendFailureAlarm).toBeDefined();
  expect(messaging.webhookBacklogDeadLetterQueueAlarm).toBeDefined();
  template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    Namespace: 'AWS/SQS',
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', 'AlertsWebhookBacklogDeadLetterQueue'), 'QueueName'] } }],
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    Namespace: 'AWS/SQS',
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', 'AlertsDeadLetterQueue'), 'QueueName'] } }],
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
  });
  const failure = Object.values(template.findResources('AWS::CloudWatch::Alarm')).find((a) => a.Properties.Metrics)!;
  const queries = failure.Properties.Metrics as any[];
  expect(queries.find((q) => q.Expression).Expression).toBe('FILL(failed, 0) + FILL(configurationErrors, 0)');
  const stats = queries.filter((q) => q.MetricStat).map((q) => q.MetricStat);
  expect(stats.map((s) => s.Metric.MetricName).sort()).toEqual(['ConfigurationErrors', 'MessagesFailed']);
  for (const s of stats) {
    expect(s.Metric.Namespace).toBe('TwilioMessaging');
    expect(s.Metric.Dimensions).toEqual([{ Name: 'service', Value: messaging.serviceName }]);
    expect(s.Stat).toBe('Sum');
  }
});

test('alarmAction() publishes to the topic', () => {
  const { template } = synth({}, undefined, (m, stack) => {
    m.metricMessagesUndelivered().createAlarm(stack, 'Undelivered', { threshold: 1, evaluationPeriods: 1 }).addAlarmAction(m.alarmAction());
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    AlarmActions: [{ Ref: logicalId(template, 'AWS::SNS::Topic', 'AlertsTopic') }],
    Namespace: 'TwilioMessaging',
    MetricName: 'MessagesUndelivered',
  });
});

test('two instances in one stack keep separate metric dimensions and resources', () => {
  const stack = new Stack(new App(), 'TestStack');
  const a = new TwilioMessaging(stack, 'Oncall', MINIMAL);
  const b = new TwilioMessaging(stack, 'Business', MINIMAL);
  expect(a.serviceName).not.toBe(b.serviceName);
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::Lambda::Function', 8);
  template.resourceCountIs('AWS::ApiGateway::RestApi', 2);
  expect(actionsOfRole(template, 'OncallSenderRole')).toEqual(actionsOfRole(template, 'BusinessSenderRole'));
});

test('apiAccessLogging false: no access log group and no access log setting on the stage', () => {
  const { template } = synth({ apiAccessLogging: false });
  expect(Object.keys(template.findResources('AWS::Logs::LogGroup')).filter((id) => id.startsWith('AlertsApiAccessLogs'))).toEqual([]);
  const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0];
  expect(stage.Properties.AccessLogSetting).toBeUndefined();
});
