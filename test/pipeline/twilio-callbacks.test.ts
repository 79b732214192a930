import type { APIGatewayProxyEvent } from 'aws-lambda';
import twilio from 'twilio';
import { listen, readBody } from '../support/http';
import { FakeTwilio, startFakeTwilio } from '../support/fake-twilio';
import { ApiGatewayBridge, startApiGatewayBridge } from './api-gateway-bridge';
import { createPrng } from '../support/prng';
import { CallbackDriver, postForm, sendInbound, startCallbackDriver, statusSequence } from './twilio-callbacks';

const ACCOUNT = `AC${'a1'.repeat(16)}`;
const TOKEN = 'test-auth-token-1234';

let fake: FakeTwilio;
let bridge: ApiGatewayBridge;
let driver: CallbackDriver | undefined;
/** What the status endpoint received, decoded, with whether twilio's own validator accepts it. */
let received: Array<{ params: Record<string, string>; token: string | undefined; valid: boolean }>;

beforeAll(async () => {
  fake = await startFakeTwilio();
  bridge = await startApiGatewayBridge();
  const endpoint = (resource: string) => async (event: APIGatewayProxyEvent) => {
    const params = Object.fromEntries(new URLSearchParams(event.body ?? ''));
    const valid = twilio.validateRequest(TOKEN, event.headers['X-Twilio-Signature'] ?? '', bridge.urlOf(resource), params);
    const token = event.headers['I-Twilio-Idempotency-Token'];
    received.push({ params, token, valid });
    return { statusCode: 200, body: '' };
  };
  bridge.route({ resource: '/status', invoke: endpoint('/status') });
  bridge.route({ resource: '/inbound', invoke: endpoint('/inbound') });
});
beforeEach(() => {
  received = [];
  fake.reset();
});
afterEach(() => {
  driver?.stop();
  driver = undefined;
});
afterAll(async () => {
  await bridge.close();
  await fake.close();
});

async function createMessage(to: string, from = '+15550001000') {
  const form = new URLSearchParams({ To: to, From: from, Body: 'hello', StatusCallback: bridge.urlOf('/status') });
  const res = await postForm(`${fake.url}/2010-04-01/Accounts/${ACCOUNT}/Messages.json`, form.toString(), {
    'Content-Type': 'application/x-www-form-urlencoded',
    Authorization: `Basic ${Buffer.from(`${ACCOUNT}:secret`).toString('base64')}`,
  });
  expect(res.status).toBe(201);
  return JSON.parse(res.body) as { sid: string };
}

// Sorted: the driver posts in Twilio's order, but concurrent requests may arrive in any order on a busy machine.
const statusesOf = (sid: string) => received.filter((r) => r.params.MessageSid === sid).map((r) => r.params.MessageStatus).sort();

test('a delivered SMS reports queued → sent → delivered, signed as Twilio signs, with Twilio\'s parameters', async () => {
  driver = startCallbackDriver(fake, { accountSid: ACCOUNT, authToken: TOKEN, random: createPrng(1) });
  const { sid } = await createMessage('+15550001111');
  await driver.settled(10_000);
  expect(statusesOf(sid)).toEqual(['delivered', 'queued', 'sent']);
  expect(received.every((r) => r.valid)).toBe(true);
  expect(new Set(received.map((r) => r.token)).size).toBe(3);
  expect(received.find((r) => r.params.MessageStatus === 'delivered')!.params).toMatchObject({ MessageSid: sid, SmsSid: sid, SmsStatus: 'delivered', AccountSid: ACCOUNT, To: '+15550001111', From: '+15550001000', ApiVersion: '2010-04-01' });
  expect(received.find((r) => r.params.MessageStatus === 'delivered')!.params.RawDlrDoneDate).toMatch(/^\d{10}$/);
  expect(driver.fates.get(sid)).toEqual({ final: 'delivered', channel: 'sms' });
  // Twilio's API view follows the callbacks.
  expect(fake.messages.get(sid)?.status).toBe('delivered');
});

test('numbers ending in 7 end undelivered with 30003, in 8 failed with 30008; WhatsApp ends read', async () => {
  driver = startCallbackDriver(fake, { accountSid: ACCOUNT, authToken: TOKEN, random: createPrng(2) });
  const u = await createMessage('+15550001117');
  const f = await createMessage('+15550001118');
  const w = await createMessage('whatsapp:+15550001119', 'whatsapp:+15550001000');
  await driver.settled(10_000);
  expect(statusesOf(u.sid)).toEqual(['queued', 'sent', 'undelivered']);
  expect(statusesOf(f.sid)).toEqual(['failed', 'queued']);
  expect(statusesOf(w.sid)).toEqual(['delivered', 'queued', 'read', 'sent']);
  const final = (sid: string, status: string) => received.find((r) => r.params.MessageSid === sid && r.params.MessageStatus === status)!.params;
  expect(final(u.sid, 'undelivered')).toMatchObject({ ErrorCode: '30003', ChannelStatusMessage: 'Unreachable destination handset' });
  expect(final(f.sid, 'failed')).toMatchObject({ ErrorCode: '30008' });
  expect(final(w.sid, 'read')).toMatchObject({ ChannelPrefix: 'whatsapp', To: 'whatsapp:+15550001119' });
  expect(received.every((r) => r.valid)).toBe(true);
});

test('`before` holds a message\'s callbacks until it resolves; settled waits for it, and a rejection posts them anyway', async () => {
  const release = new Map<string, (ok: boolean) => void>();
  driver = startCallbackDriver(fake, {
    accountSid: ACCOUNT,
    authToken: TOKEN,
    random: createPrng(3),
    before: (m) => new Promise((resolve, reject) => release.set(m.to, (ok) => (ok ? resolve(undefined) : reject(new Error('no record'))))),
  });
  const held = await createMessage('+15550001121');
  const refused = await createMessage('+15550001122');
  await new Promise((r) => setTimeout(r, 100));
  expect(received).toEqual([]);
  expect(driver.pending).toBe(2);
  const settled = driver.settled(10_000);
  release.get('+15550001121')!(true);
  release.get('+15550001122')!(false);
  await settled;
  expect(statusesOf(held.sid)).toEqual(['delivered', 'queued', 'sent']);
  expect(statusesOf(refused.sid)).toEqual(['delivered', 'queued', 'sent']);
});

/**
 * A status endpoint that misbehaves per attempt: `answer(token, attempt)` says
 * what the n-th post of an event gets: an HTTP status, the connection dropped
 * before any answer, or no answer at all (the socket is left hanging).
 */
async function startScriptedEndpoint(answer: (token: string, attempt: number) => number | 'drop' | 'hang') {
  const attempts = new Map<string, number>();
  const hanging = new Set<import('node:net').Socket>();
  const server = await listen(async (req, res) => {
    await readBody(req);
    const token = String(req.headers['i-twilio-idempotency-token'] ?? '');
    const attempt = (attempts.get(token) ?? 0) + 1;
    attempts.set(token, attempt);
    const what = answer(token, attempt);
    if (what === 'drop') return void req.socket.destroy();
    if (what === 'hang') return void hanging.add(req.socket);
    res.writeHead(what, { 'content-type': 'text/xml' });
    res.end('<Response/>');
  });
  return {
    url: `${server.url}/v1/status`,
    attempts,
    close: async () => {
      for (const socket of hanging) socket.destroy();
      await server.close();
    },
  };
}

async function createMessageTo(statusCallback: string, to: string) {
  const form = new URLSearchParams({ To: to, From: '+15550001000', Body: 'hello', StatusCallback: statusCallback });
  const res = await postForm(`${fake.url}/2010-04-01/Accounts/${ACCOUNT}/Messages.json`, form.toString(), {
    'Content-Type': 'application/x-www-form-urlencoded',
    Authorization: `Basic ${Buffer.from(`${ACCOUNT}:secret`).toString('base64')}`,
  });
  expect(res.status).toBe(201);
  return JSON.parse(res.body) as { sid: string };
}

const attemptsByToken = (d: CallbackDriver) => {
  const byToken = new Map<string, number[]>();
  for (const post of d.posts) byToken.set(post.token, [...(byToken.get(post.token) ?? []), post.answer]);
  return [...byToken.values()];
};

test('an error answer, 5xx or 4xx, is never retried (Twilio\'s default): the event is abandoned', async () => {
  for (const status of [502, 500, 503, 429, 403]) {
    const endpoint = await startScriptedEndpoint(() => status);
    try {
      driver = startCallbackDriver(fake, { accountSid: ACCOUNT, authToken: TOKEN, random: createPrng(3), retryDelayMs: 5 });
      await createMessageTo(endpoint.url, '+15550002222');
      await driver.settled(10_000);
      expect(attemptsByToken(driver)).toEqual([[status], [status], [status]]);
      expect(driver.abandoned.map((a) => a.answer)).toEqual([status, status, status]);
    } finally {
      driver?.stop();
      driver = undefined;
      await endpoint.close();
    }
  }
});

test('a connection dropped before an answer is retried once, with the same idempotency token', async () => {
  const endpoint = await startScriptedEndpoint((_token, attempt) => (attempt === 1 ? 'drop' : 200));
  try {
    driver = startCallbackDriver(fake, { accountSid: ACCOUNT, authToken: TOKEN, random: createPrng(3), retryDelayMs: 5 });
    await createMessageTo(endpoint.url, '+15550002223');
    await driver.settled(10_000);
    expect(attemptsByToken(driver)).toEqual([[0, 200], [0, 200], [0, 200]]);
    expect(driver.posts.filter((p) => p.attempt === 2).map((p) => p.answer)).toEqual([200, 200, 200]);
    expect(driver.abandoned).toEqual([]);
  } finally {
    await endpoint.close();
  }
});

test('a connection that fails again on the retry is given up: one retry, no more', async () => {
  const endpoint = await startScriptedEndpoint(() => 'drop');
  try {
    driver = startCallbackDriver(fake, { accountSid: ACCOUNT, authToken: TOKEN, random: createPrng(3), retryDelayMs: 5 });
    await createMessageTo(endpoint.url, '+15550002224');
    await driver.settled(10_000);
    expect(attemptsByToken(driver)).toEqual([[0, 0], [0, 0], [0, 0]]);
    expect(driver.abandoned.map((a) => [a.attempt, a.answer])).toEqual([[2, 0], [2, 0], [2, 0]]);
  } finally {
    await endpoint.close();
  }
});

test('a refused connection is retried once; a read timeout counts as a failed connection if time is left, and is not retried when it used up the total time', async () => {
  const closed = await startScriptedEndpoint(() => 200);
  await closed.close(); // nothing listens on its port any more: connections are refused
  driver = startCallbackDriver(fake, { accountSid: ACCOUNT, authToken: TOKEN, random: createPrng(3), retryDelayMs: 5 });
  await createMessageTo(closed.url, '+15550002225');
  await driver.settled(10_000);
  expect(attemptsByToken(driver)).toEqual([[0, 0], [0, 0], [0, 0]]);
  driver.stop();

  const slowFirst = await startScriptedEndpoint((_token, attempt) => (attempt === 1 ? 'hang' : 200));
  try {
    driver = startCallbackDriver(fake, { accountSid: ACCOUNT, authToken: TOKEN, random: createPrng(3), retryDelayMs: 5, readTimeoutMs: 100, totalTimeoutMs: 5_000 });
    await createMessageTo(slowFirst.url, '+15550002226');
    await driver.settled(10_000);
    expect(attemptsByToken(driver)).toEqual([[0, 200], [0, 200], [0, 200]]);
    driver.stop();
    // Twilio's defaults: the read timeout equals the total time, so nothing is left for a retry.
    driver = startCallbackDriver(fake, { accountSid: ACCOUNT, authToken: TOKEN, random: createPrng(3), retryDelayMs: 5, readTimeoutMs: 150, totalTimeoutMs: 150 });
    await createMessageTo(slowFirst.url, '+15550002227');
    await driver.settled(10_000);
    expect(attemptsByToken(driver)).toEqual([[0], [0], [0]]);
    expect(driver.abandoned).toHaveLength(3);
  } finally {
    await slowFirst.close();
  }
});

test('events beyond maxInFlight wait at Twilio\'s side, where no timeout runs: a slow endpoint that serves one at a time loses none', async () => {
  // One execution environment: each request takes 300 ms, and the next is served only after it.
  let busy = false;
  let concurrent = 0;
  let maxConcurrent = 0;
  const server = await listen(async (req, res) => {
    await readBody(req);
    maxConcurrent = Math.max(maxConcurrent, ++concurrent);
    while (busy) await new Promise((r) => setTimeout(r, 5));
    busy = true;
    await new Promise((r) => setTimeout(r, 300));
    busy = false;
    concurrent--;
    res.writeHead(200);
    res.end();
  });
  try {
    // Each event has 700 ms: enough for one request, not for one behind two others.
    driver = startCallbackDriver(fake, { accountSid: ACCOUNT, authToken: TOKEN, random: createPrng(3), delayMs: [1, 2], readTimeoutMs: 700, totalTimeoutMs: 700, maxInFlight: 1 });
    await createMessageTo(`${server.url}/v1/status`, '+15550002231');
    await driver.settled(10_000);
    expect(driver.posts.map((p) => p.answer)).toEqual([200, 200, 200]);
    expect(driver.abandoned).toEqual([]);
    expect(maxConcurrent).toBe(1);
  } finally {
    await server.close();
  }
});

test('an inbound post follows the same policy: an error answer is final, a dropped connection is tried once more', async () => {
  const failing = await startScriptedEndpoint(() => 502);
  const dropping = await startScriptedEndpoint((_token, attempt) => (attempt === 1 ? 'drop' : 200));
  try {
    const input = { accountSid: ACCOUNT, from: '+15550004444', to: '+15550001000', body: 'ACK' };
    expect(await sendInbound(failing.url, TOKEN, input, { retryDelayMs: 5 })).toMatchObject({ status: 502, attempts: [502] });
    expect(await sendInbound(dropping.url, TOKEN, input, { retryDelayMs: 5 })).toMatchObject({ status: 200, attempts: [0, 200] });
  } finally {
    await failing.close();
    await dropping.close();
  }
});

test('duplicates repeat an event with its token; reordering and early callbacks change the arrival order', async () => {
  driver = startCallbackDriver(fake, { accountSid: ACCOUNT, authToken: TOKEN, random: createPrng(4), duplicateProbability: 1, reorderProbability: 1, earlyProbability: 1 });
  const sids: string[] = [];
  for (let i = 0; i < 8; i++) sids.push((await createMessage(`+1555000300${i === 7 ? 0 : i}`)).sid);
  await driver.settled(10_000);
  for (const sid of sids) {
    const events = received.filter((r) => r.params.MessageSid === sid);
    expect(events).toHaveLength(6);
    expect(new Set(events.map((r) => r.token)).size).toBe(3);
  }
  const arrival = (sid: string) => [...new Set(received.filter((r) => r.params.MessageSid === sid).map((r) => r.params.MessageStatus))].join();
  expect(sids.filter((sid) => arrival(sid) === 'queued,sent,delivered').length).toBeLessThan(sids.length);
  // Callbacks arrive out of order; the message's status at Twilio (what a GET answers) only moves forward.
  for (const sid of sids) expect(fake.messages.get(sid)?.status).toBe('delivered');
});

test('an inbound message is posted signed, with Twilio\'s inbound parameters', async () => {
  const res = await sendInbound(bridge.urlOf('/inbound'), TOKEN, { accountSid: ACCOUNT, from: '+15550004444', to: '+15550001000', body: 'ACK', mediaUrls: ['https://example.com/a.jpg'] });
  expect(res.status).toBe(200);
  expect(received).toHaveLength(1);
  expect(received[0].valid).toBe(true);
  expect(received[0].params).toMatchObject({ Body: 'ACK', From: '+15550004444', To: '+15550001000', NumMedia: '1', MediaUrl0: 'https://example.com/a.jpg', SmsStatus: 'received', AccountSid: ACCOUNT });
  expect(received[0].params.MessageSid).toMatch(/^SM[0-9a-f]{32}$/);
});

test('the order Twilio reports statuses in, per fate and first status', () => {
  expect(statusSequence('queued', { final: 'delivered' })).toEqual(['queued', 'sent', 'delivered']);
  expect(statusSequence('accepted', { final: 'delivered' })).toEqual(['accepted', 'queued', 'sent', 'delivered']);
  expect(statusSequence('queued', { final: 'read' })).toEqual(['queued', 'sent', 'delivered', 'read']);
  expect(statusSequence('queued', { final: 'undelivered', errorCode: 30003 })).toEqual(['queued', 'sent', 'undelivered']);
  expect(statusSequence('queued', { final: 'failed', errorCode: 30008 })).toEqual(['queued', 'failed']);
});

test('a paced message reports sent after its turn in the sender queue, and the phone receives it after that', async () => {
  fake.setPacing({ messagesPerSecond: 1, timeScale: 5 }); // one message per 200 ms
  const carrier = { sentMs: [10, 20], handsetMs: [30, 40], receiptMs: [5, 10] } as const;
  driver = startCallbackDriver(fake, { accountSid: ACCOUNT, authToken: TOKEN, random: createPrng(4), carrier });
  const sids: string[] = [];
  for (let i = 0; i < 3; i++) sids.push((await createMessage('+15550001111')).sid);
  await driver.settled(10_000);
  const posted = (sid: string, status: string) => driver!.posts.find((p) => p.sid === sid && p.status === status)!.at;
  sids.forEach((sid, i) => {
    const m = fake.messages.get(sid)!;
    expect(m.departsAt).toBe(fake.messages.get(sids[0])!.dateCreated.getTime() + i * 200);
    // queued as Twilio takes it; sent only once it left, received after, receipt after that
    // (a timer may fire a millisecond early after rounding: 2 ms of slack).
    // (the same millisecond is possible: the order of the posts says which came first)
    expect(posted(sid, 'queued')).toBeLessThanOrEqual(posted(sid, 'sent'));
    expect(driver!.posts.findIndex((p) => p.sid === sid && p.status === 'queued')).toBeLessThan(driver!.posts.findIndex((p) => p.sid === sid && p.status === 'sent'));
    expect(posted(sid, 'sent')).toBeGreaterThanOrEqual(m.departsAt! + 10 - 2);
    expect(driver!.receivedAt.get(sid)).toBeGreaterThanOrEqual(m.departsAt! + 30);
    expect(posted(sid, 'delivered')).toBeGreaterThanOrEqual(driver!.receivedAt.get(sid)! + 5 - 2);
  });
  expect(statusesOf(sids[2])).toEqual(['delivered', 'queued', 'sent']);
});
