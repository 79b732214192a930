/*
 * Notifications as AWS publishes them to an SNS topic: CloudWatch's alarm
 * notification and EventBridge's event envelope. Field names, nesting and
 * value spellings follow the services' documented schemas and published
 * samples; ids and numbers are fictional. test/sender/render/shapes.ts builds
 * its corpus of alarms and events from these.
 */

const ACCOUNT = '123456789012';

/** The fields of CloudWatch's SNS notification for an alarm state change. */
export interface CloudWatchAlarm {
  AlarmName: string;
  AlarmDescription: string | null;
  AWSAccountId: string;
  AlarmConfigurationUpdatedTimestamp: string;
  NewStateValue: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA';
  NewStateReason: string;
  StateChangeTime: string;
  Region: string;
  AlarmArn: string;
  OldStateValue: string;
  OKActions: string[];
  AlarmActions: string[];
  InsufficientDataActions: string[];
  Trigger: Record<string, unknown>;
}

/** CloudWatch's timestamp format in alarm notifications: `2026-11-27T15:45:12.345+0000`. */
export function cloudWatchTime(date: Date): string {
  return date.toISOString().replace('Z', '+0000');
}

/**
 * A CloudWatch metric alarm's SNS notification (a CPU alarm on db-1 in ALARM);
 * `overrides` replace top-level fields, `trigger` Trigger's. `regionCode` (not
 * a notification field) places the alarm's and its topic's ARNs in that region.
 */
export function cloudWatchAlarm(overrides: Record<string, unknown> = {}, trigger: Record<string, unknown> = {}): Record<string, unknown> {
  // An AlarmName that is not a string (tests of malformed notifications) leaves the ARN the default alarm's.
  const name = typeof overrides.AlarmName === 'string' ? overrides.AlarmName : 'HighCPU-db-1';
  const region = (overrides.regionCode as string | undefined) ?? 'us-east-1';
  const { regionCode: _ignored, ...rest } = overrides;
  return {
    AlarmName: name,
    AlarmDescription: 'CPU above 90% on db-1',
    AWSAccountId: ACCOUNT,
    AlarmConfigurationUpdatedTimestamp: '2026-11-01T10:00:00.000+0000',
    NewStateValue: 'ALARM',
    NewStateReason:
      'Threshold Crossed: 1 out of the last 1 datapoints [95.2 (27/11/26 15:40:00)] was greater than the threshold (90.0) (minimum 1 datapoint for OK -> ALARM transition).',
    StateChangeTime: '2026-11-27T15:41:42.123+0000',
    Region: 'US East (N. Virginia)',
    AlarmArn: `arn:aws:cloudwatch:${region}:${ACCOUNT}:alarm:${name}`,
    OldStateValue: 'OK',
    OKActions: [],
    AlarmActions: [`arn:aws:sns:${region}:${ACCOUNT}:alerts`],
    InsufficientDataActions: [],
    Trigger: {
      MetricName: 'CPUUtilization',
      Namespace: 'AWS/RDS',
      StatisticType: 'Statistic',
      Statistic: 'AVERAGE',
      Unit: null,
      Dimensions: [{ value: 'db-1', name: 'DBInstanceIdentifier' }],
      Period: 60,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 90.0,
      TreatMissingData: 'missing',
      EvaluateLowSampleCountPercentile: '',
      ...trigger,
    },
    ...rest,
  };
}

/** An EventBridge event as a rule targeting an SNS topic delivers it; `extra` replaces envelope fields (id, time, resources, ...). */
export function eventBridgeEvent(detailType: string, source: string, detail: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': detailType,
    source,
    account: ACCOUNT,
    time: '2026-11-27T15:41:42Z',
    region: 'us-east-1',
    resources: [],
    detail,
    ...extra,
  };
}
