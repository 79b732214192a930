/*
 * Notifications as AWS publishes them to an SNS topic: CloudWatch's alarm
 * notifications (metric, percentile, metric-math, anomaly-detection and
 * composite alarms, in each state), EventBridge events of the services an
 * on-call engineer is paged for, and other JSON AWS services send. Field
 * names, nesting and value spellings follow the services' documented
 * schemas and published samples; ids and numbers are fictional.
 */

import { cloudWatchAlarm as metricAlarm, eventBridgeEvent as event } from '../../support/notifications';

/** A CloudWatch metric alarm's SNS notification (test/support/notifications.ts). */
export { metricAlarm };

const ACCOUNT = '123456789012';
/** A metric-math or anomaly-detection alarm's trigger has no single metric: the fields of one are left out. */
const NO_SINGLE_METRIC = { MetricName: undefined, Namespace: undefined, StatisticType: undefined, Statistic: undefined, Dimensions: undefined, Unit: undefined };

export const percentileAlarm = metricAlarm(
  {
    AlarmName: 'api-p99-latency-eu-west-1',
    regionCode: 'eu-west-1',
    AlarmDescription: 'p99 latency of the public API. Runbook: https://wiki.example.com/rb/api-latency',
    Region: 'EU (Ireland)',
    NewStateReason:
      'Threshold Crossed: 3 out of the last 3 datapoints [2.51 (27/11/26 10:05:00), 2.4 (27/11/26 10:04:00), 2.38 (27/11/26 10:03:00)] were greater than the threshold (2.0) (minimum 3 datapoints for OK -> ALARM transition).',
    StateChangeTime: '2026-11-27T10:06:12.481+0000',
  },
  {
    MetricName: 'Latency',
    Namespace: 'AWS/ApiGateway',
    StatisticType: 'ExtendedStatistic',
    Statistic: undefined,
    ExtendedStatistic: 'p99',
    Dimensions: [{ value: 'public-api', name: 'ApiName' }],
    EvaluationPeriods: 3,
    DatapointsToAlarm: 3,
    Threshold: 2.0,
  },
);

export const mathAlarm = metricAlarm(
  {
    AlarmName: 'api-5xx-rate',
    AlarmDescription: null,
    NewStateReason:
      'Threshold Crossed: 2 out of the last 3 datapoints [7.3 (27/11/26 15:40:00), 5.12 (27/11/26 15:39:00)] were greater than the threshold (5.0) (minimum 2 datapoints for OK -> ALARM transition).',
  },
  {
    ...NO_SINGLE_METRIC,
    Period: 60,
    EvaluationPeriods: 3,
    DatapointsToAlarm: 2,
    Threshold: 5.0,
    Metrics: [
      { Expression: '100*(m1/m2)', Id: 'e1', Label: '5xx rate %', ReturnData: true },
      { Id: 'm1', MetricStat: { Metric: { Dimensions: [{ value: 'public-api', name: 'ApiName' }], MetricName: '5XXError', Namespace: 'AWS/ApiGateway' }, Period: 60, Stat: 'Sum' }, ReturnData: false },
      { Id: 'm2', MetricStat: { Metric: { Dimensions: [{ value: 'public-api', name: 'ApiName' }], MetricName: 'Count', Namespace: 'AWS/ApiGateway' }, Period: 60, Stat: 'Sum' }, ReturnData: false },
    ],
  },
);

export const anomalyAlarm = metricAlarm(
  {
    AlarmName: 'login-requests-anomaly',
    AlarmDescription: 'Login traffic outside its usual band',
    NewStateReason:
      'Thresholds Crossed: 1 out of the last 4 datapoints [537.0 (27/11/26 18:39:00)] was less than the lower thresholds [193.33593366980995] or greater than the upper thresholds [531.4406901351432] (minimum 1 datapoint for OK -> ALARM transition).',
    StateChangeTime: '2026-11-27T18:40:26.838+0000',
  },
  {
    ...NO_SINGLE_METRIC,
    Threshold: undefined,
    Period: 60,
    EvaluationPeriods: 4,
    DatapointsToAlarm: 1,
    ComparisonOperator: 'LessThanLowerOrGreaterThanUpperThreshold',
    ThresholdMetricId: 'ad1',
    Metrics: [
      {
        Id: 'm1',
        MetricStat: { Metric: { Dimensions: [{ value: 'auth-api', name: 'ApiName' }, { value: '/login', name: 'Resource' }], MetricName: 'Count', Namespace: 'AWS/ApiGateway' }, Period: 60, Stat: 'Sum' },
        ReturnData: true,
      },
      { Expression: 'ANOMALY_DETECTION_BAND(m1, 1.5)', Id: 'ad1', Label: 'Count (expected)', ReturnData: true },
    ],
  },
);

export const compositeAlarm: Record<string, unknown> = {
  AlarmName: 'checkout-degraded',
  AlarmDescription: 'Checkout is failing for customers',
  AWSAccountId: ACCOUNT,
  NewStateValue: 'ALARM',
  NewStateReason: `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:api-p99-latency-us-east-1 transitioned to ALARM at Friday 27 November, 2026 15:41:42 UTC`,
  StateChangeTime: '2026-11-27T15:41:43.640+0000',
  Region: 'US East (N. Virginia)',
  AlarmArn: `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:checkout-degraded`,
  OKActions: [],
  AlarmActions: [`arn:aws:sns:us-east-1:${ACCOUNT}:alerts`],
  InsufficientDataActions: [],
  OldStateValue: 'OK',
  AlarmRule: 'ALARM("api-p99-latency-us-east-1") OR ALARM("api-5xx-rate-us-east-1") OR ALARM("payments-queue-depth")',
  TriggeringChildren: [
    { Arn: `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:api-p99-latency-us-east-1`, State: { Value: 'ALARM', Timestamp: '2026-11-27T15:41:42.103+0000' } },
    { Arn: `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:api-5xx-rate-us-east-1`, State: { Value: 'ALARM', Timestamp: '2026-11-27T15:40:12.917+0000' } },
  ],
};

export const okAlarm = metricAlarm({
  NewStateValue: 'OK',
  OldStateValue: 'ALARM',
  NewStateReason:
    'Threshold Crossed: 1 out of the last 1 datapoints [41.7 (27/11/26 16:05:00)] was not greater than the threshold (90.0) (minimum 1 datapoint for ALARM -> OK transition).',
  StateChangeTime: '2026-11-27T16:06:02.007+0000',
});

export const insufficientAlarm = metricAlarm({
  NewStateValue: 'INSUFFICIENT_DATA',
  NewStateReason: 'Insufficient Data: 5 datapoints were unknown.',
  StateChangeTime: '2026-11-27T16:30:02.007+0000',
});

/** Two alarms whose names differ only at the end. */
export const LONG_NAME = 'prod-payments-api-gateway-TargetResponseTime-p99-latency-alarm';
export const longNameAlarm = (suffix: string) => metricAlarm({ AlarmName: `${LONG_NAME}-${suffix}`, regionCode: suffix, AlarmDescription: null });

export const japaneseAlarm = metricAlarm({ AlarmName: 'データベースCPU高負荷-東京', regionCode: 'ap-northeast-1', AlarmDescription: 'DB の CPU 使用率が 90% を超えました' });
export const cyrillicAlarm = metricAlarm({ AlarmName: 'Платежи-ошибки-5xx', regionCode: 'eu-central-1', AlarmDescription: null });
export const emojiAlarm = metricAlarm({ AlarmName: '🔥 checkout-errors', AlarmDescription: null });
export const accentedAlarm = metricAlarm({ AlarmName: 'São Paulo – “pagamentos” Łódź', regionCode: 'sa-east-1', AlarmDescription: 'Latência alta – ver https://wiki.example.com/rb/sp' });

export const alarmStateChangeEvent = event(
  'CloudWatch Alarm State Change',
  'aws.cloudwatch',
  {
    alarmName: 'ServerCpuTooHigh',
    configuration: {
      description: 'Goes into alarm when server CPU utilization is too high!',
      metrics: [
        {
          id: '30b6c6b2-a864-43a2-4877-c09a1afc3b87',
          metricStat: { metric: { dimensions: { InstanceId: 'i-12345678901234567' }, name: 'CPUUtilization', namespace: 'AWS/EC2' }, period: 300, stat: 'Average' },
          returnData: true,
        },
      ],
    },
    previousState: { reason: 'Threshold Crossed: 1 out of the last 1 datapoints [0.0 (01/10/19 13:46:00)] was not greater than the threshold (50.0)', timestamp: '2026-11-27T13:47:30.951+0000', value: 'OK' },
    state: {
      reason: 'Threshold Crossed: 1 out of the last 1 datapoints [99.50160217633208 (27/11/26 15:36:00)] was greater than the threshold (50.0) (minimum 1 datapoint for OK -> ALARM transition).',
      reasonData: '{"version":"1.0","queryDate":"2026-11-27T15:41:42.985+0000","startDate":"2026-11-27T15:36:00.000+0000","statistic":"Average","period":300,"recentDatapoints":[99.50160217633208],"threshold":50.0,"evaluatedDatapoints":[{"timestamp":"2026-11-27T15:36:00.000+0000","sampleCount":5.0,"value":99.50160217633208}]}',
      timestamp: '2026-11-27T15:41:42.988+0000',
      value: 'ALARM',
    },
  },
  { resources: [`arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:ServerCpuTooHigh`] },
);

export const compositeStateChangeEvent = event(
  'CloudWatch Alarm State Change',
  'aws.cloudwatch',
  {
    alarmName: 'ServiceAggregatedAlarm',
    state: {
      actionsSuppressedBy: 'WaitPeriod',
      value: 'ALARM',
      reason: `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:SubAlarm2 transitioned to ALARM at Friday 27 November, 2026 15:41:42 UTC`,
      reasonData: `{"triggeringAlarms":[{"arn":"arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:SubAlarm2","state":{"value":"ALARM","timestamp":"2026-11-27T15:41:42.123+0000"}}]}`,
      timestamp: '2026-11-27T15:41:42.123+0000',
    },
    previousState: { value: 'OK', reason: 'none of the children are in ALARM', timestamp: '2026-11-27T15:00:00.000+0000' },
    configuration: {
      alarmRule: 'ALARM(SubAlarm1) OR ALARM(SubAlarm2)',
      actionsSuppressor: 'ServiceMaintenanceAlarm',
      actionsSuppressorWaitPeriod: 120,
      actionsSuppressorExtensionPeriod: 180,
    },
  },
  { resources: [`arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:ServiceAggregatedAlarm`] },
);

export const healthEvent = event(
  'AWS Health Event',
  'aws.health',
  {
    eventArn: 'arn:aws:health:us-east-1::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/AWS_EC2_OPERATIONAL_ISSUE_7f35c8ae-af1f-54e6-a526-d0179ed6d68f',
    service: 'EC2',
    eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
    eventTypeCategory: 'issue',
    eventScopeCode: 'ACCOUNT_SPECIFIC',
    communicationId: '01b0993207d81a09dcd552ebd1e633e36cf1f09a-1',
    startTime: 'Fri, 27 Nov 2026 15:12:00 GMT',
    lastUpdatedTime: 'Fri, 27 Nov 2026 15:40:00 GMT',
    statusCode: 'open',
    eventRegion: 'us-east-1',
    eventDescription: [{ language: 'en_US', latestDescription: 'We are investigating increased API error rates and latencies in the US-EAST-1 Region.' }],
    affectedEntities: [{ entityValue: 'i-0abcd1234ef567890' }, { entityValue: 'i-0fedc4321ba098765' }],
  },
);

export const guardDutyEvent = event('GuardDuty Finding', 'aws.guardduty', {
  schemaVersion: '2.0',
  accountId: ACCOUNT,
  region: 'us-east-1',
  partition: 'aws',
  id: '16afba5c5c43e07c9e3e5e2e544e95df',
  arn: `arn:aws:guardduty:us-east-1:${ACCOUNT}:detector/123456789012/finding/16afba5c5c43e07c9e3e5e2e544e95df`,
  type: 'UnauthorizedAccess:EC2/SSHBruteForce',
  resource: { resourceType: 'Instance', instanceDetails: { instanceId: 'i-99999999', instanceType: 'm3.xlarge' } },
  service: { serviceName: 'guardduty', count: 2, action: { actionType: 'NETWORK_CONNECTION' } },
  severity: 8,
  createdAt: '2026-11-27T15:30:11.214Z',
  updatedAt: '2026-11-27T15:41:19.914Z',
  title: '198.51.100.0 is performing SSH brute force attacks against i-99999999.',
  description: '198.51.100.0 is performing SSH brute force attacks against i-99999999. Brute force attacks are used to gain unauthorized access to your instance by guessing the SSH password.',
});

export const securityHubEvent = event(
  'Security Hub Findings - Imported',
  'aws.securityhub',
  {
    findings: [
      {
        SchemaVersion: '2018-10-08',
        Id: `arn:aws:securityhub:us-east-1:${ACCOUNT}:subscription/aws-foundational-security-best-practices/v/1.0.0/S3.8/finding/4b5c6d7e`,
        ProductArn: 'arn:aws:securityhub:us-east-1::product/aws/securityhub',
        GeneratorId: 'aws-foundational-security-best-practices/v/1.0.0/S3.8',
        AwsAccountId: ACCOUNT,
        Types: ['Software and Configuration Checks/Industry and Regulatory Standards/AWS-Foundational-Security-Best-Practices'],
        UpdatedAt: '2026-11-27T15:40:33.212Z',
        Severity: { Label: 'HIGH', Normalized: 70, Original: 'HIGH' },
        Title: 'S3.8 S3 general purpose buckets should block public access',
        Description: 'This control checks whether an Amazon S3 general purpose bucket blocks public access at the bucket level.',
        Resources: [{ Type: 'AwsS3Bucket', Id: 'arn:aws:s3:::customer-exports', Partition: 'aws', Region: 'us-east-1' }],
        Compliance: { Status: 'FAILED' },
        WorkflowState: 'NEW',
        Workflow: { Status: 'NEW' },
        RecordState: 'ACTIVE',
        ProductName: 'Security Hub',
        CompanyName: 'AWS',
        Region: 'us-east-1',
      },
    ],
  },
  { resources: [`arn:aws:securityhub:us-east-1:${ACCOUNT}:subscription/aws-foundational-security-best-practices/v/1.0.0/S3.8/finding/4b5c6d7e`] },
);

export const ecsTaskStoppedEvent = event(
  'ECS Task State Change',
  'aws.ecs',
  {
    clusterArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/prod`,
    containers: [
      { containerArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:container/prod/c13b4cb4/2f8ae4e5`, exitCode: 137, lastStatus: 'STOPPED', name: 'web', reason: 'OutOfMemoryError: Container killed due to memory usage', taskArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:task/prod/c13b4cb40f1f4fe4a2971f76ae5a47ad` },
      { containerArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:container/prod/c13b4cb4/8d1c0a5b`, exitCode: 0, lastStatus: 'STOPPED', name: 'log-router', taskArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:task/prod/c13b4cb40f1f4fe4a2971f76ae5a47ad` },
    ],
    createdAt: '2026-11-27T15:02:11.310Z',
    desiredStatus: 'STOPPED',
    group: 'service:checkout-web',
    lastStatus: 'STOPPED',
    launchType: 'FARGATE',
    stopCode: 'EssentialContainerExited',
    stoppedAt: '2026-11-27T15:41:40.117Z',
    stoppedReason: 'Essential container in task exited',
    taskArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:task/prod/c13b4cb40f1f4fe4a2971f76ae5a47ad`,
    taskDefinitionArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/checkout-web:42`,
  },
  { resources: [`arn:aws:ecs:us-east-1:${ACCOUNT}:task/prod/c13b4cb40f1f4fe4a2971f76ae5a47ad`] },
);

export const codePipelineFailedEvent = event(
  'CodePipeline Pipeline Execution State Change',
  'aws.codepipeline',
  { pipeline: 'deploy-checkout', 'execution-id': '01234567-0123-0123-0123-012345678901', 'execution-trigger': { 'trigger-type': 'StartPipelineExecution' }, state: 'FAILED', version: 7 },
  { resources: [`arn:aws:codepipeline:us-east-1:${ACCOUNT}:deploy-checkout`] },
);

export const codeBuildFailedEvent = event(
  'CodeBuild Build State Change',
  'aws.codebuild',
  {
    'build-status': 'FAILED',
    'project-name': 'checkout-build',
    'build-id': `arn:aws:codebuild:us-east-1:${ACCOUNT}:build/checkout-build:8745a7a9-c340-456a-9166-edf953571bEX`,
    'additional-information': {
      'build-complete': true,
      'build-number': 118,
      initiator: 'codepipeline/deploy-checkout',
      logs: {
        'group-name': '/aws/codebuild/checkout-build',
        'stream-name': '8745a7a9-c340-456a-9166-edf953571bEX',
        'deep-link': 'https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEvent:group=/aws/codebuild/checkout-build;stream=8745a7a9-c340-456a-9166-edf953571bEX',
      },
      phases: [
        { 'phase-context': [], 'start-time': 'Nov 27, 2026 3:38:11 PM', 'phase-type': 'SUBMITTED', 'phase-status': 'SUCCEEDED' },
        { 'phase-context': [': '], 'phase-type': 'INSTALL', 'phase-status': 'SUCCEEDED' },
        { 'phase-context': ['COMMAND_EXECUTION_ERROR: Error while executing command: npm test. Reason: exit status 1'], 'phase-type': 'BUILD', 'phase-status': 'FAILED' },
      ],
    },
    'current-phase': 'COMPLETED',
    'current-phase-context': '[: ]',
    version: '1',
  },
  { resources: [`arn:aws:codebuild:us-east-1:${ACCOUNT}:build/checkout-build:8745a7a9-c340-456a-9166-edf953571bEX`] },
);

export const backupFailedEvent = event(
  'Backup Job State Change',
  'aws.backup',
  {
    backupJobId: 'D2B2E7A4-1B3C-4D5E-8F90-A1B2C3D4E5F6',
    backupSizeInBytes: '0',
    backupVaultArn: `arn:aws:backup:us-east-1:${ACCOUNT}:backup-vault:Default`,
    backupVaultName: 'Default',
    bytesTransferred: '0',
    creationDate: '2026-11-27T15:00:00.000Z',
    iamRoleArn: `arn:aws:iam::${ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole`,
    resourceArn: `arn:aws:ec2:us-east-1:${ACCOUNT}:volume/vol-0123456789abcdef0`,
    resourceType: 'EBS',
    state: 'FAILED',
    statusMessage: 'Insufficient privileges to perform this action.',
    startBy: '2026-11-27T23:00:00.000Z',
    percentDone: 0.0,
  },
  { resources: [`arn:aws:ec2:us-east-1:${ACCOUNT}:volume/vol-0123456789abcdef0`] },
);

export const ec2StateEvent = event('EC2 Instance State-change Notification', 'aws.ec2', { 'instance-id': 'i-0abcd1234ef567890', state: 'stopped' }, { resources: [`arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0abcd1234ef567890`] });

/** An AWS CodeStar notification (Developer Tools notification rule → SNS): `detailType`, not `detail-type`. */
export const codeStarNotification = {
  account: ACCOUNT,
  detailType: 'CodePipeline Pipeline Execution State Change',
  region: 'us-east-1',
  source: 'aws.codepipeline',
  time: '2026-11-27T15:41:42Z',
  notificationRuleArn: `arn:aws:codestar-notifications:us-east-1:${ACCOUNT}:notificationrule/0123456789abcdef`,
  detail: { pipeline: 'deploy-checkout', 'execution-id': '89abcdef-0123-0123-0123-012345678901', state: 'FAILED', version: 7 },
  resources: [`arn:aws:codepipeline:us-east-1:${ACCOUNT}:deploy-checkout`],
  additionalAttributes: { failedActionCount: 1, failedActions: [{ action: 'Deploy', additionalInformation: 'Deployment failed' }], failedStage: 'Prod' },
};

/** An RDS event subscription's notification: JSON, but neither an alarm, an event nor an envelope. */
export const rdsEventNotification = {
  'Event Source': 'db-instance',
  'Event Time': '2026-11-27 15:41:42.123',
  'Identifier Link': 'https://console.aws.amazon.com/rds/home?region=us-east-1#dbinstance:id=db-1',
  'Source ID': 'db-1',
  'Source ARN': `arn:aws:rds:us-east-1:${ACCOUNT}:db:db-1`,
  'Event ID': 'http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html#RDS-EVENT-0004',
  'Event Message': 'DB instance shutdown',
};
