import { isFinalStatus } from '../../lambda/shared/status';
import type { SenderConfig } from '../../lib/contract';
import { SENDER_RATES, SenderPacing } from '../support/fake-twilio';
import type { StageThrottle } from './api-gateway-bridge';
import { LocalPipeline, LocalPipelineOptions, ReconcileRun, Tally, twilioText } from './local-pipeline';
import { CARRIER_LATENCY_MS, scaleLatency } from './twilio-callbacks';

/**
 * An alarm storm through the whole local pipeline: `alarms` distinct
 * CloudWatch alarms within `arrivalSeconds`, front-loaded (alarm i at
 * arrivalSeconds × (i / alarms)², as storms start with a burst), to the same
 * phones. Twilio sends at the sender's pace (a queue per number), the
 * carrier's latency follows, the webhook stage refuses callbacks beyond its
 * throttle (lost to the webhook: Twilio does not retry an answer), and the
 * reconciler, run on its schedule with a clock moved ahead, settles what the
 * callbacks did not.
 *
 * Time is compressed `timeScale` times: the alarms' arrival, Twilio's queue,
 * the carrier's latency, the stage throttle's refill rate and the digest
 * window (given to the sender in real seconds, `storm.windowSeconds ÷
 * timeScale`) run at scenario speed; the handlers run at their own speed, so
 * their time counts `timeScale` times over in scenario seconds (figures are
 * pessimistic), except in the time to the first text, which counts the
 * handlers' part as it ran (alarm to Twilio) and Twilio's queue and the
 * carrier at scenario speed.
 */
export type SenderKind = 'long-code' | 'toll-free' | 'short-code' | { readonly pool: number };

/** SENDER_CONFIG.storm: the digest window per recipient (`windowSeconds: 0` turns digests off). */
export interface StormConfig {
  readonly windowSeconds: number;
  readonly immediatePages: number;
}

/** The storm control the design gives by default. */
export const DEFAULT_STORM: StormConfig = { windowSeconds: 60, immediatePages: 1 };
/** Digests off: every page goes at once (what the sender did before storm control). */
export const NO_DIGESTS: StormConfig = { windowSeconds: 0, immediatePages: 1 };

export interface StormOptions {
  /** Recipients (the default roster for the storm). */
  readonly phones: readonly string[];
  /** Prefix of the alarm names: distinct per run on one pipeline (a live incident swallows its alarm's repeats). */
  readonly prefix: string;
  /** Distinct alarms. Default 50. */
  readonly alarms?: number;
  /** Scenario seconds in which they arrive. Default 60. */
  readonly arrivalSeconds?: number;
  /** Scenario seconds per real second. Must match the pipeline's (stormPipelineOptions). Default 1. */
  readonly timeScale?: number;
  /** The sending number(s). Default a long code. */
  readonly sender?: SenderKind;
  /** SENDER_CONFIG.storm in scenario seconds. Default DEFAULT_STORM. */
  readonly storm?: StormConfig;
  /** The stage throttle in scenario terms (requests per scenario second). Default none. */
  readonly stageThrottle?: StageThrottle;
  /** Run the reconciler once the pipeline settles. Default true. */
  readonly reconcile?: boolean;
  /** Called once the pipeline has settled, before the reconciler runs (e.g. to end crashes). */
  readonly onSettled?: () => void | Promise<void>;
  /** Give up waiting for the pipeline to settle after this many real ms. Default 60 000. */
  readonly settleTimeoutMs?: number;
}

export interface PhoneFigures {
  readonly phone: string;
  readonly texts: number;
  /** Scenario seconds from the first alarm to the phone receiving its first text. */
  readonly firstTextS?: number;
  /** Scenario seconds until every alarm was named or counted (`+N more`) in a text the phone received; undefined if never. */
  readonly allNamedS?: number;
  /** Alarms neither named nor counted in its texts. */
  readonly unnamed: number;
}

export interface StormReport {
  readonly alarms: number;
  readonly arrivalSeconds: number;
  readonly timeScale: number;
  readonly sender: string;
  readonly messagesPerSecond: number;
  readonly storm: StormConfig;
  readonly stageThrottle?: StageThrottle;
  readonly perPhone: readonly PhoneFigures[];
  /** Twilio messages created in the storm. */
  readonly texts: number;
  /** Scenario seconds the longest a message waited in Twilio's queue. */
  readonly maxQueueWaitS: number;
  /** Status callbacks Twilio posted (attempts). */
  readonly callbacks: number;
  /** Of them, refused by the stage throttle (429). */
  readonly callbacksRefused: number;
  /** Messages without a final status in the table once the callbacks were done (a final callback refused). */
  readonly nonFinalBeforeReconcile: number;
  /** The reconciler's runs (until one asked every due message), when it ran. */
  readonly reconcile?: ReconcileRun & { readonly runs: number };
  /** Messages of the storm without a final status in the table at the end. */
  readonly nonFinal: number;
  /** Each of them: its status in the table and at Twilio, and its callbacks' answers (for failing assertions). */
  readonly unsettled: readonly string[];
  readonly tally: Pick<Tally, 'published' | 'sent' | 'failed' | 'unknown' | 'deadLettered' | 'duplicates' | 'lost' | 'unrecorded'>;
  /** The tally's detail for what went wrong (lost, duplicated), for failing assertions. */
  readonly problems: readonly string[];
  /** Real ms the scenario took. */
  readonly wallMs: number;
}

/** The pipeline options a storm at `timeScale` needs: the carrier's latency at scenario speed. */
export function stormPipelineOptions(timeScale = 1): Pick<LocalPipelineOptions, 'callbacks'> {
  return { callbacks: { carrier: scaleLatency(CARRIER_LATENCY_MS, timeScale) } };
}

/**
 * The sender's configuration for a storm to `phones` (its default roster):
 * SENDER_CONFIG.storm with the window in real seconds (the scenario's ÷
 * timeScale, at least 1 unless 0). Start the pipeline with it (`senderConfig`)
 * to spare runStorm a configuration update (and its cold starts).
 */
export function stormSenderConfig(phones: readonly string[], storm: StormConfig = DEFAULT_STORM, timeScale = 1): Partial<SenderConfig> {
  const windowSeconds = storm.windowSeconds === 0 ? 0 : Math.max(1, Math.round(storm.windowSeconds / timeScale));
  return { defaultRecipients: [...phones], allowedRecipients: [...phones], storm: { windowSeconds, immediatePages: storm.immediatePages } } as Partial<SenderConfig>;
}

function pick(from: object, like: object): Record<string, unknown> {
  return Object.fromEntries(Object.keys(like).map((k) => [k, (from as Record<string, unknown>)[k]]));
}

export function senderPacing(sender: SenderKind, timeScale = 1): SenderPacing {
  if (typeof sender === 'object') return { messagesPerSecond: SENDER_RATES.longCode, numbers: sender.pool, timeScale };
  const rate = sender === 'short-code' ? SENDER_RATES.shortCode : sender === 'toll-free' ? SENDER_RATES.tollFree : SENDER_RATES.longCode;
  return { messagesPerSecond: rate, timeScale };
}

const senderName = (s: SenderKind) => (typeof s === 'object' ? `Messaging Service pool of ${s.pool} long codes` : s);

/** When alarm i of n arrives, in scenario ms: front-loaded over the window. */
export function arrivalMs(i: number, n: number, arrivalSeconds: number): number {
  return arrivalSeconds * 1000 * (i / n) ** 2;
}

/**
 * When every alarm was named or counted in the texts, oldest first: a text
 * names alarms, and `+N more` counts N others. Returns the time of the text
 * that completed the count, or undefined.
 */
export function allNamedAt(texts: ReadonlyArray<{ at: number; text: string }>, names: readonly string[]): { at?: number; unnamed: number } {
  const named = new Set<string>();
  let counted = 0;
  for (const t of [...texts].sort((a, b) => a.at - b.at)) {
    for (const n of names) if (nameIn(t.text, n)) named.add(n);
    for (const m of t.text.matchAll(/\+(\d+) more/g)) counted += Number(m[1]);
    if (named.size + counted >= names.length) return { at: t.at, unnamed: 0 };
  }
  return { unnamed: Math.max(0, names.length - named.size - counted) };
}

/** A name as a whole word of the text (storm-1 is not in storm-10). */
function nameIn(text: string, name: string): boolean {
  let i = text.indexOf(name);
  while (i >= 0) {
    const after = text[i + name.length];
    if (after === undefined || !/[A-Za-z0-9-]/.test(after)) return true;
    i = text.indexOf(name, i + 1);
  }
  return false;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/**
 * Scheduled runs of the reconciler until one asks every due message (`done`):
 * a run that Twilio or DynamoDB stopped leaves the rest due, and the next
 * scheduled run asks them. Returns the runs' sums (stoppedBy: the last one's).
 */
async function reconcileAll(pipeline: LocalPipeline, maxRuns = 5): Promise<ReconcileRun & { runs: number }> {
  const sum = { asked: 0, reconciled: 0, final: 0, pending: 0, neverFinal: 0, notFound: 0, stoppedBy: 'not run', runs: 0 };
  while (sum.runs < maxRuns) {
    sum.runs++;
    try {
      const run = await pipeline.reconcile();
      for (const k of ['asked', 'reconciled', 'final', 'pending', 'neverFinal', 'notFound'] as const) sum[k] += run[k];
      sum.stoppedBy = run.stoppedBy;
      if (run.stoppedBy === 'done') break;
    } catch (err) {
      sum.stoppedBy = `failed: ${(err as Error).message}`;
    }
  }
  return sum;
}

/** Runs one storm on a started pipeline (see stormPipelineOptions) and reports its figures. */
export async function runStorm(pipeline: LocalPipeline, options: StormOptions): Promise<StormReport> {
  const n = options.alarms ?? 50;
  const arrivalSeconds = options.arrivalSeconds ?? 60;
  const scale = options.timeScale ?? 1;
  const sender = options.sender ?? 'long-code';
  const storm = options.storm ?? DEFAULT_STORM;
  const phones = options.phones;
  const pacing = senderPacing(sender, scale);
  const config = stormSenderConfig(phones, storm, scale);
  if (JSON.stringify(pick(pipeline.senderConfig, config)) !== JSON.stringify(config)) {
    await pipeline.reconfigureSender(config);
    // The configuration update retired the idle environments: start them again, as before the storm.
    await pipeline.sender.warm();
  }
  pipeline.twilio.setPacing(pacing);
  pipeline.bridge.setThrottle(options.stageThrottle ? { rateLimit: options.stageThrottle.rateLimit * scale, burstLimit: options.stageThrottle.burstLimit } : undefined);
  const postsBefore = pipeline.callbacks.posts.length;
  const refusedBefore = pipeline.bridge.throttled.get('/status') ?? 0;
  const trackedBefore = pipeline.tracked.length;

  const names = Array.from({ length: n }, (_, i) => `${options.prefix}-${String(i).padStart(2, '0')}`);
  const start = Date.now();
  for (let i = 0; i < n; i++) {
    await sleep(start + arrivalMs(i, n, arrivalSeconds) / scale - Date.now());
    pipeline.publishAlarm({ AlarmName: names[i], AlarmDescription: `p99 latency above 2 s on ${names[i]}` });
  }
  await pipeline.settle(options.settleTimeoutMs ?? 60_000);

  const mine = [...pipeline.twilio.messages.values()].filter((m) => phones.includes(m.to) && m.dateCreated.getTime() >= start);
  const sids = new Set(mine.map((m) => m.sid));
  /** The storm's messages the table has no final status for (missing ones included), and those it has no item for. */
  const tableStatus = async () => {
    let nonFinal = 0;
    let missing = 0;
    const unsettled: string[] = [];
    for (const sid of sids) {
      const item = await pipeline.item(sid);
      if (!item) missing++;
      if (!item || !isFinalStatus(String(item.status))) {
        nonFinal++;
        const posts = pipeline.callbacks.posts.filter((x) => x.sid === sid).map((x) => `${x.status}→${x.answer}`);
        unsettled.push(`${sid}: table ${item ? String(item.status) : 'no item'}, Twilio ${pipeline.twilio.messages.get(sid)?.status}, callbacks ${posts.join(' ')}`);
      }
    }
    return { nonFinal, missing, unsettled };
  };
  await options.onSettled?.();
  const nonFinalBeforeReconcile = (await tableStatus()).nonFinal;
  const reconcile = options.reconcile === false ? undefined : await reconcileAll(pipeline);
  const end = await tableStatus();
  const wallMs = Date.now() - start;

  const toScenario = (realMs: number) => ((realMs - start) * scale) / 1000;
  const perPhone = phones.map((phone): PhoneFigures => {
    const texts = mine.filter((m) => m.to === phone);
    const received = texts
      .map((m) => ({ m, at: pipeline.callbacks.receivedAt.get(m.sid) }))
      .filter((r): r is { m: (typeof texts)[number]; at: number } => r.at !== undefined)
      .sort((a, b) => a.at - b.at);
    const first = received[0];
    const named = allNamedAt(
      received.map((r) => ({ at: r.at, text: twilioText(r.m) })),
      names,
    );
    return {
      phone,
      texts: texts.length,
      // The handlers' part (alarm → Twilio) as it ran; Twilio's queue and the carrier at scenario speed.
      ...(first ? { firstTextS: (first.m.dateCreated.getTime() - start) / 1000 + ((first.at - first.m.dateCreated.getTime()) * scale) / 1000 } : {}),
      ...(named.at !== undefined ? { allNamedS: toScenario(named.at) } : {}),
      unnamed: named.unnamed,
    };
  });

  const stormTracked = pipeline.tracked.slice(trackedBefore);
  const full = await pipeline.tally();
  const mineOutcomes = full.outcomes.filter((o) => stormTracked.some((t) => t.notificationId === o.notificationId));
  const count = (o: string) => mineOutcomes.filter((x) => x.outcome === o).length;
  const posts = pipeline.callbacks.posts.slice(postsBefore).filter((p) => sids.has(p.sid));
  return {
    alarms: n,
    arrivalSeconds,
    timeScale: scale,
    sender: senderName(sender),
    messagesPerSecond: pacing.messagesPerSecond * (pacing.numbers ?? 1),
    storm,
    ...(options.stageThrottle ? { stageThrottle: options.stageThrottle } : {}),
    perPhone,
    texts: mine.length,
    maxQueueWaitS: Math.max(0, ...mine.map((m) => ((m.departsAt ?? m.dateCreated.getTime()) - m.dateCreated.getTime()) * scale)) / 1000,
    callbacks: posts.length,
    callbacksRefused: (pipeline.bridge.throttled.get('/status') ?? 0) - refusedBefore,
    nonFinalBeforeReconcile,
    ...(reconcile ? { reconcile } : {}),
    nonFinal: end.nonFinal,
    unsettled: end.unsettled,
    tally: {
      published: stormTracked.length,
      sent: count('sent'),
      failed: count('failed'),
      unknown: count('unknown'),
      deadLettered: count('dead-lettered'),
      duplicates: mineOutcomes.reduce((sum, x) => sum + Math.max(0, x.twilioMessages - 1), 0),
      lost: count('lost'),
      unrecorded: end.missing,
    },
    problems: mineOutcomes.filter((o) => o.outcome === 'lost' || o.twilioMessages > 1).map((o) => `${o.label ?? o.notificationId} → ${o.recipient}: ${o.outcome}, ${o.twilioMessages} Twilio messages${o.reason ? ` (${o.reason})` : ''}`),
    wallMs,
  };
}

/** One line per phone and the storm's totals, for a test's or the benchmark's log. */
export function formatStorm(r: StormReport): string {
  const s = (x?: number) => (x === undefined ? 'never' : `${x.toFixed(1)} s`);
  return [
    `${r.alarms} alarms in ${r.arrivalSeconds} s to ${r.perPhone.length} phones, ${r.sender} (${r.messagesPerSecond}/s), digests ${r.storm.windowSeconds === 0 ? 'off' : `${r.storm.windowSeconds} s window, ${r.storm.immediatePages} at once`}, clock ×${r.timeScale}`,
    ...r.perPhone.map((p) => `  ${p.phone}: ${p.texts} texts, first after ${s(p.firstTextS)}, every alarm named or counted after ${s(p.allNamedS)}${p.unnamed ? ` (${p.unnamed} never)` : ''}`),
    `  Twilio: ${r.texts} texts, longest queue wait ${r.maxQueueWaitS.toFixed(1)} s; callbacks ${r.callbacks}, refused by the stage throttle ${r.callbacksRefused}${r.stageThrottle ? ` (${r.stageThrottle.rateLimit}/s, burst ${r.stageThrottle.burstLimit})` : ''}`,
    `  not final after the callbacks ${r.nonFinalBeforeReconcile}; reconciler ${r.reconcile ? `asked ${r.reconcile.asked}, reconciled ${r.reconcile.reconciled}` : 'not run'}; not final at the end ${r.nonFinal}`,
    `  tally: published ${r.tally.published} · sent ${r.tally.sent} · failed ${r.tally.failed} · unknown ${r.tally.unknown} · duplicates ${r.tally.duplicates} · lost ${r.tally.lost}`,
  ].join('\n');
}
