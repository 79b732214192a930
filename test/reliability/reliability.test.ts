/**
 * The reliability suite (issues 5 and 9): the built handlers in the local
 * pipeline, under duplicate deliveries, Twilio faults, crashes, a placeholder
 * secret, forged webhooks and fuzzed input, and the faults of issue 9:
 * - `rotation`: the REST credentials rotated in the middle of a fan-out, at send concurrency 1, 3 and 10;
 * - `wrong-token`: a secret with a token Twilio does not know yet, then fixed, then a DLQ redrive;
 * - `21611`: Twilio's "queue full" answer to a create (transient);
 * - `5xx-after-create`: a 5xx from Twilio after it created the message;
 * - `body-drift`: Twilio keeps another body than the one sent (appended opt-out text, a prefix,
 *   smart-encoded characters), with the sender crashing or the connection dropping after the create;
 * - `forged-flood`: oversized and many-parameter forged status and inbound posts;
 * - `forged-during-outage`: the same flood while Secrets Manager is down, with genuine traffic;
 * - `webhook-db`: DynamoDB (and SNS) failing under the webhooks while Twilio posts callbacks and replies;
 * - `escalation`: incidents of a three-stage escalation with a repeat (timers on the alert queue), never
 *   answered or acknowledged at stage 1 or 2, under duplicate deliveries, sender crashes at each step,
 *   random DynamoDB 500s and refused timer sends: no page twice, no stage skipped, no timer lost.
 * Every published notification must end sent exactly once per recipient, failed with a reason, or
 * in the DLQ; a page nothing can stop (`mustBeSent`) that ends failed counts as lost.
 *
 * REL_FAULTS switches those faults: unset runs them all; `REL_FAULTS=21611,rotation` only those;
 * `REL_FAULTS=-body-drift` all but that one. Each prints its own tally line (`fault <name>: …`).
 *
 * Sizes stay small by default (CI); `npm run soak` (SOAK=1) runs thousands.
 * Every random choice is seeded: REL_SEED=<seed printed in the tally> replays
 * a run's fault mix (timing between concurrent requests still varies).
 * REL_LOG=<file> appends every handler log line there, to follow one pair
 * (grep its notification id); the tally lines say why callbacks were abandoned.
 */
import { appendFileSync } from 'node:fs';
import { FATE_CODE } from '../../lambda/shared/table/claims';
import type { FakeAnswer, InjectorRequest } from '../support/fake-twilio';
import { signTwilioRequest, twilioFormBody, twilioWebhookHeaders } from '../support/twilio-sign';
import { formatTally, LocalPipeline, NUMBERS, startLocalPipeline, Tally } from '../pipeline/local-pipeline';
import { createPrng, Prng, seedFromEnv } from '../support/prng';
import { inboundParams, statusCallbackParams } from '../pipeline/twilio-callbacks';
import { ESCALATION, ESCALATION_KINDS, EscalationRun, escalationTally, formatEscalationTally, playIncident, stepIds } from './escalations';

const SOAK = process.env.SOAK === '1';

const FAULT_KINDS = ['rotation', 'wrong-token', '21611', '5xx-after-create', 'body-drift', 'forged-flood', 'forged-during-outage', 'webhook-db', 'escalation'] as const;
type FaultKind = (typeof FAULT_KINDS)[number];
/** The faults of REL_FAULTS (see the header). */
function enabledFaults(spec: string | undefined): Set<FaultKind> {
  const words = (spec ?? '').split(',').map((w) => w.trim()).filter(Boolean);
  for (const w of words) {
    if (!(FAULT_KINDS as readonly string[]).includes(w.replace(/^-/, ''))) throw new Error(`REL_FAULTS: unknown fault ${JSON.stringify(w)}; known: ${FAULT_KINDS.join(', ')} (a leading - leaves one out)`);
  }
  const only = words.filter((w) => !w.startsWith('-'));
  const without = new Set(words.filter((w) => w.startsWith('-')).map((w) => w.slice(1)));
  return new Set(FAULT_KINDS.filter((k) => (only.length === 0 || only.includes(k)) && !without.has(k)));
}
const FAULTS = enabledFaults(process.env.REL_FAULTS);
const on = (kind: FaultKind) => FAULTS.has(kind);
/** A test for one switchable fault: registered only when REL_FAULTS includes it. */
function faultTest(kind: FaultKind, name: string, fn: () => Promise<void>, timeout: number) {
  if (on(kind)) test(`[${kind}] ${name}`, fn, timeout);
}
const SEED = seedFromEnv(20261127);
/** REL_LOG=<file>: every handler log line is appended there (function name, a tab, the JSON line), to find out why a pair ended as it did. */
const LOG_FILE = process.env.REL_LOG || undefined;
const size = (ci: number, soak: number) => (SOAK ? soak : ci);
const WAIT = SOAK ? 900_000 : 90_000;

const FAN_OUT = ['+15550102001', '+15550102002', 'whatsapp:+15550102003'];
/** A wider fan-out for the rotation: five recipients of one notification. */
const ROTATION_FAN_OUT = ['+15550104001', '+15550104002', '+15550104003', '+15550104004', 'whatsapp:+15550104005'];
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
const faults = {
  random: false,
  crashDuringPost: undefined as undefined | { when: 'after-create' | 'before-create'; storedBody?: (sent: string) => string },
  /** Rotates the REST key as the `at`-th create whose text carries `marker` arrives; that request is refused as the old key's. */
  rotation: undefined as undefined | { marker: string; at: number; seen: number },
  /** The first create of each (recipient, marker) whose text carries `tag` gets `answer`. */
  firstAttempt: undefined as undefined | { tag: string; answer: (to: string, marker: string) => FakeAnswer | undefined },
};
/** (recipient, marker) pairs whose first create was answered by `faults.firstAttempt`, by the fault's tag. */
const faulted = new Map<string, Set<string>>();
let rotations = 0;
let serial = 0;

/** What the create request asks Twilio to send (its Body and ContentVariables). */
const textOf = (req: InjectorRequest) => req.params.filter(([k]) => k === 'Body' || k === 'ContentVariables').map(([, v]) => v).join('\n');
const MARKER = /R[a-z0-9-]+x\d+z/;

function injector(req: InjectorRequest): FakeAnswer | undefined {
  const to = req.params.find(([k]) => k === 'To')?.[1];
  if (req.kind === 'create' && to && PERMANENT[to] !== undefined) return { error: { status: 400, code: PERMANENT[to] } };
  if (req.kind === 'create' && faults.crashDuringPost) {
    const { when, storedBody } = faults.crashDuringPost;
    faults.crashDuringPost = undefined;
    // The sender's environment dies while its request is at Twilio: before or after the message exists.
    setTimeout(() => void p.sender.crashRunning(), 30);
    return when === 'after-create' ? { delayMs: 1500, ...(storedBody ? { storedBody } : {}) } : { delayMs: 1500, error: { status: 503, code: 20503 } };
  }
  if (req.kind === 'create' && faults.rotation && textOf(req).includes(faults.rotation.marker) && ++faults.rotation.seen === faults.rotation.at) {
    faults.rotation = undefined;
    rotations++;
    // The old key is deleted as this request arrives, and the secret holds the new one: Twilio refuses it.
    p.rotateApiKey();
    return { error: { status: 401, code: 20003 } };
  }
  if (req.kind === 'create' && to && faults.firstAttempt) {
    const text = textOf(req);
    const marker = MARKER.exec(text)?.[0];
    if (marker && text.includes(faults.firstAttempt.tag)) {
      const pairs = faulted.get(faults.firstAttempt.tag) ?? new Set<string>();
      faulted.set(faults.firstAttempt.tag, pairs);
      const key = `${to}|${marker}`;
      if (!pairs.has(key)) {
        pairs.add(key);
        const answer = faults.firstAttempt.answer(to, marker);
        if (answer) return answer;
      }
    }
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

/** Publishes `count` notifications of every kind, each to recipients Twilio accepts (so each must be sent); returns their notification ids. */
function publishMix(label: string, count: number): string[] {
  const ids: string[] = [];
  const mustBeSent = true;
  for (let i = 0; i < count; i++) {
    const marker = `R${label}x${serial++}z`; // the z ends it: x1z is no prefix of x12z
    const kind = rnd.int(0, 5);
    if (kind === 0) {
      // Not OK: an OK with no live incident of its alarm pages nobody (README, "On-call"), so it has no recipient to account for.
      ids.push(p.publishAlarm({ AlarmName: `rel-${marker}`, NewStateValue: rnd.pick(['ALARM', 'INSUFFICIENT_DATA'] as const) }));
    } else if (kind === 1) {
      ids.push(p.publish({ body: `Disk ${rnd.int(80, 99)}% on db-${i} ${marker}`, to: [NUMBERS.backupSms] }, { recipients: [NUMBERS.backupSms], marker, label, mustBeSent }));
    } else if (kind === 2) {
      ids.push(p.publish({ body: `Failover started ${marker}`, to: FAN_OUT }, { recipients: FAN_OUT, marker, label, mustBeSent }));
    } else if (kind === 3) {
      ids.push(p.publish({ body: `Latency graph ${marker}`, mediaUrls: ['https://example.com/graph.png'], to: [FAN_OUT[0]] }, { recipients: [FAN_OUT[0]], marker, label, mustBeSent }));
    } else if (kind === 4) {
      ids.push(p.publish(`Plain text alert ${marker}`, { recipients: p.senderConfig.defaultRecipients, marker, label, mustBeSent }));
    } else {
      ids.push(p.publish({ contentSid: TEMPLATE_SID, contentVariables: { 1: marker }, to: [FAN_OUT[2]] }, { recipients: [FAN_OUT[2]], marker, label, mustBeSent }));
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

/** Prints one fault's tally line (its notifications only) and returns their outcomes. */
async function reportFault(kind: FaultKind, ids: readonly string[], extra = ''): Promise<Tally['outcomes']> {
  const outcomes = outcomesOf(await p.tally(), ids);
  const n = (o: string) => outcomes.filter((x) => x.outcome === o).length;
  const duplicates = outcomes.reduce((sum, x) => sum + Math.max(0, x.twilioMessages - 1), 0);
  process.stdout.write(
    `\nfault ${kind} (seed ${SEED}${SOAK ? ', soak' : ''}): published ${ids.length} · pairs ${outcomes.length} · sent ${n('sent')} · failed ${n('failed')} · dead-lettered ${n('dead-lettered')} · unknown ${n('unknown')} · duplicates ${duplicates} · lost ${n('lost')}${extra ? ` · ${extra}` : ''}\n`,
  );
  return outcomes;
}

/** Twilio Smart Encoding: typographic characters stored as their GSM-7 look-alikes. */
const smartEncode = (s: string) => s.replace(/[\u2018\u2019]/g, "'").replace(/[\u201C\u201D]/g, '"').replace(/[\u2013\u2014]/g, '-').replace(/\u2026/g, '...').replace(/ {2,}/g, ' ');
/** Ways the body Twilio keeps drifts from the one sent. */
const DRIFTS: ReadonlyArray<[string, (sent: string) => string]> = [
  ['opt-out text appended', (sent) => `${sent}\n\nReply STOP to unsubscribe.`],
  ['a prefix', (sent) => sent.slice(0, Math.max(1, Math.ceil(sent.length * 0.8)))],
  ['smart-encoded', smartEncode],
];
const driftFor = (marker: string) => DRIFTS[Number(/x(\d+)z/.exec(marker)?.[1] ?? 0) % DRIFTS.length][1];

/** Bodies with typographic characters, so smart encoding changes them. */
function publishDrifting(label: string, count: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const marker = `R${label}x${serial++}z`;
    const to = i % 2 === 0 ? [NUMBERS.backupSms] : FAN_OUT.slice(0, 2);
    ids.push(p.publish({ body: `${marker} db-${i} \u2013 \u201Creplica lag\u201D  over 30 s\u2026 it\u2019s failing over`, to }, { recipients: to, marker, label, mustBeSent: true }));
  }
  return ids;
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

/** Why status callbacks were abandoned, as a histogram: `timeout ×12 · 502 ×3` (a 4xx/5xx answer, Twilio's read timeout, or a failed connection). */
function whyAbandoned(abandoned: ReadonlyArray<{ answer: number; failure?: string; ms: number }>): string {
  const counts = new Map<string, number>();
  for (const a of abandoned) {
    const why = a.answer === 0 ? (a.failure ?? 'no answer') : String(a.answer);
    counts.set(why, (counts.get(why) ?? 0) + 1);
  }
  return [...counts].map(([why, n]) => `${why} ×${n}`).join(' · ') || 'none';
}

/** The most callback posts sent within one second, and their mean rate over the run (what the webhook stage must take). */
function callbackRates(posts: ReadonlyArray<{ at: number }>): string {
  if (posts.length === 0) return 'none';
  const perSecond = new Map<number, number>();
  for (const { at } of posts) perSecond.set(Math.floor(at / 1000), (perSecond.get(Math.floor(at / 1000)) ?? 0) + 1);
  const seconds = Math.max(...perSecond.keys()) - Math.min(...perSecond.keys()) + 1;
  return `peak ${Math.max(...perSecond.values())}/s, mean ${(posts.length / seconds).toFixed(0)}/s`;
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
      allowedRecipients: [NUMBERS.backupSms, ...FAN_OUT, ...ROTATION_FAN_OUT, ...Object.keys(PERMANENT)],
      whatsappContentSid: TEMPLATE_SID,
      claimLeaseSeconds: 3,
    },
    senderTimeoutMs: 5000,
    senderConcurrency: 2,
    queue: { visibilityTimeoutMs: 1000, maxReceiveCount: 5, duplicateProbability: 0.1, snsDuplicateProbability: 0.05 },
    // A webhook's backlog outlives an outage of a few seconds (each receive during it fails).
    backlogQueue: { visibilityTimeoutMs: SOAK ? 5000 : 1000, maxReceiveCount: 20, duplicateProbability: 0.1 },
    callbacks: { delayMs: [1, 40], duplicateProbability: 0.2, reorderProbability: 0.3, earlyProbability: 0.2, retryDelayMs: 30 },
    base64WebhookProbability: 0.2,
    ...(LOG_FILE ? { onLog: (line: string, fn: string) => appendFileSync(LOG_FILE, `${fn}\t${line}\n`) } : {}),
  });
  p.twilio.setFaultInjector(injector);
}, 60_000);

afterAll(async () => {
  await p?.close();
});

describe('reliability of the local pipeline', () => {
  test('duplicate SNS and SQS deliveries: every recipient gets exactly one message', async () => {
    const ids = publishMix('dup', size(20, 1000));
    await p.settle(WAIT);
    await expectExactlyOnce(ids);
    expect(p.queue.stats.sqsDuplicates + p.queue.stats.snsDuplicates).toBeGreaterThan(0);
  }, WAIT);

  test('429 bursts, random 500s, connection resets, slow answers: still exactly once', async () => {
    faults.random = true;
    const before = p.twilio.createRequests().length;
    const ids = publishMix('faults', size(30, 1500));
    await p.settle(WAIT);
    faults.random = false;
    // Under enough faults a record may use up its receives: it waits in the DLQ, and an operator's redrive finishes it.
    if (p.redrive() > 0) await p.settle(WAIT);
    await expectExactlyOnce(ids);
    const answers = p.twilio.createRequests().slice(before);
    expect(answers.some((r) => r.status === 429)).toBe(true);
    expect(answers.some((r) => r.status === 500)).toBe(true);
    expect(answers.some((r) => r.outcome === 'dropped-after-create' || r.outcome === 'dropped-before-create')).toBe(true);
  }, WAIT);

  test(`a sender crash right after a claim, and during a POST (before and after Twilio created the message)${on('body-drift') ? ', with [body-drift]: Twilio keeping another body than the one sent, and connections dropped after the create' : ''}: exactly once`, async () => {
    const crashesBefore = p.sender.stats.crashes;
    p.senderDb.crashAfterWrite((target, body) => target === 'PutItem' && body.includes('"claim#'), () => p.sender.crashRunning());
    const afterClaim = publishMix('crashclaim', size(6, 100));
    await p.settle(WAIT);

    // body-drift: near-identical pages already sent to the same recipients, which a lookup must not take for ours.
    const decoys = on('body-drift') ? publishDrifting('decoy', size(2, 20)) : [];
    if (decoys.length > 0) await p.settle(WAIT);
    let drifting: string[] = [];
    if (on('body-drift')) {
      // The crash's message, and each recipient's first create after it, are kept with a drifted body; the drops leave the outcome unknown.
      faults.crashDuringPost = { when: 'after-create', storedBody: driftFor('x0z') };
      faults.firstAttempt = { tag: 'Rdriftx', answer: (_to, marker) => ({ drop: 'after-create', storedBody: driftFor(marker) }) };
      drifting = publishDrifting('drift', size(6, 100));
    } else faults.crashDuringPost = { when: 'after-create' };
    const afterCreate = publishMix('crashcreated', size(6, 100));
    try {
      await p.settle(WAIT);
    } finally {
      faults.firstAttempt = undefined;
    }
    faults.crashDuringPost = { when: 'before-create' };
    const beforeCreate = publishMix('crashposting', size(6, 100));
    await p.settle(WAIT);
    expect(p.sender.stats.crashes - crashesBefore).toBeGreaterThanOrEqual(3);
    if (on('body-drift')) {
      const drifted = [...p.twilio.messages.values()].filter((m) => m.body !== (m.params.find(([k]) => k === 'Body')?.[1] ?? m.body)).length;
      await reportFault('body-drift', [...drifting, ...decoys], `messages kept with a drifted body ${drifted} · drops after create ${faulted.get('Rdriftx')?.size ?? 0}`);
      expect(drifted).toBeGreaterThanOrEqual(drifting.length);
      await expectExactlyOnce([...drifting, ...decoys]);
    }
    await expectExactlyOnce([...afterClaim, ...afterCreate, ...beforeCreate]);
  }, WAIT);

  test(`${on('wrong-token') ? '[wrong-token] a token Twilio does not know yet (401 / 20003), then a ' : ''}placeholder secret: records go to the DLQ untouched; with the real secret a redrive sends each exactly once`, async () => {
    await p.settle(WAIT);
    const creates = p.twilio.createRequests().length;
    let wrongToken: string[] = [];
    try {
      if (on('wrong-token')) {
        // An operator put the new auth token in the secret before promoting it in Twilio: every REST call is refused.
        p.setSecret('not-yet-promoted');
        await sleep(1200); // the handlers' secret cache (SECRET_CACHE_TTL_SECONDS=1) lets go of the real one
        const received = p.queue.stats.received;
        wrongToken = publishMix('wrongtoken', size(6, 150));
        // Each record is handled at least once under that token before the window moves on to the placeholder.
        await eventually(() => p.queue.stats.received - received >= wrongToken.length && p.queue.inFlightBatches === 0, 10_000);
      }
      p.setSecret('placeholder');
      await sleep(1200);
      const placeholderCreates = p.twilio.createRequests().length;
      const ids = publishMix('placeholder', size(8, 200));
      await p.settle(WAIT);
      const parked = outcomesOf(await p.tally(), [...wrongToken, ...ids]);
      const refused = p.twilio.createRequests().slice(creates);
      const nothingSentInTheWindow = refused.every((r) => r.status === 401 && r.authUser === p.accountSid);
      const placeholderPosts = p.twilio.createRequests().length - placeholderCreates;

      p.setSecret('real');
      await sleep(1200);
      const redriven = p.redrive();
      await p.settle(WAIT);
      if (on('wrong-token')) {
        await reportFault('wrong-token', wrongToken, `refused in the window ${parked.filter((o) => wrongToken.includes(o.notificationId) && o.outcome !== 'dead-lettered').length} · redriven ${redriven}`);
      }
      expect(parked.filter((o) => o.outcome !== 'dead-lettered')).toEqual([]);
      expect(nothingSentInTheWindow).toBe(true);
      // The placeholder is known before any request: no POST at all with it.
      expect(placeholderPosts).toBe(0);
      expect(redriven).toBeGreaterThanOrEqual(wrongToken.length + ids.length);
      await expectExactlyOnce([...wrongToken, ...ids]);
      expect(p.queue.dlq).toHaveLength(0);
    } finally {
      p.setSecret('real');
    }
  }, WAIT);

  test('permanent Twilio errors are recorded with their code and never retried; invalid records fail with a reason', async () => {
    const permanent = Object.entries(PERMANENT).map(([to, code]) => {
      const marker = `Rpermx${serial++}z`;
      return { to, code, marker, id: p.publish({ body: `Permanent ${marker}`, to: [to] }, { recipients: [to], marker, label: 'permanent' }) };
    });
    const invalid = [
      p.publish({ body: 'to a number outside the allowed set', to: [NOT_ALLOWED] }, { recipients: [NOT_ALLOWED], label: 'not allowed' }),
      p.publish({ body: 'x'.repeat(1601), to: [NUMBERS.backupSms] }, { recipients: [], label: 'too long' }),
      p.publish({ unrelated: {} }, { recipients: [], label: 'JSON with nothing readable' }),
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
    const wrong = await wrongFinalStatuses();
    process.stdout.write(`\ncallbacks (seed ${SEED}${SOAK ? ', soak' : ''}): messages ${p.callbacks.fates.size} · posts ${p.callbacks.posts.length} · abandoned ${p.callbacks.abandoned.length} (${whyAbandoned(p.callbacks.abandoned)}) · ${callbackRates(p.callbacks.posts)} · wrong final statuses ${wrong.length}\n`);
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

  faultTest('rotation', 'the REST credentials rotated in the middle of a fan-out, at send concurrency 1, 3 and 10: every recipient exactly once', async () => {
    const ids: string[] = [];
    const before = rotations;
    const perConcurrency = size(1, 4);
    try {
      for (const sendConcurrency of [1, 3, 10]) {
        // A new configuration: fresh environments, which cache the credentials at their first request.
        await p.reconfigureSender({ sendConcurrency });
        for (let i = 0; i < perConcurrency; i++) {
          const marker = `Rrotation${sendConcurrency}x${serial++}z`;
          // The second request of the fan-out arrives as the old key is deleted: the others are queued or in flight with it.
          faults.rotation = { marker, at: 2, seen: 0 };
          ids.push(p.publish({ body: `Primary down, failing over ${marker}`, to: ROTATION_FAN_OUT }, { recipients: ROTATION_FAN_OUT, marker, label: `rotation c${sendConcurrency}`, mustBeSent: true }));
          await p.settle(WAIT);
        }
      }
    } finally {
      faults.rotation = undefined;
      await p.reconfigureSender({ sendConcurrency: 10 });
    }
    const outcomes = await reportFault('rotation', ids, `rotations ${rotations - before}`);
    for (const c of [1, 3, 10]) {
      const lostAt = outcomes.filter((o) => o.label === `rotation c${c}` && (o.outcome !== 'sent' || o.twilioMessages !== 1)).length;
      process.stdout.write(`  rotation at sendConcurrency ${c}: ${lostAt} of ${perConcurrency * ROTATION_FAN_OUT.length} recipients not sent exactly once\n`);
    }
    expect(rotations - before).toBe(3 * perConcurrency);
    await expectExactlyOnce(ids);
  }, WAIT);

  faultTest('21611', 'Twilio answers 21611 (the sender\'s queue is full) to the first create of every recipient: a transient refusal, each page sent once', async () => {
    faults.firstAttempt = { tag: 'Rq21611x', answer: () => ({ error: { status: 400, code: 21611, message: "This 'From' number has exceeded the maximum number of queued messages" } }) };
    let ids: string[] = [];
    try {
      ids = publishMix('q21611', size(6, 200));
      await p.settle(WAIT);
      if (p.redrive() > 0) await p.settle(WAIT);
    } finally {
      faults.firstAttempt = undefined;
    }
    await reportFault('21611', ids, `21611 answers ${faulted.get('Rq21611x')?.size ?? 0}`);
    expect(faulted.get('Rq21611x')?.size ?? 0).toBeGreaterThanOrEqual(ids.length);
    await expectExactlyOnce(ids);
  }, WAIT);

  faultTest('5xx-after-create', 'a 5xx from Twilio after it created the message (the first create of every recipient): never a second SMS', async () => {
    const answers: FakeAnswer[] = [
      { errorAfterCreate: { status: 500, code: 20500 } },
      { errorAfterCreate: { status: 503, code: 20503, message: 'Service Unavailable' } },
    ];
    let n = 0;
    faults.firstAttempt = { tag: 'Rafter5xxx', answer: () => answers[n++ % answers.length] };
    let ids: string[] = [];
    try {
      ids = publishMix('after5xx', size(6, 200));
      await p.settle(WAIT);
      if (p.redrive() > 0) await p.settle(WAIT);
    } finally {
      faults.firstAttempt = undefined;
    }
    await reportFault('5xx-after-create', ids, `5xx after create ${faulted.get('Rafter5xxx')?.size ?? 0}`);
    expect(faulted.get('Rafter5xxx')?.size ?? 0).toBeGreaterThanOrEqual(ids.length);
    await expectExactlyOnce(ids);
  }, WAIT);

  /** Oversized and many-parameter forged posts, each signed with nothing Twilio would send. */
  function forgedFlood(count: number): Array<[string, '/status' | '/inbound', string, Record<string, string>]> {
    const junk = { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': 'Zm9yZ2VkLXNpZ25hdHVyZS0xMjM0NTY3ODkwMTI=' };
    const oversized = `MessageSid=SM${'f'.repeat(32)}&MessageStatus=failed&Body=${'x'.repeat(5_500_000)}`;
    const manyParameters = Array.from({ length: 380_000 }, (_, i) => `p${i}=${i % 10}`).join('&');
    const flood: Array<[string, '/status' | '/inbound', string, Record<string, string>]> = [];
    for (let i = 0; i < count; i++) {
      for (const resource of ['/status', '/inbound'] as const) {
        flood.push([`${resource} 5.5 MB`, resource, oversized, junk]);
        flood.push([`${resource} 380k parameters`, resource, manyParameters, junk]);
        flood.push([`${resource} 380k parameters, no signature`, resource, manyParameters, { 'Content-Type': junk['Content-Type'] }]);
      }
    }
    return flood;
  }

  faultTest('forged-flood', 'a flood of oversized and many-parameter forged status and inbound posts: every one refused, nothing written or published', async () => {
    await p.settle(WAIT);
    const items = await p.scanTable();
    const writes = p.webhookDb.writes;
    const published = p.sns.published.length;
    const failures = p.bridge.handlerFailures.length;
    const flood = forgedFlood(size(1, 3));
    const answers = await Promise.all(flood.map(async ([name, resource, body, headers]) => `${name}: ${(await p.postWebhook(resource, body, headers)).status}`));
    const refused = (a: string) => /: 4\d\d$/.test(a);
    process.stdout.write(`\nfault forged-flood (seed ${SEED}${SOAK ? ', soak' : ''}): posts ${flood.length} · refused ${answers.filter(refused).length} · other ${answers.filter((a) => !refused(a)).join(', ') || 'none'}\n`);
    expect(answers.filter((a) => !refused(a))).toEqual([]);
    expect(p.webhookDb.writes).toBe(writes);
    expect(p.sns.published.length).toBe(published);
    expect(p.bridge.handlerFailures.slice(failures)).toEqual([]);
    expect(await p.scanTable()).toEqual(items);
  }, WAIT);

  faultTest('forged-during-outage', 'forged posts while Secrets Manager is down do not empty the credential cache: genuine callbacks and replies go on being accepted', async () => {
    await p.settle(WAIT);
    // One fresh environment per webhook, so that its forced re-read of the secret is not spent yet,
    // holding the credentials from a genuine request made before the outage.
    const concurrency = { status: p.statusCallback.concurrency, inbound: p.inbound.concurrency };
    await p.statusCallback.reconfigure(p.statusCallback.env, { concurrency: 1 });
    await p.inbound.reconfigure(p.inbound.env, { concurrency: 1 });
    const abandoned = p.callbacks.abandoned.length;
    let ids: string[] = [];
    const replies: number[] = [];
    const forged: number[] = [];
    try {
      const warm = publishMix('smwarm', 1);
      replies.push((await p.reply(NUMBERS.backupSms, 'before the outage', { messageSid: `SM${'d0'.repeat(16)}` })).status);
      await p.settle(WAIT);
      ids = [...warm];
      p.secrets.failNext(Number.MAX_SAFE_INTEGER);
      try {
        await sleep(1200); // longer than the handlers' cache (1 s): the working credentials are all they have
        const forgedHeaders = { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': 'bm90LWEtc2lnbmF0dXJlLWF0LWFsbA==' };
        for (let i = 0; i < size(3, 30); i++) {
          forged.push((await p.postWebhook('/status', twilioFormBody([['MessageSid', `SM${'d2'.repeat(16)}`], ['MessageStatus', 'failed']]), forgedHeaders)).status);
          forged.push((await p.postWebhook('/inbound', twilioFormBody([['MessageSid', `SM${'d3'.repeat(16)}`], ['From', NUMBERS.backupSms], ['Body', 'ACK ALL']]), forgedHeaders)).status);
        }
        ids.push(...publishMix('smoutage', size(4, 100)));
        await p.queue.drained(WAIT);
        await p.callbacks.settled(WAIT);
        replies.push((await p.reply(NUMBERS.backupSms, 'on it, during the outage', { messageSid: `SM${'d1'.repeat(16)}` })).status);
      } finally {
        p.secrets.failNext(0);
      }
    } finally {
      await p.statusCallback.reconfigure(p.statusCallback.env, { concurrency: concurrency.status });
      await p.inbound.reconfigure(p.inbound.env, { concurrency: concurrency.inbound });
    }
    await p.settle(WAIT);
    const refusedGenuine = p.callbacks.abandoned.slice(abandoned);
    await reportFault('forged-during-outage', ids, `forged answered ${[...new Set(forged)].join('/')} · genuine callbacks refused ${refusedGenuine.length} (${[...new Set(refusedGenuine.map((a) => a.answer))].join(', ') || 'none'}) · replies ${replies.join(', ')}`);
    expect(forged.filter((s) => s !== 403)).toEqual([]);
    expect(refusedGenuine).toEqual([]);
    expect(replies).toEqual([200, 200]);
    await expectExactlyOnce(ids);
  }, WAIT);

  faultTest('webhook-db', 'DynamoDB (and SNS) failing under the webhooks while Twilio posts callbacks and replies: each is answered 200, kept, and applied once they are back', async () => {
    await p.settle(WAIT);
    const abandoned = p.callbacks.abandoned.length;
    const posts = p.callbacks.posts.length;
    const failedBefore = p.webhookDb.failed;
    const replies = Array.from({ length: size(3, 40) }, (_, i) => ({ from: i % 2 === 0 ? NUMBERS.backupSms : FAN_OUT[0], sid: `SM${(0xdb00 + i).toString(16).padStart(32, '0')}`, body: `on it ${i}` }));
    const answers: number[] = [];
    let ids: string[] = [];
    // Every write of the webhooks fails, however often their SDK retries; the sender's table access is unaffected.
    const end = p.webhookDb.outage(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
    p.sns.failNext(Number.MAX_SAFE_INTEGER);
    try {
      ids = publishMix('webhookdb', size(6, 150));
      for (const r of replies) answers.push((await p.reply(r.from, r.body, { messageSid: r.sid })).status);
      await p.queue.drained(WAIT);
      await p.callbacks.settled(WAIT);
    } finally {
      end();
      p.sns.failNext(0);
    }
    await p.settle(WAIT);
    const during = p.callbacks.posts.slice(posts);
    const lostCallbacks = p.callbacks.abandoned.slice(abandoned);
    const items = new Map((await p.scanTable()).map((i) => [String(i.id), i]));
    const storedReplies = replies.filter((r) => items.get(r.sid)?.direction === 'inbound').length;
    const publishedReplies = replies.map((r) => p.sns.published.filter((m) => m.message.includes(r.sid)).length);
    await reportFault(
      'webhook-db',
      ids,
      `webhook writes refused ${p.webhookDb.failed - failedBefore} · callbacks ${during.length}, answered 5xx ${during.filter((x) => x.answer >= 500).length}, lost ${lostCallbacks.length} (${whyAbandoned(lostCallbacks)}) · replies ${replies.length}, answered 5xx ${answers.filter((a) => a >= 500).length}, stored ${storedReplies}, published ${publishedReplies.filter((n) => n === 1).length}`,
    );
    expect(p.webhookDb.failed - failedBefore).toBeGreaterThan(0);
    expect(lostCallbacks).toEqual([]);
    expect([...p.backlog.status.dlq, ...p.backlog.inbound.dlq]).toEqual([]);
    expect(answers).toEqual(replies.map(() => 200));
    expect(storedReplies).toBe(replies.length);
    expect(publishedReplies).toEqual(replies.map(() => 1));
    await expectExactlyOnce(ids);
    expect(await wrongFinalStatuses()).toEqual([]);
  }, WAIT);

  faultTest('escalation', 'escalations under duplicate deliveries, sender crashes at each step, DynamoDB 500s and refused timer sends: no page twice, no stage skipped, no timer lost', async () => {
    await p.settle(WAIT);
    await p.reconfigureSender({ escalation: ESCALATION });
    const crashesBefore = p.sender.stats.crashes;
    const dbFailedBefore = p.senderDb.failed;
    const sqsFailedBefore = p.sqs.failed;
    const duplicatesBefore = p.queue.stats.sqsDuplicates + p.queue.stats.snsDuplicates;
    const timersBefore = { fired: p.metrics.get('TimersFired') ?? 0, stale: p.metrics.get('TimersStale') ?? 0 };
    // The sender crashes right after each of these writes, once each, one after the other.
    const steps: Array<[string, (target: string, body: string) => boolean]> = [
      ['a stage\'s guard (its addresses added to paged, nothing sent)', (t, b) => t === 'UpdateItem' && /ADD [^;]*#paged :\w+/.test(b) && b.includes('#stage < :stage')],
      ['a stage\'s send claim', (t, b) => t === 'PutItem' && b.includes('#stage#')],
      ['the next timer recorded', (t, b) => t === 'UpdateItem' && b.includes('#nextTimer')],
      ['a repeat\'s send claim', (t, b) => t === 'PutItem' && b.includes('#repeat#')],
      ['a RESOLVED send claim', (t, b) => t === 'PutItem' && b.includes('#resolved')],
    ];
    const crashedAfter: string[] = [];
    let stopped = false;
    const armNext = () => {
      const next = steps.shift();
      if (!next || stopped) return;
      p.senderDb.crashAfterWrite(next[1], async () => {
        crashedAfter.push(next[0]);
        await p.sender.crashRunning();
        armNext();
      });
    };
    armNext();
    const endDbFaults = p.senderDb.failRandomly(0.05, () => faultRnd.next());
    // The SDK's three attempts of one SendMessage: the first timer send fails for good, and its record comes again.
    p.sqs.failNext(3);
    let runs: EscalationRun[] = [];
    // An operator answering the DLQ alarm: a record of the incidents (a timer, an ALARM carrying its next stage) received
    // maxReceiveCount times (crashes, lease waits longer than this queue's 1 s visibility timeout) is redriven within seconds.
    let deadLettered = 0;
    const operator = setInterval(() => {
      deadLettered += p.queue.dlq.filter((m) => m.body.includes('"kind":"timer"') || m.body.includes('rel-esc-')).length;
      p.redrive();
    }, 2000);
    try {
      // Opened a little apart, so that their timers come in different batches (a crash fails a whole batch).
      runs = await Promise.all(
        Array.from({ length: size(9, 150) }, async (_, i) => {
          await sleep(i * (SOAK ? 20 : 250));
          return playIncident(p, ESCALATION_KINDS[i % ESCALATION_KINDS.length], `rel-esc-Rescx${serial++}z`, i, SOAK ? 600_000 : 45_000);
        }),
      );
      await p.settle(WAIT);
    } finally {
      clearInterval(operator);
      stopped = true;
      p.senderDb.crashAfterWrite(() => false, async () => undefined);
      endDbFaults();
      p.sqs.failNext(0);
      await p.reconfigureSender({ escalation: undefined });
    }
    const items = await p.scanTable();
    const t = escalationTally(runs, items, [...p.twilio.messages.values()], p.queue.dlq.map((m) => m.body));
    // Every text of the incidents joins the suite's tally as well.
    for (const run of runs) {
      const ids = stepIds(run);
      for (const id of [...ids.stages, ...ids.repeats, ids.resolved]) {
        const claims = items.filter((i) => i.kind === 'claim' && i.notificationId === id);
        // A page whose incident was acknowledged before its interrupted send reached Twilio is settled `page-stopped`: failed, never sent, not lost.
        const stopped = (c: Record<string, unknown>) => c.errorCode === FATE_CODE.PAGE_STOPPED;
        const toSend = claims.filter((c) => !stopped(c)).map((c) => String(c.recipient));
        if (toSend.length > 0) p.track({ notificationId: id, recipients: toSend, label: 'escalation', mustBeSent: true });
        const notSent = claims.filter(stopped).map((c) => String(c.recipient));
        if (notSent.length > 0) p.track({ notificationId: id, recipients: notSent, label: 'escalation (stopped)' });
      }
    }
    // EMF lines come through the workers' stdout, which may trail their results.
    await eventually(() => (p.metrics.get('TimersStale') ?? 0) > timersBefore.stale);
    const timers = { fired: (p.metrics.get('TimersFired') ?? 0) - timersBefore.fired, stale: (p.metrics.get('TimersStale') ?? 0) - timersBefore.stale };
    process.stdout.write(
      `\nfault escalation (seed ${SEED}${SOAK ? ', soak' : ''}): ${formatEscalationTally(t)} · timers fired ${timers.fired}, stale ${timers.stale}, records dead-lettered and redriven ${deadLettered} · crashes ${p.sender.stats.crashes - crashesBefore} (after ${crashedAfter.join('; ') || 'none'}) · sender DynamoDB 500s ${p.senderDb.failed - dbFailedBefore} · SQS calls refused ${p.sqs.failed - sqsFailedBefore} · SNS/SQS duplicates ${p.queue.stats.sqsDuplicates + p.queue.stats.snsDuplicates - duplicatesBefore}\n`,
    );
    expect(t.problems).toEqual([]);
    expect(t).toMatchObject({ duplicates: 0, skipped: 0, timersLost: 0, pagedAfterAck: 0, wrongAcks: 0, unresolved: 0, lost: 0 });
    // The mix was there: every kind of incident, escalations and repeats, crashes, DynamoDB faults and a refused timer send.
    expect(t.escalations).toBeGreaterThanOrEqual(runs.filter((r) => r.kind !== 'ack at stage 1').length);
    // (An acknowledged one may have been repeated too, when its page came so late that the repeat was due with it.)
    expect(t.repeats).toBeGreaterThanOrEqual(runs.filter((r) => r.kind === 'unanswered').length);
    // The later traps wait for their write to come, which depends on how the earlier crashes went: the first two always do.
    expect(crashedAfter.length).toBeGreaterThanOrEqual(2);
    expect(p.senderDb.failed - dbFailedBefore).toBeGreaterThan(0);
    expect(p.sqs.failed - sqsFailedBefore).toBe(3);
    expect(timers.stale).toBeGreaterThan(0);
  }, WAIT);

  test('the tally: nothing lost, nothing sent twice, no secret or number in the logs', async () => {
    await p.settle(WAIT);
    const tally = await p.tally();
    const line = `reliability tally (seed ${SEED}${SOAK ? ', soak' : ''}, faults ${[...FAULTS].join(',') || 'none'}): ${formatTally(tally)} · SQS duplicates ${p.queue.stats.sqsDuplicates} · SNS duplicates ${p.queue.stats.snsDuplicates} · redeliveries ${p.queue.stats.itemFailures} · redriven ${p.queue.stats.redriven} · failed batches ${p.queue.stats.failedBatches} · crashes ${p.sender.stats.crashes} · callbacks ${p.callbacks.posts.length} · abandoned ${p.callbacks.abandoned.length} (${whyAbandoned(p.callbacks.abandoned)})`;
    process.stdout.write(`\n${line}\n`);
    expect(tally.duplicates).toBe(0);
    expect(tally.lost).toBe(0);
    // `unknown` is an outcome for an operator (lookups at Twilio failed MAX_DOUBTS times), never silent; it must stay rare.
    expect(tally.unknown).toBeLessThanOrEqual(Math.floor(tally.outcomes.length / 100));
    expect(tally.unrecorded).toBe(0);
    expect(tally.deadLettered).toBe(0);
    expect([...p.backlog.status.dlq, ...p.backlog.inbound.dlq].map((m) => m.body)).toEqual([]);
    expect(tally.sent + tally.failed).toBe(tally.outcomes.length);
    expect(tally.sent).toBeGreaterThan(tally.failed);
    expect(await wrongFinalStatuses()).toEqual([]);
    expect(p.callbacks.abandoned).toEqual([]);
    expect(p.leaks).toEqual([]);
  }, WAIT);
});
