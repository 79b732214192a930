import { oneLine, Page, Part } from './fit-text';
import { isObject, readable, timeForms } from './render-common';

/**
 * Any JSON object as `key: value` lines, the telling fields first (a
 * message, an error, a state before ids, ids before times and links): how
 * an event nobody wrote a renderer for, or a JSON message that is neither
 * an alarm nor an envelope (an RDS event notification, an application's
 * own JSON), still pages someone with what it says.
 */

/** Fields read from one object: far more than any text shows, few enough to stay cheap whatever was published. */
const MAX_FIELDS = 40;
const MAX_DEPTH = 4;
/** The shortest cut of a value worth showing. */
const VALUE_MIN_CHARS = 10;

/** Lower is shown first. */
function rank(key: string, value: string): number {
  const k = key.toLowerCase();
  if (/^https?:\/\//.test(value)) return 5;
  if (/time|date/.test(k) || /[a-z]At$/.test(key)) return 4;
  if (/message|summary|title|subject|error|reason|alarm|alert|problem|issue|fail/.test(k)) return 0;
  if (/status|state|severity|level|priority|event|type|code|name/.test(k)) return 1;
  if (/description|detail|text|body/.test(k)) return 3;
  return 2;
}

/** The object's readable leaves as [dotted key, value], in document order. */
function leaves(value: unknown, key: string, depth: number, out: Array<[string, string]>): void {
  if (out.length >= MAX_FIELDS || depth > MAX_DEPTH) return;
  const scalar = readable(value);
  if (scalar !== undefined) {
    if (key !== '') out.push([key, scalar]);
    return;
  }
  if (Array.isArray(value)) {
    const scalars = value.map(readable).filter((v): v is string => v !== undefined);
    if (scalars.length === value.length && scalars.length > 0) out.push([key, scalars.join(', ')]);
    else value.slice(0, 5).forEach((v, i) => leaves(v, value.length === 1 ? key : `${key}.${i}`, depth + 1, out));
    return;
  }
  if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      leaves(v, key === '' ? k : `${key}.${k}`, depth + 1, out);
      if (out.length >= MAX_FIELDS) return;
    }
  }
}

/**
 * The fields of `obj` as parts, each on its own line from `line` on (in
 * rank order), with priorities from `priority` up; the first one required
 * when `required`.
 */
export function fieldParts(obj: Record<string, unknown>, line: number, priority: number, required: boolean): Part[] {
  const found: Array<[string, string]> = [];
  leaves(obj, '', 0, found);
  const ranked = found
    .map(([key, value], i) => ({ key: oneLine(key), value: oneLine(value), r: rank(key, value), i }))
    .filter((f) => f.key !== '' && f.value !== '')
    .sort((a, b) => a.r - b.r || a.i - b.i);
  return ranked.map((f, n) => {
    const times = f.r === 4 ? timeForms(f.value) : [];
    const values = times.length > 1 ? times : [f.value];
    return {
      line: line + (n + 1) / 1000,
      priority: priority + f.r + n / 1000,
      forms: values.map((v) => `${f.key}: ${v}`),
      // A time, a link: in one of its forms or not at all; other values cut, never into their key.
      ...(times.length > 1 || f.r === 5 ? {} : { cut: 'end' as const, minChars: [...f.key].length + 2 + VALUE_MIN_CHARS }),
      ...(required && n === 0 ? { required: true } : {}),
    };
  });
}

/** A JSON object that is neither an alarm, an event nor an envelope, as a page. */
export function jsonPage(obj: Record<string, unknown>): Page {
  return { parts: fieldParts(obj, 0, 0, true) };
}
