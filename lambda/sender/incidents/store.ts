import { AttributeValue, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { expiresAt, isConditionFailure } from '../../shared/table-items';
import {
  codeId,
  Incident,
  INCIDENT_KIND,
  noticeId,
  Notice,
  optOutId,
  Pointer,
  pointerId,
  TIMELINE_LIMIT,
  TimelineEvent,
  timelineValue,
  toIncident,
  toPointer,
} from './items';

/*
 * Every write the sender makes to incident items. Each change is one
 * conditional UpdateItem that states what it expects (the incident still
 * open, its stage still below the one being recorded, ...), so two
 * invocations racing on one incident (a timer delivered twice, a redelivered
 * opening) record each step once; a write whose condition fails returns
 * undefined and the caller re-reads. Timeline events are appended
 * (list_append), never rewritten, so other handlers' events are never lost;
 * the list is then trimmed to its bound by a separate write guarded on its
 * length and drop count.
 */

const s = (v: string): AttributeValue => ({ S: v });
const n = (v: number): AttributeValue => ({ N: String(v) });

/** Every `#name` in the expressions stands for the attribute `name` (state, stage, ... are reserved words). */
function namesIn(...expressions: string[]): Record<string, string> {
  const names: Record<string, string> = {};
  for (const e of expressions) for (const [, name] of e.matchAll(/#(\w+)/g)) names[`#${name}`] = name;
  return names;
}

/** One incident change: attributes to set, numbers or sets to add, events to append, and the condition it needs. */
export interface IncidentChange {
  readonly set?: Readonly<Record<string, AttributeValue>>;
  readonly add?: Readonly<Record<string, AttributeValue>>;
  readonly events?: readonly TimelineEvent[];
  /** A condition over `#attr` names and the `values` given here. */
  readonly condition?: string;
  readonly values?: Readonly<Record<string, AttributeValue>>;
}

export interface NewIncident {
  readonly id: string;
  readonly incidentKey: string;
  readonly code: string;
  readonly title: string;
  readonly openedBy: string;
  readonly page: string;
  readonly paged: readonly string[];
  readonly unreachable: readonly string[];
  readonly stage0To?: readonly string[];
  readonly events: readonly TimelineEvent[];
}

export class IncidentStore {
  constructor(
    private readonly db: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  private async get(id: string): Promise<Record<string, AttributeValue> | undefined> {
    const { Item } = await this.db.send(new GetItemCommand({ TableName: this.tableName, Key: { id: s(id) }, ConsistentRead: true }));
    return Item;
  }

  async incident(id: string): Promise<Incident | undefined> {
    const item = await this.get(id);
    return item ? toIncident(item) : undefined;
  }

  async pointer(incidentKey: string): Promise<Pointer | undefined> {
    const item = await this.get(pointerId(incidentKey));
    return item ? toPointer(item) : undefined;
  }

  async notice(notificationId: string): Promise<Notice | undefined> {
    const item = await this.get(noticeId(notificationId));
    if (!item) return undefined;
    return { outcome: item.outcome?.S as Notice['outcome'], ...(item.incidentId?.S ? { incidentId: item.incidentId.S } : {}) };
  }

  /** The addresses among `addresses` whose opt-out item says optedOut (one GetItem each, in parallel). */
  async optedOut(addresses: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    await Promise.all(
      addresses.map(async (a) => {
        const { Item } = await this.db.send(new GetItemCommand({ TableName: this.tableName, Key: { id: s(optOutId(a)) }, ConsistentRead: true, ProjectionExpression: 'optedOut' }));
        if (Item?.optedOut?.BOOL === true) out.add(a);
      }),
    );
    return out;
  }

  private async putOnce(item: Record<string, AttributeValue>): Promise<boolean> {
    try {
      await this.db.send(new PutItemCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: { '#id': 'id' } }));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  private async deleteIf(id: string, incidentId: string): Promise<void> {
    try {
      await this.db.send(
        new DeleteItemCommand({ TableName: this.tableName, Key: { id: s(id) }, ConditionExpression: '#incidentId = :id', ExpressionAttributeNames: { '#incidentId': 'incidentId' }, ExpressionAttributeValues: { ':id': s(incidentId) } }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  /**
   * Reserves the first free code of `candidates` for the incident (one put
   * each until one is won). A reservation that already names this incident
   * is its own, from an opening that crashed after making it.
   */
  async reserveCode(incidentId: string, candidates: readonly string[], now: number): Promise<string> {
    const iso = new Date(now).toISOString();
    for (const code of candidates) {
      const item = { id: s(codeId(code)), kind: s(INCIDENT_KIND.CODE), incidentId: s(incidentId), code: s(code), createdAt: s(iso), expiresAt: n(expiresAt(now)) };
      if (await this.putOnce(item)) return code;
      if ((await this.get(codeId(code)))?.incidentId?.S === incidentId) return code;
    }
    throw new Error(`no free incident code among ${candidates.length} candidates: too many live incidents`);
  }

  async releaseCode(code: string, incidentId: string): Promise<void> {
    await this.deleteIf(codeId(code), incidentId);
  }

  /** Makes the incident the key's live one; the pointer that stands when another got there first. */
  async claimKey(incidentKey: string, incidentId: string, code: string, now: number): Promise<{ readonly won: true } | { readonly won: false; readonly existing?: Pointer }> {
    const iso = new Date(now).toISOString();
    const won = await this.putOnce({
      id: s(pointerId(incidentKey)),
      kind: s(INCIDENT_KIND.POINTER),
      incidentKey: s(incidentKey),
      incidentId: s(incidentId),
      code: s(code),
      openedAt: s(iso),
      createdAt: s(iso),
      expiresAt: n(expiresAt(now)),
    });
    if (won) return { won: true };
    const existing = await this.pointer(incidentKey);
    if (existing?.incidentId === incidentId) return { won: true };
    return { won: false, ...(existing ? { existing } : {}) };
  }

  /** Ends the key's live pointer, if it still names this incident. */
  async releaseKey(incidentKey: string, incidentId: string): Promise<void> {
    await this.deleteIf(pointerId(incidentKey), incidentId);
  }

  /** Creates the incident item; the existing one when an earlier delivery of the opening made it. */
  async create(i: NewIncident, now: number): Promise<{ readonly created: boolean; readonly incident: Incident }> {
    const iso = new Date(now).toISOString();
    const item: Record<string, AttributeValue> = {
      id: s(i.id),
      kind: s(INCIDENT_KIND.INCIDENT),
      incidentKey: s(i.incidentKey),
      state: s('open'),
      code: s(i.code),
      title: s(i.title),
      openedAt: s(iso),
      openedBy: s(i.openedBy),
      stage: n(0),
      alarmRepeats: n(0),
      pageRepeats: n(0),
      page: s(i.page),
      timeline: timelineValue(i.events),
      timelineDropped: n(0),
      createdAt: s(iso),
      updatedAt: s(iso),
      expiresAt: n(expiresAt(now)),
    };
    // String sets cannot be empty: an incident whose stage 0 is all opted out has no `paged` yet.
    if (i.paged.length > 0) item.paged = { SS: [...i.paged] };
    if (i.unreachable.length > 0) item.unreachable = { SS: [...i.unreachable] };
    if (i.stage0To) item.stage0To = { L: i.stage0To.map(s) };
    if (await this.putOnce(item)) return { created: true, incident: toIncident(item) };
    const existing = await this.incident(i.id);
    if (!existing) throw new Error(`incident ${i.id} was neither created nor found`);
    return { created: false, incident: existing };
  }

  /**
   * Applies one change to an existing incident; the incident as it is after
   * it, or undefined when the condition did not hold (or the item is gone).
   */
  async change(id: string, change: IncidentChange, now: number): Promise<Incident | undefined> {
    const iso = new Date(now).toISOString();
    const values: Record<string, AttributeValue> = { ':updatedAt': s(iso), ...change.values };
    const set = ['#updatedAt = :updatedAt'];
    for (const [attr, value] of Object.entries(change.set ?? {})) {
      values[`:set_${attr}`] = value;
      set.push(`#${attr} = :set_${attr}`);
    }
    if (change.events && change.events.length > 0) {
      values[':events'] = timelineValue(change.events);
      values[':noEvents'] = { L: [] };
      set.push('#timeline = list_append(if_not_exists(#timeline, :noEvents), :events)');
    }
    const add = Object.entries(change.add ?? {}).map(([attr, value]) => {
      values[`:add_${attr}`] = value;
      return `#${attr} :add_${attr}`;
    });
    const update = `SET ${set.join(', ')}${add.length > 0 ? ` ADD ${add.join(', ')}` : ''}`;
    const condition = ['attribute_exists(#id)', ...(change.condition ? [`(${change.condition})`] : [])].join(' AND ');
    let out;
    try {
      out = await this.db.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { id: s(id) },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: namesIn(update, condition),
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
    const attributes = out.Attributes ?? {};
    const incident = toIncident(attributes);
    if (incident.timelineLength > TIMELINE_LIMIT) await this.trimTimeline(id, attributes.timeline?.L ?? [], Number(attributes.timelineDropped?.N ?? 0));
    return incident;
  }

  /**
   * Keeps the latest events and counts the dropped ones. The list is written
   * whole (as this write read it), guarded on its length and drop count: every
   * append moves the one, every trim (ours or a webhook's rewrite) the other,
   * so the pair is a version. When another write changed the list meanwhile,
   * the trim is skipped and the latest writer trims; a guard on the length
   * alone let a stale list back in after a trim and an append had restored
   * its length, losing the events written in between.
   */
  private async trimTimeline(id: string, timeline: readonly AttributeValue[], dropped: number): Promise<void> {
    const drop = timeline.length - TIMELINE_LIMIT;
    const droppedGuard = dropped === 0 ? '(attribute_not_exists(#timelineDropped) OR #timelineDropped = :dropped)' : '#timelineDropped = :dropped';
    try {
      await this.db.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { id: s(id) },
          UpdateExpression: 'SET #timeline = :kept ADD #timelineDropped :drop',
          ConditionExpression: `size(#timeline) = :length AND ${droppedGuard}`,
          ExpressionAttributeNames: { '#timeline': 'timeline', '#timelineDropped': 'timelineDropped' },
          ExpressionAttributeValues: { ':kept': { L: timeline.slice(drop) }, ':drop': n(drop), ':length': n(timeline.length), ':dropped': n(dropped) },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  /** What became of a notification that paged nobody or resolved an incident; false when an earlier delivery recorded it. */
  async recordNotice(notificationId: string, notice: Notice, details: Readonly<Record<string, string>>, now: number): Promise<boolean> {
    const iso = new Date(now).toISOString();
    return this.putOnce({
      id: s(noticeId(notificationId)),
      kind: s(INCIDENT_KIND.NOTICE),
      notificationId: s(notificationId),
      outcome: s(notice.outcome),
      ...(notice.incidentId ? { incidentId: s(notice.incidentId) } : {}),
      ...Object.fromEntries(Object.entries(details).map(([k, v]) => [k, s(v)])),
      createdAt: s(iso),
      updatedAt: s(iso),
      expiresAt: n(expiresAt(now)),
    });
  }
}
