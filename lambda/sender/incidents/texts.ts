import { transliterate } from '../encoding';
import { shortenMiddle } from '../fit-text';

/*
 * The texts an incident adds: the reply hint `ACK <code>` that every page
 * ends with (message-params.ts fits the page around it: the hint is never
 * cut), and the one-line RESOLVED text.
 */

export const ackHint = (code: string): string => `ACK ${code}`;

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
  // Look-alikes keep the text GSM-7 (one segment); a name with no look-alike keeps its letters (UCS-2), never a `?`.
  const name = shortenMiddle(allowUnicode ? clean : (transliterate(clean) ?? clean), TITLE_BUDGET);
  return `RESOLVED ${name} after ${duration(Date.parse(resolvedAt) - Date.parse(openedAt))}`;
}
