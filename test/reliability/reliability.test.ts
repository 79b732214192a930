/**
 * The reliability suite (issue 5): the built handlers in the local pipeline,
 * under duplicate deliveries, Twilio faults, crashes, a placeholder secret,
 * forged webhooks and fuzzed input. Every published notification must end
 * sent exactly once per recipient, failed with a reason, or in the DLQ.
 *
 * Sizes stay small by default (CI); `npm run soak` (SOAK=1) runs thousands.
 * Every random choice is seeded: REL_SEED=<seed printed in the tally> replays
 * a run's fault mix (timing between concurrent requests still varies).
 */
import type { FakeAnswer, InjectorRequest } from '../support/fake-twilio';
import { signTwilioRequest, twilioFormBody, twilioWebhookHeaders } from '../support/twilio-sign';
import { formatTally, LocalPipeline, NUMBERS, startLocalPipeline, Tally } from '../pipeline/local-pipeline';
import { createPrng, Prng, seedFromEnv } from '../pipeline/prng';
import { inboundParams, statusCallbackParams } from '../pipeline/twilio-callbacks';

const SOAK = process.env.SOAK === '1';
const SEED = seedFromEnv(20261127);
const size = (ci: number, soak: number) => (SOAK ? soak : ci);
const WAIT = SOAK ? 900_000 : 90_000;

const FAN_OUT = ['+15550102001', '+15550102002', 'whatsapp:+15550102003'];
/** Recipients Twilio refuses for good, with the error code it answers. */
const PERMANENT: Readonly<Record<string, number>> = {
  '+15550103001': 21211,
  '+15550103002': 21610,
  '+15550103003': 21408,
  '+15550103004': 21612,
  '+15550103005': 21614,
  'whatsapp:+15550103006': 21656,
};
const TEMPLATE_SID = `HX${'c3'.repeat(16)}`;
const NOT_ALLOWED = '+15559990000';

let p: LocalPipeline;
let rnd: Prng;
let faultRnd: Prng;
const faults = { random: false, crashDuringPost: undefined as undefined | 'after-create' | 'before-create' };
let serial = 0;

function injector(req: InjectorRequest): FakeAnswer | undefined {
  const to = req.params.find(([k]) => k === 'To')?.[1];
  if (req.kind === 'create' && to && PERMANENT[to] !== undefined) return { error: { status: 400, code: PERMANENT[to] } };
  if (req.kind === 'create' && faults.crashDuringPost) {
    const when = faults.crashDuringPost;
    faults.crashDuringPost = undefined;
    // The sender's environment dies while its request is at Twilio: before or after the message exists.
    setTimeout(() => void p.sender.crashRunning(), 30);
    return when === 'after-create' ? { delayMs: 1500 } : { delayMs: 1500, error: { status: 503, code: 20503 } };
  }
  if (!faults.random) return undefined;
  if (req.kind === 'list') return faultRnd.chance(0.01) ? { error: { status: 500, code: 20500 } } : undefined;
  if (req.kind !== 'create') return undefined;
  const r = faultRnd.next();
  if (r < 0.05) {
    p.twilio.burst429(faultRnd.int(2, 6));
    return { error: { status: 429, code: 20429 } };
  }
  if (r < 0.12) return { error: { status: 500, code: 20500 } };
  if (r < 0.16) return { drop: 'before-create' };
  if (r < 0.19) return { drop: 'after-create' };
  if (r < 0.32) return { delayMs: faultRnd.int(50, 600) };
  return undefined;
}

/** Publishes `count` notifications of every kind; returns their notification ids. */
function publishMix(label: string, count: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const marker = `R${label}x${serial++}z`; // the z ends it: x1z is no prefix of x12z
    const kind = rnd.int(0, 5);
    if (kind === 0) {
      ids.push(p.publishAlarm({ AlarmName: `rel-${marker}`, NewStateValue: rnd.pick(['ALARM', 'OK', 'INSUFFICIENT_DATA'] as const) }));
    } else if (kind === 1) {
      ids.push(p.publish({ body: `Disk ${rnd.int(80, 99)}% on db-${i} ${marker}`, to: [NUMBERS.backupSms] }, { recipients: [NUMBERS.backupSms], marker, label }));
    } else if (kind === 2) {
      ids.push(p.publish({ body: `Failover started ${marker}`, to: FAN_OUT }, { recipients: FAN_OUT, marker, label }));
    } else if (kind === 3) {
      ids.push(p.publish({ body: `Latency graph ${marker}`, mediaUrls: ['https://example.com/graph.png'], to: [FAN_OUT[0]] }, { recipients: [FAN_OUT[0]], marker, label }));
    } else if (kind === 4) {
      ids.push(p.publish(`Plain text alert ${marker}`, { recipients: p.senderConfig.defaultRecipients, marker, label }));
    } else {
      ids.push(p.publish({ contentSid: TEMPLATE_SID, contentVariables: { 1: marker }, to: [FAN_OUT[2]] }, { recipients: [FAN_OUT[2]], marker, label }));
    }
  }
  return ids;
}

const outcomesOf = (tally: Tally, ids: readonly string[]) => {
  const wanted = new Set(ids);
  return tally.outcomes.filter((o) => wanted.has(o.notificationId));
};

/** Every recipient of `ids` got exactly one Twilio message, recorded as sent. */
async function expectExactlyOnce(ids: readonly string[]) {
  const outcomes = outcomesOf(await p.tally(), ids);
  expect(outcomes.length).toBeGreaterThanOrEqual(ids.length);
  expect(outcomes.filter((o) => o.outcome !== 'sent' || o.twilioMessages !== 1)).toEqual([]);
}

/** Each message's table status is the last one Twilio reported, whatever the order and duplication of the callbacks. */
async function wrongFinalStatuses(): Promise<string[]> {
  const items = new Map((await p.scanTable()).map((i) => [String(i.id), i]));
  const wrong: string[] = [];
  for (const [sid, fate] of p.callbacks.fates) {
    const item = items.get(sid);
    if (!item) {
      wrong.push(`${sid}: no item`);
      continue;
    }
    if (item.status !== fate.final) wrong.push(`${sid}: ${String(item.status)}, Twilio said ${fate.final}`);
    if (fate.errorCode !== undefined && item.errorCode !== String(fate.errorCode)) wrong.push(`${sid}: errorCode ${String(item.errorCode)}, Twilio said ${fate.errorCode}`);
    const tokens = ((item.history ?? []) as Array<{ token?: string }>).map((h) => h.token).filter(Boolean);
    if (new Set(tokens).size !== tokens.length) wrong.push(`${sid}: a callback recorded twice in the history`);
  }
  return wrong;
}

async function eventually(check: () => boolean, timeoutMs = 5000) {
  const until = Date.now() + timeoutMs;
  while (!check() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  rnd = createPrng(SEED);
  faultRnd = rnd.fork();
  p = await startLocalPipeline({
    seed: SEED,
    logLevel: 'INFO',
    senderConfig: {
      allowedRecipients: [NUMBERS.backupSms, ...FAN_OUT, ...Object.keys(PERMANENT)],
      whatsappContentSid: TEMPLATE_SID,
      claimLeaseSeconds: 3,
    },
    senderTimeoutMs: 5000,
    senderConcurrency: 2,
    queue: { visibilityTimeoutMs: 1000, maxReceiveCount: 5, duplicateProbability: 0.1, snsDuplicateProbability: 0.05 },
    callbacks: { delayMs: [1, 40], duplicateProbability: 0.2, reorderProbability: 0.3, earlyProbability: 0.2, retryDelayMs: 30 },
    base64WebhookProbability: 0.2,
  });
  p.twilio.setFaultInjector(injector);
}, 60_000);

afterAll(async () => {
  await p?.close();
});

describe('reliability of the local pipeline', () => {
  test('duplicate SNS and SQS deliveries: every recipient gets exactly one message', async () => {
    const ids = publishMix('dup', size(30, 1000));
    await p.settle(WAIT);
    await expectExactlyOnce(ids);
    expect(p.queue.stats.sqsDuplicates + p.queue.stats.snsDuplicates).toBeGreaterThan(0);
  }, WAIT);

  test('429 bursts, random 500s, connection resets, slow answers, DynamoDB 500s at the webhook: still exactly once', async () => {
    faults.random = true;
    // More failures than the handler's SDK retries absorb: some callbacks get a 5xx, and Twilio's retries must land them.
    p.webhookDb.failNext(8, ['UpdateItem']);
    const before = p.twilio.createRequests().length;
    const callbacksBefore = p.callbacks.posts.length;
    const ids = publishMix('faults', size(40, 1500));
    await p.settle(WAIT);
    faults.random = false;
    // Under enough faults a record may use up its receives: it waits in the DLQ, and an operator's redrive finishes it.
    if (p.redrive() > 0) await p.settle(WAIT);
    await expectExactlyOnce(ids);
    const answers = p.twilio.createRequests().slice(before);
    expect(answers.some((r) => r.status === 429)).toBe(true);
    expect(answers.some((r) => r.status === 500)).toBe(true);
    expect(answers.some((r) => r.outcome === 'dropped-after-create' || r.outcome === 'dropped-before-create')).toBe(true);
    const callbackAnswers = p.callbacks.posts.slice(callbacksBefore);
    expect(callbackAnswers.filter((x) => x.answer >= 500).length).toBeGreaterThan(0);
    for (const refused of callbackAnswers.filter((x) => x.answer >= 500)) {
      expect(callbackAnswers.some((x) => x.token === refused.token && x.attempt > refused.attempt && x.answer === 200)).toBe(true);
    }
  }, WAIT);

  test('a sender crash right after a claim, and during a POST (before and after Twilio created the message): exactly once', async () => {
    const crashesBefore = p.sender.stats.crashes;
    p.senderDb.crashAfterWrite((target, body) => target === 'PutItem' && body.includes('"claim#'), () => p.sender.crashRunning());
    const afterClaim = publishMix('crashclaim', size(6, 100));
    await p.settle(WAIT);
    faults.crashDuringPost = 'after-create';
    const afterCreate = publishMix('crashcreated', size(6, 100));
    await p.settle(WAIT);
    faults.crashDuringPost = 'before-create';
    const beforeCreate = publishMix('crashposting', size(6, 100));
    await p.settle(WAIT);
    expect(p.sender.stats.crashes - crashesBefore).toBeGreaterThanOrEqual(3);
    await expectExactlyOnce([...afterClaim, ...afterCreate, ...beforeCreate]);
  }, WAIT);

  test('placeholder secret: records go to the DLQ untouched; with the real secret a redrive sends each exactly once', async () => {
    p.setSecret('placeholder');
    await sleep(1200); // the handlers' secret cache (SECRET_CACHE_TTL_SECONDS=1) lets go of the real one
    const creates = p.twilio.createRequests().length;
    const ids = publishMix('placeholder', size(8, 200));
    await p.settle(WAIT);
    const parked = outcomesOf(await p.tally(), ids);
    expect(parked.filter((o) => o.outcome !== 'dead-lettered')).toEqual([]);
    expect(p.twilio.createRequests().length).toBe(creates);

    p.setSecret('real');
    await sleep(1200);
    expect(p.redrive()).toBeGreaterThanOrEqual(ids.length);
    await p.settle(WAIT);
    await expectExactlyOnce(ids);
    expect(p.queue.dlq).toHaveLength(0);
  }, WAIT);

  test('permanent Twilio errors are recorded with their code and never retried; invalid records fail with a reason', async () => {
    const permanent = Object.entries(PERMANENT).map(([to, code]) => {
      const marker = `Rpermx${serial++}z`;
      return { to, code, marker, id: p.publish({ body: `Permanent ${marker}`, to: [to] }, { recipients: [to], marker, label: 'permanent' }) };
    });
    const invalid = [
      p.publish({ body: 'to a number outside the allowed set', to: [NOT_ALLOWED] }, { recipients: [NOT_ALLOWED], label: 'not allowed' }),
      p.publish({ body: 'x'.repeat(1601), to: [NUMBERS.backupSms] }, { recipients: [], label: 'too long' }),
      p.publish({ unrelated: true }, { recipients: [], label: 'neither alarm nor envelope' }),
      p.publish({ body: 'bad media', mediaUrls: ['http://insecure.example.com/a.png'] }, { recipients: [], label: 'http media' }),
      p.publish('   ', { recipients: [], label: 'empty' }),
    ];
    await p.settle(WAIT);
    const tally = await p.tally();
    for (const { to, code, marker, id } of permanent) {
      const [outcome] = outcomesOf(tally, [id]);
      expect(outcome).toMatchObject({ outcome: 'failed', reason: expect.stringContaining(String(code)) });
      const attempts = p.twilio.createRequests().filter((r) => r.params.some(([k, v]) => k === 'To' && v === to) && r.params.some(([, v]) => v.includes(marker)));
      expect(attempts).toHaveLength(1);
    }
    const refused = outcomesOf(tally, invalid);
    expect(refused.filter((o) => o.outcome !== 'failed' || !o.reason)).toEqual([]);
  }, WAIT);

  test('callbacks duplicated, reordered and ahead of the sender\'s own write: every final status is right', async () => {
    // Twilio answers the create slowly, so the callbacks certainly arrive before the sender records the message.
    p.twilio.enqueue(...Array.from({ length: 6 }, () => ({ delayMs: 300 })));
    const ids = publishMix('early', size(6, 50));
    await p.settle(WAIT);
    await expectExactlyOnce(ids);
    expect(p.callbacks.posts.filter((x) => x.answer === 200).length).toBeGreaterThan(p.callbacks.fates.size);
    expect(await wrongFinalStatuses()).toEqual([]);
    expect(p.callbacks.abandoned).toEqual([]);
  }, WAIT);

  test('forged webhooks (no or bad signature, another URL, wrong token, replayed with a changed status) get 403 and write nothing', async () => {
    await p.settle(WAIT);
    const items = await p.scanTable();
    const target = items.find((i) => i.kind === 'message' && i.status === 'delivered' && String(i.to).startsWith('+'))!;
    expect(target).toBeDefined();
    const message = p.twilio.messages.get(String(target.id))!;
    const failed = statusCallbackParams(message, 'failed', { final: 'failed', errorCode: 30008 });
    const url = p.statusCallbackUrl;
    const good = twilioWebhookHeaders(p.authToken, url, failed);
    const replayedSigned = statusCallbackParams(message, 'sent', { final: 'delivered' });
    const replayedSignature = signTwilioRequest(p.authToken, url, replayedSigned);
    const forgedStatus: Array<[string, Record<string, string>, string]> = [
      ['no signature', { 'Content-Type': good['Content-Type'] }, twilioFormBody(failed)],
      ['random signature', { ...good, 'X-Twilio-Signature': 'c2lnbmF0dXJlLWZvcmdlZC0xMjM0NQ==' }, twilioFormBody(failed)],
      ['signed for another URL', { ...good, 'X-Twilio-Signature': signTwilioRequest(p.authToken, 'https://attacker.example.com/v1/status', failed) }, twilioFormBody(failed)],
      ['signed for the inbound URL', { ...good, 'X-Twilio-Signature': signTwilioRequest(p.authToken, p.inboundUrl, failed) }, twilioFormBody(failed)],
      ['signed with another token', { ...good, 'X-Twilio-Signature': signTwilioRequest('not-the-auth-token', url, failed) }, twilioFormBody(failed)],
      ['replayed with a changed status', { ...good, 'X-Twilio-Signature': replayedSignature }, twilioFormBody(replayedSigned).replace('MessageStatus=sent', 'MessageStatus=failed')],
      ['a parameter added after signing', { ...good, 'X-Twilio-Signature': replayedSignature }, `${twilioFormBody(replayedSigned)}&ErrorCode=30008`],
    ];
    const ack = inboundParams({ accountSid: p.accountSid, from: NUMBERS.onCallSms, to: NUMBERS.smsFrom, body: 'ACK' });
    const forgedInbound: Array<[string, Record<string, string>, string]> = [
      ['inbound without signature', { 'Content-Type': good['Content-Type'] }, twilioFormBody(ack)],
      ['inbound signed for the status URL', { ...good, 'X-Twilio-Signature': signTwilioRequest(p.authToken, url, ack) }, twilioFormBody(ack)],
    ];
    const writes = p.webhookDb.writes;
    const published = p.sns.published.length;
    const rejectedBefore = p.metrics.get('CallbackRejected') ?? 0;
    const answers: string[] = [];
    for (const [name, headers, body] of forgedStatus) answers.push(`${name}: ${(await p.postWebhook('/status', body, headers)).status}`);
    for (const [name, headers, body] of forgedInbound) answers.push(`${name}: ${(await p.postWebhook('/inbound', body, headers)).status}`);
    expect(answers).toEqual([...forgedStatus, ...forgedInbound].map(([name]) => `${name}: 403`));
    expect(p.webhookDb.writes).toBe(writes);
    expect(p.sns.published.length).toBe(published);
    const after = (await p.scanTable()).find((i) => i.id === target.id)!;
    expect(after).toEqual(target);
    await eventually(() => (p.metrics.get('CallbackRejected') ?? 0) - rejectedBefore >= answers.length);
    expect((p.metrics.get('CallbackRejected') ?? 0) - rejectedBefore).toBe(answers.length);
  }, WAIT);

  test('fuzzed records (random bytes, deep JSON, huge bodies, every Unicode plane) and webhook bodies never crash a batch', async () => {
    const fuzz = rnd.fork();
    const failedBatches = p.queue.stats.failedBatches;
    const errors = p.sender.stats.errors + p.sender.stats.timeouts + p.sender.stats.crashes;
    const SQS_CHARS: Array<[number, number]> = [[0x20, 0xd7ff], [0xe000, 0xfffd], [0x10000, 0x10ffff]];
    const randomText = (length: number) => {
      let s = '';
      for (let i = 0; i < length; i++) {
        const [lo, hi] = fuzz.pick(SQS_CHARS);
        s += String.fromCodePoint(fuzz.int(lo, hi));
      }
      return s;
    };
    const everyPlane = () => {
      let s = '';
      for (let plane = 0; plane <= 16; plane++) {
        let cp: number;
        do cp = plane * 0x10000 + fuzz.int(0x20, 0xfffd);
        while (cp >= 0xd800 && cp <= 0xdfff);
        s += String.fromCodePoint(cp);
      }
      return s;
    };
    const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    const bodies: string[] = [
      deep(size(2000, 20000)),
      `${'['.repeat(50_000)}${']'.repeat(50_000)}`,
      'x'.repeat(256 * 1024),
      JSON.stringify({ body: `${'y'.repeat(200 * 1024)}`, to: [NUMBERS.backupSms] }),
      JSON.stringify({ body: everyPlane(), to: [NUMBERS.backupSms] }),
      JSON.stringify({ body: `planes ${everyPlane()}`, to: [FAN_OUT[2]] }),
      '{"body":"lone \\ud800 surrogate","to":["+15550101003"]}',
      '{"body": "unterminated',
      JSON.stringify({ body: 'x', to: 5 }),
      JSON.stringify({ body: 'x', to: ['whatsapp:', '+1'] }),
      JSON.stringify({ body: 'x', mediaUrls: Array.from({ length: 11 }, (_, i) => `https://example.com/${i}.png`) }),
      JSON.stringify({ contentSid: TEMPLATE_SID, contentVariables: { 1: 2 }, to: [FAN_OUT[2]] }),
      JSON.stringify({ Type: 'Notification', MessageId: '', Message: 5 }),
      JSON.stringify({ AlarmName: everyPlane(), NewStateValue: 'ALARM', NewStateReason: randomText(3000), StateChangeTime: 'yesterday', Region: null, Trigger: deep(50) }),
    ];
    for (let i = 0; i < size(16, 400); i++) bodies.push(randomText(fuzz.int(1, 2000)));
    const ids: string[] = [];
    for (const body of bodies) ids.push(fuzz.chance(0.5) ? p.sendRaw(body) : p.publish(body));

    // Webhooks: random, huge, deep and every-plane bodies, signed or not, to both endpoints.
    const webhookAnswers: number[] = [];
    for (let i = 0; i < size(24, 600); i++) {
      const resource = fuzz.pick(['/status', '/inbound'] as const);
      const shape = fuzz.int(0, 4);
      const params: Array<[string, string]> =
        shape === 0 ? [['Body', randomText(fuzz.int(0, 500))]]
        : shape === 1 ? [['MessageSid', `SM${'0'.repeat(31)}${i % 10}`], ['MessageStatus', randomText(8)], ['From', randomText(20)], ['Body', everyPlane()], ['NumMedia', randomText(3)]]
        : shape === 2 ? [['MessageSid', `SM${fuzz.int(0, 1e9).toString(16).padStart(32, 'f')}`], ['SmsSid', 'x'], ['MessageStatus', 'delivered'], ['ErrorCode', randomText(50)], ['To', everyPlane()]]
        : shape === 3 ? [['Body', deep(500)], ['MessageSid', deep(20)]]
        : [['Body', 'z'.repeat(1024 * 1024)]];
      const url = resource === '/status' ? p.statusCallbackUrl : p.inboundUrl;
      const body = fuzz.chance(0.1) ? randomText(fuzz.int(1, 3000)) : twilioFormBody(params);
      const headers = fuzz.chance(0.7) ? twilioWebhookHeaders(p.authToken, url, [...new URLSearchParams(body)]) : { 'Content-Type': 'application/x-www-form-urlencoded' };
      webhookAnswers.push((await p.postWebhook(resource, body, headers)).status);
    }
    await p.settle(WAIT);

    // Each fuzzed record ended refused with a reason or sent/failed per recipient: none retried forever, none in the DLQ.
    const items = await p.scanTable();
    for (const id of ids) {
      const claims = items.filter((i) => i.kind === 'claim' && i.notificationId === id);
      p.track({ notificationId: id, recipients: claims.map((c) => String(c.recipient)), label: 'fuzz' });
    }
    const outcomes = outcomesOf(await p.tally(), ids);
    expect(outcomes.filter((o) => o.outcome !== 'sent' && o.outcome !== 'failed')).toEqual([]);
    expect(p.queue.stats.failedBatches).toBe(failedBatches);
    expect(p.sender.stats.errors + p.sender.stats.timeouts + p.sender.stats.crashes).toBe(errors);
    expect(webhookAnswers.filter((s) => s >= 500)).toEqual([]);
    // Both refusals were exercised: bad or missing signatures, and signed bodies that make no sense.
    expect(webhookAnswers).toContain(403);
    expect(webhookAnswers).toContain(400);
    expect(p.bridge.handlerFailures).toEqual([]);
  }, WAIT);

  test('the tally: nothing lost, nothing sent twice, no secret or number in the logs', async () => {
    await p.settle(WAIT);
    const tally = await p.tally();
    const line = `reliability tally (seed ${SEED}${SOAK ? ', soak' : ''}): ${formatTally(tally)} · SQS duplicates ${p.queue.stats.sqsDuplicates} · SNS duplicates ${p.queue.stats.snsDuplicates} · redeliveries ${p.queue.stats.itemFailures} · redriven ${p.queue.stats.redriven} · failed batches ${p.queue.stats.failedBatches} · crashes ${p.sender.stats.crashes} · callbacks ${p.callbacks.posts.length}`;
    process.stdout.write(`\n${line}\n`);
    expect(tally.duplicates).toBe(0);
    expect(tally.lost).toBe(0);
    // `unknown` is an outcome for an operator (lookups at Twilio failed MAX_DOUBTS times), never silent; it must stay rare.
    expect(tally.unknown).toBeLessThanOrEqual(Math.floor(tally.outcomes.length / 100));
    expect(tally.unrecorded).toBe(0);
    expect(tally.deadLettered).toBe(0);
    expect(tally.sent + tally.failed).toBe(tally.outcomes.length);
    expect(tally.sent).toBeGreaterThan(tally.failed);
    expect(await wrongFinalStatuses()).toEqual([]);
    expect(p.callbacks.abandoned).toEqual([]);
    expect(p.leaks).toEqual([]);
  }, WAIT);
});
