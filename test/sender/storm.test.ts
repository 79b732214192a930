import type { SQSEvent } from 'aws-lambda';
import { ENV } from '../../lib/contract';
import { segmentCount } from '../../lambda/sender/encoding';
import { childrenOf } from '../../lambda/shared/table/fates';
import type { SentSqsMessage } from '../support/fake-sqs';
import { useHandlersRig } from '../support/handlers-rig';
import { putItem } from '../support/table';
import { getItem, loadHandler as load, SenderHandler, TABLE_NAME } from '../support/webhook-rig';
import { batch, context, snsRecord } from '../support/sender-rig';

/*
 * Storm control through the real handlers (the sender, and inbound for the
 * replies) on one table, with the default window (60 s, one text at once):
 * texts to an address beyond the first in a window are held in the table and
 * go out as one digest when the window's timer fires. The handlers' clock
 * (Date.now) is moved by the test instead of waiting; each test texts its
 * own addresses, so windows never carry over between tests.
 */

const OUR_NUMBER = '+15557650000';
const ADDRESSES = Array.from({ length: 20 }, (_, i) => `+1555134${String(i).padStart(4, '0')}`);

const CONFIG = { from: OUR_NUMBER, defaultRecipients: [ADDRESSES[0]], allowedRecipients: ADDRESSES, claimLeaseSeconds: 60 };

// No `storm`: the default window, as a deployment without the prop gets.
const { world, twilio, out, advance, freshAddress, textsTo, deliver, digestTimers, fire, fireWhenDue, reply } = useHandlersRig({ senderConfig: CONFIG, handlers: ['sender', 'inbound'], addresses: ADDRESSES });
let serial = 0;

const param = (name: string, params: ReadonlyArray<readonly [string, string]>) => params.find(([k]) => k === name)?.[1];
const postsTo = (to: string) => twilio.createRequests().filter((r) => param('To', r.params) === to).length;

interface Published {
  readonly key: string;
  readonly snsId: string;
  readonly incidentId: string;
  readonly record: SQSEvent['Records'][number];
}
/** An incident page to `to` (an envelope with an incidentKey): its record, to deliver again. */
function pageOf(to: string, name = `svc-${++serial}`): Published {
  const snsId = `sns-${name}-${serial}`;
  const record = snsRecord(JSON.stringify({ incidentKey: name, title: name, body: `${name} is down`, to: [to] }), snsId);
  return { key: name, snsId, incidentId: `incident#${snsId}`, record };
}
async function page(to: string, name?: string): Promise<Published & { code: string }> {
  const p = pageOf(to, name);
  expect((await deliver(p.record)).batchItemFailures).toEqual([]);
  const incident = await getItem(world.table, p.incidentId);
  expect(incident).toMatchObject({ state: 'open' });
  return { ...p, code: String(incident!.code) };
}
const resolveRecord = (key: string) => snsRecord(JSON.stringify({ incidentKey: key, resolve: true }), `sns-resolve-${key}`);
const plainText = (to: string, body: string) => snsRecord(JSON.stringify({ body, to: [to] }));

describe('window boundaries', () => {
  test('the first text goes at once; texts until the window closes are held, one timer for its end; the digest names them and offers ACK ALL', async () => {
    const to = freshAddress();
    const before = Date.now();
    const first = await page(to);
    expect(textsTo(to)).toEqual([expect.stringContaining(`ACK ${first.code}`)]);
    const window = await getItem(world.table, `storm#${to}`);
    const windowEndsAt = Number(window!.windowEndsAt);
    // The default window, 60 s from the first text's decision.
    expect(windowEndsAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(windowEndsAt).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(digestTimers(to)).toEqual([]);

    const second = await page(to);
    // Two seconds before the window closes (a margin a loaded machine's handler time cannot eat): still held, while open.
    advance(windowEndsAt - Date.now() - 2_000);
    const third = await page(to);
    expect(textsTo(to)).toHaveLength(1);
    const heldTimes = Object.values((await getItem(world.table, `storm#${to}`))!.held as Record<string, { heldAt: number }>).map((h) => h.heldAt);
    expect(heldTimes).toHaveLength(2);
    for (const heldAt of heldTimes) expect(heldAt).toBeLessThan(windowEndsAt);
    const [timer, ...more] = digestTimers(to);
    expect(more).toEqual([]);
    expect(timer.timer).toEqual({ kind: 'timer', timer: 'digest', address: to, dueAt: windowEndsAt });
    expect(timer.delaySeconds).toBeGreaterThanOrEqual(59);

    // Just after the window closed, its digest not yet sent: this text joins the digest rather than go before it.
    advance(windowEndsAt - Date.now() + 1);
    const fourth = await page(to);
    expect(textsTo(to)).toHaveLength(1);

    expect((await fireWhenDue(timer)).batchItemFailures).toEqual([]);
    const texts = textsTo(to);
    expect(texts).toHaveLength(2);
    const digest = texts[1];
    expect(digest).toBe(`3 alerts: ${second.key} (${second.code}), ${third.key} (${third.code}), ${fourth.key} (${fourth.code}). Reply ACK ALL`);
    expect(segmentCount(digest)).toBe(1);
    expect(await getItem(world.table, `storm#${to}`)).toMatchObject({ heldCount: 0, held: {} });
  });

  test('the digest opens the next window: a text right after it is held and then sent as it is; once a window closes empty, the next text goes at once', async () => {
    const to = freshAddress();
    await page(to);
    await page(to);
    await fireWhenDue(digestTimers(to)[0]);
    expect(textsTo(to)).toHaveLength(2);

    const held = await page(to);
    expect(textsTo(to)).toHaveLength(2);
    const [, next] = digestTimers(to);
    expect((await fireWhenDue(next)).batchItemFailures).toEqual([]);
    // A window that held one text sends that text, not a digest of one.
    expect(textsTo(to)[2]).toBe(`${held.key} is down ACK ${held.code}`);
    const claim = await getItem(world.table, `claim#${held.snsId}#${to}`);
    expect(claim).toMatchObject({ state: 'sent' });
    expect(claim!.digest).toBeUndefined();

    // The text sent as it is opened a window too; it closes with nothing held, and the next text goes at once.
    const window = await getItem(world.table, `storm#${to}`);
    advance(Number(window!.windowEndsAt) - Date.now() + 1);
    const after = await page(to);
    expect(textsTo(to)).toEqual([expect.anything(), expect.anything(), expect.anything(), expect.stringContaining(`ACK ${after.code}`)]);
    expect(digestTimers(to)).toHaveLength(2);
  });

  test('plain texts and envelopes count and are held like pages; the digest names them by their text', async () => {
    const to = freshAddress();
    expect((await deliver(plainText(to, 'deploy 42 started'))).batchItemFailures).toEqual([]);
    expect((await deliver(plainText(to, 'deploy 42 rolled back'), plainText(to, 'db-1 failover done'))).batchItemFailures).toEqual([]);
    expect(textsTo(to)).toEqual(['deploy 42 started']);
    await fireWhenDue(digestTimers(to)[0]);
    const digest = textsTo(to)[1];
    expect(digest).toMatch(/^2 alerts: (deploy 42 rolled back, db-1 failover done|db-1 failover done, deploy 42 rolled back)$/);
  });

  test('beyond what a window keeps in full, held texts are counted: the digest stays one segment and ends +N more', async () => {
    const to = freshAddress();
    await page(to);
    const records = Array.from({ length: 56 }, (_, i) => plainText(to, `job ${i} failed`));
    for (let i = 0; i < records.length; i += 14) expect((await deliver(...records.slice(i, i + 14))).batchItemFailures).toEqual([]);
    const window = await getItem(world.table, `storm#${to}`);
    expect(window!.heldCount).toBe(50);
    expect(window!.extra.size).toBe(6);
    expect(textsTo(to)).toHaveLength(1);

    await fireWhenDue(digestTimers(to)[0]);
    const digest = textsTo(to)[1];
    expect(segmentCount(digest)).toBe(1);
    // Plain texts only: nothing for ACK ALL to acknowledge, so none is offered.
    const [, named, more] = /^56 alerts: (.*) \+(\d+) more$/.exec(digest) ?? [];
    expect(named.split(', ').length + Number(more)).toBe(56);
    // Every held text, counted ones too, went out in the digest: delivering some of each kind again sends nothing.
    expect((await deliver(...records.slice(0, 3), ...records.slice(-3))).batchItemFailures).toEqual([]);
    expect(postsTo(to)).toBe(2);
  });

  test('a held text keeps its name, not its rendering: only the first of a digest keeps its notification, so 56 long texts make a window item of a few KB', async () => {
    const to = freshAddress();
    await page(to);
    const long = (i: number) => `job ${i} failed: ${'stack trace line of a failing batch job '.repeat(34)}`;
    const records = Array.from({ length: 56 }, (_, i) => plainText(to, long(i)));
    for (let i = 0; i < records.length; i += 14) expect((await deliver(...records.slice(i, i + 14))).batchItemFailures).toEqual([]);
    const window = (await getItem(world.table, `storm#${to}`)) as { held: Record<string, { label: string; notification?: string }> };
    const entries = Object.values(window.held);
    expect(entries).toHaveLength(50);
    expect(entries.filter((e) => e.notification !== undefined)).toHaveLength(1);
    for (const e of entries) expect([...e.label].length).toBeLessThanOrEqual(120);
    // Each text is over 1.3 KB: kept whole, 50 of them would be over 65 KB.
    expect(long(0).length).toBeGreaterThan(1_300);
    expect(Buffer.byteLength(JSON.stringify(window))).toBeLessThan(16_000);

    await fireWhenDue(digestTimers(to)[0]);
    const digest = textsTo(to)[1];
    expect(segmentCount(digest)).toBe(1);
    expect(digest).toMatch(/^56 alerts: job \d+ failed.* \+\d+ more$/);
    // Each name cut in the middle, with its cut mark (GSM-7's three dots).
    expect(digest).toMatch(/^56 alerts: job \d+ failed:\.\.\.of a failing batch job, job \d+ failed:\.\.\.of a failing batch job, /);
  });

  test('a text held while a full digest is on its way is named by the next one: the 50 leaving do not count against it', async () => {
    const to = freshAddress();
    await page(to);
    const records = Array.from({ length: 50 }, (_, i) => plainText(to, `batch ${i} failed`));
    for (let i = 0; i < records.length; i += 10) expect((await deliver(...records.slice(i, i + 10))).batchItemFailures).toEqual([]);
    expect((await getItem(world.table, `storm#${to}`))!.heldCount).toBe(50);

    let answer201 = () => {};
    twilio.enqueue({ answerAfter: new Promise<void>((resolve) => (answer201 = resolve)) });
    const flushing = fireWhenDue(digestTimers(to)[0]);
    try {
      // Twilio has the digest (its 201 held): what it carries is fixed.
      for (let i = 0; i < 250 && twilio.createRequests().filter((r) => param('To', r.params) === to).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      expect(postsTo(to)).toBe(2);
      expect((await deliver(plainText(to, 'late job failed'))).batchItemFailures).toEqual([]);
    } finally {
      answer201();
    }
    expect((await flushing).batchItemFailures).toEqual([]);
    const window = (await getItem(world.table, `storm#${to}`)) as { held: Record<string, { notification?: string }>; extra?: Set<string> };
    expect(Object.values(window.held)).toEqual([expect.objectContaining({ label: 'late job failed', notification: expect.any(String) })]);
    expect(window.extra).toBeUndefined();

    // The next window's digest is that one text, sent as it is.
    const [, next] = digestTimers(to);
    expect((await fireWhenDue(next)).batchItemFailures).toEqual([]);
    expect(textsTo(to)[2]).toBe('late job failed');
  });

  test('a window written before held texts kept their names (whole notifications, bare ids past 50) is still sent: named from its notifications, the rest counted', async () => {
    const to = freshAddress();
    const windowEndsAt = Date.now() + 1_000;
    const legacy = (text: string, heldAt: number) => ({ M: { notification: { S: JSON.stringify({ kind: 'text', text }) }, page: { BOOL: false }, heldAt: { N: String(heldAt) } } });
    await putItem(world.table, {
      id: { S: `storm#${to}` },
      kind: { S: 'storm-window' },
      address: { S: to },
      windowEndsAt: { N: String(windowEndsAt) },
      sentKeys: { SS: ['legacy-first'] },
      held: { M: { 'legacy-1': legacy('legacy deploy 7 failed', windowEndsAt - 900), 'legacy-2': legacy('legacy backup late', windowEndsAt - 800) } },
      heldCount: { N: '2' },
      extra: { SS: ['legacy-3'] },
    });
    const timer = { kind: 'timer', timer: 'digest', address: to, dueAt: windowEndsAt };
    expect((await fireWhenDue({ body: JSON.stringify(timer) } as SentSqsMessage)).batchItemFailures).toEqual([]);
    expect(textsTo(to)).toEqual(['3 alerts: legacy deploy 7 failed, legacy backup late +1 more']);
    for (const key of ['legacy-1', 'legacy-2', 'legacy-3']) expect(await getItem(world.table, `claim#${key}#${to}`)).toMatchObject({ state: 'sent', digest: `digest#${windowEndsAt}`, parentId: `notification#${key}` });
    expect(await getItem(world.table, `storm#${to}`)).toMatchObject({ heldCount: 0, held: {} });
  });

  test("a page held beyond what a window names keeps its incident: its fate is filed under the incident, ACK ALL covers it, and the digest counts it", async () => {
    const to = freshAddress();
    await page(to);
    const pages = Array.from({ length: 53 }, () => pageOf(to));
    for (let i = 0; i < pages.length; i += 14) expect((await deliver(...pages.slice(i, i + 14).map((p) => p.record))).batchItemFailures).toEqual([]);
    const window = (await getItem(world.table, `storm#${to}`)) as { held: Record<string, unknown>; extra: Set<string> };
    const beyond = pages.filter((p) => !(p.snsId in window.held));
    expect(beyond).toHaveLength(3);
    expect(window.extra.size).toBe(3);

    const answer = await reply(to, 'ACK ALL');
    expect(answer.body).toContain('ACK ALL: 54 incidents acknowledged');
    for (const p of beyond) expect(await getItem(world.table, p.incidentId)).toMatchObject({ state: 'acknowledged', acknowledgedBy: to });

    await fireWhenDue(digestTimers(to)[0]);
    const digest = textsTo(to)[1];
    expect(digest).toMatch(/^53 alerts: .* \+\d+ more$/);
    for (const p of beyond) {
      const children = await childrenOf(world.table, TABLE_NAME, p.incidentId);
      expect(children.map((c) => c.id.S)).toContain(`claim#${p.snsId}#${to}`);
      expect(await getItem(world.table, `claim#${p.snsId}#${to}`)).toMatchObject({ state: 'sent', digest: expect.stringMatching(/^digest#/), parentId: p.incidentId, incidentId: p.incidentId });
    }
  });
});

describe('acknowledgements cover held pages', () => {
  test('ACK ALL acknowledges the incidents whose page is still held; the digest then says acked and offers nothing', async () => {
    const to = freshAddress();
    const first = await page(to);
    const second = await page(to);
    const third = await page(to);
    const answer = await reply(to, 'ack all');
    expect(answer.body).toContain('ACK ALL: 3 incidents acknowledged');
    for (const p of [first, second, third]) expect(await getItem(world.table, p.incidentId)).toMatchObject({ state: 'acknowledged', acknowledgedBy: to });

    await fireWhenDue(digestTimers(to)[0]);
    expect(textsTo(to)[1]).toBe(`2 alerts: ${second.key} acked, ${third.key} acked`);
  });

  test('ACK finds the newest incident whose page went out only in a digest', async () => {
    const to = freshAddress();
    const first = await page(to);
    expect((await reply(to, `ACK ${first.code}`)).body).toContain('escalation stopped');
    await page(to);
    const newest = await page(to);
    await fireWhenDue(digestTimers(to)[0]);
    expect(textsTo(to)).toHaveLength(2);

    expect((await reply(to, 'ACK')).body).toContain(`ACK ${newest.key} (${newest.code}): escalation stopped`);
    expect(await getItem(world.table, newest.incidentId)).toMatchObject({ state: 'acknowledged' });
  });

  test('a held page of another address is not this address\'s: ACK ALL from it acknowledges nothing', async () => {
    const to = freshAddress();
    const other = freshAddress();
    await page(to);
    const held = await page(to);
    expect((await reply(other, 'ACK ALL')).body).toContain('no open incident paged you');
    expect(await getItem(world.table, held.incidentId)).toMatchObject({ state: 'open' });
  });
});

describe('a resolve while the page is held', () => {
  test('the page and its RESOLVED are one line of the digest, and no RESOLVED goes on its own', async () => {
    const to = freshAddress();
    const first = await page(to);
    const flapping = await page(to);
    const resolve = resolveRecord(flapping.key);
    expect((await deliver(resolve)).batchItemFailures).toEqual([]);
    expect(await getItem(world.table, flapping.incidentId)).toMatchObject({ state: 'resolved' });
    expect(textsTo(to)).toHaveLength(1);

    await fireWhenDue(digestTimers(to)[0]);
    expect(textsTo(to)[1]).toBe(`1 alert: ${flapping.key} resolved`);
    // A redelivered resolve sends nothing more: its RESOLVED went in the digest.
    expect((await deliver(resolve)).batchItemFailures).toEqual([]);
    expect(postsTo(to)).toBe(2);
    expect(await getItem(world.table, `claim#${flapping.incidentId}#resolved#${to}`)).toMatchObject({ state: 'sent', digest: expect.stringMatching(/^digest#/) });

    // The first page went out at once: its RESOLVED is a text of its own (held into the window the digest opened).
    expect((await deliver(resolveRecord(first.key))).batchItemFailures).toEqual([]);
    expect(textsTo(to)).toHaveLength(2);
    await fireWhenDue(digestTimers(to)[1]);
    expect(textsTo(to)[2]).toMatch(new RegExp(`^RESOLVED ${first.key} after \\d+ min$`));
  });
});

describe('exactly once', () => {
  test('a record that fails after holding (the timer could not be set) holds once on redelivery, and the timer sends one digest', async () => {
    const to = freshAddress();
    await page(to);
    const held = pageOf(to);
    world.sqs.failNext(2);
    const failed = await deliver(held.record);
    expect(failed.batchItemFailures).toHaveLength(1);
    expect((await getItem(world.table, `storm#${to}`))!.heldCount).toBe(1);
    expect(digestTimers(to)).toEqual([]);

    expect((await deliver(held.record)).batchItemFailures).toEqual([]);
    expect((await getItem(world.table, `storm#${to}`))!.heldCount).toBe(1);
    const other = await page(to);
    const [timer, ...more] = digestTimers(to);
    expect(more).toEqual([]);

    expect((await fireWhenDue(timer)).batchItemFailures).toEqual([]);
    const code = String((await getItem(world.table, held.incidentId))!.code);
    expect(textsTo(to)[1]).toBe(`2 alerts: ${held.key} (${code}), ${other.key} (${other.code}). Reply ACK ALL`);
    // Both texts' records again, and the timer again: nothing more is sent.
    expect((await deliver(held.record, other.record)).batchItemFailures).toEqual([]);
    expect((await fire(timer)).batchItemFailures).toEqual([]);
    expect(postsTo(to)).toBe(2);
  });

  test('a digest timer delivered twice, one after the other and at once, sends one digest', async () => {
    const to = freshAddress();
    await page(to);
    await page(to);
    await page(to);
    const [timer] = digestTimers(to);
    advance(timer.timer.dueAt - Date.now() + 5);
    const answers = await Promise.all([fire(timer), fire(timer)]);
    expect(answers.flatMap((a) => a.batchItemFailures)).toEqual([]);
    expect((await fire(timer)).batchItemFailures).toEqual([]);
    expect(postsTo(to)).toBe(2);
    expect(textsTo(to)[1]).toMatch(/^2 alerts: /);
  });

  test('a digest timer that comes early is sent on for the time left, and sends nothing yet', async () => {
    const to = freshAddress();
    await page(to);
    await page(to);
    const [timer] = digestTimers(to);
    world.sqs.sent.length = 0;
    expect((await fire(timer)).batchItemFailures).toEqual([]);
    expect(textsTo(to)).toHaveLength(1);
    const [again] = digestTimers(to);
    expect(again.timer).toEqual(timer.timer);
    expect(again.delaySeconds).toBeGreaterThanOrEqual(58);
  });

  test('a digest timer for a window that never existed, or with nothing held, sends nothing; a malformed one is refused', async () => {
    const to = freshAddress();
    const forged = { body: JSON.stringify({ kind: 'timer', timer: 'digest', address: to, dueAt: Date.now() - 1 }) } as SentSqsMessage;
    expect((await fire(forged)).batchItemFailures).toEqual([]);
    await page(to);
    const window = await getItem(world.table, `storm#${to}`);
    const empty = { body: JSON.stringify({ kind: 'timer', timer: 'digest', address: to, dueAt: Number(window!.windowEndsAt) }) } as SentSqsMessage;
    advance(Number(window!.windowEndsAt) - Date.now() + 5);
    expect((await fire(empty)).batchItemFailures).toEqual([]);
    expect(postsTo(to)).toBe(1);
    const malformed = { body: JSON.stringify({ kind: 'timer', timer: 'digest', address: 'someone', dueAt: Date.now() }) } as SentSqsMessage;
    expect((await fire(malformed)).batchItemFailures).toEqual([]);
    expect(out.logs()).toContainEqual(expect.objectContaining({ message: 'timer can never fire', reason: expect.stringContaining('"address" of a digest timer must be a recipient address') }));
  });
});

describe('windowSeconds 0', () => {
  test('turns digests off: every text goes at once and no window is kept', async () => {
    const saved = process.env[ENV.SENDER_CONFIG];
    process.env[ENV.SENDER_CONFIG] = JSON.stringify({ ...CONFIG, storm: { windowSeconds: 0 } });
    const off = await load<SenderHandler>('../../lambda/sender').finally(() => {
      process.env[ENV.SENDER_CONFIG] = saved;
    });
    const to = freshAddress();
    const pages = [pageOf(to), pageOf(to), pageOf(to)];
    for (const p of pages) expect((await off(batch(p.record), context())).batchItemFailures).toEqual([]);
    expect(textsTo(to)).toHaveLength(3);
    expect(await getItem(world.table, `storm#${to}`)).toBeUndefined();
    expect(digestTimers(to)).toEqual([]);
  });
});
