import { foldToGsm7, truncate } from './gsm7';

/** The fields of CloudWatch's alarm notification the text uses (metric, metric-math and composite alarms alike). */
export interface CloudWatchAlarmNotification {
  readonly AlarmName: string;
  readonly NewStateValue: string;
  readonly NewStateReason?: string;
  readonly StateChangeTime?: string;
  readonly AWSAccountId?: string;
  readonly AlarmArn?: string;
  readonly Region?: string;
  readonly AlarmRule?: string;
}

export function isAlarmNotification(json: Record<string, unknown>): json is Record<string, unknown> & CloudWatchAlarmNotification {
  return typeof json.AlarmName === 'string' && typeof json.NewStateValue === 'string';
}

/** One SMS segment in GSM-7. */
export const ALARM_TEXT_BUDGET = 160;
const NAME_BUDGET = 60;

const ALARM_ARN = /arn:aws[\w-]*:cloudwatch:[\w-]+:\d{12}:alarm:([^\s,)]+)/g;

/** `2026-11-27T15:41:42.123+0000` → `2026-11-27 15:41 UTC`; anything else unchanged. */
function formatTime(raw: string | undefined): string {
  if (!raw) return '';
  const t = Date.parse(raw.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (Number.isNaN(t)) return raw;
  return `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * The short text for a CloudWatch alarm notification:
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
  const region = alarm.AlarmArn?.split(':')[3] || alarm.Region || '';
  const name = truncate(clean(alarm.AlarmName), NAME_BUDGET);
  const header = `${clean(alarm.NewStateValue)} ${name}`;
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
