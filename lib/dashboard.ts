import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { dashboardRows } from './private/dashboard-widgets';
import type { TwilioMessaging } from './twilio-messaging';

export interface TwilioMessagingDashboardProps {
  /** The construct whose pipeline the dashboard shows. */
  readonly messaging: TwilioMessaging;
  /**
   * The dashboard's name.
   * @default - a name CloudFormation generates
   */
  readonly dashboardName?: string;
  /**
   * The period of each graph's data points.
   * @default Duration.minutes(5)
   */
  readonly period?: Duration;
  /**
   * The time range the dashboard opens on.
   * @default - CloudWatch's default (3 hours)
   */
  readonly defaultInterval?: Duration;
}

/**
 * A CloudWatch dashboard of one TwilioMessaging instance: pages sent,
 * delivered, undelivered and failed; delivery latency (the alert's
 * publishing to `delivered`, and Twilio's part of it); the status callbacks
 * the reconciler made up for, and the messages left without a final status;
 * webhook requests rejected; configuration errors; the dead-letter queues'
 * depth; incidents opened, acknowledged and resolved, those open over the
 * time range, and the time to acknowledge; texts held in storm windows and the
 * digests that carried them. Every graph reads one of the
 * construct's metricX() methods, or metric(name): alarm on those.
 *
 * ```ts
 * const messaging = new TwilioMessaging(this, 'Alerts', { ... });
 * new TwilioMessagingDashboard(this, 'AlertsDashboard', { messaging });
 * ```
 */
export class TwilioMessagingDashboard extends Construct {
  /** The dashboard; add your own widgets with `dashboard.addWidgets()`. */
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: TwilioMessagingDashboardProps) {
    super(scope, id);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      ...(props.dashboardName !== undefined ? { dashboardName: props.dashboardName } : {}),
      ...(props.defaultInterval !== undefined ? { defaultInterval: props.defaultInterval } : {}),
    });
    for (const row of dashboardRows(props.messaging, { period: props.period ?? Duration.minutes(5) })) this.dashboard.addWidgets(row);
  }
}
