import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TwilioMessaging, TwilioMessagingDashboard, TwilioMessagingDashboardProps } from '../../lib';
import { MINIMAL, render } from '../construct/helpers';

/*
 * A synthesized dashboard read back as CloudWatch will: its DashboardBody
 * (a Fn::Join around the region and the queue names) joined into JSON, the
 * tokens left as `${Ref}` / `${LogicalId.Attribute}` text.
 */

/** One metric line of a widget: `[namespace, name, dimension, value, ..., options]`, or a math expression. */
export interface BodyMetric {
  readonly namespace?: string;
  readonly metricName?: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly stat?: string;
  readonly label?: string;
  readonly expression?: string;
  readonly id?: string;
  readonly visible?: boolean;
  readonly color?: string;
  /** Seconds; absent: CloudWatch's 300. */
  readonly period?: number;
}

export interface BodyWidget {
  readonly type: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly properties: { readonly title?: string; readonly view?: string; readonly markdown?: string; readonly metrics?: unknown[][]; readonly period?: number; readonly [key: string]: unknown };
}

export interface DashboardBody {
  readonly widgets: readonly BodyWidget[];
  readonly start?: string;
}

/** A metric line as named fields. */
export function metricOf(line: readonly unknown[]): BodyMetric {
  const last = line[line.length - 1];
  const options = (last !== null && typeof last === 'object' ? last : {}) as Record<string, unknown>;
  const parts = (options === last ? line.slice(0, -1) : line) as string[];
  const dimensions: Record<string, string> = {};
  for (let i = 2; i + 1 < parts.length; i += 2) dimensions[parts[i]] = parts[i + 1];
  return {
    ...(parts.length >= 2 ? { namespace: parts[0], metricName: parts[1] } : {}),
    dimensions,
    ...(options as Omit<BodyMetric, 'dimensions'>),
  };
}

/** Every metric line of the body (graphs and single values), expressions included. */
export function metricsOf(body: DashboardBody): BodyMetric[] {
  return body.widgets.flatMap((w) => (w.properties.metrics ?? []).map(metricOf));
}

export interface SynthesizedDashboards {
  readonly template: Template;
  readonly app: App;
  readonly messaging: TwilioMessaging;
  /** The body of each dashboard, by the id given in `dashboards`. */
  readonly bodies: Readonly<Record<string, DashboardBody>>;
}

/** The construct (MINIMAL props) and one TwilioMessagingDashboard per entry of `dashboards`, in one stack. */
export function synthDashboards(dashboards: Readonly<Record<string, Omit<TwilioMessagingDashboardProps, 'messaging'>>>): SynthesizedDashboards {
  const app = new App();
  const stack = new Stack(app, 'TestStack');
  const messaging = new TwilioMessaging(stack, 'Alerts', MINIMAL);
  const ids = Object.entries(dashboards).map(([id, props]) => {
    const companion = new TwilioMessagingDashboard(stack, id, { messaging, ...props });
    return [id, stack.getLogicalId(companion.dashboard.node.defaultChild as never)] as const;
  });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, { Properties: Record<string, unknown> }>;
  const bodies = Object.fromEntries(ids.map(([id, logicalId]) => [id, JSON.parse(render(resources[logicalId].Properties.DashboardBody)) as DashboardBody]));
  return { template, app, messaging, bodies };
}
