import { oneLine, Page, Part, shortenMiddle } from './fit-text';
import { arrayAt, isObject, parseArn, prop, proseForms, readable, RenderContext, shortNumber, textAt, whereParts } from './render-common';
import { NEGATED, Observation, observe, RELATIONS } from './alarm-reason';
import { InvalidNotificationError } from './validate';

/**
 * CloudWatch alarms as texts, from the alarm's structure rather than its
 * prose: state and name; the metric, its statistic and the value that
 * breached against the threshold (`Latency p99 2.51 > 2.0, 3/3
 * datapoints`), a metric-math expression or an anomaly band; the children
 * of a composite alarm that fired; then region, account, time and the
 * description. Read from the SNS notification CloudWatch publishes, or from
 * an EventBridge "CloudWatch Alarm State Change" event (render-event.ts).
 */

/** What the text is made of, every value already readable text. */
export interface AlarmFacts {
  readonly name: string;
  readonly state?: string;
  readonly reason?: string;
  readonly description?: string;
  readonly time?: string;
  readonly account?: string;
  /** A region code (`us-east-1`) from the ARN, else what the notification calls its region. */
  readonly region?: string;
  readonly arn?: string;
  readonly metric?: MetricFacts;
  readonly composite?: CompositeFacts;
}

export interface MetricFacts {
  /** The metric's name, or a metric-math expression's label. */
  readonly name?: string;
  /** A metric-math expression. */
  readonly expression?: string;
  /** `avg`, `p99`, … */
  readonly stat?: string;
  readonly dimensions: readonly string[];
  /** A metric-math expression's inputs: `m1 Errors sum`. */
  readonly inputs: readonly string[];
  /** An anomaly-detection alarm's band: its width (`2`). */
  readonly band?: string;
  /** CloudWatch's ComparisonOperator (the SNS notification has it; an EventBridge event does not). */
  readonly operator?: string;
  readonly threshold?: string;
  /** `DatapointsToAlarm/EvaluationPeriods`. */
  readonly datapoints?: string;
}

export interface CompositeFacts {
  readonly rule?: string;
  /** Names of the child alarms that caused this state. */
  readonly children: readonly string[];
}

/**
 * CloudWatch always sends both keys. Their values are not trusted here: a
 * publisher that puts a number or an object in them still means an alarm,
 * and readAlarm makes what it can of it.
 */
export function isAlarmNotification(json: Record<string, unknown>): boolean {
  return 'AlarmName' in json && 'NewStateValue' in json;
}

const ALARM_ARN_NAME = /^arn:aws[\w-]*:cloudwatch:[\w-]*:\d*:alarm:(.+)$/;

export function alarmNameOfArn(arn: string | undefined): string | undefined {
  return arn?.match(ALARM_ARN_NAME)?.[1];
}

const STATS: Readonly<Record<string, string>> = { average: 'avg', sum: 'sum', minimum: 'min', maximum: 'max', samplecount: 'count', sample_count: 'count' };

function statName(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  return STATS[raw.toLowerCase()] ?? raw;
}

/** Dimension values, from `[{name, value}]` (SNS) or `{name: value}` (EventBridge). */
function dimensionValues(dims: unknown): string[] {
  if (Array.isArray(dims)) return dims.map((d) => textAt(d, 'value')).filter((v): v is string => v !== undefined);
  if (isObject(dims)) return Object.values(dims).map(readable).filter((v): v is string => v !== undefined);
  return [];
}

const BAND = /^\s*ANOMALY_DETECTION_BAND\s*\(\s*(\w+)\s*(?:,\s*([^)]+?))?\s*\)\s*$/i;

/** Metric facts from a list of metric-data queries (Trigger.Metrics, or configuration.metrics of an EventBridge event). */
function fromQueries(queries: unknown[], thresholdId: string | undefined): MetricFacts {
  const id = (q: unknown) => textAt(q, 'id');
  const band = queries.find((q) => (thresholdId !== undefined && id(q) === thresholdId) || BAND.test(textAt(q, 'expression') ?? ''));
  const bandMatch = textAt(band, 'expression')?.match(BAND);
  const returned = queries.filter((q) => q !== band && prop(q, 'returnData') !== false);
  const measured = (bandMatch ? queries.find((q) => id(q) === bandMatch[1]) : undefined) ?? returned[0] ?? queries.find((q) => q !== band);
  const stat = prop(measured, 'metricStat');
  const metric = prop(stat, 'metric');
  const expression = textAt(measured, 'expression');
  const inputs = expression
    ? queries
        .filter((q) => q !== measured && q !== band && isObject(prop(q, 'metricStat')))
        .map((q) => [id(q), textAt(q, 'metricStat', 'metric', 'metricName') ?? textAt(q, 'metricStat', 'metric', 'name'), statName(textAt(q, 'metricStat', 'stat'))].filter(Boolean).join(' '))
    : [];
  return {
    name: expression ? textAt(measured, 'label') : (textAt(metric, 'metricName') ?? textAt(metric, 'name')),
    expression,
    stat: statName(textAt(stat, 'stat')),
    dimensions: dimensionValues(prop(metric, 'dimensions')),
    inputs,
    band: bandMatch ? (bandMatch[2] ?? '2') : undefined,
  };
}

/** The metric an alarm watches, from the SNS notification's Trigger. */
function readTrigger(trigger: unknown): MetricFacts | undefined {
  if (!isObject(trigger)) return undefined;
  const queries = arrayAt(trigger, 'Metrics').filter(isObject);
  const base: MetricFacts =
    queries.length > 0
      ? fromQueries(queries, textAt(trigger, 'ThresholdMetricId'))
      : {
          name: textAt(trigger, 'MetricName'),
          stat: statName(textAt(trigger, 'ExtendedStatistic') ?? textAt(trigger, 'Statistic')),
          dimensions: dimensionValues(trigger.Dimensions),
          inputs: [],
        };
  const periods = typeof trigger.EvaluationPeriods === 'number' ? trigger.EvaluationPeriods : undefined;
  const toAlarm = typeof trigger.DatapointsToAlarm === 'number' ? trigger.DatapointsToAlarm : periods;
  return {
    ...base,
    operator: textAt(trigger, 'ComparisonOperator'),
    threshold: textAt(trigger, 'Threshold'),
    datapoints: periods !== undefined && toAlarm !== undefined ? `${toAlarm}/${periods}` : undefined,
  };
}

/** The metric an alarm watches, from an EventBridge event's `configuration`. */
export function readConfiguration(configuration: unknown): MetricFacts | undefined {
  const queries = arrayAt(configuration, 'metrics').filter(isObject);
  return queries.length > 0 ? fromQueries(queries, undefined) : undefined;
}

/** Child alarm names from `[{Arn, State}]` (SNS TriggeringChildren, EventBridge triggeringAlarms). */
export function childNames(children: unknown[]): string[] {
  return children.map((c) => textAt(c, 'arn')).map((arn) => alarmNameOfArn(arn) ?? arn).filter((n): n is string => n !== undefined);
}

/**
 * The alarm's fields with every wrong-typed value coerced or dropped, so
 * rendering can never throw. Only an alarm with nothing that names it (no
 * readable AlarmName, no alarm ARN) cannot be paged: nobody could act on it.
 *
 * @throws InvalidNotificationError when nothing names the alarm
 */
export function readAlarm(json: Record<string, unknown>): AlarmFacts {
  const arn = readable(json.AlarmArn);
  const name = readable(json.AlarmName) ?? alarmNameOfArn(arn);
  if (name === undefined) {
    throw new InvalidNotificationError('a CloudWatch alarm notification whose "AlarmName" and "AlarmArn" hold no readable text: nothing says which alarm fired');
  }
  const composite = json.AlarmRule !== undefined && json.AlarmRule !== null;
  return {
    name,
    state: readable(json.NewStateValue),
    reason: readable(json.NewStateReason),
    description: readable(json.AlarmDescription),
    time: readable(json.StateChangeTime),
    account: readable(json.AWSAccountId),
    region: parseArn(arn)?.region || readable(json.Region),
    arn,
    metric: composite ? undefined : readTrigger(json.Trigger),
    composite: composite ? { rule: readable(json.AlarmRule), children: childNames(arrayAt(json, 'TriggeringChildren')) } : undefined,
  };
}

/** `2.51 > 2.0`, `537 > band 531.4`, `no data (> 90.0)`: what the metric did against what it may do. */
function comparison(metric: MetricFacts | undefined, seen: Observation | undefined): string | undefined {
  const rule = metric?.operator !== undefined ? RELATIONS[metric.operator] : undefined;
  const relation = seen?.relation ?? rule;
  const threshold = seen?.threshold ?? metric?.threshold;
  const limit = relation !== undefined && threshold !== undefined ? `${relation} ${shortNumber(threshold)}` : undefined;
  if (seen?.noData) return limit ? `no data (${limit})` : 'no data';
  const value = seen?.values[0] !== undefined ? shortNumber(seen.values[0]) : undefined;
  if (seen && (seen.lower !== undefined || seen.upper !== undefined)) {
    if (value === undefined) return undefined;
    const n = Number(value);
    const lower = seen.lower !== undefined ? shortNumber(seen.lower) : undefined;
    const upper = seen.upper !== undefined ? shortNumber(seen.upper) : undefined;
    if (seen.negated) {
      if (lower !== undefined && upper !== undefined) return `${value} in band ${lower}..${upper}`;
      return upper !== undefined ? `${value} <= band ${upper}` : `${value} >= band ${lower}`;
    }
    if (upper !== undefined && (lower === undefined || n > Number(upper))) return `${value} > band ${upper}`;
    return `${value} < band ${lower}`;
  }
  if (value !== undefined && relation !== undefined && threshold !== undefined) {
    return `${value} ${seen?.negated ? NEGATED[relation] : relation} ${shortNumber(threshold)}`;
  }
  return limit ? `(${limit})` : undefined;
}

/** What is measured, richest first: `Latency p99`, `p99`; `Error rate = 100*m1/m2`, `Error rate`. */
function subjects(metric: MetricFacts | undefined): string[] {
  if (!metric) return [];
  const stat = metric.stat ? ` ${metric.stat}` : '';
  const out: string[] = [];
  if (metric.expression && metric.name) out.push(`${metric.name} = ${metric.expression}`, metric.name);
  else if (metric.expression) out.push(metric.expression);
  else if (metric.name) out.push(`${metric.name}${stat}`);
  if (metric.stat && !metric.expression) out.push(metric.stat);
  return out.map(oneLine).filter((s) => s !== '');
}

/** Line and priority of each part of an alarm's page (render-common.ts has the where-and-when ones). */
const LINE = { header: 0, what: 1, reason: 2, description: 4, rule: 5 } as const;
const PRIORITY = { state: 0, what: 1, reason: 2, name: 4, datapoints: 5, detail: 8, description: 9, rule: 10 } as const;
/** The shortest a name is cut to: shorter, two names hardly differ. */
const NAME_MIN = 24;
/** Characters of a name shown before the time and account have their turn (the rest of the room then lets it grow). */
const NAME_CAP = 48;
/** Shown when NewStateValue holds nothing readable: the page still names the alarm. */
const UNKNOWN_STATE = 'STATE?';

/** Alarm ARNs in a reason shrink to the alarm's name. */
const ALARM_ARNS = /arn:aws[\w-]*:cloudwatch:[\w-]+:\d{12}:alarm:([^\s,)]+)/g;

/** The page of an alarm (AlarmFacts from readAlarm, or from an EventBridge event). */
export function alarmPage(alarm: AlarmFacts, ctx: RenderContext): Page {
  const parts: Part[] = [
    { line: LINE.header, priority: PRIORITY.state, forms: [oneLine(alarm.state ?? UNKNOWN_STATE) || UNKNOWN_STATE], cut: 'end', minChars: 6, required: true },
    { line: LINE.header, priority: PRIORITY.name, forms: [oneLine(alarm.name)], cut: 'middle', minChars: NAME_MIN, cap: NAME_CAP, required: true },
  ];
  const seen = observe(alarm.reason);
  const metric = alarm.metric;
  const cmp = comparison(metric, seen);
  let explained = seen !== undefined;
  if (cmp !== undefined) {
    parts.push({ line: LINE.what, priority: PRIORITY.what, forms: [...subjects(metric).map((s) => `${s} ${cmp}`), cmp] });
    const count = seen?.of !== undefined && seen.breaching !== undefined ? `${seen.breaching}/${seen.of}` : seen?.noData ? undefined : metric?.datapoints;
    if (count) parts.push({ line: LINE.what, priority: PRIORITY.datapoints, forms: [`${count} datapoints`, count], joiner: ', ' });
    if (metric && metric.inputs.length > 0) parts.push({ line: LINE.what, priority: PRIORITY.detail, forms: [oneLine(metric.inputs.join(', '))], cut: 'end', joiner: '; ', minChars: 12 });
    if (metric?.band !== undefined && !seen) parts.push({ line: LINE.what, priority: PRIORITY.detail, forms: [`band ${oneLine(metric.band)}`], joiner: ', ' });
  }
  if (alarm.composite) {
    const children = alarm.composite.children.length > 0 ? alarm.composite.children : [...(alarm.reason ?? '').matchAll(ALARM_ARNS)].map((m) => m[1]);
    if (children.length > 0) {
      explained = true;
      const verb = alarm.state === 'ALARM' ? 'fired' : alarm.state === 'OK' ? 'cleared' : 'children';
      const names = children.map(oneLine);
      const short = names.map((n) => shortenMiddle(n, 24));
      parts.push({
        line: LINE.what,
        priority: PRIORITY.what,
        forms: [`${verb}: ${names.join(', ')}`, `${verb}: ${short.join(', ')}`, ...(names.length > 1 ? [`${verb}: ${short[0]} +${names.length - 1}`] : [])],
        cut: 'end',
        minChars: 16,
      });
    }
    if (alarm.composite.rule) parts.push({ line: LINE.rule, priority: PRIORITY.rule, forms: [`rule: ${oneLine(alarm.composite.rule)}`], cut: 'end', minChars: 16 });
  }
  if (!explained && alarm.reason) {
    // Not one of CloudWatch's sentences: its words are all there is to go by.
    parts.push({ line: LINE.reason, priority: PRIORITY.reason, forms: [oneLine(alarm.reason.replace(ALARM_ARNS, '$1'))], cut: 'end', minChars: 16 });
  }
  if (metric && metric.dimensions.length > 0) parts.push({ line: 3, priority: PRIORITY.detail, forms: [oneLine(metric.dimensions.join(','))], cut: 'middle', minChars: 10 });
  parts.push(...whereParts({ region: alarm.region, account: alarm.account, time: alarm.time }, ctx));
  if (alarm.description) parts.push({ line: LINE.description, priority: PRIORITY.description, forms: proseForms(alarm.description), cut: 'end', minChars: 24 });
  return { parts };
}
