import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { TwilioCredentials } from '../shared/credentials';
import { getMessagePage, listMessages, TwilioMessage } from '../shared/twilio-client';
import type { OutboundMessage } from './message-params';

/** Lambda's clock and Twilio's may disagree by this much. */
const CLOCK_SKEW_MS = 5_000;
/** Pages of Messages.json examined, newest first, before the lookup gives up undecided. */
const MAX_PAGES = 5;
const PAGE_SIZE = '100';

export class LookupUndecidedError extends Error {
  readonly name = 'LookupUndecidedError';
}

function createdAt(m: TwilioMessage): number {
  return m.date_created ? Date.parse(m.date_created) : Number.NaN;
}

/** What a template send leaves in the rendered body: every non-empty variable value. */
function templateValues(msg: OutboundMessage): string[] {
  const raw = msg.params.find(([k]) => k === 'ContentVariables')?.[1];
  if (raw === undefined) return [];
  try {
    return Object.values(JSON.parse(raw) as Record<string, string>).filter((v) => typeof v === 'string' && v !== '');
  } catch {
    return [];
  }
}

/**
 * After a crash (a pending claim whose lease expired), looks in the
 * account's message log for a message that the previous holder's request
 * created: same recipient and sender; the same body when a Body was sent,
 * else (a template) a body holding every variable value; created while the
 * claim was held (from its creation to its lease's end: no request of ours
 * runs past it). A candidate already recorded in the status table for
 * another notification is someone else's message.
 *
 * No date filter is sent: Twilio's DateSent filters on date_sent, which a
 * message still queued does not have yet.
 *
 * @returns the message, or undefined when Twilio holds none
 * @throws when Twilio cannot be asked (the caller decides later)
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
  const since = Date.parse(claim.createdAt) - CLOCK_SKEW_MS;
  const until = claim.leaseUntil + CLOCK_SKEW_MS;
  const values = msg.body === undefined ? templateValues(msg) : [];
  const query: Record<string, string> = { To: msg.to, PageSize: PAGE_SIZE };
  if (msg.from !== undefined) query.From = msg.from;
  const candidates: TwilioMessage[] = [];
  let page = await listMessages(credentials, query, deadline);
  for (let pages = 1; ; pages++) {
    // Twilio orders the list by date sent; a queued message has none yet. So
    // paging stops only at a page holding nothing created since the claim.
    const pageIsOlder = page.messages.length > 0 && page.messages.every((m) => createdAt(m) < since);
    for (const m of page.messages) {
      const t = createdAt(m);
      if (!(t >= since && t <= until)) continue;
      if (m.to !== msg.to) continue;
      if (m.direction !== undefined && !m.direction.startsWith('outbound')) continue;
      if (msg.from !== undefined && m.from !== msg.from) continue;
      if (msg.messagingServiceSid !== undefined && m.messaging_service_sid !== msg.messagingServiceSid) continue;
      if (msg.body !== undefined && m.body !== msg.body) continue;
      if (values.some((v) => !(m.body ?? '').includes(v))) continue;
      candidates.push(m);
    }
    if (pageIsOlder || !page.next_page_uri) break;
    if (pages >= MAX_PAGES) throw new LookupUndecidedError(`more than ${MAX_PAGES} pages of messages to this recipient since the claim`);
    page = await getMessagePage(credentials, page.next_page_uri, deadline);
  }
  candidates.sort((a, b) => createdAt(a) - createdAt(b));
  for (const m of candidates) {
    const { Item } = await db.send(
      new GetItemCommand({ TableName: tableName, Key: { id: { S: m.sid } }, ProjectionExpression: '#n', ExpressionAttributeNames: { '#n': 'notificationId' }, ConsistentRead: true }),
    );
    const owner = Item?.notificationId?.S;
    if (owner === undefined || owner === notificationId) return m;
  }
  return undefined;
}
