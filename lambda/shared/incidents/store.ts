import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { Item, n, s } from '../table/attributes';
import { deleteIfEquals, putIfAbsent } from '../table/guarded-writes';
import { expiresAt, notificationParentId } from '../table/items';
import { Incident, incidentKeyParentId, LIVE_INCIDENTS_PARENT, Notice, Pointer, readIncident, readNotice, readPointer, TimelineEvent, timelineEntry } from './items';
import { codeId, INCIDENT_KIND, noticeId, pointerId } from './keys';
import { optedOutAmong } from './opt-outs';
import { IncidentChange, updateIncident } from './update';

/*
 * The sender's reads and writes of incident items (the webhooks use
 * updateIncident and their own reads). Openings and resolutions are made of
 * conditional puts and deletes that state what they expect (a code not
 * reserved, a key with no live pointer, a pointer that still names this
 * incident), and every change to an incident is one conditional UpdateItem
 * (changes.ts), so two invocations racing on one incident (a timer delivered
 * twice, a redelivered opening) record each step once; a change whose
 * condition fails returns undefined and the caller re-reads.
 */

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

  private async get(id: string): Promise<Item | undefined> {
    const { Item } = await this.db.send(new GetItemCommand({ TableName: this.tableName, Key: { id: s(id) }, ConsistentRead: true }));
    return Item;
  }

  async incident(id: string): Promise<Incident | undefined> {
    return readIncident(await this.get(id));
  }

  async pointer(incidentKey: string): Promise<Pointer | undefined> {
    const item = await this.get(pointerId(incidentKey));
    return item ? readPointer(item) : undefined;
  }

  async notice(notificationId: string): Promise<Notice | undefined> {
    const item = await this.get(noticeId(notificationId));
    return item ? readNotice(item) : undefined;
  }

  /** The addresses among `addresses` whose opt-out item says optedOut. */
  optedOut(addresses: readonly string[]): Promise<Set<string>> {
    return optedOutAmong(this.db, this.tableName, addresses);
  }

  private putOnce(item: Item): Promise<boolean> {
    return putIfAbsent(this.db, this.tableName, item);
  }

  private async deleteIf(id: string, incidentId: string): Promise<void> {
    await deleteIfEquals(this.db, this.tableName, id, 'incidentId', incidentId);
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
      parentId: s(LIVE_INCIDENTS_PARENT),
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
    const item: Item = {
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
      timeline: { L: i.events.map(timelineEntry) },
      timelineDropped: n(0),
      parentId: s(incidentKeyParentId(i.incidentKey)),
      createdAt: s(iso),
      updatedAt: s(iso),
      expiresAt: n(expiresAt(now)),
    };
    // String sets cannot be empty: an incident whose stage 0 is all opted out has no `paged` yet.
    if (i.paged.length > 0) item.paged = { SS: [...i.paged] };
    if (i.unreachable.length > 0) item.unreachable = { SS: [...i.unreachable] };
    if (i.stage0To) item.stage0To = { L: i.stage0To.map(s) };
    if (await this.putOnce(item)) return { created: true, incident: readIncident(item)! };
    const existing = await this.incident(i.id);
    if (!existing) throw new Error(`incident ${i.id} was neither created nor found`);
    return { created: false, incident: existing };
  }

  /**
   * Applies one change (changes.ts) to an existing incident; the incident as
   * it is after it, or undefined when the condition did not hold (or the item
   * is gone).
   */
  async change(id: string, change: IncidentChange, now: number): Promise<Incident | undefined> {
    const result = await updateIncident(this.db, this.tableName, id, change, now);
    return result.kind === 'updated' ? result.incident : undefined;
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
      parentId: s(notificationParentId(notificationId)),
      createdAt: s(iso),
      updatedAt: s(iso),
      expiresAt: n(expiresAt(now)),
    });
  }
}
