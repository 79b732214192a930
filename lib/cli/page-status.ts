import { unmarshall } from '@aws-sdk/util-dynamodb';
import { Incident, incidentKeyParentId, readIncident, TimelineEvent } from '../../lambda/shared/incidents/items';
import { codeId, incidentIdOf, isIncidentId, noticeId, pointerId, repeatNotificationId, resolvedNotificationId, stageNotificationId } from '../../lambda/shared/incidents/keys';
import { maskAddress } from '../../lambda/shared/mask';
import { DIGEST_NOT_ACCEPTED, Fate, readFate } from '../../lambda/shared/table/fates';
import { claimId, failedNotificationId, KIND, notificationParentId } from '../../lambda/shared/table/items';
import type { OperatorRecord } from '../private/operator-record';
import { arnParts } from './deployment';
import { CliError, EXIT } from './errors';
import { Item, StatusTable } from './table';

/** One line of a timeline: when, what, and about whom. */
export interface Row {
  /** ISO 8601. */
  readonly at: string;
  readonly step: string;
  readonly note: string;
  readonly more?: readonly string[];
}

export interface MessageView {
  readonly sid: string;
  readonly to: string;
  readonly channel: string;
  readonly status: string;
  readonly errorCode?: string;
  readonly notificationId?: string;
  readonly incidentId?: string;
}

export interface RecipientView {
  readonly recipient: string;
  /** The claim's state (`sent` with its message), or a send's fate without a SID: `failed`, `unknown`. */
  readonly state: string;
  readonly reason?: string;
  /** Of a send without a SID: Twilio's error code or the project's (`invalid-recipient`, `opted-out`, `outcome-unknown`, …). */
  readonly errorCode?: string;
  /** The notification it was sent for (an incident's pages span several: stages, repeats, RESOLVED). */
  readonly notificationId?: string;
  readonly message?: MessageView;
  /** Sent inside a storm digest: `message` is the digest's (when Twilio accepted it). */
  readonly inDigest?: boolean;
}

export type PageReport =
  | { readonly kind: 'incident'; readonly incident: Incident; readonly dropped: number; readonly rows: readonly Row[]; readonly recipients: readonly RecipientView[] }
  | { readonly kind: 'message'; readonly message: MessageView; readonly rows: readonly Row[] }
  | { readonly kind: 'notification'; readonly notificationId: string; readonly recipients: readonly RecipientView[]; readonly refused?: string; readonly notice?: { readonly outcome: string; readonly incidentId?: string } };

const MESSAGE_SID = /^(SM|MM)[0-9a-fA-F]{32}$/;
const INCIDENT_CODE = /^[A-Z0-9]{1,6}$/;
const str = (item: Item | undefined, key: string): string | undefined => item?.[key]?.S;
const channelOf = (to: string) => (to.startsWith('whatsapp:') ? 'WhatsApp' : 'SMS');

function messageView(item: Item): MessageView {
  const to = str(item, 'to') ?? '';
  return {
    sid: str(item, 'id') ?? '',
    to,
    channel: str(item, 'channel') ?? channelOf(to).toLowerCase(),
    status: str(item, 'status') ?? 'unknown',
    ...(str(item, 'errorCode') ? { errorCode: str(item, 'errorCode') } : {}),
    ...(str(item, 'notificationId') ? { notificationId: str(item, 'notificationId') } : {}),
    ...(str(item, 'incidentId') ? { incidentId: str(item, 'incidentId') } : {}),
  };
}

interface HistoryEntry {
  readonly status: string;
  readonly at: string;
  readonly source: string;
  readonly errorCode?: string;
}

function historyOf(item: Item): HistoryEntry[] {
  const { history } = unmarshall({ history: item.history ?? { L: [] } }) as { history: HistoryEntry[] };
  return history.filter((h) => typeof h.at === 'string').sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

/** A message's status changes: the sender's (Twilio's API answer) and each status callback. */
function messageRows(item: Item, callbacksOnly: boolean): Row[] {
  const to = maskAddress(str(item, 'to'));
  return historyOf(item)
    .filter((h) => !callbacksOnly || h.source !== 'api')
    .map((h) => ({ at: h.at, step: h.status, note: `${to}, ${h.source === 'api' ? "Twilio's answer to the sender" : 'status callback'}${h.errorCode ? `, error ${h.errorCode}` : ''}` }));
}

function eventRow(e: TimelineEvent, incident: Incident): Row {
  const who = e.by ? maskAddress(e.by) : '';
  const stage = (e.stage ?? 0) + 1;
  const seconds = Math.round((Date.parse(e.at) - Date.parse(incident.openedAt)) / 1000);
  switch (e.event) {
    case 'opened':
      return { at: e.at, step: 'opened', note: `code ${incident.code}` };
    case 'paged':
      return { at: e.at, step: 'paged', note: e.stage !== undefined ? `stage ${stage} → ${who} (${channelOf(e.by ?? '')})` : `${who} (${channelOf(e.by ?? '')})` };
    case 'escalated':
      return { at: e.at, step: 'escalated', note: e.detail === 'unreachable' ? `stage ${stage} at once: nobody of the stage before can be reached` : `stage ${stage}: nobody acknowledged in ${seconds} s` };
    case 'acknowledged':
      return { at: e.at, step: 'acknowledged', note: `by ${who}` };
    case 'resolved':
      return { at: e.at, step: 'resolved', note: e.detail ? `by notification ${e.detail}` : '' };
    case 'repeated':
      return { at: e.at, step: 'repeated', note: `repeat ${e.detail ?? ''} to everyone paged`.replace('  ', ' ') };
    case 'unreachable':
      return { at: e.at, step: 'unreachable', note: [who, e.detail].filter(Boolean).join(': ') };
    case 'repeat-alarm':
      return { at: e.at, step: 'repeat alarm', note: 'the alarm fired again while the incident was live' };
    case 'state-change':
      return { at: e.at, step: 'state change', note: `the alarm went to ${e.detail ?? '?'}` };
    default:
      return { at: e.at, step: e.event, note: [who, e.detail].filter(Boolean).join(' ') };
  }
}

/** The digest messages of the digested texts among `children` (one BatchGetItem): their status is those texts'. */
async function digestMessages(table: StatusTable, children: readonly Item[]): Promise<Map<string, Item>> {
  const sids = children.map(readFate).flatMap((f) => (f?.digest?.sid !== undefined ? [f.digest.sid] : []));
  return sids.length > 0 ? table.getMany([...new Set(sids)]) : new Map();
}

/** What a fate item says of its recipient: a message's status, a digest's, or why a send got no SID. */
/** The digest message a digested text went out in, if Twilio accepted it and it was read. */
const digestOf = (f: Fate, digests: ReadonlyMap<string, Item>): Item | undefined => (f.digest?.sid !== undefined ? digests.get(f.digest.sid) : undefined);

/** A digested text whose digest got no SID: its claim carries the digest's fate (`failed` / `unknown`). */
const digestUnsent = (f: Fate, digest: Item | undefined): boolean => digest === undefined && f.status !== DIGEST_NOT_ACCEPTED;

/** How a digested text went, for its timeline row. */
function digestNote(f: Fate & { readonly digest: NonNullable<Fate['digest']> }, digest: Item | undefined): string {
  if (digest) return `sent in digest ${f.digest.sid}`;
  if (!digestUnsent(f, digest)) return `sent in digest ${f.digest.id} (not accepted yet)`;
  return f.status === 'unknown' ? `its digest ${f.digest.id}'s outcome is unknown` : `its digest ${f.digest.id} was not sent`;
}

function recipientView(f: Fate, item: Item, digests: ReadonlyMap<string, Item>): RecipientView {
  if (f.digest) {
    const digest = digestOf(f, digests);
    const unsent = digestUnsent(f, digest);
    return {
      recipient: f.to ?? '',
      state: digest ? 'sent in digest' : unsent ? f.status : `in digest ${f.digest.id}, not accepted by Twilio yet`,
      ...(unsent && f.reason ? { reason: f.reason } : {}),
      ...(unsent && f.errorCode ? { errorCode: f.errorCode } : {}),
      inDigest: true,
      ...(f.notificationId ? { notificationId: f.notificationId } : {}),
      ...(digest ? { message: messageView(digest) } : {}),
    };
  }
  return {
    recipient: f.to ?? '',
    state: f.kind === 'message' ? 'sent' : f.status,
    ...(f.kind !== 'message' && f.reason ? { reason: f.reason } : {}),
    ...(f.kind !== 'message' && f.errorCode ? { errorCode: f.errorCode } : {}),
    ...(f.notificationId ? { notificationId: f.notificationId } : {}),
    ...(f.kind === 'message' ? { message: messageView(item) } : {}),
  };
}

/** A send that never got a SID, as a timeline row. */
function fateRow(f: Fate): Row {
  return { at: f.updatedAt ?? f.createdAt, step: f.status, note: `${maskAddress(f.to)}: ${f.reason ?? 'no reason recorded'}${f.errorCode ? ` (${f.errorCode})` : ''}` };
}

/**
 * An incident's message items, for an incident whose pages were written
 * before they carried parentId (before the byParent index): read through the
 * claims of each notification it sent, for every address it may have texted.
 */
async function pagesBeforeParentIds(table: StatusTable, incident: Incident): Promise<Item[]> {
  const addresses = [...new Set([...incident.paged, ...incident.unreachable, ...(incident.stage0To ?? [])])];
  const notifications = [
    incident.openedBy,
    ...Array.from({ length: incident.stage }, (_, k) => stageNotificationId(incident.id, k + 1)),
    ...Array.from({ length: incident.pageRepeats + 1 }, (_, k) => repeatNotificationId(incident.id, k + 1)),
    resolvedNotificationId(incident.id),
  ];
  const claims = await table.getMany(notifications.flatMap((n) => addresses.map((a) => claimId(n, a))));
  const sids = [...claims.values()].map((c) => str(c, 'messageSid')).filter((s): s is string => s !== undefined);
  return [...(await table.getMany(sids)).values()];
}

/**
 * The incident's timeline (its events, its pages' status callbacks, the sends
 * that got no SID, the reply that acknowledged it), oldest first, and every
 * recipient's fate: one Query of the byParent index for its pages.
 */
async function incidentReport(table: StatusTable, item: Item): Promise<PageReport> {
  const incident = readIncident(item)!;
  const { timeline = [], timelineDropped = 0 } = unmarshall({ timeline: item.timeline ?? { L: [] }, timelineDropped: item.timelineDropped ?? { N: '0' } }) as { timeline?: TimelineEvent[]; timelineDropped?: number };
  const rows: Row[] = timeline.map((e) => eventRow(e, incident));

  let children = await table.children(incident.id);
  if (children.length === 0 && incident.paged.length + incident.unreachable.length > 0) children = await pagesBeforeParentIds(table, incident);
  const resolvedId = resolvedNotificationId(incident.id);
  const resolvedPages: Item[] = [];
  const recipients: RecipientView[] = [];
  const digests = await digestMessages(table, children);
  const digestRows = new Set<string>();
  for (const child of children) {
    const fate = readFate(child);
    if (!fate) continue;
    recipients.push(recipientView(fate, child, digests));
    if (fate.digest) {
      const digest = digestOf(fate, digests);
      rows.push({ at: fate.createdAt, step: 'in digest', note: `${maskAddress(fate.to)}: held in its storm window, ${digestNote({ ...fate, digest: fate.digest }, digest)}` });
      if (digestUnsent(fate, digest)) rows.push(fateRow(fate));
      // The digest's status callbacks, once for each digest.
      if (digest && !digestRows.has(fate.digest.sid!)) rows.push(...messageRows(digest, true).map((r) => ({ ...r, note: `${r.note}, digest ${fate.digest!.sid}` })));
      if (fate.digest.sid !== undefined) digestRows.add(fate.digest.sid);
    } else if (fate.kind !== 'message') rows.push(fateRow(fate));
    else if (fate.notificationId === resolvedId) resolvedPages.push(child);
    else rows.push(...messageRows(child, true));
  }
  if (resolvedPages.length > 0) {
    const at = resolvedPages.map((m) => str(m, 'acceptedAt') ?? str(m, 'createdAt') ?? '').sort()[0];
    rows.push({ at, step: 'RESOLVED sent', note: `→ ${resolvedPages.map((m) => maskAddress(str(m, 'to'))).sort().join(', ')}` });
  }
  const reply = incident.acknowledgedMessageSid ? await table.get(incident.acknowledgedMessageSid) : undefined;
  if (reply) {
    const answered = str(reply, 'reply');
    rows.push({ at: str(reply, 'receivedAt') ?? str(reply, 'createdAt') ?? incident.acknowledgedAt ?? '', step: 'reply', note: `${maskAddress(str(reply, 'from'))}: "${str(reply, 'body') ?? ''}"`, ...(answered ? { more: [`answered: ${answered}`] } : {}) });
  }
  const order: Record<string, number> = { opened: 0, paged: 1, reply: 5, acknowledged: 6, resolved: 8, 'RESOLVED sent': 9 };
  rows.sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || (order[a.step] ?? 3) - (order[b.step] ?? 3));
  return { kind: 'incident', incident, dropped: timelineDropped, rows, recipients };
}

/**
 * A notification's outcomes: one Query of the byParent index (its message
 * items, the sends that got no SID, its refusal as a whole, its notice).
 */
async function notificationReport(table: StatusTable, notificationId: string, recipients: readonly string[]): Promise<PageReport | undefined> {
  const children = await table.children(notificationParentId(notificationId));
  if (children.length === 0) return notificationBeforeParentIds(table, notificationId, recipients);
  const views: RecipientView[] = [];
  let refused: string | undefined;
  let notice: Item | undefined;
  const digests = await digestMessages(table, children);
  for (const child of children) {
    const fate = readFate(child);
    if (fate?.kind === 'notification') refused = fate.reason ?? 'refused';
    else if (fate) views.push(recipientView(fate, child, digests));
    else if (str(child, 'kind') === KIND.NOTIFICATION) notice = child;
  }
  return {
    kind: 'notification',
    notificationId,
    recipients: views,
    ...(refused !== undefined ? { refused } : {}),
    ...(notice ? { notice: { outcome: str(notice, 'outcome') ?? '', ...(str(notice, 'incidentId') ? { incidentId: str(notice, 'incidentId') } : {}) } } : {}),
  };
}

/** A notification recorded before its items carried parentId: its claims of the addresses given (the deployment's recipients), read by key. */
async function notificationBeforeParentIds(table: StatusTable, notificationId: string, recipients: readonly string[]): Promise<PageReport | undefined> {
  const ids = [failedNotificationId(notificationId), noticeId(notificationId), ...recipients.map((r) => claimId(notificationId, r))];
  const found = await table.getMany(ids);
  if (found.size === 0) return undefined;
  const claims = recipients.map((r) => ({ r, claim: found.get(claimId(notificationId, r)) })).filter((c) => c.claim !== undefined);
  const messages = await table.getMany(claims.map((c) => str(c.claim, 'messageSid')).filter((s): s is string => s !== undefined));
  const refused = found.get(failedNotificationId(notificationId));
  const notice = found.get(noticeId(notificationId));
  return {
    kind: 'notification',
    notificationId,
    recipients: claims.map(({ r, claim }) => {
      const message = messages.get(str(claim, 'messageSid') ?? '');
      return { recipient: r, state: str(claim, 'state') ?? 'pending', ...(str(claim, 'reason') ? { reason: str(claim, 'reason') } : {}), ...(message ? { message: messageView(message) } : {}) };
    }),
    ...(refused ? { refused: str(refused, 'reason') ?? 'refused' } : {}),
    ...(notice ? { notice: { outcome: str(notice, 'outcome') ?? '', ...(str(notice, 'incidentId') ? { incidentId: str(notice, 'incidentId') } : {}) } } : {}),
  };
}

/**
 * The latest incident of the alarm name or incident key `name`: a live one
 * through its key's pointer, else the newest occurrence of each key it may
 * stand for (the name itself, the alarm's ARN and region form in the
 * deployment's account and region), each one Query of the byParent index.
 */
async function incidentNamed(table: StatusTable, name: string, record: OperatorRecord): Promise<Item | undefined> {
  const where = arnParts(record.topicArn);
  const keys = [name, ...(where ? [`arn:${where.partition}:cloudwatch:${where.region}:${where.account}:alarm:${name}`, `alarm:${where.region}:${name}`] : [])];
  const pointers = await table.getMany(keys.map(pointerId));
  const live = [...pointers.values()].map((p) => str(p, 'incidentId')).find((id) => id !== undefined);
  if (live) return table.get(live);
  const newest = await Promise.all(keys.map((key) => table.firstChild(incidentKeyParentId(key), { newestFirst: true })));
  return newest.filter((i): i is Item => i !== undefined).sort((a, b) => (str(b, 'openedAt') ?? '').localeCompare(str(a, 'openedAt') ?? ''))[0];
}

/**
 * What `ref` names, read from the status table: a message SID (its incident
 * when it was a page of one), an incident id, an incident code (live
 * incidents hold one), a notification id (an incident it opened, or its
 * recipients' claims), else an alarm name or incident key.
 */
export async function findPage(table: StatusTable, ref: string, record: OperatorRecord): Promise<PageReport> {
  if (MESSAGE_SID.test(ref)) {
    const message = await table.get(ref);
    if (!message) throw notFound(ref, `no message ${ref} in ${table.name}`);
    const incidentId = str(message, 'incidentId');
    const incident = incidentId ? await table.get(incidentId) : undefined;
    if (incident && readIncident(incident)) return incidentReport(table, incident);
    return { kind: 'message', message: messageView(message), rows: messageRows(message, false) };
  }
  if (isIncidentId(ref)) {
    const incident = await table.get(ref);
    if (!incident || !readIncident(incident)) throw notFound(ref, `no incident ${ref} in ${table.name}`);
    return incidentReport(table, incident);
  }
  if (INCIDENT_CODE.test(ref)) {
    const code = await table.get(codeId(ref));
    const incident = code ? await table.get(str(code, 'incidentId') ?? '') : undefined;
    if (incident && readIncident(incident)) return incidentReport(table, incident);
  }
  const opened = await table.get(incidentIdOf(ref));
  if (opened && readIncident(opened)) return incidentReport(table, opened);
  const notification = await notificationReport(table, ref, record.recipients);
  if (notification) return notification;
  const named = await incidentNamed(table, ref, record);
  if (named && readIncident(named)) return incidentReport(table, named);
  throw notFound(
    ref,
    `nothing in ${table.name} is named "${ref}": no message SID, live incident code, notification${record.recipients.length === 0 ? ' (without --stack, give --recipient to look up a notification\'s pages)' : ''}, alarm name or incident key`,
  );
}

function notFound(ref: string, message: string): CliError {
  return new CliError(message, EXIT.NOT_FOUND, `check "${ref}": codes are those of live incidents (a resolved incident is found by its alarm name or a message SID), and the table keeps items for statusRetentionDays`);
}

/** One recipient's fate: its message's status, or why its send got no SID. */
function recipientLine(r: RecipientView): string {
  const m = r.message;
  if (r.inDigest && (m || r.reason === undefined)) return `  ${maskAddress(r.recipient).padEnd(24)} ${m ? `sent in digest ${m.sid} ${m.status}${m.errorCode ? ` (error ${m.errorCode})` : ''}` : r.state}`;
  return `  ${maskAddress(r.recipient).padEnd(24)} ${r.state}${r.reason ? `: ${r.reason}` : ''}${r.errorCode ? ` (${r.errorCode})` : ''}${m ? ` · ${m.sid} ${m.status}${m.errorCode ? ` (error ${m.errorCode})` : ''}` : ''}`;
}

/** Which of an incident's texts a notification id is: its pages by stage, a repeat, the RESOLVED. */
function textOf(incident: Incident, notificationId: string | undefined): string {
  if (notificationId === undefined || notificationId === incident.openedBy) return 'stage 1';
  const rest = notificationId.startsWith(`${incident.id}#`) ? notificationId.slice(incident.id.length + 1) : notificationId;
  const [what, n] = rest.split('#');
  if (what === 'stage') return `stage ${Number(n) + 1}`;
  if (what === 'repeat') return `repeat ${n}`;
  if (what === 'resolved') return 'RESOLVED';
  return rest;
}

const seconds = (from: number, at: number) => `+${((at - from) / 1000).toFixed(2).padStart(7)} s`;
const utc = (iso: string) => `${iso.slice(0, 19).replace('T', ' ')} UTC`;

/** The report as the local demo prints a timeline: `+ seconds  step  note`. */
export function renderPage(report: PageReport): string[] {
  const timeline = (rows: readonly Row[], from: number) =>
    rows.flatMap((r) => {
      const head = `  ${seconds(from, Date.parse(r.at))}  ${r.step.padEnd(17)} `;
      return [`${head}${r.note}`.trimEnd(), ...(r.more ?? []).map((m) => `${' '.repeat(head.length)}${m}`)];
    });
  if (report.kind === 'incident') {
    const i = report.incident;
    const from = Date.parse(i.openedAt);
    const ack = i.acknowledgedBy ? `acknowledged by ${maskAddress(i.acknowledgedBy)} after ${Math.round((Date.parse(i.acknowledgedAt ?? i.openedAt) - from) / 1000)} s` : 'not acknowledged';
    return [
      `incident ${i.title} · code ${i.code} · ${i.state} · ${i.id}`,
      `  opened ${utc(i.openedAt)} · paged ${i.paged.map(maskAddress).join(', ') || 'nobody'} · ${ack}`,
      ...(report.dropped > 0 ? [`  (${report.dropped} earlier events fell out of the timeline)`] : []),
      '',
      ...timeline(report.rows, from),
      ...(report.recipients.length > 0 ? ['', '  recipients', ...report.recipients.map((r) => `  ${recipientLine(r)} · ${textOf(i, r.notificationId)}`)] : []),
    ];
  }
  if (report.kind === 'message') {
    const m = report.message;
    const from = report.rows.length > 0 ? Date.parse(report.rows[0].at) : 0;
    return [
      `message ${m.sid} · to ${maskAddress(m.to)} (${channelOf(m.to)}) · ${m.status}${m.errorCode ? ` (error ${m.errorCode})` : ''}`,
      ...(m.notificationId ? [`  notification ${m.notificationId}`] : []),
      '',
      ...timeline(report.rows, from),
    ];
  }
  const lines = [`notification ${report.notificationId}`];
  if (report.refused) lines.push(`  refused: ${report.refused}`);
  if (report.notice) lines.push(`  ${report.notice.outcome}${report.notice.incidentId ? ` (${report.notice.incidentId})` : ''}`);
  for (const r of report.recipients) lines.push(recipientLine(r));
  return lines;
}
