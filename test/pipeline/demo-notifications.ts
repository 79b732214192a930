import { CloudWatchAlarm, cloudWatchTime, eventBridgeEvent } from '../support/notifications';

/*
 * What the demo publishes besides its incident: notifications as AWS sends
 * them to an SNS topic (field names and nesting as in the services' published
 * samples; ids and numbers fictional).
 */

const ACCOUNT = '123456789012';

/** A p99 latency alarm over its threshold, 3 of 3 datapoints (an ExtendedStatistic alarm). */
export function percentileAlarm(now: Date): Partial<CloudWatchAlarm> {
  const name = 'api-p99-latency-eu-west-1';
  return {
    AlarmName: name,
    AlarmDescription: 'p99 latency of the public API. Runbook: https://wiki.example.com/rb/api-latency',
    Region: 'EU (Ireland)',
    AlarmArn: `arn:aws:cloudwatch:eu-west-1:${ACCOUNT}:alarm:${name}`,
    StateChangeTime: cloudWatchTime(now),
    NewStateReason:
      'Threshold Crossed: 3 out of the last 3 datapoints [2.51 (27/11/26 10:05:00), 2.4 (27/11/26 10:04:00), 2.38 (27/11/26 10:03:00)] were greater than the threshold (2.0) (minimum 3 datapoints for OK -> ALARM transition).',
    Trigger: {
      MetricName: 'Latency',
      Namespace: 'AWS/ApiGateway',
      StatisticType: 'ExtendedStatistic',
      ExtendedStatistic: 'p99',
      Unit: 'Seconds',
      Dimensions: [{ value: 'public-api', name: 'ApiName' }],
      Period: 60,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 2.0,
      TreatMissingData: 'missing',
      EvaluateLowSampleCountPercentile: 'evaluate',
    },
  };
}

/** An alarm named in Japanese ("database CPU high load, Tokyo"). */
export function japaneseAlarm(now: Date): Partial<CloudWatchAlarm> {
  const name = 'データベースCPU高負荷-東京';
  return {
    AlarmName: name,
    AlarmDescription: null,
    Region: 'Asia Pacific (Tokyo)',
    AlarmArn: `arn:aws:cloudwatch:ap-northeast-1:${ACCOUNT}:alarm:${name}`,
    StateChangeTime: cloudWatchTime(now),
    NewStateReason:
      'Threshold Crossed: 1 out of the last 1 datapoints [95.2 (27/11/26 15:40:00)] was greater than the threshold (90.0) (minimum 1 datapoint for OK -> ALARM transition).',
  };
}

/** EventBridge's "ECS Task State Change" for a task stopped because its essential container ran out of memory. */
export function ecsTaskStoppedEvent(now: Date): Record<string, unknown> {
  const task = `arn:aws:ecs:us-east-1:${ACCOUNT}:task/prod/c13b4cb40f1f4fe4a2971f76ae5a47ad`;
  return eventBridgeEvent(
    'ECS Task State Change',
    'aws.ecs',
    {
      clusterArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/prod`,
      containers: [
        { containerArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:container/prod/c13b4cb4/2f8ae4e5`, exitCode: 137, lastStatus: 'STOPPED', name: 'web', reason: 'OutOfMemoryError: Container killed due to memory usage', taskArn: task },
        { containerArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:container/prod/c13b4cb4/8d1c0a5b`, exitCode: 0, lastStatus: 'STOPPED', name: 'log-router', taskArn: task },
      ],
      createdAt: new Date(now.getTime() - 2_400_000).toISOString(),
      desiredStatus: 'STOPPED',
      group: 'service:checkout-web',
      lastStatus: 'STOPPED',
      launchType: 'FARGATE',
      stopCode: 'EssentialContainerExited',
      stoppedAt: now.toISOString(),
      stoppedReason: 'Essential container in task exited',
      taskArn: task,
      taskDefinitionArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/checkout-web:42`,
    },
    { id: '3f0b7e2c-5a1d-4c9e-8b6f-2d7a9e1c4b50', time: now.toISOString().replace(/\.\d{3}Z$/, 'Z'), resources: [task] },
  );
}
