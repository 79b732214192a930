/*
 * How well a body Twilio keeps accounts for the body the sender sent.
 * Twilio does not always keep what it was given: a trial account prefixes
 * "Sent from your Twilio trial account - ", a Messaging Service may append
 * opt-out text, smart encoding replaces typographic characters by GSM-7
 * look-alikes, and Unicode or line endings may come back normalised. A
 * crash-recovery lookup that insists on equality then misses its own
 * message and pages twice. A long body may also come back cut short.
 *
 * Matching is graded, so the lookup can prefer the closest candidate; it
 * never forgives a changed letter or digit: two pages to one phone a minute
 * apart often differ by one digit ("CPU 95%" / "CPU 96%"), and taking the
 * other page for ours would lose ours.
 */

/** Grades of match, best last; NONE means "not this body". */
export const BODY_MATCH = {
  NONE: 0,
  /** Nothing to compare (a template without variables, media only): any body would do. */
  UNCHECKED: 1,
  /** The stored body is the start of the one sent, cut short but covering most of it. */
  TRUNCATED: 2,
  /** Every word sent is in the stored body, in order and contiguous, with a bounded amount of text added around it. */
  CONTAINED: 3,
  /** The same words: only punctuation, letter case, diacritics or look-alike characters differ. */
  SAME_WORDS: 4,
  /** The same text after Unicode (NFKC) and whitespace normalisation. */
  SAME_TEXT: 5,
  EXACT: 6,
} as const;
export type BodyMatch = (typeof BODY_MATCH)[keyof typeof BODY_MATCH];

/**
 * Most text (in skeleton characters) Twilio may add around a body: its trial
 * prefix is 38 characters, opt-out texts are a sentence. More than this is
 * another message that happens to contain ours.
 */
export const MAX_ADDED_CHARS = 160;

/**
 * A cut-short body counts only when it keeps most of the text, and a text
 * long enough that its start identifies it: a short stored body that begins
 * like ours is more likely another page ("db-1 down" / "db-1 down again").
 */
export const MIN_TRUNCATED_SHARE = 0.7;
export const MIN_TRUNCATED_CHARS = 40;

/** Letters that NFKD does not decompose, as smart encoding and transliteration spell them. */
const PLAIN_LETTERS: Readonly<Record<string, string>> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', ł: 'l', đ: 'd', ð: 'd', þ: 'th', ı: 'i' };

/** NFKC with every run of whitespace (line endings included) one space, trimmed. */
export function normalText(text: string): string {
  return text.normalize('NFKC').replace(/\s+/gu, ' ').trim();
}

/**
 * The words of a text: lower case, without diacritics, look-alikes folded
 * (NFKD: full-width forms, ligatures, superscripts), every run of anything
 * else (spaces, punctuation, symbols, emoji, GSM-7's `?`) one space.
 */
export function skeleton(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/[ßæœøłđðþı]/gu, (c) => PLAIN_LETTERS[c])
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== '')
    .join(' ');
}

/** `inner` within `outer` on word boundaries, with at most MAX_ADDED_CHARS around it. */
function containsWords(outer: string, inner: string): boolean {
  if (inner === '' || outer.length - inner.length > MAX_ADDED_CHARS) return false;
  return ` ${outer} `.includes(` ${inner} `);
}

/** `stored` is the start of `sent` (its last word possibly cut), keeping most of it. */
function isTruncation(sent: string, stored: string): boolean {
  return stored.length >= MIN_TRUNCATED_CHARS && stored.length >= sent.length * MIN_TRUNCATED_SHARE && sent.startsWith(stored);
}

/** The Body we posted, normalised once per lookup (every candidate is compared with it). */
export interface SentBody {
  readonly raw: string;
  readonly text: string;
  readonly words: string;
}

export function sentBody(sent: string): SentBody {
  return { raw: sent, text: normalText(sent), words: skeleton(sent) };
}

/** How well `stored` (Twilio's body) accounts for `sent` (the Body we posted). */
export function matchBody(sent: SentBody | string, stored: string): BodyMatch {
  const { raw, text: sentText, words: sentWords } = typeof sent === 'string' ? sentBody(sent) : sent;
  if (stored === raw) return BODY_MATCH.EXACT;
  const storedText = normalText(stored);
  if (storedText === sentText) return BODY_MATCH.SAME_TEXT;
  const storedWords = skeleton(stored);
  if (sentWords !== '') {
    if (storedWords === sentWords) return BODY_MATCH.SAME_WORDS;
    if (containsWords(storedWords, sentWords)) return BODY_MATCH.CONTAINED;
    return isTruncation(sentWords, storedWords) ? BODY_MATCH.TRUNCATED : BODY_MATCH.NONE;
  }
  // Nothing but symbols or emoji: the text itself must be there.
  return sentText !== '' && storedText.length - sentText.length <= MAX_ADDED_CHARS && storedText.includes(sentText) ? BODY_MATCH.CONTAINED : BODY_MATCH.NONE;
}

/**
 * A template send (ContentSid) is stored as the template's text with the
 * variables filled in, a text the sender never sees: every non-empty value
 * must appear in it, on word boundaries. No values: nothing to check.
 */
export function matchTemplate(values: readonly string[], stored: string): BodyMatch {
  const words = values.map(skeleton).filter((w) => w !== '');
  if (words.length === 0) return BODY_MATCH.UNCHECKED;
  const storedWords = ` ${skeleton(stored)} `;
  return words.every((w) => storedWords.includes(` ${w} `)) ? BODY_MATCH.CONTAINED : BODY_MATCH.NONE;
}
