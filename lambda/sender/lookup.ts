import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TwilioCredentials } from '../shared/credentials';
import { getMessagePage, listMessages, TwilioMessage } from '../shared/twilio-client';
import { notificationIdOf } from '../shared/table/messages';
import { BODY_MATCH, BodyMatch, matchBody, matchTemplate, SentBody, sentBody } from './body-match';
import type { OutboundMessage } from './message-params';

/** Lambda's clock and Twilio's may disagree by this much. */
const CLOCK_SKEW_MS = 5_000;
/**
 * Pages of Messages.json examined, newest first, before the lookup gives up
 * undecided, and their size: Twilio's largest page. A lookup reads every
 * message to the recipient from now back to the claim, those after its window
 * included (no filter can skip them, see findSentMessage), and it often runs
 * late: a deferred or redelivered record comes back through a busy queue. At
 * 100 a page, five pages were half a minute of a busy phone's messages, and
 * pages that never reached Twilio ended `unknown`, never sent.
 */
export const MAX_PAGES = 5;
export const PAGE_SIZE = 1000;
/** Best-ranked candidates whose owner is read from the table; more is a flood, not a crash to settle. */
const MAX_OWNER_READS = 25;
/** Owner reads in flight at once. */
const OWNER_READS_AT_ONCE = 5;

export class LookupUndecidedError extends Error {
  readonly name = 'LookupUndecidedError';
}

/** What the message created by our request must show in Twilio's log. */
export interface ExpectedMessage {
  readonly to: string;
  readonly from?: string;
  readonly messagingServiceSid?: string;
  /** The Body sent; absent for a template or media-only send. */
  readonly body?: string;
  /** `body`, normalised once for all candidates (expectedMessage sets it). */
  readonly sentBody?: SentBody;
  /** A ContentSid send: the variable values its rendered body holds. */
  readonly templateValues?: readonly string[];
  readonly mediaCount: number;
  /** Epoch ms: the creation window, clock skew included. */
  readonly since: number;
  readonly until: number;
}

function createdAt(m: TwilioMessage): number {
  return m.date_created ? Date.parse(m.date_created) : Number.NaN;
}

/** What a template send leaves in the rendered body: every non-empty variable value. */
function templateValues(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  try {
    return Object.values(JSON.parse(raw) as Record<string, unknown>).filter((v): v is string => typeof v === 'string' && v !== '');
  } catch {
    return [];
  }
}

/**
 * The message our request would have created. It can only have been created
 * while the claim was held by a request of ours: from the claim's creation
 * until its lease ends (no request runs past it) or until now, if the lease
 * still runs (a lookup straight after a 5xx).
 */
export function expectedMessage(msg: OutboundMessage, claim: { readonly createdAt: string; readonly leaseUntil: number }, now: number): ExpectedMessage {
  const param = (name: string) => msg.params.find(([k]) => k === name)?.[1];
  const isTemplate = param('ContentSid') !== undefined;
  return {
    to: msg.to,
    ...(msg.from !== undefined ? { from: msg.from } : {}),
    ...(msg.messagingServiceSid !== undefined ? { messagingServiceSid: msg.messagingServiceSid } : {}),
    ...(msg.body !== undefined ? { body: msg.body, sentBody: sentBody(msg.body) } : {}),
    ...(isTemplate ? { templateValues: templateValues(param('ContentVariables')) } : {}),
    mediaCount: msg.params.filter(([k]) => k === 'MediaUrl').length,
    since: Date.parse(claim.createdAt) - CLOCK_SKEW_MS,
    until: Math.min(claim.leaseUntil, now) + CLOCK_SKEW_MS,
  };
}

/**
 * How well a message in Twilio's log fits the one expected: NONE unless it
 * went to the same address, from the same sender (number or Messaging
 * Service), by the REST API, inside the creation window, with as many media
 * as were sent; then graded by how well its body accounts for ours.
 */
export function rankCandidate(expected: ExpectedMessage, m: TwilioMessage): BodyMatch {
  const t = createdAt(m);
  if (!(t >= expected.since && t <= expected.until)) return BODY_MATCH.NONE;
  if (m.to !== expected.to) return BODY_MATCH.NONE;
  if (m.direction !== undefined && m.direction !== 'outbound-api') return BODY_MATCH.NONE;
  if (expected.from !== undefined && m.from !== expected.from) return BODY_MATCH.NONE;
  if (expected.messagingServiceSid !== undefined && m.messaging_service_sid !== expected.messagingServiceSid) return BODY_MATCH.NONE;
  const stored = m.body ?? '';
  if (expected.templateValues !== undefined) return matchTemplate(expected.templateValues, stored);
  // A template may carry a media header, so only direct sends are held to their MediaUrl count.
  if (m.num_media !== undefined && m.num_media !== null && Number(m.num_media) !== expected.mediaCount) return BODY_MATCH.NONE;
  if (expected.body !== undefined) return matchBody(expected.sentBody ?? expected.body, stored);
  return stored === '' ? BODY_MATCH.EXACT : BODY_MATCH.UNCHECKED;
}

/**
 * Looks in the account's message log for a message that a request made
 * under this claim created: after a crash (a pending claim whose lease
 * expired), or after an answer that does not prove no message exists.
 * Matching is on what Twilio keeps reliably (rankCandidate): the address,
 * the sender, the creation window, the direction and the media count, and
 * a body that accounts for ours even when Twilio changed it (body-match.ts).
 *
 * Several may fit (another notification's page to the same phone in the
 * same minute): a message already recorded for this notification wins;
 * else the best body match, earliest first; a message recorded in the
 * status table for another notification is never taken. What matching
 * cannot tell apart: a page of ours that never reached Twilio, and another
 * sender's unrecorded message to the same phone in the same lease whose
 * text wholly contains ours (body-match.ts bounds the text around it).
 *
 * One list request per page of PAGE_SIZE, at most MAX_PAGES. No date filter is sent:
 * Twilio's DateSent filters on date_sent, which a queued message lacks.
 *
 * @returns the message, or undefined when Twilio holds none
 * @throws when Twilio cannot be asked, or the log is too long to decide (the caller decides later)
 */
export async function findSentMessage(
  db: DynamoDBClient,
  tableName: string,
  credentials: TwilioCredentials,
  msg: OutboundMessage,
  notificationId: string,
  claim: { readonly createdAt: string; readonly leaseUntil: number },
  deadline: number,
): Promise<TwilioMessage | undefined> {
  const expected = expectedMessage(msg, claim, Date.now());
  const query: Record<string, string> = { To: msg.to, PageSize: String(PAGE_SIZE) };
  if (msg.from !== undefined) query.From = msg.from;
  const candidates: Array<{ readonly m: TwilioMessage; readonly grade: BodyMatch }> = [];
  let page = await listMessages(credentials, query, deadline);
  for (let pages = 1; ; pages++) {
    // Twilio orders the list by date sent; a queued message has none yet. So
    // paging stops only at a page holding nothing created since the claim.
    const pageIsOlder = page.messages.length > 0 && page.messages.every((m) => createdAt(m) < expected.since);
    for (const m of page.messages) {
      const grade = rankCandidate(expected, m);
      if (grade !== BODY_MATCH.NONE) candidates.push({ m, grade });
    }
    if (pageIsOlder || !page.next_page_uri) break;
    if (pages >= MAX_PAGES) throw new LookupUndecidedError(`more than ${MAX_PAGES * PAGE_SIZE} messages to this recipient since the claim`);
    page = await getMessagePage(credentials, page.next_page_uri, deadline);
  }
  candidates.sort((a, b) => b.grade - a.grade || createdAt(a.m) - createdAt(b.m));

  const ranked = candidates.slice(0, MAX_OWNER_READS).map(({ m }) => m);
  const owners: Array<string | undefined> = [];
  for (let i = 0; i < ranked.length; i += OWNER_READS_AT_ONCE) {
    owners.push(...(await Promise.all(ranked.slice(i, i + OWNER_READS_AT_ONCE).map((m) => notificationIdOf(db, tableName, m.sid)))));
  }
  const found = ranked.find((_, i) => owners[i] === notificationId) ?? ranked.find((_, i) => owners[i] === undefined);
  if (found === undefined && candidates.length > ranked.length) {
    throw new LookupUndecidedError(`${candidates.length} messages to this recipient fit the claim; the best ${ranked.length} belong to other notifications`);
  }
  return found;
}
