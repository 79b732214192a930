/**
 * Alarm storm (issue 12, a skeleton the storm work fills in): 50 CloudWatch
 * alarms in 60 s to the same 3 recipients (the default roster), front-loaded
 * (alarm i arrives at 60 s × (i / 50)², as storms start with a burst), time
 * compressed by BENCH_STORM_COMPRESSION (1: real time). The queue is drained
 * as Lambda's SQS poller does with no batching window: an idle execution
 * environment takes what is queued, up to the batch size (10); a new
 * environment starts (cold, in the run's CPU mode) when all are busy, up to
 * the event source mapping's maximum concurrency (5). Twilio answers in
 * 150 ± 50 ms. Today's sender texts every alarm to every phone, so these
 * figures are the baseline a digest must beat. Each alarm is a new one, so
 * each opens an incident and pages the 3 (the incident path, issue 13).
 *
 * Callbacks refused by the webhook stage's throttle are a model, not a
 * measurement: each text is assumed to cause `queued` (+50 ms), `sent` (+1 s)
 * and `delivered` (+3 s ± 1 s) callbacks, run through a token bucket of the
 * stage's rate and burst (50 rps, burst 100).
 */
import { join } from 'node:path';
import type { SQSRecord } from 'aws-lambda';
import { scenarioMain } from '../support/child';
import { modeMemoryFromEnv, startHost, type Host, type HostMode } from '../support/host';
import { FROM, alarmMessage, ddbDelta, recipients, snsRecord, sqsEvent, startBenchEnv } from '../support/local-env';
import { tokenBucketRefusals } from '../support/token-bucket';

const ASSETS = process.env.BENCH_ASSETS_DIR ?? join(__dirname, '..', '..', '..', 'assets');
const ALARMS = Number(process.env.BENCH_STORM_ALARMS ?? 50);
const WINDOW_S = Number(process.env.BENCH_STORM_WINDOW_S ?? 60);
const PHONES = Number(process.env.BENCH_STORM_PHONES ?? 3);
const COMPRESSION = Number(process.env.BENCH_STORM_COMPRESSION ?? 1);
const MAX_ENVIRONMENTS = Number(process.env.BENCH_SENDER_MAX_CONCURRENCY ?? 5);
const BATCH_SIZE = Number(process.env.BENCH_SENDER_BATCH_SIZE ?? 10);
const TIMEOUT_S = Number(process.env.BENCH_SENDER_TIMEOUT_S ?? 30);
const STAGE_RATE = Number(process.env.BENCH_STAGE_RATE ?? 50);
const STAGE_BURST = Number(process.env.BENCH_STAGE_BURST ?? 100);
const CALLBACK_DELAYS_MS: ReadonlyArray<[number, number]> = [
  [50, 0],
  [1000, 200],
  [3000, 1000],
];

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

scenarioMain(async () => {
  const phones = recipients(PHONES);
  const env = await startBenchEnv({ from: FROM, defaultRecipients: phones });
  await env.twilioLatency(150, 50, 50);
  const memoryMb = modeMemoryFromEnv();
  const timeoutMs = TIMEOUT_S * 1000;
  const names = Array.from({ length: ALARMS }, (_, i) => `storm-${String(i).padStart(2, '0')}-latency`);
  const arrivalMs = names.map((_, i) => ((WINDOW_S * 1000) / COMPRESSION) * (i / ALARMS) ** 2);
  const queue: SQSRecord[] = [];
  const hosts: Array<{ host?: Host; busy: boolean }> = [];
  let mode: HostMode | undefined;
  let invocations = 0;
  let coldStarts = 0;
  let batchFailures = 0;
  let cpuMs = 0;
  const running = new Set<Promise<void>>();
  const statsBefore = await env.stats();
  const start = Date.now();
  let arrived = 0;

  const track = (p: Promise<void>) => {
    running.add(p);
    void p.finally(() => running.delete(p));
  };
  const invoke = async (slot: { host?: Host; busy: boolean }, records: SQSRecord[]) => {
    invocations++;
    const run = await slot.host!.invoke<{ batchItemFailures?: unknown[] } | null>(sqsEvent(...records), { functionName: 'sender', timeoutMs });
    cpuMs += run.cpuMs;
    batchFailures += run.result?.batchItemFailures?.length ?? 0;
    slot.busy = false;
    dispatch();
  };
  // Synchronous up to each hand-over, so that two calls cannot start more environments than allowed.
  const dispatch = (): void => {
    while (queue.length > 0) {
      const idle = hosts.find((h) => !h.busy);
      const records = () => queue.splice(0, BATCH_SIZE);
      if (idle) {
        idle.busy = true;
        track(invoke(idle, records()));
        continue;
      }
      if (hosts.length >= MAX_ENVIRONMENTS) return;
      const slot: { host?: Host; busy: boolean } = { busy: true };
      hosts.push(slot);
      coldStarts++;
      const batch = records();
      track(
        (async () => {
          slot.host = await startHost({ memoryMb });
          mode = slot.host.mode;
          cpuMs += (await slot.host.init(join(ASSETS, 'sender', 'index.js'))).cpuMs;
          await invoke(slot, batch);
        })(),
      );
    }
  };

  while (arrived < ALARMS) {
    const wait = start + arrivalMs[arrived] - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    while (arrived < ALARMS && start + arrivalMs[arrived] <= Date.now()) queue.push(snsRecord(alarmMessage(names[arrived++])));
    dispatch();
  }
  while (running.size > 0 || queue.length > 0) {
    await Promise.race([...running, new Promise((r) => setTimeout(r, 50))]);
    dispatch();
  }
  const drainedMs = Date.now() - start;
  const creates = (await env.twilioCreates()).filter((c) => c.at >= start);
  const statsAfter = await env.stats();
  const throttles = await Promise.all(hosts.map((h) => h.host?.close() ?? { throttle: undefined }));
  await env.close();

  const perPhone = phones.map((phone) => {
    const mine = creates.filter((c) => c.to === phone).sort((a, b) => a.at - b.at);
    const namedAt = names.map((n) => mine.find((c) => c.body.includes(n))?.at);
    const unnamed = namedAt.filter((t) => t === undefined).length;
    return {
      texts: mine.length,
      firstTextMs: mine.length ? mine[0].at - start : undefined,
      allNamedMs: unnamed === 0 ? Math.max(...(namedAt as number[])) - start : undefined,
      unnamed,
    };
  });
  const draw = prng(7);
  const callbackArrivals = creates.flatMap((c) => CALLBACK_DELAYS_MS.map(([d, j]) => (c.at - start) * COMPRESSION + d + (draw() * 2 - 1) * j));
  const stage = tokenBucketRefusals(callbackArrivals, STAGE_RATE, STAGE_BURST);
  return {
    mode: mode!,
    alarms: ALARMS,
    windowS: WINDOW_S,
    compression: COMPRESSION,
    phones: PHONES,
    maxEnvironments: MAX_ENVIRONMENTS,
    batchSize: BATCH_SIZE,
    lastAlarmAtMs: arrivalMs[ALARMS - 1],
    drainedMs,
    invocations,
    coldStarts,
    environments: hosts.length,
    batchFailures,
    handlerCpuMs: cpuMs,
    throttledMs: throttles.reduce((a, t) => a + (t.throttle?.throttledMs ?? 0), 0),
    texts: creates.length,
    perPhone,
    callbacks: callbackArrivals.length,
    callbacksRefused: stage.refused,
    callbackPeakPerSecond: stage.peakPerSecond,
    stageRate: STAGE_RATE,
    stageBurst: STAGE_BURST,
    ddbCalls: statsAfter.ddbTotal - statsBefore.ddbTotal,
    ddbOps: ddbDelta(statsBefore, statsAfter),
  };
});
