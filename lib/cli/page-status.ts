import { unmarshall } from '@aws-sdk/util-dynamodb';
import { Incident, readIncident, TimelineEvent } from '../../lambda/shared/incidents/items';
import { codeId, incidentIdOf, isIncidentId, noticeId, pointerId, repeatNotificationId, resolvedNotificationId, stageNotificationId } from '../../lambda/shared/incidents/keys';
import { maskAddress } from '../../lambda/shared/mask';
import { claimId, failedNotificationId } from '../../lambda/shared/table/items';
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
  readonly state: string;
  readonly reason?: string;
  readonly message?: MessageView;
}

export type PageReport =
  | { readonly kind: 'incident'; readonly incident: Incident; readonly dropped: number; readonly rows: readonly Row[] }
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

/** The incident's timeline (its events, its pages' status callbacks, the reply that acknowledged it), oldest first. */
async function incidentReport(table: StatusTable, item: Item): Promise<PageReport> {
  const incident = readIncident(item)!;
  const { timeline = [], timelineDropped = 0 } = unmarshall({ timeline: item.timeline ?? { L: [] }, timelineDropped: item.timelineDropped ?? { N: '0' } }) as { timeline?: TimelineEvent[]; timelineDropped?: number };
  const rows: Row[] = timeline.map((e) => eventRow(e, incident));

  // Its pages: the claims of each notification it sent (stage 0 under the opening's id), for every address it may have texted.
  const addresses = [...new Set([...incident.paged, ...incident.unreachable, ...(incident.stage0To ?? [])])];
  const resolvedId = resolvedNotificationId(incident.id);
  const notifications = [
    incident.openedBy,
    ...Array.from({ length: incident.stage }, (_, k) => stageNotificationId(incident.id, k + 1)),
    ...Array.from({ length: incident.pageRepeats + 1 }, (_, k) => repeatNotificationId(incident.id, k + 1)),
    resolvedId,
  ];
  const claims = await table.getMany(notifications.flatMap((n) => addresses.map((a) => claimId(n, a))));
  const sids = [...claims.values()].map((c) => str(c, 'messageSid')).filter((s): s is string => s !== undefined);
  const messages = await table.getMany([...sids, ...(incident.acknowledgedMessageSid ? [incident.acknowledgedMessageSid] : [])]);
  const resolvedPages: Item[] = [];
  for (const [id, claim] of claims) {
    const message = messages.get(str(claim, 'messageSid') ?? '');
    if (!message) continue;
    if (id.startsWith(claimId(resolvedId, ''))) resolvedPages.push(message);
    else rows.push(...messageRows(message, true));
  }
  if (resolvedPages.length > 0) {
    const at = resolvedPages.map((m) => str(m, 'acceptedAt') ?? str(m, 'createdAt') ?? '').sort()[0];
    rows.push({ at, step: 'RESOLVED sent', note: `→ ${resolvedPages.map((m) => maskAddress(str(m, 'to'))).sort().join(', ')}` });
  }
  const reply = incident.acknowledgedMessageSid ? messages.get(incident.acknowledgedMessageSid) : undefined;
  if (reply) {
    const answered = str(reply, 'reply');
    rows.push({ at: str(reply, 'receivedAt') ?? str(reply, 'createdAt') ?? incident.acknowledgedAt ?? '', step: 'reply', note: `${maskAddress(str(reply, 'from'))}: "${str(reply, 'body') ?? ''}"`, ...(answered ? { more: [`answered: ${answered}`] } : {}) });
  }
  const order: Record<string, number> = { opened: 0, paged: 1, reply: 5, acknowledged: 6, resolved: 8, 'RESOLVED sent': 9 };
  rows.sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || (order[a.step] ?? 3) - (order[b.step] ?? 3));
  return { kind: 'incident', incident, dropped: timelineDropped, rows };
}

async function notificationReport(table: StatusTable, notificationId: string, recipients: readonly string[]): Promise<PageReport | undefined> {
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

/** The latest incident whose alarm name, title or key is `name`: a live one through its key's pointer, else a Scan. */
async function incidentNamed(table: StatusTable, name: string, record: OperatorRecord): Promise<Item | undefined> {
  const where = arnParts(record.topicArn);
  const keys = [name, ...(where ? [`arn:${where.partition}:cloudwatch:${where.region}:${where.account}:alarm:${name}`, `alarm:${where.region}:${name}`] : [])];
  const pointers = await table.getMany(keys.map(pointerId));
  const live = [...pointers.values()].map((p) => str(p, 'incidentId')).find((id) => id !== undefined);
  if (live) return table.get(live);
  const matches = await table.scan({
    FilterExpression: '#kind = :incident AND (#title = :name OR #incidentKey IN (:k0, :k1, :k2))',
    ExpressionAttributeNames: { '#kind': 'kind', '#title': 'title', '#incidentKey': 'incidentKey' },
    ExpressionAttributeValues: { ':incident': { S: 'incident' }, ':name': { S: name }, ':k0': { S: keys[0] }, ':k1': { S: keys[1] ?? keys[0] }, ':k2': { S: keys[2] ?? keys[0] } },
  });
  return matches.sort((a, b) => (str(b, 'openedAt') ?? '').localeCompare(str(a, 'openedAt') ?? ''))[0];
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
  for (const r of report.recipients) {
    const m = r.message;
    lines.push(`  ${maskAddress(r.recipient).padEnd(24)} ${r.state}${r.reason ? `: ${r.reason}` : ''}${m ? ` · ${m.sid} ${m.status}${m.errorCode ? ` (error ${m.errorCode})` : ''}` : ''}`);
  }
  return lines;
}
