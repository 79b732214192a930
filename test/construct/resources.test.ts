import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { PLACEHOLDER_SECRET, TABLE } from '../../lib/contract';
import { environmentOf, logicalId, render, synth } from './helpers';

// The default configuration: every resource of ARCHITECTURE.md's data flow, with secure defaults.
const { template, messaging, stack } = synth();
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: any; DeletionPolicy?: string }>;

describe('topic and key', () => {
  test('the topic is encrypted with a customer-managed key that rotates', () => {
    const keyId = logicalId(template, 'AWS::KMS::Key', 'AlertsTopicKey');
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const topicId = logicalId(template, 'AWS::SNS::Topic', 'AlertsTopic');
    expect(resources[topicId].Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
  });

  test('the key policy lets CloudWatch alarms use the key (no AWS-managed SNS key, which fails silently)', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: Match.arrayWith(['kms:Decrypt', 'kms:GenerateDataKey*']),
          }),
        ]),
      },
    });
  });

  test('CloudWatch may use the key only on behalf of this stack\'s account', () => {
    const key = resources[logicalId(template, 'AWS::KMS::Key', 'AlertsTopicKey')];
    const cloudwatch = key.Properties.KeyPolicy.Statement.filter((st: any) => st.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(cloudwatch).toHaveLength(1);
    expect(cloudwatch[0].Condition).toEqual({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
  });

  test('the key serves the topics only: no statement for SNS, so no cycle between key policy and topic', () => {
    const key = resources[logicalId(template, 'AWS::KMS::Key', 'AlertsTopicKey')];
    const principals = key.Properties.KeyPolicy.Statement.map((s: any) => s.Principal?.Service).filter(Boolean);
    expect(principals).toEqual(['cloudwatch.amazonaws.com']);
  });

  test('the topic policy denies non-TLS access and lets only this account\'s alarms publish', () => {
    const topicId = logicalId(template, 'AWS::SNS::Topic', 'AlertsTopic');
    const policy = Object.values(resources).find(
      (r) => r.Type === 'AWS::SNS::TopicPolicy' && r.Properties.Topics.some((t: { Ref: string }) => t.Ref === topicId),
    )!;
    const statements = policy.Properties.PolicyDocument.Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    const cloudwatch = statements.find((s: any) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(cloudwatch.Action).toBe('sns:Publish');
    expect(cloudwatch.Condition.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    expect(render(cloudwatch.Condition.ArnLike['aws:SourceArn'])).toBe(
      'arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*',
    );
  });

  test('the inbound topic is encrypted with the same key and enforces TLS', () => {
    const keyId = logicalId(template, 'AWS::KMS::Key', 'AlertsTopicKey');
    const inboundId = logicalId(template, 'AWS::SNS::Topic', 'AlertsInboundTopic');
    expect(resources[inboundId].Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: inboundId }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });
});

describe('queues', () => {
  test('the queue subscribes to the topic with the SNS envelope (not raw)', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    const subscription = template.findResources('AWS::SNS::Subscription');
    const props = Object.values(subscription)[0].Properties;
    expect(props.Protocol).toBe('sqs');
    expect(props.RawMessageDelivery).not.toBe(true);
    expect(props.TopicArn).toEqual({ Ref: logicalId(template, 'AWS::SNS::Topic', 'AlertsTopic') });
  });

  test('queue and dead-letter queue are encrypted (SQS-managed); the visibility timeout is six sender timeouts', () => {
    const queueId = logicalId(template, 'AWS::SQS::Queue', 'AlertsQueue');
    const dlqId = logicalId(template, 'AWS::SQS::Queue', 'AlertsDeadLetterQueue');
    expect(resources[queueId].Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 180,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 5 },
    });
    expect(resources[dlqId].Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
  });

  test('every queue denies non-TLS access', () => {
    const policies = template.findResources('AWS::SQS::QueuePolicy');
    const denied = Object.values(policies)
      .filter((p) => p.Properties.PolicyDocument.Statement.some((s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false'))
      .flatMap((p) => p.Properties.Queues.map((q: { Ref: string }) => q.Ref));
    expect(denied.sort()).toEqual(Object.keys(template.findResources('AWS::SQS::Queue')).sort());
    template.resourceCountIs('AWS::SQS::Queue', 5);
  });

  test('each webhook has its own backlog (SQS-managed encryption, six function timeouts visible, 14 days), dead-lettered after 15 receives', () => {
    const dlqId = logicalId(template, 'AWS::SQS::Queue', 'AlertsWebhookBacklogDeadLetterQueue');
    expect(resources[dlqId].Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    for (const backlog of ['AlertsStatusCallbackBacklog', 'AlertsInboundBacklog']) {
      expect(resources[logicalId(template, 'AWS::SQS::Queue', backlog)].Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        VisibilityTimeout: 60,
        MessageRetentionPeriod: 14 * 24 * 3600,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 15 },
      });
    }
  });

  test.each([
    ['AlertsStatusCallback', 'AlertsStatusCallbackBacklog'],
    ['AlertsInbound', 'AlertsInboundBacklog'],
  ])('%s consumes its own backlog (ReportBatchItemFailures) and is told its URL', (fn, backlog) => {
    const queueId = logicalId(template, 'AWS::SQS::Queue', backlog);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: logicalId(template, 'AWS::Lambda::Function', fn) },
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 2 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(environmentOf(template, fn).WEBHOOK_BACKLOG_QUEUE_URL).toEqual({ Ref: queueId });
    expect(messaging[fn === 'AlertsInbound' ? 'inboundBacklog' : 'statusCallbackBacklog'].node.path).toBe(`TestStack/Alerts/${backlog.replace('Alerts', '')}`);
  });
});

describe('secret and table', () => {
  test('the secret holds the placeholder the handlers recognise and is retained', () => {
    const secretId = logicalId(template, 'AWS::SecretsManager::Secret', 'AlertsSecret');
    expect(JSON.parse(resources[secretId].Properties.SecretString)).toEqual(PLACEHOLDER_SECRET);
    expect(resources[secretId].DeletionPolicy).toBe('Retain');
  });

  test('the table: partition key, on demand, PITR, TTL, encryption, alertsByRecipient, awaitingFinalStatus and byParent indexes, retained', () => {
    const tableId = logicalId(template, 'AWS::DynamoDB::Table', 'AlertsTable');
    expect(resources[tableId].DeletionPolicy).toBe('Retain');
    expect(resources[tableId].Properties).toMatchObject({
      KeySchema: [{ AttributeName: TABLE.PARTITION_KEY, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: TABLE.TTL_ATTRIBUTE, Enabled: true },
      SSESpecification: { SSEEnabled: true },
      GlobalSecondaryIndexes: [
        {
          IndexName: TABLE.ALERTS_BY_RECIPIENT_INDEX,
          KeySchema: [
            { AttributeName: TABLE.ALERT_RECIPIENT_ATTRIBUTE, KeyType: 'HASH' },
            { AttributeName: TABLE.ALERT_SORT_ATTRIBUTE, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          // Sparse and keys only: a status callback's other attributes cost no index write.
          IndexName: TABLE.AWAITING_FINAL_INDEX,
          KeySchema: [
            { AttributeName: TABLE.RECONCILE_STEP_ATTRIBUTE, KeyType: 'HASH' },
            { AttributeName: TABLE.AWAITING_SINCE_ATTRIBUTE, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
        {
          IndexName: TABLE.BY_PARENT_INDEX,
          KeySchema: [
            { AttributeName: TABLE.PARENT_ATTRIBUTE, KeyType: 'HASH' },
            { AttributeName: TABLE.CREATED_AT_ATTRIBUTE, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
    expect(resources[tableId].Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: TABLE.PARTITION_KEY, AttributeType: 'S' },
        { AttributeName: TABLE.ALERT_RECIPIENT_ATTRIBUTE, AttributeType: 'S' },
        { AttributeName: TABLE.ALERT_SORT_ATTRIBUTE, AttributeType: 'S' },
        { AttributeName: TABLE.RECONCILE_STEP_ATTRIBUTE, AttributeType: 'S' },
        { AttributeName: TABLE.AWAITING_SINCE_ATTRIBUTE, AttributeType: 'S' },
        { AttributeName: TABLE.PARENT_ATTRIBUTE, AttributeType: 'S' },
        { AttributeName: TABLE.CREATED_AT_ATTRIBUTE, AttributeType: 'S' },
      ]),
    );
  });
});

describe('functions', () => {
  test.each([
    ['AlertsSender', 30],
    ['AlertsStatusCallback', 10],
    ['AlertsInbound', 10],
  ])('%s: Node.js 24 on arm64, index.handler, timeout %is, its own log group with retention', (prefix, timeout) => {
    const id = logicalId(template, 'AWS::Lambda::Function', prefix);
    const props = resources[id].Properties;
    expect(props).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler', Timeout: timeout });
    const logGroupId = logicalId(template, 'AWS::Logs::LogGroup', `${prefix}Logs`);
    expect(props.LoggingConfig).toEqual({ LogGroup: { Ref: logGroupId } });
    expect(resources[logGroupId].Properties.RetentionInDays).toBe(30);
    expect(props.Role).toEqual({ 'Fn::GetAtt': [logicalId(template, 'AWS::IAM::Role', `${prefix}Role`), 'Arn'] });
  });

  test('the sender is fed by the queue: batch size, maxConcurrency, ReportBatchItemFailures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', 'AlertsQueue'), 'Arn'] },
      FunctionName: { Ref: logicalId(template, 'AWS::Lambda::Function', 'AlertsSender') },
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 5 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  test('environment shared by all three handlers', () => {
    const service = messaging.serviceName;
    for (const prefix of ['AlertsSender', 'AlertsStatusCallback', 'AlertsInbound']) {
      expect(environmentOf(template, prefix)).toMatchObject({
        TWILIO_SECRET_ARN: { Ref: logicalId(template, 'AWS::SecretsManager::Secret', 'AlertsSecret') },
        STATUS_TABLE_NAME: { Ref: logicalId(template, 'AWS::DynamoDB::Table', 'AlertsTable') },
        SECRET_CACHE_TTL_SECONDS: '300',
        STATUS_RETENTION_DAYS: '90',
        POWERTOOLS_SERVICE_NAME: service,
        POWERTOOLS_METRICS_NAMESPACE: 'TwilioMessaging',
        NODE_OPTIONS: '--enable-source-maps',
      });
    }
    expect(service).toMatch(/^TestStackAlerts[0-9A-F]{8}$/);
  });

  test('each handler gets only its own URL and configuration', () => {
    const sender = environmentOf(template, 'AlertsSender');
    const status = environmentOf(template, 'AlertsStatusCallback');
    const inbound = environmentOf(template, 'AlertsInbound');
    expect(Object.keys(sender)).toEqual(expect.arrayContaining(['STATUS_CALLBACK_URL', 'SENDER_CONFIG']));
    expect(sender).not.toHaveProperty('INBOUND_URL');
    expect(status).toHaveProperty('STATUS_CALLBACK_URL');
    expect(status).not.toHaveProperty('SENDER_CONFIG');
    expect(status).not.toHaveProperty('INBOUND_URL');
    expect(inbound).toMatchObject({ INBOUND_TOPIC_ARN: { Ref: logicalId(template, 'AWS::SNS::Topic', 'AlertsInboundTopic') } });
    expect(inbound).not.toHaveProperty('STATUS_CALLBACK_URL');
    expect(inbound).not.toHaveProperty('SENDER_CONFIG');
  });

  test('SENDER_CONFIG: the props, a claim lease of twice the timeout, no allowedRecipients (secure default: defaults only)', () => {
    const config = JSON.parse(environmentOf(template, 'AlertsSender').SENDER_CONFIG as string);
    expect(config).toEqual({ from: '+15005550006', defaultRecipients: ['+15005550001'], claimLeaseSeconds: 60, maxReceiveCount: 5 });
  });

  test('no credential reaches an environment variable', () => {
    for (const prefix of ['AlertsSender', 'AlertsStatusCallback', 'AlertsInbound']) {
      const text = JSON.stringify(environmentOf(template, prefix));
      expect(text).not.toMatch(/authToken|apiKeySecret|REPLACE_ME/);
    }
  });
});

describe('webhook API', () => {
  test('regional REST API without an account-level CloudWatch role and without binary media types', () => {
    const apiId = logicalId(template, 'AWS::ApiGateway::RestApi', 'AlertsApi');
    expect(resources[apiId].Properties.EndpointConfiguration).toEqual({ Types: ['REGIONAL'] });
    expect(resources[apiId].Properties.BinaryMediaTypes).toBeUndefined();
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  test('stage v1: throttled (sized from the default sender: 5 × 10 in flight ÷ 0.1 s × 3 callbacks), access logs to our own log group', () => {
    const accessLogsId = logicalId(template, 'AWS::Logs::LogGroup', 'AlertsApiAccessLogs');
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      AccessLogSetting: { DestinationArn: { 'Fn::GetAtt': [accessLogsId, 'Arn'] }, Format: Match.anyValue() },
      MethodSettings: [Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 1500, ThrottlingBurstLimit: 3000 })],
    });
  });

  test.each([
    ['status', 'AlertsStatusCallback'],
    ['inbound', 'AlertsInbound'],
  ])('POST /%s → %s through a Lambda proxy integration', (path, functionPrefix) => {
    const resourceId = Object.entries(resources).find(([, r]) => r.Type === 'AWS::ApiGateway::Resource' && r.Properties.PathPart === path)![0];
    const methods = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGateway::Method' && r.Properties.ResourceId?.Ref === resourceId);
    expect(methods.map((m) => m.Properties.HttpMethod)).toEqual(['POST']);
    const integration = methods[0].Properties.Integration;
    expect(integration.Type).toBe('AWS_PROXY');
    expect(render(integration.Uri)).toContain(`\${${logicalId(template, 'AWS::Lambda::Function', functionPrefix)}.Arn}`);
  });

  test('the webhook URLs are built from the API id, not from the stage or deployment', () => {
    const apiId = logicalId(template, 'AWS::ApiGateway::RestApi', 'AlertsApi');
    const base = `https://\${${apiId}}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/v1`;
    expect(render(environmentOf(template, 'AlertsSender').STATUS_CALLBACK_URL)).toBe(`${base}/status`);
    expect(render(environmentOf(template, 'AlertsStatusCallback').STATUS_CALLBACK_URL)).toBe(`${base}/status`);
    expect(render(environmentOf(template, 'AlertsInbound').INBOUND_URL)).toBe(`${base}/inbound`);
    expect(render(stack.resolve(messaging.statusCallbackUrl))).toBe(`${base}/status`);
    expect(render(stack.resolve(messaging.inboundUrl))).toBe(`${base}/inbound`);
  });
});

describe('no circular dependency', () => {
  /** Every logical id a value refers to through Ref, Fn::GetAtt or Fn::Sub. */
  function references(value: unknown, into: Set<string>): Set<string> {
    if (Array.isArray(value)) value.forEach((v) => references(v, into));
    else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'Ref' && typeof inner === 'string') into.add(inner);
        else if (key === 'Fn::GetAtt') into.add((inner as string[])[0]);
        else references(inner, into);
      }
    }
    return into;
  }

  test('the template\'s dependency graph (Ref, GetAtt, DependsOn) has no cycle', () => {
    const edges = new Map<string, string[]>();
    for (const [id, resource] of Object.entries(resources)) {
      const deps = references(resource, new Set());
      for (const d of ([] as string[]).concat((resource as any).DependsOn ?? [])) deps.add(d);
      edges.set(id, [...deps].filter((d) => d in resources));
    }
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (id: string, path: string[]): void => {
      if (state.get(id) === 'done') return;
      if (state.get(id) === 'visiting') throw new Error(`cycle: ${[...path, id].join(' → ')}`);
      state.set(id, 'visiting');
      for (const d of edges.get(id)!) visit(d, [...path, id]);
      state.set(id, 'done');
    };
    expect(() => [...edges.keys()].forEach((id) => visit(id, []))).not.toThrow();
    // And the webhook functions really are upstream of the deployment (the reason a stage URL would cycle).
    const deploymentId = logicalId(template, 'AWS::ApiGateway::Deployment', 'AlertsApiDeployment');
    const reachable = new Set<string>();
    const walk = (id: string): void => {
      for (const d of edges.get(id)!) if (!reachable.has(d)) (reachable.add(d), walk(d));
    };
    walk(deploymentId);
    expect(reachable).toContain(logicalId(template, 'AWS::Lambda::Function', 'AlertsInbound'));
  });
});

describe('public surface', () => {
  test('metrics: namespace TwilioMessaging, this instance\'s service dimension, Sum of counts', () => {
    const cases: [() => any, string][] = [
      [() => messaging.metricMessagesSent(), 'MessagesSent'],
      [() => messaging.metricMessagesFailed(), 'MessagesFailed'],
      [() => messaging.metricMessagesDelivered(), 'MessagesDelivered'],
      [() => messaging.metricMessagesUndelivered(), 'MessagesUndelivered'],
      [() => messaging.metricSendRetries(), 'SendRetries'],
      [() => messaging.metricCallbackRejected(), 'CallbackRejected'],
      [() => messaging.metricConfigurationErrors(), 'ConfigurationErrors'],
      [() => messaging.metricInboundReceived(), 'InboundReceived'],
    ];
    for (const [make, name] of cases) {
      const metric = make();
      expect(metric.namespace).toBe('TwilioMessaging');
      expect(metric.metricName).toBe(name);
      expect(metric.dimensions).toEqual({ service: messaging.serviceName });
      expect(metric.statistic).toBe('Sum');
    }
    expect(messaging.metricMessagesSent({ period: Duration.minutes(1) }).period.toMinutes()).toBe(1);
    expect(messaging.metricSendLatency().statistic).toBe('p99');
  });

  test('metricDeadLetterQueueDepth reads the dead-letter queue', () => {
    const metric = messaging.metricDeadLetterQueueDepth();
    expect(metric.namespace).toBe('AWS/SQS');
    expect(metric.metricName).toBe('ApproximateNumberOfMessagesVisible');
    expect(metric.statistic).toBe('Maximum');
    expect(stack.resolve(metric.dimensions)).toEqual({
      QueueName: { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', 'AlertsDeadLetterQueue'), 'QueueName'] },
    });
  });

  test('no alarm unless asked for', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    expect(messaging.deadLetterQueueAlarm).toBeUndefined();
    expect(messaging.webhookBacklogDeadLetterQueueAlarm).toBeUndefined();
    expect(messaging.sendFailureAlarm).toBeUndefined();
  });
});

