import { Encoding, graphemes, isGsm7, measure, transliterate } from './encoding';

/**
 * Fitting a text into what a channel carries: so many SMS segments as
 * Twilio counts them, or so many characters (a WhatsApp template variable).
 *
 * A rendered page (an alarm, an event) is a list of parts with a priority;
 * the fitter keeps the most important ones, each in the richest form that
 * still fits (a name shortened in the middle, prose cut at a word, a URL
 * whole or not at all), and always leaves room for a reply hint such as
 * `ACK 7K` at the end, so a hint added later changes the text only by
 * itself.
 */

/** Twilio's limit for a message body (code points). */
export const BODY_LIMIT = 1600;
/** WhatsApp's limit for a template body, so for the variable that holds the whole text. */
export const TEMPLATE_LIMIT = 1024;
const UCS2_SINGLE = 70;
const UCS2_PART = 67;
/** A reply hint's room: this many characters and the space before it. */
export const HINT_CHARS = 8;

export interface TextBudget {
  /** SMS segments at most, as Twilio counts them. Absent: WhatsApp, where only characters count. */
  readonly segments?: number;
  /** Characters (code points) at most. Default Twilio's 1,600. */
  readonly maxChars?: number;
  /** SMS: keep characters outside GSM-7 even when they have a look-alike (the text then goes as UCS-2). */
  readonly allowUnicode?: boolean;
  /** No newline (a WhatsApp template variable): lines are joined by ` - `. */
  readonly oneLine?: boolean;
}

export interface FittedText {
  readonly text: string;
  readonly encoding: Encoding;
  readonly segments: number;
}

/** One piece of a page. */
export interface Part {
  /** The line it goes on; parts of one line keep their order in the page. */
  readonly line: number;
  /** Lower comes first: what survives a small budget. */
  readonly priority: number;
  /** Its forms, richest first, already on one line (`oneLine`). */
  readonly forms: readonly string[];
  /**
   * When no form fits, the first one cut to the room left: in the middle
   * (names, whose end tells two apart) or at the end (prose; a URL is kept
   * whole or left out).
   */
  readonly cut?: 'middle' | 'end';
  /** The shortest cut worth showing, in characters (the cut mark included). Default 8. */
  readonly minChars?: number;
  /** Always shown: placed before anything else in its shortest form, made richer at its priority. */
  readonly required?: boolean;
  /**
   * At most this many characters at its priority; whatever room is left
   * once every part had its turn then lets it grow whole. A long name gives
   * way to the time and account before it is shown in full.
   */
  readonly cap?: number;
  /** What joins it to the part before it on its line. Default a space. */
  readonly joiner?: string;
}

export interface Page {
  readonly parts: readonly Part[];
}

/**
 * Stands for an ellipsis until the encoding is known: `...` in GSM-7, `…`
 * otherwise. Parts never hold it (oneLine removes control characters).
 */
const CUT = '\u0000';
const DEFAULT_MIN_CHARS = 8;
const URL = /https?:\/\/[^\s<>"]+/g;

/**
 * A value as one clean line: whitespace runs (newlines, tabs, line
 * separators) become one space, control characters and lone surrogates
 * go, and it is trimmed.
 */
export function oneLine(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000e-\u001f\u007f-\u009f]/g, '')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A text as a WhatsApp template variable may hold it: no newline or tab, no run of four or more spaces. */
export function templateSafe(text: string): string {
  return text.replace(/[ \t]*[\r\n\t]+[ \t\r\n]*/g, ' - ').replace(/ {4,}/g, '   ');
}

/** The raw text (with CUT marks) as it is sent: transliterated into GSM-7 when that is allowed and possible. */
function finalize(raw: string, budget: TextBudget, verbatim: boolean): string {
  const plain = raw.replaceAll(CUT, '');
  if (isGsm7(plain)) return raw.replaceAll(CUT, '...');
  if (budget.segments !== undefined && !verbatim && !budget.allowUnicode) {
    const gsm = transliterate(plain);
    if (gsm !== undefined) return transliterate(raw.replaceAll(CUT, '...'))!;
  }
  return raw.replaceAll(CUT, '\u2026');
}

/** Characters (code points), as Twilio counts them for its limit. */
function chars(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function fits(text: string, budget: TextBudget): boolean {
  if (chars(text) > (budget.maxChars ?? BODY_LIMIT)) return false;
  if (budget.segments === undefined) return true;
  // No text of more UTF-16 units than this many UCS-2 parts hold fits, whatever its characters: spared the count.
  if (text.length > Math.max(UCS2_SINGLE, budget.segments * UCS2_PART) && !isGsm7(text)) return false;
  return measure(text).segments <= budget.segments;
}

/** Where names break: `prod-api_eu.west/1 x`. */
const SEPARATOR = /^[-_.:/\s]$/;

/** A text split once into what cuts work on: its graphemes and where its URLs are. */
interface Split {
  readonly text: string;
  /** The text's graphemes, as far as a cut can reach. */
  readonly g: readonly string[];
  /** `g` holds the whole text. */
  readonly whole: boolean;
  readonly spans: ReadonlyArray<[number, number]>;
}

/**
 * No budget holds more than BODY_LIMIT code points, so no cut keeps more
 * than this many UTF-16 units from either end: a longer text (a
 * description of 200 KB) is split only as far as a cut can reach.
 */
const REACH = BODY_LIMIT * 2;

function split(text: string, how: 'middle' | 'end'): Split {
  const reach = text.length <= 2 * REACH ? text : how === 'end' ? text.slice(0, REACH) : `${text.slice(0, REACH)}${text.slice(-REACH)}`;
  const g = graphemes(reach);
  return { text, g, whole: reach === text, spans: how === 'end' ? urlSpans(g) : [] };
}

/**
 * Graphemes up to `n` of them kept, cut in the middle: 40% of the start,
 * the rest from the end (where names that differ differ), each piece
 * ending or starting at a separator when one is near.
 */
function cutMiddle(g: readonly string[], n: number): string {
  const keep = n - 1;
  let head = Math.ceil(keep * 0.4);
  const tail = keep - head;
  if (!SEPARATOR.test(g[head] ?? '')) {
    for (let i = head - 1; i >= head - Math.floor(head / 3); i--) {
      if (SEPARATOR.test(g[i])) {
        head = i;
        break;
      }
    }
  }
  let start = g.length - tail;
  if (start > 0 && !SEPARATOR.test(g[start - 1])) {
    for (let i = start; i < start + Math.floor(tail / 3); i++) {
      if (SEPARATOR.test(g[i])) {
        start = i + 1;
        break;
      }
    }
  }
  return g.slice(0, head).join('').trimEnd() + CUT + g.slice(start).join('').trimStart();
}

/** Where each URL of the text starts and ends, in graphemes. */
function urlSpans(g: readonly string[]): Array<[number, number]> {
  const text = g.join('');
  if (!text.includes('://')) return [];
  const spans: Array<[number, number]> = [];
  // Grapheme index of each UTF-16 offset at a grapheme start.
  const at = new Map<number, number>();
  let offset = 0;
  g.forEach((s, i) => {
    at.set(offset, i);
    offset += s.length;
  });
  at.set(offset, g.length);
  for (const m of text.matchAll(URL)) {
    const start = at.get(m.index!);
    const end = at.get(m.index! + m[0].length);
    if (start !== undefined && end !== undefined) spans.push([start, end]);
  }
  return spans;
}

/**
 * Graphemes up to `n` kept from the start, never ending inside a URL, and
 * at a word's end when one ends in the second half of what is kept;
 * undefined when nothing would be left.
 */
function cutEnd(g: readonly string[], n: number, spans: ReadonlyArray<[number, number]>): string | undefined {
  let keep = n - 1;
  for (const [start, end] of spans) if (start < keep && keep < end) keep = start;
  if (keep < g.length && !/\s/.test(g[keep])) {
    let space = keep - 1;
    while (space > 0 && !/\s/.test(g[space])) space--;
    if (space >= keep / 2) keep = space;
  }
  const head = g.slice(0, keep).join('').replace(/[\s,;:]+$/, '');
  return head === '' ? undefined : head + CUT;
}

/** A cut of the text to `n` graphemes (CUT mark included): the text itself when it is that short, undefined when no such cut exists. */
function cutSplit(s: Split, n: number, how: 'middle' | 'end'): string | undefined {
  if (n >= s.g.length && s.whole) return s.text;
  if (n < 2) return undefined;
  const at = Math.min(n, s.g.length - 1);
  return how === 'middle' ? cutMiddle(s.g, at) : cutEnd(s.g, at, s.spans);
}

function cutTo(text: string, n: number, how: 'middle' | 'end'): string | undefined {
  return cutSplit(split(text, how), n, how);
}

/** `text` shortened in the middle to at most `n` characters (the cut mark included), or as it is when it is that short. */
export function shortenMiddle(text: string, n: number): string {
  return cutTo(text, n, 'middle') ?? text;
}

/** shortenMiddle for a text already known to be GSM-7: the cut mark is `...` now (at most `n` characters with it). */
export function shortenMiddleGsm(text: string, n: number): string {
  if ([...text].length <= n) return text;
  return (cutTo(text, n - 2, 'middle') ?? text).replaceAll(CUT, '...');
}

/**
 * The longest cut of `text` for which `ok` holds, from `min` to `max`
 * graphemes long. Cuts grow with n (give or take a word), so a binary
 * search finds it.
 */
function longestCut(text: string, how: 'middle' | 'end', min: number, ok: (s: string) => boolean, max = Number.POSITIVE_INFINITY): string | undefined {
  const s = split(text, how);
  const total = s.g.length;
  // Shorter than the shortest cut worth showing: whole or not at all.
  if (total <= min) return undefined;
  let lo = min;
  let hi = Math.min(total - 1, max, BODY_LIMIT);
  let best: string | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const cut = cutSplit(s, mid, how);
    if (cut !== undefined && ok(cut)) {
      best = cut;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

function cleanHint(hint: string | undefined): string {
  return hint === undefined ? '' : oneLine(hint);
}

/** What stands in for the hint while fitting: the hint, padded to HINT_CHARS, so every hint up to that length finds the same room. */
function hintProbe(hint: string): string {
  return ` ${hint.padEnd(HINT_CHARS, 'x')}`;
}

function compose(parts: readonly Part[], chosen: ReadonlyArray<string | undefined>, budget: TextBudget): string {
  const lines = new Map<number, string>();
  parts.forEach((p, i) => {
    const s = chosen[i];
    if (s === undefined) return;
    const line = lines.get(p.line);
    lines.set(p.line, line === undefined ? s : `${line}${p.joiner ?? ' '}${s}`);
  });
  return [...lines.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, s]) => s)
    .join(budget.oneLine ? ' - ' : '\n');
}

/**
 * The page as a text within the budget: required parts always, the others
 * in priority order while they fit, each in its richest form that fits.
 * The hint, when given, ends the text after a space; without one its room
 * is kept all the same.
 */
export function fitPage(page: Page, budget: TextBudget, replyHint?: string): FittedText {
  const parts = page.parts.filter((p) => p.forms.length > 0 && p.forms.every((f) => f !== ''));
  const hint = cleanHint(replyHint);
  const probe = hintProbe(hint);
  const chosen: Array<string | undefined> = parts.map(() => undefined);
  const render = (c: ReadonlyArray<string | undefined>) => finalize(compose(parts, c, budget) + probe, budget, false);
  const fitsWith = (i: number, s: string) => {
    const c = [...chosen];
    c[i] = s;
    return fits(render(c), budget);
  };

  parts.forEach((p, i) => {
    if (!p.required) return;
    const last = p.forms[p.forms.length - 1];
    chosen[i] = p.cut ? (cutTo(p.forms[0], p.minChars ?? DEFAULT_MIN_CHARS, p.cut) ?? last) : last;
  });
  const order = parts.map((p, i) => ({ p, i })).sort((a, b) => a.p.priority - b.p.priority || a.i - b.i);
  const enrich = (p: Part, i: number, cap: number | undefined) => {
    const form = p.forms.find((f) => (cap === undefined || chars(f) <= cap) && fitsWith(i, f));
    if (form !== undefined) chosen[i] = form;
    else if (p.cut) {
      const cut = longestCut(p.forms[0], p.cut, p.minChars ?? DEFAULT_MIN_CHARS, (s) => fitsWith(i, s), cap);
      if (cut !== undefined && (chosen[i] === undefined || chars(cut) > chars(chosen[i]!))) chosen[i] = cut;
    }
  };
  for (const { p, i } of order) enrich(p, i, p.cap);
  for (const { p, i } of order) if (p.cap !== undefined && chosen[i] !== undefined) enrich(p, i, undefined);

  let raw = compose(parts, chosen, budget);
  if (!fits(finalize(raw + probe, budget, false), budget)) {
    // Even the required parts at their shortest do not fit (a state or name thousands of characters long): cut the whole.
    raw = longestCut(raw, 'end', 1, (s) => fits(finalize(s + probe, budget, false), budget)) ?? CUT;
  }
  const text = finalize(raw + (hint === '' ? '' : ` ${hint}`), budget, false);
  const m = measure(text);
  return { text, encoding: m.encoding, segments: m.segments };
}

/**
 * `text` (sent as it is, no transliteration) with the hint after a space,
 * the text cut at its end (a URL whole or not at all) when both do not fit
 * the budget. Without a hint, a text that fits comes back unchanged.
 */
export function fitWithHint(published: string, replyHint: string | undefined, budget: TextBudget = {}): string {
  const hint = cleanHint(replyHint);
  const suffix = hint === '' ? '' : ` ${hint}`;
  if (fits(published + suffix, budget)) return published + suffix;
  // A NUL shows nothing on a phone, and in a cut it would read as the cut mark.
  const text = published.replaceAll(CUT, '');
  const cut = longestCut(text, 'end', 1, (s) => fits(finalize(s, budget, true) + suffix, budget)) ?? CUT;
  return finalize(cut, budget, true) + suffix;
}
