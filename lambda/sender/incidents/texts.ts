import { foldToGsm7, isGsm7, septets, truncate } from '../gsm7';
import { ALARM_TEXT_BUDGET } from '../render-alarm';
import { bodyLength, MAX_BODY_CHARS } from '../validate';

/*
 * The texts an incident adds: ` ACK <code>` at the end of every page, and
 * the one-line RESOLVED text. The hint is never cut: the page text is, so
 * that text and hint together keep the budget the text had alone (one
 * segment for an alarm, Twilio's 1,600 characters for an envelope body).
 */

export const ackHint = (code: string): string => ` ACK ${code}`;

/** Units as gsm7.truncate counts them: septets for GSM-7 text, UTF-16 code units otherwise. */
function cost(text: string): number {
  return isGsm7(text) ? septets(text) : text.length;
}

/** A rendered alarm text with the hint appended, cut (with `...`) where text and hint would exceed one alarm text's budget. */
export function alarmPageText(text: string, code: string, budget: number = ALARM_TEXT_BUDGET): string {
  const hint = ackHint(code);
  if (cost(text + hint) <= budget) return text + hint;
  return truncate(text, budget - cost(hint)) + hint;
}

/** An envelope body with the hint appended, cut (with `...`) where the two would exceed Twilio's 1,600 characters. */
export function bodyPageText(body: string, code: string): string {
  const hint = ackHint(code);
  if (bodyLength(body) + bodyLength(hint) <= MAX_BODY_CHARS) return body + hint;
  const keep = MAX_BODY_CHARS - bodyLength(hint) - 3;
  return [...body].slice(0, keep).join('').trimEnd() + '...' + hint;
}

/** Characters of the title in a RESOLVED text: it stays one segment. */
const TITLE_BUDGET = 100;

/** `14 min`, `2 h 5 min`: to the nearest minute, and at least one, so a short incident never reads `0 min`. */
export function duration(ms: number): string {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** `RESOLVED db-1-cpu-high after 14 min`. */
export function resolvedText(title: string, openedAt: string, resolvedAt: string, allowUnicode: boolean): string {
  const clean = title.replace(/\s+/g, ' ').trim();
  const name = truncate(allowUnicode ? clean : foldToGsm7(clean), TITLE_BUDGET);
  return `RESOLVED ${name} after ${duration(Date.parse(resolvedAt) - Date.parse(openedAt))}`;
}
