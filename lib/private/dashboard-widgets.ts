import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { TwilioMessaging } from '../twilio-messaging';

/*
 * The dashboard's rows, in the manner of cdk-monitoring-constructs: a header,
 * then rows of fixed-size graphs on a 24-column grid, every metric from one of
 * the construct's metricX() factories (so a widget shows exactly what an alarm
 * on that method would watch), counts and times on axes that start at zero.
 */

const HEIGHT = 6;
const FULL = 24;
const HALF = FULL / 2;
const THIRD = FULL / 3;

const COUNT_AXIS: cloudwatch.YAxisProps = { min: 0, label: 'Count', showUnits: false };
const MILLISECONDS_AXIS: cloudwatch.YAxisProps = { min: 0, label: 'Milliseconds', showUnits: false };
const SECONDS_AXIS: cloudwatch.YAxisProps = { min: 0, label: 'Seconds', showUnits: false };

/** What every widget's metrics share. */
export interface WidgetOptions {
  readonly period: Duration;
}

function header(messaging: TwilioMessaging): cloudwatch.TextWidget {
  return new cloudwatch.TextWidget({
    width: FULL,
    height: 2,
    markdown: [
      `# Twilio messaging: ${messaging.serviceName}`,
      'Pages through Twilio, their delivery, the webhooks and the incidents they open. Namespace `TwilioMessaging`, dimension `service`.',
    ].join('\n'),
  });
}

function pages(messaging: TwilioMessaging, period: Duration): cloudwatch.Row {
  return new cloudwatch.Row(
    new cloudwatch.GraphWidget({
      title: 'Pages',
      width: HALF,
      height: HEIGHT,
      left: [
        messaging.metricMessagesSent({ period, label: 'Sent', color: cloudwatch.Color.BLUE }),
        messaging.metricMessagesDelivered({ period, label: 'Delivered', color: cloudwatch.Color.GREEN }),
        messaging.metricMessagesUndelivered({ period, label: 'Undelivered', color: cloudwatch.Color.ORANGE }),
        messaging.metricMessagesFailed({ period, label: 'Failed', color: cloudwatch.Color.RED }),
      ],
      leftYAxis: COUNT_AXIS,
    }),
    new cloudwatch.GraphWidget({
      title: 'Delivery latency (accepted by Twilio to delivered)',
      width: HALF,
      height: HEIGHT,
      left: [
        messaging.metricDeliveryLatency({ period, statistic: cloudwatch.Stats.p(50), label: 'p50' }),
        messaging.metricDeliveryLatency({ period, statistic: cloudwatch.Stats.p(90), label: 'p90' }),
        messaging.metricDeliveryLatency({ period, statistic: cloudwatch.Stats.p(99), label: 'p99' }),
      ],
      leftYAxis: MILLISECONDS_AXIS,
    }),
  );
}

function faults(messaging: TwilioMessaging, period: Duration): cloudwatch.Row {
  return new cloudwatch.Row(
    new cloudwatch.GraphWidget({
      title: 'Webhook requests rejected',
      width: THIRD,
      height: HEIGHT,
      left: [messaging.metricCallbackRejected({ period, label: 'Rejected', color: cloudwatch.Color.RED })],
      leftYAxis: COUNT_AXIS,
    }),
    new cloudwatch.GraphWidget({
      title: 'Configuration errors',
      width: THIRD,
      height: HEIGHT,
      left: [messaging.metricConfigurationErrors({ period, label: 'Configuration errors', color: cloudwatch.Color.RED })],
      leftYAxis: COUNT_AXIS,
    }),
    new cloudwatch.GraphWidget({
      title: 'Dead-letter queues (messages visible)',
      width: THIRD,
      height: HEIGHT,
      left: [
        messaging.metricDeadLetterQueueDepth({ period, label: 'Alerts', color: cloudwatch.Color.RED }),
        messaging.metricWebhookBacklogDeadLetterQueueDepth({ period, label: 'Webhook backlogs', color: cloudwatch.Color.PURPLE }),
      ],
      leftYAxis: COUNT_AXIS,
    }),
  );
}

function incidents(messaging: TwilioMessaging, period: Duration): cloudwatch.Row {
  return new cloudwatch.Row(
    new cloudwatch.GraphWidget({
      title: 'Incidents',
      width: THIRD,
      height: HEIGHT,
      left: [
        messaging.metricIncidentsOpened({ period, label: 'Opened', color: cloudwatch.Color.RED }),
        messaging.metricIncidentsAcknowledged({ period, label: 'Acknowledged', color: cloudwatch.Color.ORANGE }),
        messaging.metricIncidentsResolved({ period, label: 'Resolved', color: cloudwatch.Color.GREEN }),
      ],
      leftYAxis: COUNT_AXIS,
    }),
    // Nothing emits a count of the incidents open now: over the dashboard's whole time range,
    // those opened and not resolved in it (exact when the range covers their lives).
    new cloudwatch.SingleValueWidget({
      title: 'Open incidents (over the time range)',
      width: THIRD,
      height: HEIGHT,
      setPeriodToTimeRange: true,
      metrics: [
        new cloudwatch.MathExpression({
          expression: 'opened - resolved',
          label: 'Opened − resolved',
          usingMetrics: { opened: messaging.metricIncidentsOpened({ period }), resolved: messaging.metricIncidentsResolved({ period }) },
          period,
        }),
      ],
    }),
    new cloudwatch.GraphWidget({
      title: 'Time to acknowledge',
      width: THIRD,
      height: HEIGHT,
      left: [
        messaging.metricTimeToAcknowledge({ period, statistic: cloudwatch.Stats.p(50), label: 'p50' }),
        messaging.metricTimeToAcknowledge({ period, statistic: cloudwatch.Stats.MAXIMUM, label: 'Maximum' }),
      ],
      leftYAxis: SECONDS_AXIS,
    }),
  );
}

/** The dashboard's rows, top to bottom. */
export function dashboardRows(messaging: TwilioMessaging, options: WidgetOptions): cloudwatch.IWidget[] {
  return [header(messaging), pages(messaging, options.period), faults(messaging, options.period), incidents(messaging, options.period)];
}
