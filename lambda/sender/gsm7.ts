/**
 * GSM 03.38 (GSM-7): the alphabet in which an SMS carries 160 characters.
 * One character outside it turns the whole message into UCS-2 (70 per
 * segment), so rendered alarm texts are folded into it.
 */
const BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
/** Escape-table characters: two septets each. */
const EXTENDED = '^{}\\[~]|€\f';

const BASIC_SET = new Set(BASIC);
const EXTENDED_SET = new Set(EXTENDED);

/** Look-alikes that commonly sneak into alarm names and reasons (typographic punctuation, spaces). */
const FOLD: Readonly<Record<string, string>> = {
  '\u2018': "'", '\u2019': "'", '\u201A': "'", '\u201B': "'", '\u2032': "'", '`': "'", '\u00B4': "'",
  '\u201C': '"', '\u201D': '"', '\u201E': '"', '\u2033': '"', '\u00AB': '"', '\u00BB': '"',
  '\u2010': '-', '\u2011': '-', '\u2012': '-', '\u2013': '-', '\u2014': '-', '\u2015': '-', '\u2212': '-',
  '\u2026': '...', '\u00A0': ' ', '\u2007': ' ', '\u2009': ' ', '\u200A': ' ', '\u202F': ' ', '\u3000': ' ', '\t': ' ',
  '\u00D7': 'x', '\u2264': '<=', '\u2265': '>=', '\u2260': '!=', '\u2022': '*', '\u00B7': '.', '\u00B0': 'deg',
  '\u00E1': 'a', '\u00E2': 'a', '\u00E3': 'a', '\u00E7': 'c', '\u00EA': 'e', '\u00EB': 'e', '\u00ED': 'i', '\u00EE': 'i',
  '\u00EF': 'i', '\u00F3': 'o', '\u00F4': 'o', '\u00F5': 'o', '\u00FA': 'u', '\u00FB': 'u', '\u00FD': 'y', '\u00FF': 'y',
  '\u00C1': 'A', '\u00C2': 'A', '\u00C0': 'A', '\u00C3': 'A', '\u00C8': 'E', '\u00CA': 'E', '\u00CD': 'I', '\u00D3': 'O',
  '\u00DA': 'U', '\u0131': 'i', '\u00B5': 'u',
};

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

/** Replaces every character outside GSM-7 by a look-alike, or `?` when it has none (emoji, CJK). */
export function foldToGsm7(text: string): string {
  let out = '';
  for (const ch of text.normalize('NFC')) {
    if (BASIC_SET.has(ch) || EXTENDED_SET.has(ch)) out += ch;
    else if (FOLD[ch] !== undefined) out += FOLD[ch];
    else if (/\p{M}/u.test(ch)) continue;
    else {
      // Letters with diacritics GSM-7 lacks: keep the base letter.
      const base = ch.normalize('NFD').replace(/\p{M}/gu, '');
      out += base.length > 0 && [...base].every((c) => BASIC_SET.has(c)) ? base : '?';
    }
  }
  return out;
}

/** SMS segments Twilio bills for this text: GSM-7 160 (153 per part), else UCS-2 70 (67 per part). */
export function segmentCount(text: string): number {
  if (isGsm7(text)) {
    const n = septets(text);
    return n <= 160 ? 1 : Math.ceil(n / 153);
  }
  return text.length <= 70 ? 1 : Math.ceil(text.length / 67);
}

/**
 * Shortens text to at most `budget` units (septets for GSM-7 text, UTF-16
 * code units otherwise), ending in `...` when anything was cut.
 */
export function truncate(text: string, budget: number): string {
  const gsm = isGsm7(text);
  const cost = (s: string) => (gsm ? septets(s) : s.length);
  if (cost(text) <= budget) return text;
  const ellipsis = '...';
  let out = '';
  let used = 0;
  for (const ch of text) {
    const c = gsm ? (EXTENDED_SET.has(ch) ? 2 : 1) : ch.length;
    if (used + c > budget - ellipsis.length) break;
    out += ch;
    used += c;
  }
  return out.trimEnd() + ellipsis;
}
