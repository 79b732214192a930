import { segmentCount, transliterate } from '../encoding';
import { oneLine, shortenMiddleGsm } from '../fit-text';

/*
 * The digest's text: one GSM-7 segment (160 characters) that names as many
 * held items as fit, in the order they were held, counts the rest, and
 * offers `ACK ALL` while any of them is still open:
 *
 *   `5 alerts: db-1-cpu (7K), api-5xx (3F) resolved, disk-full acked +2 more. Reply ACK ALL`
 *
 * Names are transliterated to GSM-7 (a character without a look-alike
 * becomes `?`), so a digest never turns into a 70-character UCS-2 segment.
 */

export type DigestItem =
  | { readonly kind: 'incident'; readonly name: string; readonly code: string; readonly state: 'open' | 'acknowledged' | 'resolved' }
  | { readonly kind: 'text'; readonly name: string };

/** Characters of one item's name: a long name must leave room for others. */
export const NAME_CHARS = 40;
const ACK_OFFER = '. Reply ACK ALL';

/** Characters of a name a held text keeps at each end: a digest line shows at most NAME_CHARS, cut in the middle. */
const KEPT_EACH_END = 60;

/**
 * What a held text keeps of its name (storm.ts `label`): one line, its
 * beginning and end, so the digest's middle cut (digestName) comes out as it
 * would from the whole name. Not cut here: the cut mark only becomes `...`
 * or `…` once the message's encoding is known.
 */
export function heldLabel(name: string): string {
  const clean = oneLine(name);
  const chars = [...clean];
  return chars.length <= 2 * KEPT_EACH_END ? clean : chars.slice(0, KEPT_EACH_END).join('') + chars.slice(-KEPT_EACH_END).join('');
}

/** A name as a digest line shows it: one line, GSM-7, at most NAME_CHARS. */
function digestName(name: string): string {
  const clean = oneLine(name);
  const gsm = transliterate(clean) ?? [...clean].map((ch) => transliterate(ch) ?? '?').join('');
  return shortenMiddleGsm(gsm, NAME_CHARS);
}

function line(item: DigestItem): string {
  const name = digestName(item.name);
  if (item.kind === 'text') return name;
  if (item.state === 'resolved') return `${name} resolved`;
  if (item.state === 'acknowledged') return `${name} acked`;
  return `${name} (${item.code})`;
}

/**
 * @param items the held items, one per incident or text, oldest first
 * @param uncounted texts held beyond what the window names: only counted
 * @param uncountedOpen some of those is the page of an incident still open (ACK ALL has something to do)
 */
export function digestText(items: readonly DigestItem[], uncounted: number, uncountedOpen = false): string {
  const total = items.length + uncounted;
  const offer = uncountedOpen || items.some((i) => i.kind === 'incident' && i.state === 'open') ? ACK_OFFER : '';
  const head = `${total} ${total === 1 ? 'alert' : 'alerts'}:`;
  const compose = (shown: number): string => {
    const names = items.slice(0, shown).map(line).join(', ');
    const more = total - shown;
    return `${head}${names ? ` ${names}` : ''}${more > 0 ? ` +${more} more` : ''}${offer}`;
  };
  let shown = 0;
  while (shown < items.length && segmentCount(compose(shown + 1)) === 1) shown++;
  return compose(shown);
}
