import { startFakeTwilio, FakeTwilio, FakeMessage, countSegments, SENDER_RATES } from './fake-twilio';

const ACCOUNT = 'AC' + '1'.repeat(32);
const TOKEN = 'token';
const auth = 'Basic ' + Buffer.from(`${ACCOUNT}:${TOKEN}`).toString('base64');
let twilio: FakeTwilio;

beforeAll(async () => {
  twilio = await startFakeTwilio({ accountSid: ACCOUNT });
});
afterAll(() => twilio.close());
beforeEach(() => twilio.reset());

async function post(params: Array<[string, string]>, headers: Record<string, string> = { authorization: auth }) {
  const res = await fetch(`${twilio.url}/2010-04-01/Accounts/${ACCOUNT}/Messages.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('a valid create answers 201 with a Twilio message resource and records the request', async () => {
  const created: FakeMessage[] = [];
  twilio.onMessageCreated((m) => created.push(m));
  const out = await post([
    ['To', '+15551230001'],
    ['From', '+15550000000'],
    ['Body', 'hello'],
    ['StatusCallback', 'https://example.com/status'],
  ]);
  expect(out.status).toBe(201);
  expect(out.json).toMatchObject({ to: '+15551230001', from: '+15550000000', body: 'hello', status: 'queued', num_segments: '1', price: null, direction: 'outbound-api', account_sid: ACCOUNT });
  expect(out.json.sid).toMatch(/^SM[0-9a-f]{32}$/);
  expect(out.json.date_created).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
  expect(created[0]).toMatchObject({ sid: out.json.sid, statusCallback: 'https://example.com/status' });
  expect(twilio.requests[0]).toMatchObject({ method: 'POST', authUser: ACCOUNT, outcome: 'created', status: 201, sid: out.json.sid });
});

test('media makes an MM sid, repeated MediaUrl keys are kept, Messaging Service gives accepted', async () => {
  const out = await post([
    ['To', '+15551230001'],
    ['MessagingServiceSid', 'MG' + 'a'.repeat(32)],
    ['MediaUrl', 'https://x/1.png'],
    ['MediaUrl', 'https://x/2.png'],
  ]);
  expect(out.status).toBe(201);
  expect(out.json).toMatchObject({ status: 'accepted', from: null, num_media: '2' });
  expect(out.json.sid).toMatch(/^MM/);
  expect(twilio.requests[0].params.filter(([k]) => k === 'MediaUrl')).toHaveLength(2);
});

test.each([
  [21604, [['From', '+15550000000'], ['Body', 'x']]],
  [21603, [['To', '+15551230001'], ['Body', 'x']]],
  [21602, [['To', '+15551230001'], ['From', '+15550000000']]],
  [21211, [['To', '12'], ['From', '+15550000000'], ['Body', 'x']]],
  [21910, [['To', 'whatsapp:+15551230001'], ['From', '+15550000000'], ['Body', 'x']]],
  [21617, [['To', '+15551230001'], ['From', '+15550000000'], ['Body', 'x'.repeat(1601)]]],
  [21656, [['To', '+15551230001'], ['From', '+15550000000'], ['ContentSid', 'HX' + 'a'.repeat(32)], ['ContentVariables', 'nope']]],
] as Array<[number, Array<[string, string]>]>)('invalid create answers 400 with code %d', async (code, params) => {
  const out = await post(params);
  expect(out.status).toBe(400);
  expect(out.json).toEqual({ code, message: expect.any(String), more_info: `https://www.twilio.com/docs/errors/${code}`, status: 400 });
});

test('createdFor lists the messages created for one address, oldest first, with the Body sent; refused requests are not among them', async () => {
  const a = await post([['To', '+15551230001'], ['From', '+15550000000'], ['Body', 'first']]);
  await post([['To', '+15551230002'], ['From', '+15550000000'], ['Body', 'other']]);
  twilio.burst429(1);
  expect((await post([['To', '+15551230001'], ['From', '+15550000000'], ['Body', 'refused']])).status).toBe(429);
  const b = await post([['To', '+15551230001'], ['From', '+15550000000'], ['Body', 'second']]);
  expect(twilio.createdFor('+15551230001')).toEqual([
    { sid: a.json.sid, body: 'first' },
    { sid: b.json.sid, body: 'second' },
  ]);
  expect(twilio.createdFor('+15559999999')).toEqual([]);
});

test('wrong credentials get 401 / 20003 when a check is configured', async () => {
  twilio.setCredentials([{ username: ACCOUNT, password: TOKEN }]);
  try {
    const bad = await post([['To', '+15551230001'], ['From', '+15550000000'], ['Body', 'x']], { authorization: 'Basic ' + Buffer.from(`${ACCOUNT}:wrong`).toString('base64') });
    expect(bad).toMatchObject({ status: 401, json: { code: 20003 } });
    const good = await post([['To', '+15551230001'], ['From', '+15550000000'], ['Body', 'x']]);
    expect(good.status).toBe(201);
  } finally {
    twilio.setCredentials(undefined);
  }
});

test('scripted answers: 429 burst, 500, then success; drops before and after create', async () => {
  const p: Array<[string, string]> = [['To', '+15551230001'], ['From', '+15550000000'], ['Body', 'x']];
  twilio.burst429(2);
  twilio.fail500(1);
  expect((await post(p)).json).toMatchObject({ code: 20429, status: 429 });
  expect((await post(p)).json).toMatchObject({ code: 20429 });
  expect((await post(p)).json).toMatchObject({ code: 20500, status: 500 });
  expect((await post(p)).status).toBe(201);
  twilio.dropNext(1, 'before-create');
  await expect(post(p)).rejects.toThrow();
  expect(twilio.messages.size).toBe(1);
  twilio.dropNext(1, 'after-create');
  await expect(post(p)).rejects.toThrow();
  expect(twilio.messages.size).toBe(2);
  expect(twilio.requests.map((r) => r.outcome)).toEqual(['error', 'error', 'error', 'created', 'dropped-before-create', 'dropped-after-create']);
});

test('the fault injector sees each request and can answer', async () => {
  const p: Array<[string, string]> = [['To', '+15551230001'], ['From', '+15550000000'], ['Body', 'x']];
  twilio.setFaultInjector((r) => (r.index % 2 === 0 ? { error: { status: 503, code: 20503 } } : undefined));
  expect((await post(p)).status).toBe(503);
  expect((await post(p)).status).toBe(201);
});

test('list filters by To and DateSent>, and fetch returns one message', async () => {
  const old = twilio.addMessage({ to: '+15551230001', from: '+15550000000', body: 'old', dateCreated: new Date('2020-01-01T00:00:00Z') });
  const p: Array<[string, string]> = [['To', '+15551230001'], ['From', '+15550000000'], ['Body', 'new']];
  const created = await post(p);
  await post([['To', '+15551230002'], ['From', '+15550000000'], ['Body', 'other']]);
  const q = new URLSearchParams({ To: '+15551230001', 'DateSent>': '2021-01-01' });
  const res = await fetch(`${twilio.url}/2010-04-01/Accounts/${ACCOUNT}/Messages.json?${q}`, { headers: { authorization: auth } });
  const page = (await res.json()) as { messages: Array<{ sid: string }>; next_page_uri: string | null };
  expect(page.messages.map((m) => m.sid)).toEqual([created.json.sid]);
  expect(page.next_page_uri).toBeNull();
  const one = await fetch(`${twilio.url}/2010-04-01/Accounts/${ACCOUNT}/Messages/${old.sid}.json`, { headers: { authorization: auth } });
  expect(await one.json()).toMatchObject({ sid: old.sid, body: 'old' });
  const missing = await fetch(`${twilio.url}/2010-04-01/Accounts/${ACCOUNT}/Messages/SMnope.json`, { headers: { authorization: auth } });
  expect(missing.status).toBe(404);
});

test('maxInFlight counts concurrent creates', async () => {
  twilio.setDefault({ delayMs: 50 });
  const p: Array<[string, string]> = [['To', '+15551230001'], ['From', '+15550000000'], ['Body', 'x']];
  await Promise.all([post(p), post(p), post(p)]);
  expect(twilio.maxInFlight).toBe(3);
  expect(twilio.inFlight).toBe(0);
});

test('answerAfter creates the message at once and holds its 201 until the promise settles', async () => {
  let answer = () => {};
  twilio.enqueue({ answerAfter: new Promise<void>((resolve) => (answer = resolve)) });
  let answered = false;
  const pending = post([['To', '+15551230001'], ['From', '+15550000000'], ['Body', 'held']]).then((r) => ((answered = true), r));
  for (let i = 0; i < 250 && twilio.messages.size === 0; i++) await new Promise((r) => setTimeout(r, 10));
  const [created] = [...twilio.messages.values()];
  expect(created).toMatchObject({ body: 'held' });
  await new Promise((r) => setTimeout(r, 50));
  expect(answered).toBe(false);
  answer();
  expect(await pending).toMatchObject({ status: 201, json: { sid: created.sid } });
});

test('segments are counted as GSM-7 or UCS-2', () => {
  expect(countSegments('a'.repeat(160))).toBe(1);
  expect(countSegments('a'.repeat(161))).toBe(2);
  expect(countSegments('[' + 'a'.repeat(159))).toBe(2);
  expect(countSegments('é'.repeat(160))).toBe(1);
  expect(countSegments('’' + 'a'.repeat(69))).toBe(1);
  expect(countSegments('’' + 'a'.repeat(70))).toBe(2);
});

test('errorAfterCreate creates the message and still answers the error; storedBody changes what lookups see', async () => {
  twilio.enqueue({ errorAfterCreate: { status: 502, code: 20500 } }, { storedBody: (sent) => `Sent from your Twilio trial account - ${sent}` });
  const failed = await post([['To', '+15551230001'], ['From', '+15550000000'], ['Body', 'one']]);
  expect(failed.status).toBe(502);
  expect(failed.json).toMatchObject({ code: 20500 });
  const drifted = await post([['To', '+15551230002'], ['From', '+15550000000'], ['Body', 'two']]);
  expect(drifted.status).toBe(201);
  expect([...twilio.messages.values()].map((m) => [m.to, m.body])).toEqual([
    ['+15551230001', 'one'],
    ['+15551230002', 'Sent from your Twilio trial account - two'],
  ]);
  expect(twilio.requests[0]).toMatchObject({ status: 502, sid: expect.stringMatching(/^SM/) });
});

test('visibleAfterMs: the message exists at once but lists and fetches show it only after the delay', async () => {
  twilio.enqueue({ errorAfterCreate: { status: 502, code: 20500 }, visibleAfterMs: 300 });
  expect((await post([['To', '+15551230003'], ['From', '+15550000000'], ['Body', 'late']])).status).toBe(502);
  const [m] = twilio.messages.values();
  const list = async () => (await (await fetch(`${twilio.url}/2010-04-01/Accounts/${ACCOUNT}/Messages.json?To=%2B15551230003`, { headers: { authorization: auth } })).json()) as { messages: Array<{ sid: string }> };
  const fetchOne = async () => (await fetch(`${twilio.url}/2010-04-01/Accounts/${ACCOUNT}/Messages/${m.sid}.json`, { headers: { authorization: auth } })).status;
  expect((await list()).messages).toEqual([]);
  expect(await fetchOne()).toBe(404);
  await new Promise((resolve) => setTimeout(resolve, 350));
  expect((await list()).messages.map((x) => x.sid)).toEqual([m.sid]);
  expect(await fetchOne()).toBe(200);
});

describe('sender pacing', () => {
  const create = (from: [string, string], to = '+15551230001') => post([['To', to], from, ['Body', 'storm']]);
  /** Created messages oldest first: when each was created and when it leaves Twilio. */
  const created = () =>
    [...twilio.messages.values()].sort((a, b) => a.dateCreated.getTime() - b.dateCreated.getTime()).map((m) => ({ at: m.dateCreated.getTime(), departsAt: m.departsAt, from: m.from }));

  test('off by default: no departure time', async () => {
    await create(['From', '+15550000000']);
    expect(created()[0].departsAt).toBeUndefined();
  });

  test('a long code sends one message per second: each waits its turn behind the ones before it, per sender', async () => {
    twilio.setPacing({ messagesPerSecond: SENDER_RATES.longCode });
    for (let i = 0; i < 3; i++) await create(['From', '+15550000000']);
    await create(['From', '+15550000009']);
    const [a, b, c, other] = created();
    expect(a.departsAt).toBe(a.at);
    expect(b.departsAt).toBe(a.at + 1000);
    expect(c.departsAt).toBe(a.at + 2000);
    // Another number has a queue of its own.
    expect(other.departsAt).toBe(other.at);
  });

  test('a Messaging Service spreads over its pool', async () => {
    twilio.setPacing({ messagesPerSecond: 1, numbers: 2 });
    const mss: [string, string] = ['MessagingServiceSid', 'MG' + 'a'.repeat(32)];
    for (let i = 0; i < 4; i++) await create(mss);
    const [a, b, c, d] = created();
    expect([a.departsAt, b.departsAt, c.departsAt, d.departsAt]).toEqual([a.at, b.at, a.at + 1000, b.at + 1000]);
  });

  test('a compressed clock shortens the interval; a new pacing starts with empty queues', async () => {
    twilio.setPacing({ messagesPerSecond: 1, timeScale: 4 });
    await create(['From', '+15550000000']);
    await create(['From', '+15550000000']);
    twilio.setPacing({ messagesPerSecond: 1, timeScale: 4 });
    await create(['From', '+15550000000']);
    const [a, b, c] = created();
    expect(b.departsAt).toBe(a.at + 250);
    expect(c.departsAt).toBe(c.at);
  });

  test('a pacing that cannot send is refused, naming it', () => {
    expect(() => twilio.setPacing({ messagesPerSecond: 0 })).toThrow(/messagesPerSecond/);
  });
});
