/**
 * SMS encodings as Twilio counts them (its segment calculator): GSM-7
 * (GSM 03.38) carries 160 septets in one segment, 153 per part of a longer
 * message, escape-table characters taking two septets and never split
 * across parts; any character outside GSM-7 makes the whole message UCS-2,
 * 70 UTF-16 units in one segment, 67 per part, a character never split.
 *
 * Texts the sender renders are transliterated into GSM-7 when every
 * character outside it has a faithful look-alike (typographic quotes,
 * dashes, accented Latin letters); a script that has none (Cyrillic, CJK,
 * Arabic, emoji) is sent as UCS-2, never as `?`.
 */

export type Encoding = 'GSM-7' | 'UCS-2';

export interface Measured {
  readonly encoding: Encoding;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  readonly units: number;
  /** Segments Twilio sends (and bills) for the text. */
  readonly segments: number;
}

const BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
/** Escape-table characters: two septets each. */
const EXTENDED = '^{}\\[~]|€\f';

const BASIC_SET = new Set(BASIC);
const EXTENDED_SET = new Set(EXTENDED);

const SINGLE_GSM7 = 160;
const PART_GSM7 = 153;
const SINGLE_UCS2 = 70;
const PART_UCS2 = 67;

/** Look-alikes that are not a base letter with marks (those are found by decomposition). */
const LOOK_ALIKE: Readonly<Record<string, string>> = {
  // quotes and primes
  '\u2018': "'", '\u2019': "'", '\u201A': "'", '\u201B': "'", '\u2032': "'", '`': "'", '\u00B4': "'", '\u02B9': "'", '\u02BB': "'", '\u02BC': "'", '\u02C8': "'",
  '\u201C': '"', '\u201D': '"', '\u201E': '"', '\u201F': '"', '\u2033': '"', '\u00AB': '"', '\u00BB': '"', '\u2039': '<', '\u203A': '>',
  // dashes, bullets, ellipsis
  '\u2010': '-', '\u2011': '-', '\u2012': '-', '\u2013': '-', '\u2014': '-', '\u2015': '-', '\u2212': '-', '\u2043': '-', '\u2022': '-',
  '\u2026': '...', '\u00B7': '.', '\u2027': '.',
  // spaces, and characters that show nothing
  '\u00A0': ' ', '\u2000': ' ', '\u2001': ' ', '\u2002': ' ', '\u2003': ' ', '\u2004': ' ', '\u2005': ' ', '\u2006': ' ', '\u2007': ' ', '\u2008': ' ',
  '\u2009': ' ', '\u200A': ' ', '\u202F': ' ', '\u205F': ' ', '\u3000': ' ', '\t': ' ',
  '\u200B': '', '\u200C': '', '\u200D': '', '\u2060': '', '\uFEFF': '', '\u00AD': '',
  // signs
  '\u00D7': 'x', '\u00F7': '/', '\u2044': '/', '\u2215': '/', '\u2264': '<=', '\u2265': '>=', '\u2260': '!=', '\u00B1': '+/-', '\u00B0': 'deg',
  '\u2192': '->', '\u2190': '<-', '\u21D2': '=>', '\u2122': 'TM', '\u00A9': '(c)', '\u00AE': '(R)', '\u00BD': '1/2', '\u00BC': '1/4', '\u00BE': '3/4',
  '\u00B5': 'u', '\u03BC': 'u', '\u00A2': 'c',
  // Latin letters that do not decompose
  '\u0141': 'L', '\u0142': 'l', '\u0110': 'D', '\u0111': 'd', '\u0126': 'H', '\u0127': 'h', '\u0131': 'i', '\u0152': 'OE', '\u0153': 'oe',
  '\u00DE': 'Th', '\u00FE': 'th', '\u00D0': 'D', '\u00F0': 'd', '\u017F': 's', '\u0192': 'f', '\u0138': 'k', '\u0140': 'l', '\u013F': 'L',
  // Greek capitals written like Latin ones (GSM-7 has the others)
  '\u0391': 'A', '\u0392': 'B', '\u0395': 'E', '\u0396': 'Z', '\u0397': 'H', '\u0399': 'I', '\u039A': 'K', '\u039C': 'M', '\u039D': 'N',
  '\u039F': 'O', '\u03A1': 'P', '\u03A4': 'T', '\u03A5': 'Y', '\u03A7': 'X',
};

const MARKS = /\p{M}/gu;

export function isGsm7(text: string): boolean {
  for (const ch of text) if (!BASIC_SET.has(ch) && !EXTENDED_SET.has(ch)) return false;
  return true;
}

/** Septets the text takes in GSM-7 (escape characters count two). Only meaningful when isGsm7(text). */
export function septets(text: string): number {
  let n = 0;
  for (const ch of text) n += EXTENDED_SET.has(ch) ? 2 : 1;
  return n;
}

/** The GSM-7 look-alike of one character outside GSM-7, or undefined when it has none. */
function lookAlike(ch: string): string | undefined {
  const direct = LOOK_ALIKE[ch];
  if (direct !== undefined) return direct;
  const code = ch.codePointAt(0)!;
  // Fullwidth ASCII (FF01–FF5E), as East Asian keyboards type it.
  if (code >= 0xff01 && code <= 0xff5e) {
    const ascii = String.fromCodePoint(code - 0xfee0);
    return isGsm7(ascii) ? ascii : LOOK_ALIKE[ascii];
  }
  if (/^\p{M}$/u.test(ch)) return '';
  const base = ch.normalize('NFD').replace(MARKS, '');
  if (base !== ch && base.length > 0 && isGsm7(base)) return base;
  return undefined;
}

/**
 * The text in GSM-7, every character outside it replaced by its look-alike;
 * undefined when some character has none: that text must go as UCS-2.
 */
export function transliterate(text: string): string | undefined {
  let out = '';
  for (const ch of text.normalize('NFC')) {
    if (BASIC_SET.has(ch) || EXTENDED_SET.has(ch)) out += ch;
    else {
      const alike = lookAlike(ch);
      if (alike === undefined) return undefined;
      out += alike;
    }
  }
  return out;
}

/**
 * What joins code points into one character: joiners, variation
 * selectors, combining marks, Hangul jamo, emoji skin tones, flags' regional
 * indicators, emoji tags. A text without them is its code points.
 */
const JOINING = /[\u200c\u200d\ufe00-\ufe0f\u20e3\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff\p{M}\u{1f3fb}-\u{1f3ff}\u{1f1e6}-\u{1f1ff}\u{e0020}-\u{e007f}\u{e0100}-\u{e01ef}]/u;
/** Hangul jamo compose by rules of their own: left to ICU's segmenter. */
const JAMO = /[\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff]/;
/** UAX #29 Extend and SpacingMark, but ZWJ. */
const EXT = '[\\p{M}\\u200c\\ufe00-\\ufe0f\\u20e3\\u{1f3fb}-\\u{1f3ff}\\u{e0020}-\\u{e007f}\\u{e0100}-\\u{e01ef}]';
const EXT_OR_ZWJ = `(?:${EXT}|\\u200d)`;
/**
 * One character: a control alone (CR and LF apart, as Twilio counts
 * them); a flag (two regional indicators); emoji joined by ZWJs (GB11); or
 * any code point with what extends it (GB9, GB9a).
 */
const CHARACTER = new RegExp(
  [
    '[\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]',
    `[\\u{1f1e6}-\\u{1f1ff}]{2}${EXT_OR_ZWJ}*`,
    `\\p{Extended_Pictographic}${EXT}*(?:\\u200d\\p{Extended_Pictographic}${EXT}*)*${EXT_OR_ZWJ}*`,
    `[^]${EXT_OR_ZWJ}*`,
  ].join('|'),
  'gu',
);

let segmenter: Intl.Segmenter | undefined;

/**
 * User-perceived characters (an emoji with its modifiers or joined to
 * others, a flag, a letter with its marks): Twilio never splits one across
 * segments. The rules of UAX #29 that such texts need, as one regular
 * expression (ICU's segmenter is slow enough to matter on every measure);
 * Hangul jamo go to ICU.
 */
export function graphemes(text: string): string[] {
  // Nothing joins code points (CR and LF are two, as Twilio counts them).
  if (!JOINING.test(text)) return [...text];
  if (JAMO.test(text)) {
    segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
    return [...segmenter.segment(text)].flatMap(({ segment }) => (segment === '\r\n' ? ['\r', '\n'] : [segment]));
  }
  return text.match(CHARACTER) ?? [];
}

/** Parts needed when each piece must stay whole: `costs` in units, `part` units per segment. */
function pack(costs: Iterable<number>, part: number): number {
  let segments = 1;
  let used = 0;
  for (const c of costs) {
    if (used + c > part && used > 0) {
      segments++;
      used = 0;
    }
    used += c;
  }
  return segments + Math.max(0, Math.ceil(used / part) - 1);
}

/** Code point costs in UTF-16 units, for a text where nothing joins code points (no allocation: measure runs on every fitting step). */
function* codePointUnits(text: string): Iterable<number> {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        yield 2;
        continue;
      }
    }
    yield 1;
  }
}

function* septetCosts(text: string): Iterable<number> {
  for (const ch of text) yield EXTENDED_SET.has(ch) ? 2 : 1;
}

/** The text as Twilio sends it: its encoding, its length in that encoding and its segments. */
export function measure(text: string): Measured {
  if (isGsm7(text)) {
    const units = septets(text);
    if (units <= SINGLE_GSM7) return { encoding: 'GSM-7', units, segments: 1 };
    return { encoding: 'GSM-7', units, segments: pack(septetCosts(text), PART_GSM7) };
  }
  const units = text.length;
  if (units <= SINGLE_UCS2) return { encoding: 'UCS-2', units, segments: 1 };
  const costs = JOINING.test(text) ? graphemes(text).map((g) => g.length) : codePointUnits(text);
  return { encoding: 'UCS-2', units, segments: pack(costs, PART_UCS2) };
}

/** SMS segments Twilio sends for this text. */
export function segmentCount(text: string): number {
  return measure(text).segments;
}
