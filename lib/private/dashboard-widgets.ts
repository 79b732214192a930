import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRIC } from '../contract';
import type { TwilioMessaging } from '../twilio-messaging';

/*
 * The dashboard's rows, in the manner of cdk-monitoring-constructs: a header,
 * then rows of fixed-size graphs on a 24-column grid, every metric from one of
 * the construct's metricX() factories, or metric(name) for those without one
 * (so a widget shows exactly what an alarm on that method would watch),
 * counts and times on axes that start at zero.
 */

const HEIGHT = 6;
const FULL = 24;
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
      'Pages through Twilio, their delivery, the webhooks, the incidents they open and storm digests. Namespace `TwilioMessaging`, dimension `service`.',
    ].join('\n'),
  });
}

/** A graph of counts (Sum per period) on an axis from zero: most of the dashboard. */
function countGraph(title: string, width: number, left: cloudwatch.IMetric[]): cloudwatch.GraphWidget {
  return timeGraph(title, width, left, COUNT_AXIS);
}

/** A graph on the dashboard's row height, its left axis given (counts, milliseconds, seconds). */
function timeGraph(title: string, width: number, left: cloudwatch.IMetric[], leftYAxis: cloudwatch.YAxisProps): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, width, height: HEIGHT, left, leftYAxis });
}

function pages(messaging: TwilioMessaging, period: Duration): cloudwatch.Row {
  return new cloudwatch.Row(
    countGraph('Pages', THIRD, [
      messaging.metricMessagesSent({ period, label: 'Sent', color: cloudwatch.Color.BLUE }),
      messaging.metricMessagesDelivered({ period, label: 'Delivered', color: cloudwatch.Color.GREEN }),
      messaging.metricMessagesUndelivered({ period, label: 'Undelivered', color: cloudwatch.Color.ORANGE }),
      messaging.metricMessagesFailed({ period, label: 'Failed', color: cloudwatch.Color.RED }),
    ]),
    timeGraph(
      'Delivery latency (published to delivered)',
      THIRD,
      [
        messaging.metricDeliveryLatency({ period, statistic: cloudwatch.Stats.p(50), label: 'p50' }),
        messaging.metricDeliveryLatency({ period, statistic: cloudwatch.Stats.p(90), label: 'p90' }),
        messaging.metricDeliveryLatency({ period, statistic: cloudwatch.Stats.p(99), label: 'p99' }),
        // The carrier's part of it: a gap between the two lines is time in the queue and the sender.
        messaging.metric(METRIC.TWILIO_DELIVERY_LATENCY, { period, statistic: cloudwatch.Stats.p(99), label: 'Twilio p99', color: cloudwatch.Color.GREY }),
      ],
      MILLISECONDS_AXIS,
    ),
    // The reconciler's polls: statuses whose callback never came, and messages given up on without a final one.
    countGraph('Missed status callbacks (reconciler)', THIRD, [
      messaging.metric(METRIC.STATUSES_RECONCILED, { period, label: 'Reconciled by a poll', color: cloudwatch.Color.ORANGE }),
      messaging.metric(METRIC.STATUS_NEVER_FINAL, { period, label: 'Never final', color: cloudwatch.Color.RED }),
    ]),
  );
}

function faults(messaging: TwilioMessaging, period: Duration): cloudwatch.Row {
  return new cloudwatch.Row(
    countGraph('Webhook requests rejected', THIRD, [messaging.metricCallbackRejected({ period, label: 'Rejected', color: cloudwatch.Color.RED })]),
    countGraph('Configuration errors', THIRD, [messaging.metricConfigurationErrors({ period, label: 'Configuration errors', color: cloudwatch.Color.RED })]),
    countGraph('Dead-letter queues (messages visible)', THIRD, [
      messaging.metricDeadLetterQueueDepth({ period, label: 'Alerts', color: cloudwatch.Color.RED }),
      messaging.metricWebhookBacklogDeadLetterQueueDepth({ period, label: 'Webhook backlogs', color: cloudwatch.Color.PURPLE }),
    ]),
  );
}

function incidents(messaging: TwilioMessaging, period: Duration): cloudwatch.Row {
  return new cloudwatch.Row(
    countGraph('Incidents', THIRD, [
      messaging.metricIncidentsOpened({ period, label: 'Opened', color: cloudwatch.Color.RED }),
      messaging.metricIncidentsAcknowledged({ period, label: 'Acknowledged', color: cloudwatch.Color.ORANGE }),
      messaging.metricIncidentsResolved({ period, label: 'Resolved', color: cloudwatch.Color.GREEN }),
    ]),
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
    timeGraph(
      'Time to acknowledge',
      THIRD,
      [
        messaging.metricTimeToAcknowledge({ period, statistic: cloudwatch.Stats.p(50), label: 'p50' }),
        messaging.metricTimeToAcknowledge({ period, statistic: cloudwatch.Stats.MAXIMUM, label: 'Maximum' }),
      ],
      SECONDS_AXIS,
    ),
  );
}

// Storm control: texts held in storm windows, and the digests that carried them when the windows closed.
function storms(messaging: TwilioMessaging, period: Duration): cloudwatch.Row {
  return new cloudwatch.Row(
    countGraph('Storm digests', THIRD, [
      messaging.metricTextsHeld({ period, label: 'Texts held', color: cloudwatch.Color.ORANGE }),
      messaging.metricDigestsSent({ period, label: 'Digests sent', color: cloudwatch.Color.BLUE }),
      messaging.metricTextsDigested({ period, label: 'Texts in digests', color: cloudwatch.Color.GREEN }),
    ]),
  );
}

/** The dashboard's rows, top to bottom. */
export function dashboardRows(messaging: TwilioMessaging, options: WidgetOptions): cloudwatch.IWidget[] {
  return [header(messaging), pages(messaging, options.period), faults(messaging, options.period), incidents(messaging, options.period), storms(messaging, options.period)];
}
