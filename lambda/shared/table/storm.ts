import { AttributeValue, DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { conditionally, Item, n, namesIn, s } from './attributes';
import { expiresAt } from './items';

/*
 * The storm window of one recipient (lambda/sender/storm/): item
 * `storm#<address>`, kind `storm-window`, with
 *
 * - windowEndsAt (N, epoch ms): the end of the address's current window; it
 *   is open while now < windowEndsAt;
 * - sentKeys (SS): the texts sent at once in this window (their
 *   notification ids), at most immediatePages; a redelivered one is sent
 *   again (its send claim keeps it to one message), never held;
 * - held (M): the texts held for the window's digest, by notification id,
 *   each { label (S, what the digest names it by), incidentId?, page (BOOL),
 *   heldAt (N), notification? }; heldCount (N) counts them, at most
 *   MAX_HELD_ENTRIES. Only the first text of a digest keeps `notification`
 *   (S, the JSON it is built from): a digest of one sends it as it is, and
 *   any other text needs no more than its name, so an entry is about a
 *   hundred bytes, not the 1–2 KB of an alarm's rendering;
 * - extra (SS): texts held beyond MAX_HELD_ENTRIES, which the digest only
 *   counts: each its notification id, with its incident and whether it is a
 *   page (encodeExtra), so its fate is filed under its incident and ACK ALL
 *   covers it;
 * - timerArmedFor (N): the window end a digest timer was handed to SQS for.
 *
 * Every write is one conditional UpdateItem on what the writer read (the
 * window's end; a held id not yet there), so concurrent invocations each see
 * their text either sent at once or held, never both, and a redelivered text
 * is never held twice (its id is already a key of `held`). The digest removes
 * exactly the ids it sent (REMOVE held.<id>, DELETE extra), so a text held
 * while the digest was on its way stays held for the next one.
 */

export const STORM_ID_PREFIX = 'storm#';
export const STORM_KIND = 'storm-window';
export const stormId = (address: string): string => `${STORM_ID_PREFIX}${address}`;

/** Held texts kept with their names per window; beyond, only counted (a digest names a handful in its one segment anyway). */
export const MAX_HELD_ENTRIES = 50;

export interface HeldText {
  /** What a digest names it by when it is no incident's page (or its incident is gone). */
  readonly label: string;
  /** The Notification (JSON) the text is built from, kept for the first text of a digest only (firstOfItsDigest): sent as it is when it is the digest's only text. */
  readonly notification?: string;
  readonly incidentId?: string;
  readonly page: boolean;
  /** Epoch ms. */
  readonly heldAt: number;
}

/** A text held beyond MAX_HELD_ENTRIES: counted by the digest, its fate filed like any other's. */
export interface ExtraText {
  readonly key: string;
  readonly incidentId?: string;
  readonly page: boolean;
  /** The element of `extra` as stored (what a DELETE must name). */
  readonly stored: string;
}

/** Between an extra's fields: a character no notification id or incident id holds. */
const EXTRA_SEPARATOR = '\u001f';

/** `extra`'s element for a text: its id alone when it has no incident (as before incidents were kept). */
export function encodeExtra(key: string, incidentId: string | undefined, page: boolean): string {
  return incidentId === undefined ? key : [key, incidentId, page ? 'page' : 'text'].join(EXTRA_SEPARATOR);
}

function decodeExtra(stored: string): ExtraText {
  const [key, incidentId, kind] = stored.split(EXTRA_SEPARATOR);
  return { key, ...(incidentId ? { incidentId } : {}), page: kind === 'page', stored };
}

export interface StormWindow {
  readonly address: string;
  readonly windowEndsAt: number;
  readonly sentKeys: readonly string[];
  readonly held: ReadonlyMap<string, HeldText>;
  readonly extra: readonly ExtraText[];
  readonly timerArmedFor?: number;
  /** The window whose digest's ids are fixed (fixDigest), and those ids. */
  readonly digestFor?: number;
  readonly digestKeys: readonly string[];
}

/** Anything waits for the window's digest. */
export const holdsAny = (w: StormWindow | undefined): boolean => w !== undefined && (w.held.size > 0 || w.extra.length > 0);

/** The text is held already (in full or beyond the cap). */
export const isHeld = (w: StormWindow, key: string): boolean => w.held.has(key) || w.extra.some((e) => e.key === key);

/** The ids the window's digest carries, once fixDigest fixed them (a text held after that waits for the next window's). */
const fixedIds = (seen: StormWindow): ReadonlySet<string> => (seen.digestFor === seen.windowEndsAt ? new Set(seen.digestKeys) : new Set<string>());

/**
 * A text held now into `seen` would be the first of the digest it goes in:
 * nothing waits yet, or only what the window's fixed digest carries (a text
 * held after fixDigest waits for the next window's).
 */
export function firstOfItsDigest(seen: StormWindow): boolean {
  const fixed = fixedIds(seen);
  return [...seen.held.keys()].every((k) => fixed.has(k)) && seen.extra.every((e) => fixed.has(e.stored));
}

function readHeld(v: AttributeValue | undefined): HeldText | undefined {
  const m = v?.M;
  // An entry written before names were kept has only its notification (flush.ts names it from that).
  if (!m || (m.label?.S === undefined && m.notification?.S === undefined)) return undefined;
  return {
    label: m.label?.S ?? '',
    ...(m.notification?.S ? { notification: m.notification.S } : {}),
    ...(m.incidentId?.S ? { incidentId: m.incidentId.S } : {}),
    page: m.page?.BOOL === true,
    heldAt: Number(m.heldAt?.N ?? 0),
  };
}

function readWindowItem(item: Item | undefined): StormWindow | undefined {
  if (!item?.address?.S) return undefined;
  const held = new Map<string, HeldText>();
  for (const [key, v] of Object.entries(item.held?.M ?? {})) {
    const entry = readHeld(v);
    if (entry) held.set(key, entry);
  }
  return {
    address: item.address.S,
    windowEndsAt: Number(item.windowEndsAt?.N ?? 0),
    sentKeys: item.sentKeys?.SS ?? [],
    held,
    extra: (item.extra?.SS ?? []).map(decodeExtra),
    ...(item.timerArmedFor?.N ? { timerArmedFor: Number(item.timerArmedFor.N) } : {}),
    ...(item.digestFor?.N ? { digestFor: Number(item.digestFor.N) } : {}),
    digestKeys: (item.digestKeys?.L ?? []).flatMap((v) => (v.S !== undefined ? [v.S] : [])),
  };
}

const heldValue = (h: HeldText): AttributeValue => ({
  M: {
    label: s(h.label),
    ...(h.notification !== undefined ? { notification: s(h.notification) } : {}),
    ...(h.incidentId !== undefined ? { incidentId: s(h.incidentId) } : {}),
    page: { BOOL: h.page },
    heldAt: n(h.heldAt),
  },
});

export class StormWindows {
  constructor(
    private readonly db: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /** The address's window as it is now (consistent read). */
  async read(address: string): Promise<StormWindow | undefined> {
    const { Item } = await this.db.send(new GetItemCommand({ TableName: this.tableName, Key: { id: s(stormId(address)) }, ConsistentRead: true }));
    return readWindowItem(Item);
  }

  /** One conditional UpdateItem; `keys` names the expression's map keys (`#key`, `#k0`…), every other `#name` is the attribute `name`. */
  private async update(address: string, update: string, condition: string, keys: Record<string, string>, values: Item, now: number): Promise<StormWindow | undefined> {
    const common: Item = { ':updatedAt': s(new Date(now).toISOString()), ':expiresAt': n(expiresAt(now)), ':kind': s(STORM_KIND), ':address': s(address) };
    const used = `${update} ${condition}`;
    const written = await conditionally(
      this.db.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { id: s(stormId(address)) },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: { ...namesIn(update, condition), ...keys },
          ExpressionAttributeValues: { ...Object.fromEntries(Object.entries(common).filter(([k]) => new RegExp(`${k}\\b`).test(used))), ...values },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return written.held ? readWindowItem(written.out.Attributes) : undefined;
  }

  /**
   * A text goes at once and opens a new window, if no window is open and
   * nothing is held (`seen` is what the caller read, or undefined to try
   * without a read: the quiet case costs one write).
   */
  openWith(address: string, key: string, seen: StormWindow | undefined, now: number, windowMs: number): Promise<StormWindow | undefined> {
    const ended = seen ? '#windowEndsAt = :seenEnd' : '(attribute_not_exists(#windowEndsAt) OR #windowEndsAt <= :now)';
    return this.update(
      address,
      'SET #windowEndsAt = :end, #sentKeys = :keys, #held = :empty, #heldCount = :zero, #kind = :kind, #address = :address, #updatedAt = :updatedAt, #expiresAt = :expiresAt REMOVE #extra, #timerArmedFor',
      `${seen ? `${ended} AND #windowEndsAt <= :now` : ended} AND (attribute_not_exists(#heldCount) OR #heldCount = :zero) AND attribute_not_exists(#extra)`,
      {},
      { ':end': n(now + windowMs), ':keys': { SS: [key] }, ':empty': { M: {} }, ':zero': n(0), ':now': n(now), ...(seen ? { ':seenEnd': n(seen.windowEndsAt) } : {}) },
      now,
    );
  }

  /** One more text at once in the open window `seen`, if the window has not changed since. */
  addSent(address: string, key: string, seen: StormWindow, now: number): Promise<StormWindow | undefined> {
    const sameSent = seen.sentKeys.length === 0 ? 'attribute_not_exists(#sentKeys)' : 'size(#sentKeys) = :sentCount';
    return this.update(
      address,
      'ADD #sentKeys :key SET #updatedAt = :updatedAt',
      `#windowEndsAt = :seenEnd AND #windowEndsAt > :now AND ${sameSent}`,
      {},
      { ':key': { SS: [key] }, ':seenEnd': n(seen.windowEndsAt), ':now': n(now), ...(seen.sentKeys.length > 0 ? { ':sentCount': n(seen.sentKeys.length) } : {}) },
      now,
    );
  }

  /**
   * Holds a text for the digest of window `seen` (open, or closed with its
   * digest still due), keeping its notification only when it is the first
   * of its digest. A text already held is refused (undefined): the caller
   * re-reads and finds it there.
   */
  hold(address: string, key: string, text: HeldText & { readonly notification: string }, seen: StormWindow, now: number): Promise<StormWindow | undefined> {
    // The entries a digest on its way carries leave with it: they do not count against the next digest's.
    const fixed = fixedIds(seen);
    const leaving = [...seen.held.keys()].filter((k) => fixed.has(k)).length;
    if (seen.held.size - leaving >= MAX_HELD_ENTRIES) {
      return this.update(address, 'ADD #extra :key SET #updatedAt = :updatedAt', '#windowEndsAt = :seenEnd', {}, { ':key': { SS: [encodeExtra(key, text.incidentId, text.page)] }, ':seenEnd': n(seen.windowEndsAt) }, now);
    }
    const { notification, ...named } = text;
    // The first keeps its notification only if no other text was held since the read (concurrent holds would all keep theirs).
    const first = firstOfItsDigest(seen);
    return this.update(
      address,
      'SET #held.#key = :text, #updatedAt = :updatedAt ADD #heldCount :one',
      `#windowEndsAt = :seenEnd AND attribute_not_exists(#held.#key) AND ${first ? '#heldCount = :seenHeld' : '#heldCount < :max'}`,
      { '#key': key },
      { ':text': heldValue(first ? text : named), ':seenEnd': n(seen.windowEndsAt), ':one': n(1), ...(first ? { ':seenHeld': n(seen.held.size) } : { ':max': n(MAX_HELD_ENTRIES + leaving) }) },
      now,
    );
  }

  /** Records that a digest timer for the window ending `windowEndsAt` is with SQS. */
  async timerArmed(address: string, windowEndsAt: number, now: number): Promise<void> {
    await this.update(address, 'SET #timerArmedFor = :end, #updatedAt = :updatedAt', '#windowEndsAt = :end', {}, { ':end': n(windowEndsAt) }, now);
  }

  /**
   * Fixes what the digest of window `seen` carries, once: the first flush of
   * the window records its held ids on the window item, and every later or
   * concurrent flush of the same window (a timer delivered twice, a hold
   * race's second timer) carries exactly those, never what it read itself.
   * Without it, a second flush that read more held texts marked them as gone
   * in a digest the first flush had sent without them. Texts held after the
   * ids were fixed wait for the next window. Undefined when the window has
   * moved on.
   */
  async fixDigest(address: string, seen: StormWindow, now: number): Promise<StormWindow | undefined> {
    const ids = [...seen.held.keys(), ...seen.extra.map((e) => e.stored)];
    const fixed =
      (await this.update(
        address,
        'SET #digestFor = :seenEnd, #digestKeys = :ids, #updatedAt = :updatedAt',
        '#windowEndsAt = :seenEnd AND (attribute_not_exists(#digestFor) OR #digestFor <> :seenEnd)',
        {},
        { ':seenEnd': n(seen.windowEndsAt), ':ids': { L: ids.map((id) => s(id)) } },
        now,
      )) ?? (await this.read(address));
    if (!fixed || fixed.windowEndsAt !== seen.windowEndsAt || fixed.digestFor !== seen.windowEndsAt) return undefined;
    const carried = new Set(fixed.digestKeys);
    return { ...fixed, held: new Map([...fixed.held].filter(([id]) => carried.has(id))), extra: fixed.extra.filter((e) => carried.has(e.stored)) };
  }

  /**
   * The digest (or the window's only text) of window `seen` went out under
   * `sentKey`: the ids it carried leave the window, which opens again until
   * `now + windowMs` with that text as its one sent at once. Ids held since
   * the digest's read stay held. Undefined when the window had already moved
   * on (another delivery of the timer did this).
   */
  closeWith(address: string, seen: StormWindow, sentKey: string, now: number, windowMs: number): Promise<StormWindow | undefined> {
    const keys = [...seen.held.keys()];
    const names: Record<string, string> = {};
    keys.forEach((k, i) => (names[`#k${i}`] = k));
    const values: Item = { ':seenEnd': n(seen.windowEndsAt), ':end': n(now + windowMs), ':keys': { SS: [sentKey] }, ':minus': n(-keys.length) };
    if (seen.extra.length > 0) values[':extra'] = { SS: seen.extra.map((e) => e.stored) };
    const remove = ['#timerArmedFor', ...keys.map((_, i) => `#held.#k${i}`)].join(', ');
    const update = `SET #windowEndsAt = :end, #sentKeys = :keys, #updatedAt = :updatedAt REMOVE ${remove} ADD #heldCount :minus${seen.extra.length > 0 ? ' DELETE #extra :extra' : ''}`;
    return this.update(address, update, '#windowEndsAt = :seenEnd', names, values, now);
  }
}

/**
 * The incidents whose page to `address` waits in its storm window (inbound:
 * an ACK covers them, since the incident counts the address as paged).
 */
export async function heldIncidentIds(db: DynamoDBClient, tableName: string, address: string): Promise<string[]> {
  const { Item } = await db.send(
    new GetItemCommand({ TableName: tableName, Key: { id: s(stormId(address)) }, ConsistentRead: true, ProjectionExpression: '#held, #extra', ExpressionAttributeNames: { '#held': 'held', '#extra': 'extra' } }),
  );
  const ids = new Set<string>();
  for (const v of Object.values(Item?.held?.M ?? {})) {
    const entry = v.M;
    if (entry?.page?.BOOL === true && entry.incidentId?.S) ids.add(entry.incidentId.S);
  }
  for (const extra of (Item?.extra?.SS ?? []).map(decodeExtra)) if (extra.page && extra.incidentId !== undefined) ids.add(extra.incidentId);
  return [...ids];
}
