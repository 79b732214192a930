import { oneLine, Page, Part } from './fit-text';
import { AlarmFacts, alarmNameOfArn, childNames, readConfiguration } from './render-alarm';
import { arrayAt, isObject, parseArn, prop, proseForms, readable, RenderContext, resourceName, textAt, WHERE_LINE, whereParts } from './render-common';
import { fieldParts } from './render-fields';

/**
 * EventBridge events (a rule whose target is the alert topic, or AWS
 * CodeStar notifications, which spell `detailType`) as texts: readable
 * renderings for the events an on-call engineer is paged for, and a
 * generic one (detail-type, the telling detail fields, resources, region,
 * account, time) for any other. A CloudWatch alarm state change becomes
 * the same alarm text as CloudWatch's SNS notification.
 */

/** The envelope fields every event has. */
export interface EventFields {
  readonly detailType: string;
  readonly source: string;
  readonly account?: string;
  readonly region?: string;
  readonly time?: string;
  readonly resources: readonly string[];
  readonly detail: unknown;
  /** CodeStar notifications' `additionalAttributes` (the failed stage and actions of a pipeline). */
  readonly additional: unknown;
}

export type ReadEvent =
  | { readonly kind: 'alarm'; readonly alarm: AlarmFacts }
  | { readonly kind: 'event'; readonly detailType: string; readonly source: string; readonly page: Page };

/** An EventBridge event: `detail-type` (or CodeStar's `detailType`) and `source` as text, and a `detail`. */
export function isEventBridgeEvent(json: Record<string, unknown>): boolean {
  return readable(json['detail-type'] ?? json.detailType) !== undefined && readable(json.source) !== undefined && 'detail' in json;
}

function eventFields(json: Record<string, unknown>): EventFields {
  return {
    detailType: readable(json['detail-type'] ?? json.detailType)!,
    source: readable(json.source)!,
    account: readable(json.account),
    region: readable(json.region),
    time: readable(json.time),
    resources: arrayAt(json, 'resources').map(readable).filter((r): r is string => r !== undefined),
    detail: json.detail,
    additional: json.additionalAttributes,
  };
}

const LINE = { header: 0, what: 1, detail: 2, description: 4 } as const;

/** A part of an event page; `forms` cleaned, empty ones left out by the fitter. */
function part(line: number, priority: number, forms: Array<string | undefined>, extra: Partial<Part> = {}): Part[] {
  const clean = forms.filter((f): f is string => f !== undefined).map(oneLine).filter((f) => f !== '');
  return clean.length === 0 ? [] : [{ line, priority, forms: clean, ...extra }];
}

/** The header's first word(s), always shown, and what follows it. */
function header(tag: string, rest: Array<[priority: number, text: string | undefined, cut?: 'middle' | 'end']>): Part[] {
  return [
    { line: LINE.header, priority: 0, forms: [tag], required: true },
    ...rest.flatMap(([priority, text, cut]) => part(LINE.header, priority, [text], cut ? { cut, minChars: 12 } : {})),
  ];
}

function where(ev: EventFields, ctx: RenderContext, over: { region?: string; account?: string; time?: string } = {}): Part[] {
  return whereParts({ region: over.region ?? ev.region, account: over.account ?? ev.account, time: over.time ?? ev.time }, ctx);
}

/** A reasonData string holding JSON, read; undefined when it holds none. */
function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function cloudWatchAlarm(ev: EventFields): AlarmFacts | undefined {
  const d = ev.detail;
  const arn = ev.resources.find((r) => alarmNameOfArn(r) !== undefined);
  const name = textAt(d, 'alarmName') ?? alarmNameOfArn(arn);
  if (name === undefined) return undefined;
  const configuration = prop(d, 'configuration');
  const rule = textAt(configuration, 'alarmRule');
  const reasonData = parseJson(textAt(d, 'state', 'reasonData'));
  return {
    name,
    state: textAt(d, 'state', 'value'),
    reason: textAt(d, 'state', 'reason'),
    description: textAt(configuration, 'description'),
    time: textAt(d, 'state', 'timestamp') ?? ev.time,
    account: ev.account,
    region: parseArn(arn)?.region || ev.region,
    arn,
    metric: rule === undefined ? readConfiguration(configuration) : undefined,
    composite: rule === undefined ? undefined : { rule, children: childNames(arrayAt(reasonData, 'triggeringAlarms')) },
  };
}

function health(ev: EventFields, ctx: RenderContext): Part[] {
  const d = ev.detail;
  const descriptions = arrayAt(d, 'eventDescription');
  const description = descriptions.find((x) => textAt(x, 'language') === 'en_US') ?? descriptions[0];
  const entities = arrayAt(d, 'affectedEntities').map((e) => textAt(e, 'entityValue')).filter((e): e is string => e !== undefined);
  return [
    ...header('AWS Health', [
      [1, textAt(d, 'service')],
      [1, [textAt(d, 'eventTypeCategory'), textAt(d, 'statusCode')].filter(Boolean).join(' ') || undefined],
    ]),
    ...part(LINE.what, 2, [textAt(d, 'eventTypeCode')], { cut: 'end', minChars: 16 }),
    ...part(LINE.detail, 5, [entities.map(resourceName).join(', ') || undefined], { cut: 'end', minChars: 16 }),
    ...where(ev, ctx, { region: textAt(d, 'eventRegion'), time: textAt(d, 'startTime') }),
    ...part(LINE.description, 9, proseForms(textAt(description, 'latestDescription') ?? ''), { cut: 'end', minChars: 24 }),
  ];
}

/** GuardDuty's severity bands (Critical from 9.0, High 7.0–8.9, Medium 4.0–6.9, Low below). */
function severityLabel(severity: number): string {
  if (severity >= 9) return 'CRITICAL';
  if (severity >= 7) return 'HIGH';
  if (severity >= 4) return 'MEDIUM';
  return 'LOW';
}

/** The id of what a GuardDuty finding is about, whichever kind of resource it is. */
function guardDutyResource(resource: unknown): string | undefined {
  const id =
    textAt(resource, 'instanceDetails', 'instanceId') ??
    textAt(resource, 'accessKeyDetails', 'userName') ??
    textAt(resource, 'eksClusterDetails', 'name') ??
    textAt(resource, 'ecsClusterDetails', 'name') ??
    textAt(resource, 'rdsDbInstanceDetails', 'dbInstanceIdentifier') ??
    textAt(resource, 'lambdaDetails', 'functionName') ??
    textAt(arrayAt(resource, 's3BucketDetails')[0], 'name');
  const type = textAt(resource, 'resourceType');
  return [type, id].filter(Boolean).join(' ') || undefined;
}

function guardDuty(ev: EventFields, ctx: RenderContext): Part[] {
  const d = ev.detail;
  const severity = Number(textAt(d, 'severity'));
  return [
    ...header('GuardDuty', [[1, Number.isFinite(severity) ? `${severityLabel(severity)} ${severity}` : undefined]]),
    ...part(LINE.what, 1, [textAt(d, 'type')], { cut: 'end', minChars: 16 }),
    ...part(LINE.detail, 4, [guardDutyResource(prop(d, 'resource'))], { cut: 'middle', minChars: 16 }),
    ...where(ev, ctx, { region: textAt(d, 'region'), account: textAt(d, 'accountId'), time: textAt(d, 'updatedAt') }),
    // The title mostly repeats the type and the resource: after the account and time.
    ...part(LINE.description, 8, [textAt(d, 'title')], { cut: 'end', minChars: 16 }),
    ...part(LINE.description, 9, [textAt(d, 'description')], { cut: 'end', minChars: 24 }),
  ];
}

function securityHub(ev: EventFields, ctx: RenderContext): Part[] {
  const findings = arrayAt(ev.detail, 'findings').filter(isObject);
  const f = findings[0];
  const resource = arrayAt(f, 'Resources')[0];
  const compliance = textAt(f, 'Compliance', 'Status');
  return [
    ...header('Security Hub', [
      [1, textAt(f, 'Severity', 'Label')],
      [5, findings.length > 1 ? `+${findings.length - 1} more` : undefined],
    ]),
    ...part(LINE.what, 1, [textAt(f, 'Title')], { cut: 'end', minChars: 16 }),
    ...part(LINE.detail, 4, [[textAt(resource, 'Type'), textAt(resource, 'Id') && resourceName(textAt(resource, 'Id')!)].filter(Boolean).join(' ') || undefined], { cut: 'middle', minChars: 16 }),
    ...where(ev, ctx, { region: textAt(f, 'Region'), account: textAt(f, 'AwsAccountId'), time: textAt(f, 'UpdatedAt') }),
    ...part(LINE.description, 8, [compliance ? `compliance ${compliance}` : undefined]),
    ...part(LINE.description, 9, [textAt(f, 'Description')], { cut: 'end', minChars: 24 }),
  ];
}

/** `cluster/web` → `web`: the last path element of an ARN's resource. */
function lastName(arn: string | undefined): string | undefined {
  return arn === undefined ? undefined : resourceName(arn).split('/').pop();
}

function ecsTask(ev: EventFields, ctx: RenderContext): Part[] {
  const d = ev.detail;
  const stopCode = textAt(d, 'stopCode');
  const stopped = textAt(d, 'stoppedReason');
  const containers = arrayAt(d, 'containers')
    .filter((c) => (textAt(c, 'exitCode') !== undefined && textAt(c, 'exitCode') !== '0') || textAt(c, 'reason') !== undefined)
    .map((c) => [textAt(c, 'name'), textAt(c, 'exitCode') !== undefined ? `exit ${textAt(c, 'exitCode')}` : undefined].filter(Boolean).join(' ') + (textAt(c, 'reason') ? `: ${textAt(c, 'reason')}` : ''));
  return [
    ...header('ECS task', [
      [0, textAt(d, 'lastStatus')],
      [1, textAt(d, 'group'), 'middle'],
    ]),
    ...part(LINE.what, 1, [[stopCode, stopped].filter(Boolean).join(': ') || undefined], { cut: 'end', minChars: 16 }),
    ...part(LINE.detail, 2, [containers.join('; ') || undefined], { cut: 'end', minChars: 16 }),
    ...part(WHERE_LINE, 5, [lastName(textAt(d, 'clusterArn'))], { cut: 'middle', minChars: 12 }),
    ...where(ev, ctx),
    ...part(LINE.description, 8, [lastName(textAt(d, 'taskDefinitionArn'))], { cut: 'middle', minChars: 12 }),
  ];
}

function codePipeline(ev: EventFields, ctx: RenderContext): Part[] {
  const d = ev.detail;
  const failed = arrayAt(ev.additional, 'failedActions')[0];
  const stage = textAt(d, 'stage') ?? textAt(ev.additional, 'failedStage');
  const action = textAt(d, 'action') ?? textAt(failed, 'action');
  const step = [stage && `stage ${stage}`, action && `action ${action}`, textAt(d, 'type', 'provider')].filter(Boolean).join(' ');
  const info = textAt(failed, 'additionalInformation');
  return [
    ...header('CodePipeline', [
      [1, textAt(d, 'pipeline'), 'middle'],
      [0, textAt(d, 'state')],
    ]),
    ...part(LINE.what, 2, [[step, info].filter(Boolean).join(': ') || undefined], { cut: 'end', minChars: 16 }),
    // An id is whole or useless.
    ...part(LINE.detail, 8, [textAt(d, 'execution-id') && `execution ${textAt(d, 'execution-id')}`]),
    ...where(ev, ctx),
  ];
}

const FAILED_PHASE = new Set(['FAILED', 'FAULT', 'TIMED_OUT', 'STOPPED']);

function codeBuild(ev: EventFields, ctx: RenderContext): Part[] {
  const d = ev.detail;
  const info = prop(d, 'additional-information');
  const failed = arrayAt(info, 'phases').find((p) => FAILED_PHASE.has(textAt(p, 'phase-status') ?? ''));
  const context = arrayAt(failed, 'phase-context').map(readable).filter(Boolean).join('; ');
  const link = textAt(info, 'logs', 'deep-link');
  return [
    ...header('CodeBuild', [
      [1, textAt(d, 'project-name'), 'middle'],
      [0, textAt(d, 'build-status')],
    ]),
    ...part(LINE.what, 1, [failed ? [textAt(failed, 'phase-type'), context].filter(Boolean).join(': ') : undefined], { cut: 'end', minChars: 16 }),
    ...part(LINE.detail, 8, [textAt(info, 'build-number') && `build ${textAt(info, 'build-number')}`]),
    ...where(ev, ctx),
    ...part(LINE.description, 9, [link]),
  ];
}

function backup(ev: EventFields, ctx: RenderContext): Part[] {
  const d = ev.detail;
  const kind = ev.detailType.split(' ')[0];
  return [
    ...header(`${kind} job`, [
      [0, textAt(d, 'state') ?? textAt(d, 'status')],
      [1, textAt(d, 'resourceType')],
    ]),
    ...part(LINE.what, 1, [textAt(d, 'statusMessage')], { cut: 'end', minChars: 16 }),
    ...part(LINE.detail, 2, [textAt(d, 'resourceArn') && resourceName(textAt(d, 'resourceArn')!)], { cut: 'middle', minChars: 16 }),
    ...part(WHERE_LINE, 8, [textAt(d, 'backupVaultName') && `vault ${textAt(d, 'backupVaultName')}`], { cut: 'middle', minChars: 12 }),
    ...where(ev, ctx),
  ];
}

/** Any other event: its detail-type, the telling detail fields, its resources, its source and where and when. */
function generic(ev: EventFields, ctx: RenderContext): Part[] {
  return [
    { line: LINE.header, priority: 0, forms: [oneLine(ev.detailType)], cut: 'end', minChars: 12, required: true },
    ...(isObject(ev.detail) ? fieldParts(ev.detail, LINE.what, 1, false) : []),
    ...part(LINE.detail, 2.5, [ev.resources.map(resourceName).join(', ') || undefined], { cut: 'middle', minChars: 16 }),
    ...part(WHERE_LINE, 8, [ev.source]),
    ...where(ev, ctx),
  ];
}

type Renderer = (ev: EventFields, ctx: RenderContext) => Part[];

/** `source` and `detail-type` (a pattern) of the events with their own rendering. */
const RENDERERS: ReadonlyArray<readonly [string, RegExp, Renderer]> = [
  ['aws.health', /^AWS Health /, health],
  ['aws.guardduty', /^GuardDuty Finding$/, guardDuty],
  ['aws.securityhub', /^Security Hub Findings/, securityHub],
  ['aws.ecs', /^ECS Task State Change$/, ecsTask],
  ['aws.codepipeline', /^CodePipeline (Pipeline|Stage|Action) Execution State Change$/, codePipeline],
  ['aws.codebuild', /^CodeBuild Build State Change$/, codeBuild],
  ['aws.backup', /^(Backup|Copy|Restore) Job State Change$/, backup],
];

/** An EventBridge event (isEventBridgeEvent), read: a CloudWatch alarm's facts, or an event's page. */
export function readEvent(json: Record<string, unknown>, ctx: RenderContext): ReadEvent {
  const ev = eventFields(json);
  if (ev.source === 'aws.cloudwatch' && ev.detailType === 'CloudWatch Alarm State Change') {
    const alarm = cloudWatchAlarm(ev);
    if (alarm) return { kind: 'alarm', alarm };
  }
  const own = RENDERERS.find(([source, detailType]) => source === ev.source && detailType.test(ev.detailType));
  const parts = own && isObject(ev.detail) ? own[2](ev, ctx) : generic(ev, ctx);
  return { kind: 'event', detailType: ev.detailType, source: ev.source, page: { parts } };
}
