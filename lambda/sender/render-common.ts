import { oneLine, Part } from './fit-text';

/**
 * Building blocks shared by the renderers of alarms and events: reading
 * values that may hold anything, and the parts every page ends with
 * (region, account, time).
 */

/** What rendering knows beyond the notification itself. */
export interface RenderContext {
  /** Shown instead of the account id of the account the alert topic lives in (SENDER_CONFIG.accountAlias). */
  readonly accountAlias?: string;
  /** The alert topic's account, from the SNS envelope's TopicArn; absent for a body sent straight to the queue. */
  readonly topicAccount?: string;
}

/** A value as text: strings (not blank) as they are, numbers and booleans spelled out; objects, arrays and null hold nothing readable. */
export function readable(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() === '' ? undefined : v;
  if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') return String(v);
  return undefined;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `o[key]`, or `o[Key]`: CloudWatch's SNS JSON capitalises what its EventBridge JSON does not. */
export function prop(o: unknown, key: string): unknown {
  if (!isObject(o)) return undefined;
  if (key in o) return o[key];
  const other = key[0] === key[0].toLowerCase() ? key[0].toUpperCase() + key.slice(1) : key[0].toLowerCase() + key.slice(1);
  return o[other];
}

/** A readable value at a path of keys (each tried in both capitalisations). */
export function textAt(o: unknown, ...path: string[]): string | undefined {
  let at: unknown = o;
  for (const key of path) at = prop(at, key);
  return readable(at);
}

export function arrayAt(o: unknown, ...path: string[]): unknown[] {
  let at: unknown = o;
  for (const key of path) at = prop(at, key);
  return Array.isArray(at) ? at : [];
}

const ARN = /^arn:aws[\w-]*:([\w-]*):([\w-]*):(\d*):(.+)$/;

export interface ArnFields {
  readonly service: string;
  readonly region: string;
  readonly account: string;
  /** What follows the account: `alarm:HighCPU`, `task/cluster/0123…`. */
  readonly resource: string;
}

export function parseArn(arn: string | undefined): ArnFields | undefined {
  const m = arn?.match(ARN);
  return m ? { service: m[1], region: m[2], account: m[3], resource: m[4] } : undefined;
}

/** An ARN as the resource it names (`arn:aws:ec2:…:volume/vol-1` → `volume/vol-1`); anything else as it is. */
export function resourceName(idOrArn: string): string {
  return parseArn(idOrArn)?.resource ?? idOrArn;
}

/**
 * A number as a phone shows it best: CloudWatch's own spelling when short
 * (`90.0`), else four significant digits, never fewer digits than the
 * integer part has (`225.71426732099445` → `225.7`, `123456.7` → `123457`).
 */
export function shortNumber(raw: string): string {
  const s = raw.trim();
  const v = Number(s);
  if (s === '' || !Number.isFinite(v) || s.length <= 6) return s;
  if (Math.abs(v) >= 1000) return String(Math.round(v));
  return String(Number(v.toPrecision(4)));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** Shapes of the times AWS sends: ISO 8601 (`…+0000` included) and RFC 1123 (AWS Health). */
const TIME_SHAPES = [/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/, /^[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}/];

/** A time as forms from richest to shortest: `27 Nov 15:41 UTC`, `15:41 UTC`; a value that is no time, as it is. */
export function timeForms(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const s = oneLine(raw);
  // A time without a zone is UTC (RDS event notifications): never the local time of whoever runs this.
  const zoned = /^\d{4}-\d{2}-\d{2}[T ][\d:.]+$/.test(s) ? `${s.replace(' ', 'T')}Z` : s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const t = TIME_SHAPES.some((shape) => shape.test(s)) ? Date.parse(zoned) : Number.NaN;
  if (Number.isNaN(t)) return s === '' ? [] : [s];
  const d = new Date(t);
  const hm = `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')} UTC`;
  return [`${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${hm}`, hm];
}

/** The account as the page names it: the alias for the topic's own account (or any, when the topic is unknown), else the id. */
export function accountLabel(account: string | undefined, ctx: RenderContext): string | undefined {
  if (ctx.accountAlias !== undefined && (account === undefined || ctx.topicAccount === undefined || account === ctx.topicAccount)) return ctx.accountAlias;
  return account;
}

export interface Where {
  readonly region?: string;
  readonly account?: string;
  readonly time?: string;
}

/** Line and priorities of the parts that say where and when. */
export const WHERE_LINE = 3;
export const PRIORITY = { region: 3, time: 6, account: 7 } as const;

/** The region, account and time parts of a page. */
export function whereParts(where: Where, ctx: RenderContext): Part[] {
  const parts: Part[] = [];
  const region = where.region === undefined ? undefined : oneLine(where.region);
  // A region is shown whole or not at all: `ap-nort…` tells nobody anything.
  if (region) parts.push({ line: WHERE_LINE, priority: PRIORITY.region, forms: [region] });
  const account = accountLabel(where.account === undefined ? undefined : oneLine(where.account), ctx);
  if (account) parts.push({ line: WHERE_LINE, priority: PRIORITY.account, forms: [oneLine(account)], cut: 'end' });
  const time = timeForms(where.time);
  if (time.length > 0) parts.push({ line: WHERE_LINE, priority: PRIORITY.time, forms: time, cut: time.length === 1 ? 'end' : undefined });
  return parts;
}

/** Forms of prose that may hold URLs: whole, then its URLs alone (a runbook link is worth more than half a sentence). */
export function proseForms(text: string): string[] {
  const whole = oneLine(text);
  const urls = whole.match(/https?:\/\/[^\s<>"]+/g) ?? [];
  const alone = urls.join(' ');
  return alone !== '' && alone !== whole ? [whole, alone] : [whole];
}
