import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { acknowledged } from '../shared/incidents/changes';
import type { Incident } from '../shared/incidents/items';
import { updateIncident } from '../shared/incidents/update';
import { getIncidents, incidentsThatPaged as pagesSent, reservedIncidentId } from '../shared/incidents/paged';
import { heldIncidentIds } from '../shared/table/storm';
import { REPLY } from './reply-text';

/** The reply being acted on. */
export interface ReplyContext {
  readonly from: string;
  readonly messageSid: string;
  /** When the reply first arrived (ISO 8601): the acknowledgement's time. */
  readonly receivedAt: string;
}

export interface AckOutcome {
  readonly type: 'ack' | 'ack-all' | 'ack-none';
  /** The line answered in TwiML. */
  readonly reply: string;
  /** The incidents acknowledged (`ack`, `ack-all`), or the one the answer is about (`ack-none`). */
  readonly incidents: readonly Incident[];
  /** Those of them this delivery acknowledged first (a redelivery of the same reply acknowledges none first). */
  readonly firstAcknowledged: readonly Incident[];
}

type Acknowledged = { readonly kind: 'acknowledged'; readonly incident: Incident; readonly first: boolean } | { readonly kind: 'refused'; readonly incident?: Incident };

/**
 * The incidents that paged `address`, newest opened first: those whose page
 * went out (the ACK index), and those whose page to it still waits in its
 * storm window. A held page has paged the address: the incident recorded the
 * address in `paged` before the page was sent or held, and the page goes out
 * in the window's digest (ClaimStore.recordDigested then puts it in the
 * index), so ACK, ACK <code> and ACK ALL cover it.
 */
async function incidentsThatPaged(client: DynamoDBClient, tableName: string, address: string): Promise<Incident[]> {
  const [sent, heldIds] = await Promise.all([pagesSent(client, tableName, address), heldIncidentIds(client, tableName, address)]);
  const missing = heldIds.filter((id) => !sent.some((incident) => incident.id === id));
  if (missing.length === 0) return sent;
  const held = (await getIncidents(client, tableName, missing)).filter((incident) => incident.paged.includes(address));
  return [...sent, ...held].sort((a, b) => (a.openedAt < b.openedAt ? 1 : a.openedAt > b.openedAt ? -1 : 0));
}

/** This very reply acknowledged it (an earlier delivery of the same MessageSid). */
const acknowledgedBy = (reply: ReplyContext) => (incident: Incident) => incident.acknowledgedMessageSid === reply.messageSid;

/**
 * The one write of an acknowledgement (`acknowledged` in
 * shared/incidents/changes.ts): `open` → `acknowledged` if the incident paged
 * this address, the first acknowledgement kept, with an `acknowledged`
 * timeline event. A refused write whose incident this same reply had
 * acknowledged (a Twilio retry or a backlog redelivery) counts as
 * acknowledged, not first.
 */
async function acknowledge(client: DynamoDBClient, tableName: string, incidentId: string, reply: ReplyContext, now: number): Promise<Acknowledged> {
  const result = await updateIncident(client, tableName, incidentId, acknowledged(reply.from, reply.receivedAt, reply.messageSid), now);
  if (result.kind === 'updated') return { kind: 'acknowledged', incident: result.incident, first: true };
  if (result.incident && acknowledgedBy(reply)(result.incident)) return { kind: 'acknowledged', incident: result.incident, first: false };
  return result;
}

const acknowledgedOne = (incident: Incident, first: boolean): AckOutcome => ({ type: 'ack', reply: REPLY.acknowledged(incident), incidents: [incident], firstAcknowledged: first ? [incident] : [] });

/** Why an incident that paged the replier was not acknowledged now. */
function explain(incident: Incident): AckOutcome {
  const reply = incident.state === 'resolved' ? REPLY.resolved(incident) : incident.state === 'acknowledged' ? REPLY.alreadyAcknowledged(incident) : REPLY.noOpenIncidentWithCode(incident.code);
  return { type: 'ack-none', reply, incidents: [incident], firstAcknowledged: [] };
}

/**
 * Acknowledges the newest `open` incident of `candidates` (newest first). Its
 * write refused (someone else was quicker), the answer is about it as it is
 * now; with none open, about the newest candidate; with no candidate, undefined.
 */
async function acknowledgeNewestOf(client: DynamoDBClient, tableName: string, candidates: readonly Incident[], reply: ReplyContext, now: number): Promise<AckOutcome | undefined> {
  const open = candidates.find((incident) => incident.state === 'open');
  if (open) {
    const result = await acknowledge(client, tableName, open.id, reply, now);
    if (result.kind === 'acknowledged') return acknowledgedOne(result.incident, result.first);
    if (result.incident) return explain(result.incident);
  }
  return candidates[0] && explain(candidates[0]);
}

/**
 * `ACK`: the newest open incident that paged the replier. With none, the
 * answer is about the newest incident that did (already acknowledged by whom
 * and when, or resolved), else `no open incident paged you`. A redelivery of
 * the same reply answers about the incident it acknowledged, and never
 * acknowledges a second one.
 */
export async function acknowledgeNewest(client: DynamoDBClient, tableName: string, reply: ReplyContext, now: number): Promise<AckOutcome> {
  const incidents = await incidentsThatPaged(client, tableName, reply.from);
  const earlier = incidents.find(acknowledgedBy(reply));
  if (earlier) return acknowledgedOne(earlier, false);
  return (await acknowledgeNewestOf(client, tableName, incidents, reply, now)) ?? { type: 'ack-none', reply: REPLY.noOpenIncidentPagedYou(), incidents: [], firstAcknowledged: [] };
}

/**
 * `ACK <code>`: the live incident holding the code (its reservation item), if
 * it paged the replier. Otherwise (the code is free again after a resolve, or
 * the live holder paged someone else) the newest incident with that code that
 * paged the replier is looked up, to say it is resolved or already
 * acknowledged; an incident that did not page the replier is never named.
 */
export async function acknowledgeCode(client: DynamoDBClient, tableName: string, code: string, reply: ReplyContext, now: number): Promise<AckOutcome> {
  const reserved = await reservedIncidentId(client, tableName, code);
  if (reserved) {
    const result = await acknowledge(client, tableName, reserved, reply, now);
    if (result.kind === 'acknowledged') return acknowledgedOne(result.incident, result.first);
    if (result.incident?.paged.includes(reply.from)) return explain(result.incident);
  }
  const withCode = (await incidentsThatPaged(client, tableName, reply.from)).filter((incident) => incident.code === code);
  const earlier = withCode.find(acknowledgedBy(reply));
  if (earlier) return acknowledgedOne(earlier, false);
  // One still open here has lost its reservation or not got it yet: the sender is between the writes of an opening or a resolve.
  return (await acknowledgeNewestOf(client, tableName, withCode, reply, now)) ?? { type: 'ack-none', reply: REPLY.noOpenIncidentWithCode(code), incidents: [], firstAcknowledged: [] };
}

/**
 * `ACK ALL`: every open incident that paged the replier, in parallel (the
 * lookback bounds their number). A redelivery of the same reply counts the
 * ones it acknowledged before and acknowledges any still open.
 */
export async function acknowledgeAll(client: DynamoDBClient, tableName: string, reply: ReplyContext, now: number): Promise<AckOutcome> {
  const incidents = await incidentsThatPaged(client, tableName, reply.from);
  const earlier = incidents.filter(acknowledgedBy(reply));
  const results = await Promise.all(incidents.filter((i) => i.state === 'open').map((i) => acknowledge(client, tableName, i.id, reply, now)));
  const acknowledgedNow = results.flatMap((r) => (r.kind === 'acknowledged' ? [r] : []));
  const acknowledged = [...earlier, ...acknowledgedNow.map((r) => r.incident)];
  if (acknowledged.length === 0) return { type: 'ack-none', reply: REPLY.noOpenIncidentPagedYou(), incidents: [], firstAcknowledged: [] };
  return { type: 'ack-all', reply: REPLY.acknowledgedAll(acknowledged.length), incidents: acknowledged, firstAcknowledged: acknowledgedNow.filter((r) => r.first).map((r) => r.incident) };
}
