// The construct's opt-in alarms. They have no action: the owner adds one.
// Internal: not exported from lib/index.ts.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';

/** Any message (or failure) counts: one datapoint at or above 1 alarms; no data is not breaching. */
function anyCount(metric: cloudwatch.IMetric, alarmDescription: string): cloudwatch.AlarmProps {
  return {
    metric,
    alarmDescription,
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  };
}

export interface DeadLetterQueueAlarms {
  readonly deadLetterQueueAlarm: cloudwatch.IAlarm;
  readonly webhookBacklogDeadLetterQueueAlarm: cloudwatch.IAlarm;
}

/** `DeadLetterQueueAlarm` and `WebhookBacklogDeadLetterQueueAlarm`, on the queue depths given. */
export function buildDeadLetterQueueAlarms(
  scope: Construct,
  depths: { deadLetterQueue: cloudwatch.IMetric; webhookBacklogDeadLetterQueue: cloudwatch.IMetric },
): DeadLetterQueueAlarms {
  const path = scope.node.path;
  return {
    deadLetterQueueAlarm: new cloudwatch.Alarm(
      scope,
      'DeadLetterQueueAlarm',
      anyCount(depths.deadLetterQueue, `Messages in the Twilio messaging dead-letter queue of ${path}: alerts that were not sent`),
    ),
    webhookBacklogDeadLetterQueueAlarm: new cloudwatch.Alarm(
      scope,
      'WebhookBacklogDeadLetterQueueAlarm',
      anyCount(depths.webhookBacklogDeadLetterQueue, `Messages in the webhook backlog dead-letter queue of ${path}: verified status callbacks or inbound messages not recorded`),
    ),
  };
}

/** `SendFailureAlarm`: messages that could not be sent, or an unusable configuration, in 5 minutes. */
export function buildSendFailureAlarm(scope: Construct, metrics: { failed: cloudwatch.IMetric; configurationErrors: cloudwatch.IMetric }): cloudwatch.IAlarm {
  const failures = new cloudwatch.MathExpression({
    label: 'Messages that could not be sent',
    expression: 'FILL(failed, 0) + FILL(configurationErrors, 0)',
    usingMetrics: { failed: metrics.failed, configurationErrors: metrics.configurationErrors },
    period: Duration.minutes(5),
  });
  return new cloudwatch.Alarm(
    scope,
    'SendFailureAlarm',
    anyCount(failures, `Twilio messages of ${scope.node.path} failed to send, or the credentials secret is unusable`),
  );
}
