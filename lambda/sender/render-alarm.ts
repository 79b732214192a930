import { foldToGsm7, truncate } from './gsm7';
import { InvalidNotificationError } from './validate';

/**
 * The fields of CloudWatch's alarm notification the text uses (metric,
 * metric-math and composite alarms alike), as read from the JSON: a field
 * that holds no readable text is absent.
 */
export interface CloudWatchAlarmNotification {
  readonly AlarmName: string;
  readonly NewStateValue?: string;
  readonly NewStateReason?: string;
  readonly StateChangeTime?: string;
  readonly AWSAccountId?: string;
  readonly AlarmArn?: string;
  readonly Region?: string;
  readonly AlarmRule?: string;
}

/**
 * CloudWatch always sends both keys. Their values are not trusted here: a
 * publisher that puts a number or an object in them still means an alarm,
 * and readAlarm makes what it can of it.
 */
export function isAlarmNotification(json: Record<string, unknown>): boolean {
  return 'AlarmName' in json && 'NewStateValue' in json;
}

/** A value as one line of text: strings as they are, numbers and booleans spelled out; objects, arrays and null hold nothing readable. */
function readable(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() === '' ? undefined : v;
  if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') return String(v);
  return undefined;
}

const ARN_ALARM_NAME = /^arn:aws[\w-]*:cloudwatch:[\w-]*:\d*:alarm:(.+)$/;

/**
 * The alarm's fields with every wrong-typed value coerced or dropped, so
 * rendering can never throw. Only an alarm with nothing that names it (no
 * readable AlarmName, no alarm ARN) cannot be paged: nobody could act on it.
 *
 * @throws InvalidNotificationError when nothing names the alarm
 */
export function readAlarm(json: Record<string, unknown>): CloudWatchAlarmNotification {
  const arn = readable(json.AlarmArn);
  const name = readable(json.AlarmName) ?? arn?.match(ARN_ALARM_NAME)?.[1];
  if (name === undefined) {
    throw new InvalidNotificationError('a CloudWatch alarm notification whose "AlarmName" and "AlarmArn" hold no readable text: nothing says which alarm fired');
  }
  return {
    AlarmName: name,
    NewStateValue: readable(json.NewStateValue),
    NewStateReason: readable(json.NewStateReason),
    StateChangeTime: readable(json.StateChangeTime),
    AWSAccountId: readable(json.AWSAccountId),
    AlarmArn: arn,
    Region: readable(json.Region),
    // Only its presence matters (a composite alarm), whatever it holds.
    AlarmRule: json.AlarmRule === undefined || json.AlarmRule === null ? undefined : (readable(json.AlarmRule) ?? ''),
  };
}

/** One SMS segment in GSM-7. */
export const ALARM_TEXT_BUDGET = 160;
const NAME_BUDGET = 60;
/** Shown when NewStateValue holds nothing readable: the page still names the alarm. */
const UNKNOWN_STATE = 'STATE?';

const ALARM_ARN = /arn:aws[\w-]*:cloudwatch:[\w-]+:\d{12}:alarm:([^\s,)]+)/g;

/** `2026-11-27T15:41:42.123+0000` → `2026-11-27 15:41 UTC`; anything else unchanged. */
function formatTime(raw: string | undefined): string {
  if (!raw) return '';
  const t = Date.parse(raw.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (Number.isNaN(t)) return raw;
  return `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The region from an ARN's fourth field, when the ARN has one. */
function arnRegion(arn: string | undefined): string {
  return arn?.split(':')[3] ?? '';
}

/**
 * The short text for a CloudWatch alarm notification (as readAlarm returns it):
 *
 * ```
 * ALARM HighCPU-db-1
 * 123456789012 us-east-1 2026-11-27 15:41 UTC
 * Threshold Crossed: 1 out of the last 1 datapoints [95.2 ...
 * ```
 *
 * State and name first (what a glance at the lock screen needs), then where
 * and when, then the reason trimmed with `...` to keep the whole text in
 * one segment. Alarm ARNs in composite reasons shrink to the alarm's name.
 * Without allowUnicode, characters outside GSM-7 are folded to look-alikes,
 * so one stray smart quote cannot double the segments.
 */
export function renderAlarm(alarm: CloudWatchAlarmNotification, allowUnicode: boolean): string {
  const fold = (s: string) => (allowUnicode ? s : foldToGsm7(s));
  const clean = (s: string) => fold(s.replace(/\s+/g, ' ').trim());
  const region = arnRegion(alarm.AlarmArn) || alarm.Region || '';
  const name = truncate(clean(alarm.AlarmName), NAME_BUDGET);
  const header = `${clean(alarm.NewStateValue ?? UNKNOWN_STATE)} ${name}`;
  const where = [alarm.AWSAccountId ?? '', region, formatTime(alarm.StateChangeTime)].filter((s) => s !== '').map(clean).join(' ');
  let reason = (alarm.NewStateReason ?? '').replace(ALARM_ARN, '$1');
  if (alarm.AlarmRule !== undefined && reason !== '') reason = `Composite: ${reason}`;
  const lines = [header, where].filter((l) => l !== '');
  const used = truncate(lines.join('\n'), ALARM_TEXT_BUDGET);
  const reasonText = clean(reason);
  if (reasonText === '' || used.endsWith('...')) return used;
  // The budget counts septets for GSM-7 and code units for UCS-2, as truncate does.
  const candidate = `${used}\n${reasonText}`;
  return truncate(candidate, ALARM_TEXT_BUDGET);
}
