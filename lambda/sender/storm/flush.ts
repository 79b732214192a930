import type { Incident } from '../../shared/incidents/items';
import { resolvedNotificationId } from '../../shared/incidents/keys';
import { markDigestUnreachable } from '../../shared/incidents/mark-unreachable';
import { DigestTimer, EARLY_TOLERANCE_MS, sendTimer } from '../../shared/incidents/timers';
import { maskAddress } from '../../shared/mask';
import { isUndeliveredStatus } from '../../shared/status';
import { FATE_CODE } from '../../shared/table/claims';
import { claimId, parentIdOf } from '../../shared/table/items';
import { recordDigestIncidents } from '../../shared/table/messages';
import { holdsAny, HeldText, StormWindow, StormWindows } from '../../shared/table/storm';
import type { Received, SendContext } from '../context';
import { buildMessage } from '../message-params';
import { logger } from '../observability';
import type { Notification } from '../parse-notification';
import { sendToRecipient } from '../recipient';
import { combine, Combined, RecipientResult } from '../results';
import { armDigest } from './arm';
import { DigestItem, digestText } from './digest-text';
import { labelOf } from './label';

/*
 * A digest timer fires: the window it names is re-read and, if it still
 * holds texts, they go out as one text and leave the window, which opens
 * again with that text as its one sent at once.
 *
 * - A window holding one text sends that text as it is, under its own send
 *   claim (recipient.ts): a redelivery of it, or of the timer, sends nothing
 *   twice. The window keeps a text's notification only when it was the
 *   first of its digest (storm.ts); a lone text held without it (it raced
 *   the fixing of the digest before it) goes as a digest of one.
 * - Otherwise the digest (`digest#<windowEndsAt>`, one send claim per
 *   address) names the held items: every held text's own claim is first
 *   written `sent` with the digest's id (ClaimStore.recordDigested), so a
 *   redelivered text never goes out again on its own, and a text that was
 *   claimed otherwise is left out. An incident's items make one line, from
 *   its state now: open (name and code), acknowledged (`acked`: ACK ALL
 *   covered a held page) or resolved (`resolved`; a resolve that came while
 *   the page was held, or is about to send its RESOLVED, is this line: the
 *   RESOLVED's claim is written with the digest too).
 * - Each held text's claim is its fate item (claims.ts): filed under its
 *   incident or notification, and given the digest's SID once Twilio
 *   accepted it; the digest's message item lists the open incidents it
 *   named (`incidentIds`), so that a digest that ends undelivered/failed
 *   counts as an undelivered page of each (status-callback/unreachable-page.ts).
 * - What a digest carries is fixed once, on the window item, by its first
 *   flush (StormWindows.fixDigest): a second flush of the same window (a
 *   timer delivered twice, a hold race's second timer) carries exactly that,
 *   and a text held in between waits for the next window.
 * - A timer for a window that has moved on, or holds nothing, does nothing.
 */

export interface FlushResult extends Combined {
  readonly recipients: readonly RecipientResult[];
}

const NOTHING: FlushResult = { outcome: 'done', progressed: false, recipients: [] };

/** The notification id a digest is claimed under (with the address, the claim is unique to one window). */
export const digestNotificationId = (windowEndsAt: number): string => `digest#${windowEndsAt}`;

const settledKinds = new Set<RecipientResult['kind']>(['sent', 'already', 'failed', 'unknown']);

export async function fireDigest(timer: DigestTimer, ctx: SendContext, received: Received): Promise<FlushResult> {
  const { address } = timer;
  const to = maskAddress(address);
  const left = timer.dueAt - Date.now();
  if (left > EARLY_TOLERANCE_MS) {
    if (!ctx.alertQueueUrl) throw new Error('a digest timer came early and ALERT_QUEUE_URL is not set to send it on');
    const delaySeconds = await sendTimer(ctx.alertQueueUrl, timer, Date.now());
    logger.info('digest timer not due yet: sent on', { to, dueAt: new Date(timer.dueAt).toISOString(), delaySeconds });
    return NOTHING;
  }
  if (left > 0) await new Promise((r) => setTimeout(r, left));
  const storm = ctx.settings.storm;
  const windows = new StormWindows(ctx.db, ctx.settings.tableName);
  const read = await windows.read(address);
  const seen = read && read.windowEndsAt === timer.dueAt && holdsAny(read) ? await windows.fixDigest(address, read, Date.now()) : undefined;
  if (!seen || !holdsAny(seen)) {
    logger.info('digest timer for a window already sent or empty: nothing to do', { to, dueAt: new Date(timer.dueAt).toISOString() });
    return NOTHING;
  }
  // Digests turned off since the texts were held: the window's texts still go, in one digest, and the window then ends.
  const windowMs = storm?.windowMs ?? 0;
  // A digest of one goes as it is when the window kept its notification (the first of its digest does: storm.ts).
  const only = seen.held.size === 1 && seen.extra.length === 0 ? [...seen.held][0] : undefined;
  const single = only?.[1].notification !== undefined ? { key: only[0], held: only[1], notification: only[1].notification } : undefined;
  const { result, sentKey } = single ? await sendAsItIs(single.key, single.held, single.notification, address, ctx, received) : await sendDigest(seen, address, ctx, received);
  if (!settledKinds.has(result.kind)) return { ...combine([result]), recipients: [result] };
  const after = await windows.closeWith(address, seen, sentKey, Date.now(), windowMs);
  // Texts held while the digest was on its way wait for the next window's.
  if (after && holdsAny(after)) {
    if (!ctx.alertQueueUrl) throw new Error('texts are held and ALERT_QUEUE_URL is not set to send their digest timer');
    await armDigest(windows, ctx.alertQueueUrl, address, after);
  }
  logger.info('storm window flushed', { to, held: seen.held.size + seen.extra.length, single: single !== undefined, result: result.kind });
  return { ...combine([result]), recipients: [result] };
}

async function sendAsItIs(key: string, held: HeldText, json: string, address: string, ctx: SendContext, received: Received): Promise<{ result: RecipientResult; sentKey: string }> {
  const notification = JSON.parse(json) as Notification;
  const result = await sendToRecipient({
    notification,
    notificationId: key,
    msg: buildMessage(notification, address, ctx.settings),
    ctx,
    received,
    ...(held.incidentId !== undefined ? { incidentId: held.incidentId } : {}),
    page: held.page,
  });
  return { result, sentKey: key };
}

async function sendDigest(seen: StormWindow, address: string, ctx: SendContext, received: Received): Promise<{ result: RecipientResult; sentKey: string }> {
  const digestId = digestNotificationId(seen.windowEndsAt);
  const now = Date.now();
  const held = [...seen.held].sort((a, b) => a[1].heldAt - b[1].heldAt);
  const mine = await Promise.all(held.map(([key, text]) => ctx.claims.recordDigested(key, address, digestId, { parentId: parentIdOf(key, text.incidentId) }, now, text.page ? text.incidentId : undefined)));
  // Held beyond what the window names (storm.ts MAX_HELD_ENTRIES): counted, and filed like the others.
  const extras = await Promise.all(seen.extra.map((e) => ctx.claims.recordDigested(e.key, address, digestId, { parentId: parentIdOf(e.key, e.incidentId) }, now, e.page ? e.incidentId : undefined)));
  const carriedExtras = seen.extra.filter((_, i) => extras[i]);
  const digested = [...held.filter((_, i) => mine[i]).map(([key]) => key), ...carriedExtras.map((e) => e.key)];
  const carried = held.filter((_, i) => mine[i]);
  const countedPages = carriedExtras.flatMap((e) => (e.page && e.incidentId !== undefined ? [e.incidentId] : []));
  const incidentIds = [...new Set([...carried.flatMap(([, text]) => (text.incidentId !== undefined ? [text.incidentId] : [])), ...countedPages])];
  const incidents = new Map<string, Incident>();
  for (const incident of await Promise.all(incidentIds.map((id) => ctx.incidents.incident(id)))) if (incident) incidents.set(incident.id, incident);

  const items: DigestItem[] = [];
  const lined = new Set<string>();
  for (const [, text] of carried) {
    const incident = text.incidentId !== undefined ? incidents.get(text.incidentId) : undefined;
    if (!incident) {
      items.push({ kind: 'text', name: nameOf(text) });
      continue;
    }
    if (lined.has(incident.id)) continue;
    lined.add(incident.id);
    const resolvedHeld = carried.some(([k, t]) => t.incidentId === incident.id && k === resolvedNotificationId(incident.id));
    let state: 'open' | 'acknowledged' | 'resolved' = incident.state;
    if (incident.state === 'resolved' && !resolvedHeld) {
      // Its RESOLVED is on its way: this line says it, so the RESOLVED's claim goes with the digest (unless it is out already).
      if (await ctx.claims.recordDigested(resolvedNotificationId(incident.id), address, digestId, { parentId: incident.id }, now)) digested.push(resolvedNotificationId(incident.id));
    }
    if (resolvedHeld) state = 'resolved';
    items.push({ kind: 'incident', name: incident.title, code: incident.code, state });
  }
  const text = digestText(items, carriedExtras.length, countedPages.some((id) => incidents.get(id)?.state === 'open'));
  const notification: Notification = { kind: 'text', text };
  const result = await sendToRecipient({
    notification,
    notificationId: digestId,
    msg: buildMessage(notification, address, ctx.settings),
    ctx,
    received,
    page: false,
  });
  if (settledKinds.has(result.kind)) {
    // The open incidents it paged: named, or counted in its `+N more`.
    const named = [...new Set([...lined, ...countedPages])].filter((id) => incidents.get(id)?.state === 'open');
    await recordDigestFate(digestId, address, digested, named, ctx);
  }
  return { result: { ...result, digestOf: carried.length + carriedExtras.length }, sentKey: digestId };
}

/** A held text's name in the digest: kept when it was held (an entry from before names were kept has its notification). */
const nameOf = (text: HeldText): string => text.label || (text.notification !== undefined ? labelOf(JSON.parse(text.notification) as Notification) : 'alert');

/**
 * The digest's send is settled (now, or on an earlier delivery of this
 * timer), and its texts' fates follow it, all before the window closes, so a
 * timer redelivered after a crash here writes them again:
 *
 * - Twilio accepted it: its texts' claims get its SID, and its message item
 *   the open incidents it named (messages.ts DIGEST_INCIDENTS_ATTRIBUTE). A
 *   status callback that came first (`undelivered`/`failed` already) found
 *   no incidents on the item: the digest's undelivered page is counted here.
 * - It got no SID (refused for good, or its outcome unknown: lookups could
 *   not tell): its texts' claims are settled with the digest's fate (recordDigestUnsent),
 *   and a refused digest is an undelivered page of each open incident it
 *   named, as a refused page of its own would be. An unknown one is left to
 *   the incident's scheduled escalation, as an unknown page is.
 */
async function recordDigestFate(digestId: string, address: string, digested: readonly string[], named: readonly string[], ctx: SendContext): Promise<void> {
  const claim = await ctx.claims.get(claimId(digestId, address));
  if (!claim) return;
  const now = Date.now();
  const sid = claim.messageSid;
  if (sid === undefined) {
    if (claim.state !== 'failed' && claim.state !== 'unknown') return;
    const errorCode = claim.errorCode ?? (claim.state === 'unknown' ? FATE_CODE.OUTCOME_UNKNOWN : 'unknown');
    await ctx.claims.recordDigestUnsent(digested, address, digestId, { state: claim.state, reason: claim.reason ?? claim.state, errorCode }, now);
    if (claim.state === 'failed') await undeliveredDigest(named, address, `failed ${errorCode}`, ctx, now);
    return;
  }
  const [, item] = await Promise.all([
    ctx.claims.recordDigestSid(digested, address, digestId, sid, now),
    named.length > 0 ? recordDigestIncidents(ctx.db, ctx.settings.tableName, sid, named, now) : undefined,
  ]);
  if (item?.status !== undefined && isUndeliveredStatus(item.status)) await undeliveredDigest(named, address, item.errorCode ? `${item.status} ${item.errorCode}` : item.status, ctx, now);
}

/**
 * A digest undelivered: markDigestUnreachable, the step the webhooks'
 * markPageUnreachable takes for one (each incident still open gets the
 * address as unreachable and an `unreachable` timer, which pages its
 * fallback or the next stage). Repeated (a redelivered timer), it adds
 * nothing, and the timer pages nothing twice. Without the alert queue it
 * throws rather than skip the timers as the webhooks do: the digest timer's
 * record is then retried.
 */
async function undeliveredDigest(incidentIds: readonly string[], address: string, detail: string, ctx: SendContext, now: number): Promise<void> {
  if (!ctx.alertQueueUrl) throw new Error('a digest ended undelivered and ALERT_QUEUE_URL is not set to send its escalation timers');
  await markDigestUnreachable(ctx.db, ctx.settings.tableName, ctx.alertQueueUrl, incidentIds, address, detail, now);
}
