import type { SQSRecord } from 'aws-lambda';
import { BODY_MATCH, MAX_ADDED_CHARS, matchBody, matchTemplate } from '../../lambda/sender/body-match';
import { expectedMessage, ExpectedMessage, MAX_PAGES, PAGE_SIZE, rankCandidate } from '../../lambda/sender/lookup';
import type { OutboundMessage } from '../../lambda/sender/message-params';
import type { TwilioMessage } from '../../lambda/shared/twilio-client';
import { rfc2822 } from '../support/fake-twilio';
import { batch, context, FROM, loadHandler, Rig, snsRecord, startRig } from '../support/sender-rig';

const R5 = '+15551230005';
const MG = 'MG' + '1'.repeat(32);
const OTHER_MG = 'MG' + '2'.repeat(32);
const TRIAL = 'Sent from your Twilio trial account - ';
const OPT_OUT = '\n\nReply STOP to unsubscribe.';
const LONG = 'ALARM db-1-replica-lag: replica lag over 30 s on db-1 for 3 datapoints, failing over to db-2';
/** Twilio's smart encoding: typographic characters replaced by GSM-7 look-alikes. */
const smartEncode = (s: string) =>
  s.replace(/[“”]/g, '"').replace(/[‘’]/g, "'").replace(/[–—]/g, '-').replace(/…/g, '...').replace(/\u00A0/g, ' ');

describe('body matching', () => {
  test.each([
    ['the same body', 'CPU 95% on db-1', 'CPU 95% on db-1', BODY_MATCH.EXACT],
    ['a trial-account prefix', 'CPU 95% on db-1', `${TRIAL}CPU 95% on db-1`, BODY_MATCH.CONTAINED],
    ['appended opt-out text', 'CPU 95% on db-1', `CPU 95% on db-1${OPT_OUT}`, BODY_MATCH.CONTAINED],
    ['both a prefix and a suffix', 'CPU 95% on db-1', `${TRIAL}CPU 95% on db-1${OPT_OUT}`, BODY_MATCH.CONTAINED],
    ['line endings and runs of spaces normalised', 'db-1 down\nsince 10:00  UTC ', 'db-1 down\r\nsince 10:00 UTC', BODY_MATCH.SAME_TEXT],
    ['Unicode decomposed (NFD) or composed (NFC)', 'Café São Paulo down', 'Café São Paulo down'.normalize('NFD'), BODY_MATCH.SAME_TEXT],
    ['full-width and ligature forms (NFKC)', 'ﬁle server ＤＢ1 down', 'file server DB1 down', BODY_MATCH.SAME_TEXT],
    ['GSM-7 look-alikes (smart encoding)', '“Disk” 91% on db-1 — it’s full…', '"Disk" 91% on db-1 - it\'s full...', BODY_MATCH.SAME_WORDS],
    ['a character without a look-alike stored as ?', '🚨 db-1 down', '? db-1 down', BODY_MATCH.SAME_WORDS],
    ['diacritics GSM-7 lacks transliterated', 'Łódź: ç ø ß', 'Lodz: c o ss', BODY_MATCH.SAME_WORDS],
    ['look-alikes and an opt-out text together', '“db-1” – down', `"db-1" - down${OPT_OUT}`, BODY_MATCH.CONTAINED],
    ['an emoji-only body with a prefix', '🚨🚨', `${TRIAL}🚨🚨`, BODY_MATCH.CONTAINED],
    ['a long body cut short, mid-word', LONG, LONG.slice(0, Math.ceil(LONG.length * 0.8)), BODY_MATCH.TRUNCATED],
    ['a long body cut short after smart encoding', '“db-1” – replica lag over 30 s… it’s failing over to db-2 now', '"db-1" - replica lag over 30 s... it\'s failing over', BODY_MATCH.TRUNCATED],
  ])('matches %s', (_, sent, stored, grade) => {
    expect(matchBody(sent, stored)).toBe(grade);
  });

  test.each([
    ['a digit changed (the next page of the same alarm)', 'CPU 95% on db-1', 'CPU 96% on db-1'],
    ['a digit changed behind a prefix', 'CPU 95% on db-1', `${TRIAL}CPU 96% on db-1`],
    ['another host whose name starts with ours', 'CPU 95% on db-1', 'CPU 95% on db-10'],
    ['punctuation that separates digits', 'CPU 9.5% on db-1', 'CPU 95% on db-1'],
    ['a word missing', 'db-1 down since 10:00', 'db-1 since 10:00'],
    ['the words in another order', 'db-1 down, db-2 up', 'db-2 up, db-1 down'],
    ['more added than Twilio ever adds', 'db-1 down', `db-1 down ${'x'.repeat(MAX_ADDED_CHARS)}`],
    ['an empty stored body', 'db-1 down', ''],
    ['emoji that differ', '🚨', '🔥'],
    ['a short body that begins like ours', 'db-1 down again since 10:00', 'db-1 down'],
    ['a long body cut to less than most of it', LONG, LONG.slice(0, Math.floor(LONG.length * 0.6))],
    ['a long body whose start differs', LONG, `x${LONG.slice(1, Math.ceil(LONG.length * 0.8))}`],
  ])('does not match %s', (_, sent, stored) => {
    expect(matchBody(sent, stored)).toBe(BODY_MATCH.NONE);
  });

  test('a template is matched on its variable values, on word boundaries', () => {
    expect(matchTemplate(['db-1 down', '95%'], 'Alert: db-1 down (CPU 95%). Reply ACK.')).toBe(BODY_MATCH.CONTAINED);
    expect(matchTemplate(['db-1 down'], 'Alert: db-10 down')).toBe(BODY_MATCH.NONE);
    expect(matchTemplate(['db-1 down', '95%'], 'Alert: db-1 down (CPU 96%)')).toBe(BODY_MATCH.NONE);
    expect(matchTemplate([], 'Alert: anything')).toBe(BODY_MATCH.UNCHECKED);
  });
});

describe('candidates', () => {
  const claimedAt = Date.parse('2026-12-01T10:00:00Z');
  const claim = { createdAt: new Date(claimedAt).toISOString(), leaseUntil: claimedAt + 60_000 };
  const sms = (overrides: Partial<OutboundMessage> = {}): OutboundMessage => ({
    to: R5,
    channel: 'sms',
    params: [['To', R5], ['From', FROM], ['Body', 'CPU 95% on db-1']],
    preview: 'CPU 95% on db-1',
    body: 'CPU 95% on db-1',
    from: FROM,
    ...overrides,
  });
  const message = (overrides: Partial<TwilioMessage> & { at?: number } = {}): TwilioMessage => {
    const { at = claimedAt + 1_000, ...rest } = overrides;
    return {
      sid: 'SM' + 'a'.repeat(32),
      status: 'queued',
      to: R5,
      from: FROM,
      body: `${TRIAL}CPU 95% on db-1`,
      num_segments: '1',
      num_media: '0',
      price: null,
      price_unit: 'USD',
      date_created: rfc2822(new Date(at)),
      messaging_service_sid: null,
      direction: 'outbound-api',
      ...rest,
    };
  };
  const afterLease = claim.leaseUntil + 30_000;
  /** The plain SMS sent, looked up after its lease ended. */
  const expected = (): ExpectedMessage => expectedMessage(sms(), claim, afterLease);

  test('a drifted body from the same sender, to the same address, in the window, is a candidate', () => {
    expect(rankCandidate(expected(), message())).toBe(BODY_MATCH.CONTAINED);
  });

  test.each<[string, Partial<TwilioMessage> & { at?: number }]>([
    ['created before the claim (beyond the clock slack)', { at: claimedAt - 6_000 }],
    ['created after the lease ended (beyond the clock slack)', { at: claim.leaseUntil + 6_000 }],
    ['sent to another address', { to: '+15551230006' }],
    ['sent from another number', { from: '+15550000009' }],
    ['an inbound message', { direction: 'inbound' }],
    ['a reply Twilio made to an inbound message', { direction: 'outbound-reply' }],
    ['an MMS where an SMS was sent', { num_media: '1' }],
    ['a different text', { body: `${TRIAL}CPU 96% on db-1` }],
  ])('not a candidate: %s', (_, overrides) => {
    expect(rankCandidate(expected(), message(overrides))).toBe(BODY_MATCH.NONE);
  });

  test('within the clock slack either side of the window: a candidate', () => {
    expect(rankCandidate(expected(), message({ at: claimedAt - 4_000 }))).toBe(BODY_MATCH.CONTAINED);
    expect(rankCandidate(expected(), message({ at: claim.leaseUntil + 4_000 }))).toBe(BODY_MATCH.CONTAINED);
  });

  test('a lookup while the lease still runs (after a 5xx) looks no later than now', () => {
    const now = claimedAt + 10_000;
    const during = expectedMessage(sms(), claim, now);
    expect(during.until).toBeLessThan(claim.leaseUntil);
    expect(rankCandidate(during, message({ at: now + 20_000 }))).toBe(BODY_MATCH.NONE);
    expect(rankCandidate(during, message({ at: now - 1_000 }))).toBe(BODY_MATCH.CONTAINED);
  });

  test('a Messaging Service send: the service must match, whatever number it assigned', () => {
    const viaService = expectedMessage(sms({ params: [['To', R5], ['MessagingServiceSid', MG], ['Body', 'CPU 95% on db-1']], from: undefined, messagingServiceSid: MG }), claim, afterLease);
    expect(rankCandidate(viaService, message({ from: '+15550000042', messaging_service_sid: MG }))).toBe(BODY_MATCH.CONTAINED);
    expect(rankCandidate(viaService, message({ from: null, messaging_service_sid: MG }))).toBe(BODY_MATCH.CONTAINED);
    expect(rankCandidate(viaService, message({ messaging_service_sid: OTHER_MG }))).toBe(BODY_MATCH.NONE);
    expect(rankCandidate(viaService, message({ messaging_service_sid: null }))).toBe(BODY_MATCH.NONE);
  });

  test('a media-only send: held to its media count, whatever the body', () => {
    const media = expectedMessage(
      sms({ channel: 'mms', params: [['To', R5], ['From', FROM], ['MediaUrl', 'https://example.com/a.png'], ['MediaUrl', 'https://example.com/b.png']], body: undefined }),
      claim,
      afterLease,
    );
    expect(rankCandidate(media, message({ body: '', num_media: '2' }))).toBe(BODY_MATCH.EXACT);
    expect(rankCandidate(media, message({ body: OPT_OUT.trim(), num_media: '2' }))).toBe(BODY_MATCH.UNCHECKED);
    expect(rankCandidate(media, message({ body: '', num_media: '1' }))).toBe(BODY_MATCH.NONE);
    expect(rankCandidate(media, message({ body: 'db-2 down', num_media: '0' }))).toBe(BODY_MATCH.NONE);
  });

  test('a template send: matched on its variables, not held to a media count (a template may carry a media header)', () => {
    const template = expectedMessage(
      sms({ params: [['To', R5], ['From', FROM], ['ContentSid', 'HX' + 'c'.repeat(32)], ['ContentVariables', JSON.stringify({ 1: 'db-1 down' })]], body: undefined }),
      claim,
      afterLease,
    );
    expect(rankCandidate(template, message({ body: 'Alert: db-1 down. Reply ACK.', num_media: '1' }))).toBe(BODY_MATCH.CONTAINED);
    expect(rankCandidate(template, message({ body: 'Alert: db-2 down. Reply ACK.' }))).toBe(BODY_MATCH.NONE);
  });
});

describe('through the handler: a crashed send whose body Twilio changed', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ from: FROM, defaultRecipients: [R5], claimLeaseSeconds: 60 });
  });
  afterAll(() => rig.close());
  beforeEach(() => rig.twilio.reset());

  const creates = () => rig.twilio.createRequests();

  async function expireLease(claimId: string): Promise<void> {
    const claim = await rig.item(claimId);
    await rig.put({ ...claim, leaseUntil: Date.now() - 1 });
  }

  /** A pending claim whose holder crashed a while ago, before or after its POST. */
  async function crashedClaim(notificationId: string, claimedAt: Date, leaseUntil = Date.now() - 1_000): Promise<void> {
    const iso = claimedAt.toISOString();
    await rig.put({ id: `claim#${notificationId}#${R5}`, kind: 'claim', notificationId, recipient: R5, state: 'pending', leaseUntil, attempts: 1, createdAt: iso, updatedAt: iso });
  }

  /** Sends once with the connection dropped after Twilio created the message, then redelivers after the lease. */
  async function dropThenRedeliver(record: SQSRecord, notificationId: string, storedBody: (sent: string) => string, handler = rig.handler) {
    rig.twilio.enqueue({ drop: 'after-create', storedBody });
    expect((await handler(batch(record), context())).batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    await expireLease(`claim#${notificationId}#${R5}`);
    expect((await handler(batch(record), context())).batchItemFailures).toEqual([]);
  }

  test.each<[string, string, string, (sent: string) => string]>([
    ['a trial-account prefix', 'prefix', 'CPU 95% on db-1', (s) => TRIAL + s],
    ['appended opt-out text', 'opt-out', 'CPU 95% on db-1', (s) => s + OPT_OUT],
    ['GSM-7 look-alikes (smart encoding)', 'smart', '“Disk” 91% on db-1 — it’s full…', smartEncode],
    ['normalised Unicode and line endings', 'nfd', 'Café down\nsince 10:00', (s) => s.normalize('NFD').replace(/\n/g, '\r\n')],
  ])('%s: the redelivery records the message the lookup found and makes no second POST', async (_, name, body, storedBody) => {
    const id = `sns-drift-${name}`;
    await dropThenRedeliver(snsRecord(JSON.stringify({ body, to: R5 }), id), id, storedBody);
    expect(creates()).toHaveLength(1);
    const [message] = rig.twilio.messages.values();
    expect(message.body).toBe(storedBody(body));
    expect(message.body).not.toBe(body);
    expect(await rig.item(`claim#${id}#${R5}`)).toMatchObject({ state: 'sent', messageSid: message.sid, attempts: 1 });
    expect(await rig.item(message.sid)).toMatchObject({ notificationId: id, to: R5 });
  });

  test('a Messaging Service send with opt-out text appended is found; another service\'s message is not ours', async () => {
    const saved = process.env.SENDER_CONFIG;
    process.env.SENDER_CONFIG = JSON.stringify({ messagingServiceSid: MG, defaultRecipients: [R5], claimLeaseSeconds: 60 });
    const handler = await loadHandler().finally(() => {
      process.env.SENDER_CONFIG = saved;
    });
    rig.twilio.addMessage({ to: R5, messagingServiceSid: OTHER_MG, body: 'db-1 down' + OPT_OUT, dateCreated: new Date(Date.now() - 100) });
    await dropThenRedeliver(snsRecord('db-1 down', 'sns-drift-mg'), 'sns-drift-mg', (s) => s + OPT_OUT, handler);
    expect(creates()).toHaveLength(1);
    expect(await rig.item(`claim#sns-drift-mg#${R5}`)).toMatchObject({ state: 'sent', messageSid: creates()[0].sid });
  });

  test('among several drifted messages in the window: not another notification\'s, not another text, the one that is ours', async () => {
    const claimedAt = new Date(Date.now() - 120_000);
    await crashedClaim('sns-drift-many', claimedAt);
    const at = (ms: number) => new Date(claimedAt.getTime() + ms);
    const owned = rig.twilio.addMessage({ to: R5, from: FROM, body: `${TRIAL}CPU 95% on db-1`, dateCreated: at(100) });
    await rig.put({ id: owned.sid, kind: 'message', notificationId: 'another-notification', status: 'queued', statusRank: 1 });
    rig.twilio.addMessage({ to: R5, from: FROM, body: `${TRIAL}CPU 96% on db-1`, dateCreated: at(200) });
    const ours = rig.twilio.addMessage({ to: R5, from: FROM, body: `${TRIAL}CPU 95% on db-1`, dateCreated: at(1_300) });
    const out = await rig.handler(batch(snsRecord(JSON.stringify({ body: 'CPU 95% on db-1', to: R5 }), 'sns-drift-many')), context());
    expect(out.batchItemFailures).toEqual([]);
    expect(creates()).toHaveLength(0);
    expect(await rig.item(`claim#sns-drift-many#${R5}`)).toMatchObject({ state: 'sent', messageSid: ours.sid });
    expect(await rig.item(owned.sid)).toMatchObject({ notificationId: 'another-notification' });
  });

  test('a message already recorded for this notification wins over a closer body match that is not', async () => {
    const claimedAt = new Date(Date.now() - 120_000);
    await crashedClaim('sns-drift-recorded', claimedAt);
    // The message write landed, the claim's mark as sent was lost: the drifted message is ours.
    const ours = rig.twilio.addMessage({ to: R5, from: FROM, body: `${TRIAL}disk full on db-1`, dateCreated: new Date(claimedAt.getTime() + 100) });
    await rig.put({ id: ours.sid, kind: 'message', notificationId: 'sns-drift-recorded', status: 'queued', statusRank: 1 });
    rig.twilio.addMessage({ to: R5, from: FROM, body: 'disk full on db-1', dateCreated: new Date(claimedAt.getTime() + 2_000) });
    await rig.handler(batch(snsRecord(JSON.stringify({ body: 'disk full on db-1', to: R5 }), 'sns-drift-recorded')), context());
    expect(creates()).toHaveLength(0);
    expect(await rig.item(`claim#sns-drift-recorded#${R5}`)).toMatchObject({ state: 'sent', messageSid: ours.sid });
  });

  test('a page that never reached Twilio is sent, though a near-identical page to the same phone sits in the window', async () => {
    rig.twilio.addMessage({ to: R5, from: FROM, body: `${TRIAL}CPU 96% on db-1${OPT_OUT}`, dateCreated: new Date(Date.now() - 50) });
    rig.twilio.enqueue({ drop: 'before-create' });
    const record = snsRecord(JSON.stringify({ body: 'CPU 95% on db-1', to: R5 }), 'sns-drift-never');
    expect((await rig.handler(batch(record), context())).batchItemFailures).toHaveLength(1);
    await expireLease(`claim#sns-drift-never#${R5}`);
    expect((await rig.handler(batch(record), context())).batchItemFailures).toEqual([]);
    expect(creates().map((r) => r.outcome)).toEqual(['dropped-before-create', 'created']);
    expect(await rig.item(`claim#sns-drift-never#${R5}`)).toMatchObject({ state: 'sent', messageSid: creates()[1].sid, attempts: 2 });
  });

  test('a drifted message created after the claim\'s lease ended is not ours', async () => {
    const claimedAt = new Date(Date.now() - 120_000);
    await crashedClaim('sns-drift-late', claimedAt, claimedAt.getTime() + 60_000);
    rig.twilio.addMessage({ to: R5, from: FROM, body: `${TRIAL}CPU 95% on db-1`, dateCreated: new Date(claimedAt.getTime() + 90_000) });
    await rig.handler(batch(snsRecord(JSON.stringify({ body: 'CPU 95% on db-1', to: R5 }), 'sns-drift-late')), context());
    expect(creates()).toHaveLength(1);
  });

  test('a media-only page is not taken for a text message to the same phone in the window', async () => {
    rig.twilio.addMessage({ to: R5, from: FROM, body: 'db-2 down', dateCreated: new Date(Date.now() - 50) });
    rig.twilio.enqueue({ drop: 'before-create' });
    const record = snsRecord(JSON.stringify({ mediaUrls: ['https://example.com/graph.png'], to: R5 }), 'sns-media-only');
    expect((await rig.handler(batch(record), context())).batchItemFailures).toHaveLength(1);
    await expireLease(`claim#sns-media-only#${R5}`);
    await rig.handler(batch(record), context());
    expect(creates().map((r) => r.outcome)).toEqual(['dropped-before-create', 'created']);
    expect(await rig.item(`claim#sns-media-only#${R5}`)).toMatchObject({ state: 'sent', messageSid: creates()[1].sid });
  });

  test('more fitting messages than the lookup reads owners for, the best all another notification\'s: undecided, retried, nothing sent', async () => {
    const claimedAt = new Date(Date.now() - 120_000);
    await crashedClaim('sns-drift-flood', claimedAt);
    for (let i = 0; i < 26; i++) {
      const m = rig.twilio.addMessage({ to: R5, from: FROM, body: `${TRIAL}db-1 down`, dateCreated: new Date(claimedAt.getTime() + 100 + i) });
      await rig.put({ id: m.sid, kind: 'message', notificationId: `flood-${i}`, status: 'queued', statusRank: 1 });
    }
    const record = snsRecord(JSON.stringify({ body: 'db-1 down', to: R5 }), 'sns-drift-flood');
    expect((await rig.handler(batch(record), context())).batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(creates()).toHaveLength(0);
    expect(await rig.item(`claim#sns-drift-flood#${R5}`)).toMatchObject({ state: 'pending', doubts: 1 });
  });

  test('more pages of messages to the phone since the claim than the lookup reads: undecided, retried, nothing sent, and the claim says why', async () => {
    const claimedAt = new Date(Date.now() - 120_000);
    await crashedClaim('sns-drift-pages', claimedAt);
    for (let i = 0; i < MAX_PAGES * PAGE_SIZE + 1; i++) rig.twilio.addMessage({ to: R5, from: FROM, body: `other page ${i}`, dateCreated: new Date(claimedAt.getTime() + 100 + i) });
    const record = snsRecord(JSON.stringify({ body: 'db-1 down', to: R5 }), 'sns-drift-pages');
    expect((await rig.handler(batch(record), context())).batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(rig.twilio.requests.map((r) => r.outcome)).toEqual(Array(MAX_PAGES).fill('listed'));
    expect(await rig.item(`claim#sns-drift-pages#${R5}`)).toMatchObject({ state: 'pending', doubts: 1, lastDoubt: `more than ${MAX_PAGES * PAGE_SIZE} messages to this recipient since the claim` });
  });

  /** A busy phone: `count` other pages to it since the claim, newer than any message of ours, as when the lookup comes late. */
  function busyPhone(claimedAt: Date, count: number): void {
    for (let i = 0; i < count; i++) rig.twilio.addMessage({ to: R5, from: FROM, body: `other alarm ${i} on db-${i}`, dateCreated: new Date(claimedAt.getTime() + 10_000 + i * 10) });
  }

  test('a page that never reached Twilio, looked up late, after 600 other pages to the same phone: decided at once and sent once, no doubt', async () => {
    const claimedAt = new Date(Date.now() - 120_000);
    await crashedClaim('sns-busy-never', claimedAt, claimedAt.getTime() + 3_000);
    busyPhone(claimedAt, 600);
    const record = snsRecord(JSON.stringify({ body: 'replica lag on db-1', to: R5 }), 'sns-busy-never');
    expect((await rig.handler(batch(record), context())).batchItemFailures).toEqual([]);
    expect(creates()).toHaveLength(1);
    const claim = await rig.item(`claim#sns-busy-never#${R5}`);
    expect(claim).toMatchObject({ state: 'sent', messageSid: creates()[0].sid, attempts: 2 });
    expect(claim?.doubts ?? 0).toBe(0);
  });

  test('a page that reached Twilio, looked up late, under 600 newer pages to the same phone: found, recorded, no second POST', async () => {
    const claimedAt = new Date(Date.now() - 120_000);
    await crashedClaim('sns-busy-found', claimedAt, claimedAt.getTime() + 3_000);
    const ours = rig.twilio.addMessage({ to: R5, from: FROM, body: 'replica lag on db-2', dateCreated: new Date(claimedAt.getTime() + 500) });
    busyPhone(claimedAt, 600);
    const record = snsRecord(JSON.stringify({ body: 'replica lag on db-2', to: R5 }), 'sns-busy-found');
    expect((await rig.handler(batch(record), context())).batchItemFailures).toEqual([]);
    expect(creates()).toHaveLength(0);
    expect(await rig.item(`claim#sns-busy-found#${R5}`)).toMatchObject({ state: 'sent', messageSid: ours.sid });
  });

  test('a lookup read that Twilio refuses with a 5xx or drops is read again: found, recorded, no doubt and no second POST', async () => {
    const record = snsRecord(JSON.stringify({ body: 'CPU 95% on db-1', to: R5 }), 'sns-read-retry');
    rig.twilio.enqueue({ drop: 'after-create' });
    expect((await rig.handler(batch(record), context())).batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    await expireLease(`claim#sns-read-retry#${R5}`);
    rig.twilio.enqueue({ on: 'read', error: { status: 503, code: 20503 } }, { on: 'read', drop: 'before-create' });
    expect((await rig.handler(batch(record), context())).batchItemFailures).toEqual([]);
    expect(creates()).toHaveLength(1);
    const lists = rig.twilio.requests.filter((r) => r.method === 'GET');
    expect(lists.map((r) => r.outcome)).toEqual(['error', 'dropped-before-create', 'listed']);
    const claim = await rig.item(`claim#sns-read-retry#${R5}`);
    expect(claim).toMatchObject({ state: 'sent', messageSid: creates()[0].sid });
    expect(claim?.doubts ?? 0).toBe(0);
  });

  test('a media-only page whose message reached Twilio is found by its media count', async () => {
    const record = snsRecord(JSON.stringify({ mediaUrls: ['https://example.com/graph.png'], to: R5 }), 'sns-media-found');
    await dropThenRedeliver(record, 'sns-media-found', (s) => s + OPT_OUT.trim());
    expect(creates()).toHaveLength(1);
    expect(await rig.item(`claim#sns-media-found#${R5}`)).toMatchObject({ state: 'sent', messageSid: creates()[0].sid });
  });
});
