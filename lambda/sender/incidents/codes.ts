import { createHash } from 'node:crypto';

/*
 * Incident codes: what a person types after ACK. Short first (two
 * characters), longer only when the short ones are taken by live incidents.
 * The alphabet leaves out 0/O and 1/I/L, which read alike on a lock screen,
 * so every code is in [A-Z0-9] without being ambiguous.
 *
 * The candidates are derived from the incident id, so a redelivered opening
 * that crashed after reserving its code tries the same codes in the same
 * order and finds its own reservation first.
 */

const ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
/** Reply words a code must never be (the inbound handler reads them as commands). */
export const COMMAND_WORDS: ReadonlySet<string> = new Set(['ACK', 'ALL', 'STOP', 'START', 'YES', 'NO', 'HELP', 'END', 'QUIT', 'CANCEL', 'UNSTOP', 'STOPALL', 'UNSUBSCRIBE', 'INFO']);
/** Lengths tried in order: four candidates of two characters, four of three, then four-character ones (`ACK` and a 4-character code are the 8 characters every rendered page keeps room for). */
const LENGTHS = [2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4];

function code(incidentId: string, attempt: number, length: number): string {
  const digest = createHash('sha256').update(`${incidentId}:${attempt}`).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[digest[i] % ALPHABET.length];
  return out;
}

/** The codes to try for an incident, in order; none is a command word. */
export function codeCandidates(incidentId: string): string[] {
  return LENGTHS.map((length, attempt) => code(incidentId, attempt, length)).filter((c) => !COMMAND_WORDS.has(c));
}

export function isValidCode(value: string): boolean {
  return /^[A-Z0-9]{1,6}$/.test(value) && !COMMAND_WORDS.has(value);
}
