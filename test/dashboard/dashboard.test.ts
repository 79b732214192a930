import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { AwsSolutionsChecks } from 'cdk-nag';
import { METRIC, METRICS_NAMESPACE, SERVICE_DIMENSION } from '../../lib/contract';
import * as ts from 'typescript';
import * as lib from '../../lib';
import { TwilioMessaging, TwilioMessagingDashboard } from '../../lib';
import { MINIMAL } from '../construct/helpers';
import { BodyMetric, metricOf, metricsOf, synthDashboards, SynthesizedDashboards } from './body';
import { CAPTION, PICTURE } from './render';
import { dashboardSvg } from './render-svg';

let synthesized: SynthesizedDashboards;
let service: string;

beforeAll(() => {
  synthesized = synthDashboards({
    Dashboard: {},
    Custom: { dashboardName: 'paging-ops', period: Duration.minutes(1), defaultInterval: Duration.hours(6) },
  });
  service = synthesized.messaging.serviceName;
}, 180_000);

const body = () => synthesized.bodies.Dashboard;
const logicalIdOf = (prefix: string) => Object.keys(synthesized.template.findResources('AWS::SQS::Queue')).find((id) => id.startsWith(prefix))!;

/** A metric line as the tests compare it: `Namespace Name stat {dimensions}` or `= expression`. */
function line(m: BodyMetric): string {
  if (m.expression !== undefined) return `= ${m.expression}`;
  const dims = Object.entries(m.dimensions)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `${m.namespace} ${m.metricName} ${m.stat} {${dims}}${m.visible === false ? ' hidden' : ''}`;
}

describe('the default dashboard', () => {
  test('its grid: a header, then rows of graphs, 24 columns wide', () => {
    expect(body().widgets.map((w) => [w.type, w.properties.view ?? '', w.properties.title ?? '', w.x, w.y, w.width, w.height])).toEqual([
      ['text', '', '', 0, 0, 24, 2],
      ['metric', 'timeSeries', 'Pages', 0, 2, 8, 6],
      ['metric', 'timeSeries', 'Delivery latency (published to delivered)', 8, 2, 8, 6],
      ['metric', 'timeSeries', 'Missed status callbacks (reconciler)', 16, 2, 8, 6],
      ['metric', 'timeSeries', 'Webhook requests rejected', 0, 8, 8, 6],
      ['metric', 'timeSeries', 'Configuration errors', 8, 8, 8, 6],
      ['metric', 'timeSeries', 'Dead-letter queues (messages visible)', 16, 8, 8, 6],
      ['metric', 'timeSeries', 'Incidents', 0, 14, 8, 6],
      ['metric', 'singleValue', 'Open incidents (over the time range)', 8, 14, 8, 6],
      ['metric', 'timeSeries', 'Time to acknowledge', 16, 14, 8, 6],
      ['metric', 'timeSeries', 'Storm digests', 0, 20, 8, 6],
    ]);
    expect(body().widgets[0].properties.markdown).toContain(`# Twilio messaging: ${service}`);
  });

  test('each widget\'s metrics: namespace, name, statistic and dimensions', () => {
    const ours = (name: string, stat: string) => `${METRICS_NAMESPACE} ${name} ${stat} {${SERVICE_DIMENSION}=${service}}`;
    const queue = (prefix: string) => `AWS/SQS ApproximateNumberOfMessagesVisible Maximum {QueueName=\${${logicalIdOf(prefix)}.QueueName}}`;
    const byTitle = Object.fromEntries(body().widgets.filter((w) => w.type === 'metric').map((w) => [w.properties.title, (w.properties.metrics ?? []).map((l) => line(metricOf(l)))]));
    expect(byTitle).toEqual({
      Pages: [ours(METRIC.MESSAGES_SENT, 'Sum'), ours(METRIC.MESSAGES_DELIVERED, 'Sum'), ours(METRIC.MESSAGES_UNDELIVERED, 'Sum'), ours(METRIC.MESSAGES_FAILED, 'Sum')],
      'Delivery latency (published to delivered)': [ours(METRIC.DELIVERY_LATENCY, 'p50'), ours(METRIC.DELIVERY_LATENCY, 'p90'), ours(METRIC.DELIVERY_LATENCY, 'p99'), ours(METRIC.TWILIO_DELIVERY_LATENCY, 'p99')],
      'Missed status callbacks (reconciler)': [ours(METRIC.STATUSES_RECONCILED, 'Sum'), ours(METRIC.STATUS_NEVER_FINAL, 'Sum')],
      'Webhook requests rejected': [ours(METRIC.CALLBACK_REJECTED, 'Sum')],
      'Configuration errors': [ours(METRIC.CONFIGURATION_ERRORS, 'Sum')],
      'Dead-letter queues (messages visible)': [queue('AlertsDeadLetterQueue'), queue('AlertsWebhookBacklogDeadLetterQueue')],
      Incidents: [ours(METRIC.INCIDENTS_OPENED, 'Sum'), ours(METRIC.INCIDENTS_ACKNOWLEDGED, 'Sum'), ours(METRIC.INCIDENTS_RESOLVED, 'Sum')],
      'Open incidents (over the time range)': ['= opened - resolved', `${ours(METRIC.INCIDENTS_OPENED, 'Sum')} hidden`, `${ours(METRIC.INCIDENTS_RESOLVED, 'Sum')} hidden`],
      'Time to acknowledge': [ours(METRIC.TIME_TO_ACKNOWLEDGE, 'p50'), ours(METRIC.TIME_TO_ACKNOWLEDGE, 'Maximum')],
      'Storm digests': [ours(METRIC.TEXTS_HELD, 'Sum'), ours(METRIC.DIGESTS_SENT, 'Sum'), ours(METRIC.TEXTS_DIGESTED, 'Sum')],
    });
  });

  test('the storm graph: texts held against the digests that carried them, counts from zero', () => {
    const widget = body().widgets.find((w) => w.properties.title === 'Storm digests')!;
    expect(metricsOf({ widgets: [widget] }).map((m) => [m.metricName, m.label])).toEqual([
      [METRIC.TEXTS_HELD, 'Texts held'],
      [METRIC.DIGESTS_SENT, 'Digests sent'],
      [METRIC.TEXTS_DIGESTED, 'Texts in digests'],
    ]);
    expect(widget.properties.yAxis).toEqual({ left: { min: 0, label: 'Count', showUnits: false } });
  });

  test('the open-incidents expression names its operands, over the whole time range', () => {
    const widget = body().widgets.find((w) => w.properties.view === 'singleValue')!;
    expect(widget.properties.setPeriodToTimeRange).toBe(true);
    expect(metricsOf({ widgets: [widget] }).filter((m) => m.id !== undefined).map((m) => [m.id, m.metricName])).toEqual([
      ['opened', METRIC.INCIDENTS_OPENED],
      ['resolved', METRIC.INCIDENTS_RESOLVED],
    ]);
  });

  test('its metrics are in the namespace and carry the service dimension the construct gives every handler', () => {
    const functions = Object.values(synthesized.template.findResources('AWS::Lambda::Function'))
      .map((f) => f.Properties.Environment?.Variables as Record<string, string> | undefined)
      .filter((env) => env?.POWERTOOLS_SERVICE_NAME !== undefined);
    expect(functions).toHaveLength(4);
    for (const env of functions) expect([env!.POWERTOOLS_SERVICE_NAME, env!.POWERTOOLS_METRICS_NAMESPACE]).toEqual([service, METRICS_NAMESPACE]);
    const ours = metricsOf(body()).filter((m) => m.namespace === METRICS_NAMESPACE);
    expect(ours.length).toBeGreaterThan(0);
    for (const m of ours) {
      expect(Object.values(METRIC)).toContain(m.metricName);
      expect(m.dimensions).toEqual({ [SERVICE_DIMENSION]: service });
    }
  });

  test('its construct id is `Dashboard` under the companion\'s: logical ids stay put', () => {
    expect(Object.keys(synthesized.template.findResources('AWS::CloudWatch::Dashboard')).sort()).toEqual([
      expect.stringMatching(/^CustomDashboard[0-9A-F]{8}$/),
      // CDK drops a path component that repeats the one before it: Dashboard/Dashboard is Dashboard.
      expect.stringMatching(/^Dashboard[0-9A-F]{8}$/),
    ]);
  });

  test('no dashboard name, period or time range is set: CloudFormation and CloudWatch choose them', () => {
    const [dashboard] = Object.values(synthesized.template.findResources('AWS::CloudWatch::Dashboard')).filter((d) => d.Properties.DashboardName === undefined);
    expect(dashboard).toBeDefined();
    expect(body().start).toBeUndefined();
    expect(metricsOf(body()).filter((m) => m.period !== undefined)).toEqual([]);
  });

  test('the README\'s picture is what test/dashboard/render.ts draws from this body', () => {
    const committed = readFileSync(PICTURE, 'utf8');
    const now = dashboardSvg(body(), CAPTION);
    if (committed !== now) throw new Error(`${PICTURE} is stale: run \`npm run build && npx tsx test/dashboard/render.ts\` and commit it`);
  });
});

describe('props', () => {
  test('dashboardName, period and defaultInterval reach the dashboard and every metric', () => {
    synthesized.template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'paging-ops' });
    const custom = synthesized.bodies.Custom;
    expect(custom.start).toBe('-PT6H');
    const periods = metricsOf(custom).map((m) => m.period);
    expect(periods).toEqual(periods.map(() => 60));
    expect(metricsOf(custom).map(line)).toEqual(metricsOf(body()).map(line));
  });

  test('a name CloudWatch refuses, and a period it cannot graph, fail at synth with the value and the rule', () => {
    const stack = new Stack(new App(), 'BadStack');
    const messaging = new TwilioMessaging(stack, 'Alerts', MINIMAL);
    expect(() => new TwilioMessagingDashboard(stack, 'BadName', { messaging, dashboardName: 'paging ops!' })).toThrow(/paging ops!.*alphanumerics, dash \(-\) and underscore \(_\)/);
    expect(() => new TwilioMessagingDashboard(stack, 'BadPeriod', { messaging, period: Duration.seconds(45) })).toThrow(/'period' must be 1, 5, 10, 30, or a multiple of 60 seconds, received 45/);
  });
});

describe('metricX() methods for alarms', () => {
  test.each([
    ['metricDeliveryLatency', METRIC.DELIVERY_LATENCY, 'p99'],
    ['metricTimeToAcknowledge', METRIC.TIME_TO_ACKNOWLEDGE, 'p99'],
    ['metricIncidentsOpened', METRIC.INCIDENTS_OPENED, 'Sum'],
    ['metricIncidentsAcknowledged', METRIC.INCIDENTS_ACKNOWLEDGED, 'Sum'],
    ['metricIncidentsResolved', METRIC.INCIDENTS_RESOLVED, 'Sum'],
    ['metricTextsHeld', METRIC.TEXTS_HELD, 'Sum'],
    ['metricDigestsSent', METRIC.DIGESTS_SENT, 'Sum'],
    ['metricTextsDigested', METRIC.TEXTS_DIGESTED, 'Sum'],
  ] as const)('%s: %s, %s over 5 minutes, this instance\'s service', (method, name, statistic) => {
    const metric = synthesized.messaging[method]();
    expect([metric.namespace, metric.metricName, metric.statistic, metric.period.toSeconds(), metric.dimensions]).toEqual([METRICS_NAMESPACE, name, statistic, 300, { [SERVICE_DIMENSION]: service }]);
    const tuned = synthesized.messaging[method]({ statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(1) });
    expect([tuned.statistic, tuned.period.toSeconds()]).toEqual(['Maximum', 60]);
  });
});

test('cdk-nag: no AwsSolutions finding outside the construct\'s own (acknowledged) ones', () => {
  const report = new AwsSolutionsChecks(synthesized.app).validateScope(synthesized.app);
  const lines = report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.severity} ${v.ruleName} ${r.constructPath}`));
  expect(lines.filter((l) => !l.includes('/Alerts/'))).toEqual([]);
  expect(lines.filter((l) => l.includes('/Dashboard') || l.includes('/Custom'))).toEqual([]);
});

test('the README\'s Dashboard sample synthesizes: the named dashboard and an alarm on metricDeliveryLatency()', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Dashboard\n'));
  const source = /```ts\n([\s\S]*?)```/.exec(section)![1];
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
  const sample: Record<string, new (scope: App, id: string) => Stack> = {};
  new Function('exports', 'require', outputText)(sample, (id: string) => (id === 'cdk-twilio-messaging' ? lib : require(id)));
  const template = Template.fromStack(new sample.PagingStack(new App(), 'Sample'));
  template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'paging' });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: METRICS_NAMESPACE, MetricName: METRIC.DELIVERY_LATENCY, ExtendedStatistic: 'p99', Threshold: 120_000 });
}, 120_000);
