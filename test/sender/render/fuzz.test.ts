import { isGsm7, measure } from '../../../lambda/sender/encoding';
import { BODY_LIMIT, fitPage, fitWithHint, HINT_CHARS, Page, TEMPLATE_LIMIT } from '../../../lambda/sender/fit-text';
import { parseNotification, RenderSettings } from '../../../lambda/sender/parse-notification';
import { InvalidNotificationError } from '../../../lambda/sender/validate';
import { createPrng, Prng } from '../../support/prng';
import * as shape from './shapes';

/*
 * Seeded generated inputs: every notification shape of the corpus with its
 * texts replaced by generated ones (long, every script, emoji sequences,
 * escape characters, control characters, lone surrogates, URLs), rendered
 * for random budgets and hints. Whatever they hold, a text stays within its
 * segments, keeps its hint, and loses no letter to `?`.
 */

const PIECES: readonly string[] = [
  'db-1', 'checkout', 'latency', 'p99', 'ERROR', '5xx', '2.51', '-', '_', '.', ' ', ' ', ' ',
  '{', '}', '[', ']', '~', '^', '|', '€', '\\',
  'é', 'ü', 'ñ', 'ç', 'ã', 'ø', 'Ł', 'ő', 'ß', 'Æ',
  '“', '”', '’', '–', '—', '…', '\u00a0', '\u200b',
  'Платежи', 'ошибка', 'データベース', '東京', '高負荷', 'قاعدة', 'βάση', 'ΑΘΗΝΑ',
  '🔥', '🚨', '👍🏽', '👨‍👩‍👧', '🇯🇵', 'e\u0301',
  '\n', '\t', '\r\n', '\u2028', '\u0000', '\u001b[31m', '\ud800',
  'https://wiki.example.com/rb/api-latency', 'http://x.example/a?b=c&d=e',
];

function text(rnd: Prng, max = 120): string {
  const n = rnd.chance(0.05) ? rnd.int(200, 600) : rnd.int(0, max);
  let out = '';
  for (let i = 0; i < n; i++) out += rnd.pick(PIECES);
  return out;
}

/** Every string leaf of `value` replaced by a generated text with probability `p`. */
function scramble(value: unknown, rnd: Prng, p: number): unknown {
  if (typeof value === 'string') return rnd.chance(p) ? text(rnd) : value;
  if (Array.isArray(value)) return value.map((v) => scramble(v, rnd, p));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scramble(v, rnd, p)]));
  return value;
}

const SHAPES: readonly unknown[] = [
  shape.metricAlarm(),
  shape.percentileAlarm,
  shape.mathAlarm,
  shape.anomalyAlarm,
  shape.compositeAlarm,
  shape.okAlarm,
  shape.insufficientAlarm,
  shape.japaneseAlarm,
  shape.alarmStateChangeEvent,
  shape.compositeStateChangeEvent,
  shape.healthEvent,
  shape.guardDutyEvent,
  shape.securityHubEvent,
  shape.ecsTaskStoppedEvent,
  shape.codePipelineFailedEvent,
  shape.codeBuildFailedEvent,
  shape.backupFailedEvent,
  shape.ec2StateEvent,
  shape.codeStarNotification,
  shape.rdsEventNotification,
];

function hint(rnd: Prng): string | undefined {
  const r = rnd.next();
  if (r < 0.3) return undefined;
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';
  const code = Array.from({ length: rnd.int(1, r < 0.9 ? 4 : 8) }, () => rnd.pick([...alphabet])).join('');
  return `ACK ${code}`;
}

function settings(rnd: Prng): RenderSettings {
  return { allowUnicode: rnd.chance(0.3), alarmTextSegments: rnd.chance(0.6) ? 1 : rnd.int(2, 10), ...(rnd.chance(0.3) ? { accountAlias: text(rnd, 8) || 'prod' } : {}) };
}

const chars = (s: string) => [...s].length;

/** The invariants of one rendering of one page. */
function expectWithinBudget(page: Page, s: RenderSettings, replyHint: string | undefined, input: string): void {
  const sms = fitPage(page, { segments: s.alarmTextSegments, allowUnicode: s.allowUnicode }, replyHint);
  expect(sms.text.trim()).not.toBe('');
  expect(measure(sms.text)).toMatchObject({ encoding: sms.encoding, segments: sms.segments });
  expect(sms.segments).toBeLessThanOrEqual(s.alarmTextSegments);
  expect(chars(sms.text)).toBeLessThanOrEqual(BODY_LIMIT);
  if (sms.encoding === 'GSM-7') expect(isGsm7(sms.text)).toBe(true);
  // No letter becomes `?`: a question mark is only ever the publisher's own.
  if (!input.includes('?')) expect(sms.text).not.toContain('?');
  if (replyHint !== undefined) {
    expect(sms.text.endsWith(` ${replyHint}`)).toBe(true);
    if (replyHint.length <= HINT_CHARS) expect(sms.text).toBe(`${fitPage(page, { segments: s.alarmTextSegments, allowUnicode: s.allowUnicode }).text} ${replyHint}`);
  }
  const template = fitPage(page, { maxChars: TEMPLATE_LIMIT, oneLine: true }, replyHint).text;
  expect(chars(template)).toBeLessThanOrEqual(TEMPLATE_LIMIT);
  expect(template).not.toMatch(/[\r\n\t]| {4}/);
  expect(chars(fitPage(page, { maxChars: BODY_LIMIT }, replyHint).text)).toBeLessThanOrEqual(BODY_LIMIT);
}

test('800 generated notifications of every shape: each within its segments, hint kept, never a ?', () => {
  const rnd = createPrng(11);
  const kinds = new Map<string, number>();
  let refused = 0;
  for (let i = 0; i < 800; i++) {
    const published = scramble(rnd.pick(SHAPES), rnd, rnd.pick([0.1, 0.4, 0.9]));
    const message = JSON.stringify(published);
    const s = settings(rnd);
    let n;
    try {
      n = parseNotification({ message, topicArn: 'arn:aws:sns:us-east-1:123456789012:alerts' }, s);
    } catch (err) {
      // Only an alarm that nothing names (its name and ARN scrambled to blanks) may be refused.
      expect(err).toBeInstanceOf(InvalidNotificationError);
      refused++;
      continue;
    }
    kinds.set(n.kind, (kinds.get(n.kind) ?? 0) + 1);
    if (n.kind === 'alarm' || n.kind === 'event' || n.kind === 'json') {
      expect(measure(n.text).segments).toBeLessThanOrEqual(s.alarmTextSegments);
      expectWithinBudget(n.page, s, hint(rnd), message + (s.accountAlias ?? ''));
    }
  }
  expect(kinds.get('alarm')).toBeGreaterThan(200);
  expect(kinds.get('event')).toBeGreaterThan(200);
  expect(kinds.get('json')).toBeGreaterThan(10);
  expect(refused).toBeLessThan(40);
});

test('1,000 generated plain texts and envelope bodies: fitWithHint keeps them within the budget and the hint whole', () => {
  const rnd = createPrng(12);
  for (let i = 0; i < 1_000; i++) {
    const body = text(rnd, 400);
    const replyHint = hint(rnd);
    const segments = rnd.int(1, 10);
    const fitted = fitWithHint(body, replyHint, { segments });
    expect(measure(fitted).segments).toBeLessThanOrEqual(segments);
    if (replyHint !== undefined) expect(fitted.endsWith(` ${replyHint}`)).toBe(true);
    const whole = replyHint === undefined ? body : `${body} ${replyHint}`;
    if (measure(whole).segments <= segments && chars(whole) <= BODY_LIMIT) expect(fitted).toBe(whole);
    const variable = fitWithHint(body, replyHint, { maxChars: TEMPLATE_LIMIT });
    expect(chars(variable)).toBeLessThanOrEqual(TEMPLATE_LIMIT);
  }
});
