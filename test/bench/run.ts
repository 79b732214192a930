/**
 * `npm run bench`: measures the built assets side by side in one run and
 * writes BENCHMARKS.md (issue 6). Not part of `npm test`.
 *
 * BENCH_QUICK=1: a smoke run (fewer rounds, 1,000 pipeline notifications),
 * written to bench-out/BENCHMARKS.quick.md so the committed figures stay those
 * of a full run.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release, platform, loadavg } from 'node:os';
import { join } from 'node:path';
import { METRIC } from '../../lib/contract';
import { coldStart, ColdStartFigure } from './cold-start';
import { ASSUME, costPerThousandAlerts, CostLine, money, PRICE, PRICES_AS_OF } from './cost-model';
import type { ForgedWebhookResult } from './scenarios/forged-webhook';
import { runScenario } from './support/child';
import { formatBytes, formatMs, summarize, Summary } from './support/stats';

const ROOT = join(__dirname, '..', '..');
const OUT = join(ROOT, 'bench-out');
const QUICK = process.env.BENCH_QUICK === '1';
const SCENARIOS = join(__dirname, 'scenarios');
const LOAD_AT_START = loadavg();

const SETTINGS = QUICK
  ? { loadRounds: 5, loadWarmup: 1, warmIterations: 15, warmWarmup: 3, fanOutRuns: 2, callbackMessages: 10, pipelineNotifications: 1000 }
  : { loadRounds: 21, loadWarmup: 2, warmIterations: 60, warmWarmup: 10, fanOutRuns: 5, callbackMessages: 40, pipelineNotifications: 10_000 };

type Outcome<T> = { result?: T; error?: string };

interface WarmResult {
  sender: Summary;
  bare: Summary;
  floor: Summary;
  floorDdbRoundTrips: number;
  reference?: Summary;
  ddbCallsPerRecipient: Summary;
  ddbCallsMax: number;
  ddbRoundTripsPerRecipient: Summary;
  ddbRoundTripsMax: number;
  ddbRoundTripLatencyMs: number;
  ddbRoundTripSamples: number;
  ddbOpsPerRecipient: Record<string, number>;
  referenceDdbCalls?: Summary;
  postsPerMessage: Summary;
  logBytesPerMessage: Summary;
  batchFailures: number;
  secretReads: number;
  firstInvocation: { ms: number };
  maxRssBytes: number;
}
interface FanOutResult {
  recipients: number;
  concurrency: number;
  delayMs: number;
  idealMs: number;
  wall: Summary;
  ratio: number;
  postsPerRun: Summary;
  ddbCallsPerRun: Summary;
  maxInFlight: number;
  batchFailures: number;
  barePosts: Summary;
  ddbOnly: Summary;
  ddbOnlyWrites: number;
  maxRssBytes: number;
}
interface CallbackResult {
  callbacks: number;
  itemsFrom: string;
  time: Summary;
  ddbCalls: Summary;
  ddbCallsMax: number;
  ddbOpsPerCallback: Record<string, number>;
  httpStatuses: Record<string, number>;
  logBytesPerCallback: Summary;
  itemSizes: Record<string, { n: number; median: number; max: number }>;
  maxRssBytes: number;
}
interface PipelineResult {
  notifications: number;
  settled: boolean;
  recipientsPerNotification: number;
  wallMs: number;
  notificationsPerSecond: number;
  messagesPerSecond: number;
  peakRssBytes: number;
  rssSamples: number;
  tally: Record<string, unknown>;
  maxRssBytes: number;
  notes?: string;
}
interface ConstructResult {
  functions: Array<{ role: string; memoryMb: number; architecture: string; timeoutS: number }>;
  senderBatchSize: number;
  kmsKeys: number;
  secrets: number;
  alarms: number;
}

const WRITE_OPS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems', 'BatchWriteItem']);
const sumOps = (ops: Record<string, number>, write: boolean) => Object.entries(ops).reduce((a, [op, n]) => a + ((WRITE_OPS.has(op) === write) ? n : 0), 0);

function log(line: string) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

function machine(): string[] {
  const c = cpus();
  return [
    `- CPU: ${c[0]?.model ?? 'unknown'} × ${c.length} logical cores, shared with other work (load average at start ${LOAD_AT_START.map((l) => l.toFixed(2)).join(' / ')}: ${LOAD_AT_START[0] >= 1 ? 'busy' : 'quiet'})`,
    `- Memory: ${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    `- OS: ${platform()} ${release()}`,
    `- Node: ${process.version} (the Lambdas run Node 24 on arm64; absolute times differ, ratios carry over)`,
    `- Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `- Code: ${gitDescribe()} (the handlers as built by \`npm run build\` at the start of the run, copied to bench-out/assets so that a rebuild during the run cannot change them; the pipeline runs assets/)`,
    `- Mode: ${QUICK ? 'BENCH_QUICK=1 (smoke run)' : 'full'}`,
  ];
}

const verdict = (met: boolean | undefined) => (met === undefined ? 'not measured' : met ? '**met**' : '**MISSED**');

async function main() {
  mkdirSync(OUT, { recursive: true });
  const started = Date.now();
  // Other work in this tree may rebuild assets/ while the benchmark runs: measure one snapshot throughout.
  const assets = join(OUT, 'assets');
  rmSync(assets, { recursive: true, force: true });
  for (const name of ['sender', 'status-callback', 'inbound']) {
    if (existsSync(join(ROOT, 'assets', name, 'index.js'))) cpSync(join(ROOT, 'assets', name), join(assets, name), { recursive: true });
  }
  const assetEnv = { BENCH_ASSETS_DIR: assets };
  log(`machine: ${cpus()[0]?.model} × ${cpus().length}, ${process.version}${QUICK ? ', QUICK' : ''}`);

  log('construct configuration (synth)');
  const construct = await runScenario<ConstructResult>(join(SCENARIOS, 'construct-config.ts'), {}, 180_000);

  log(`cold start: ${SETTINGS.loadRounds} rounds (+${SETTINGS.loadWarmup} warm-up) of fresh-process loads`);
  let cold: ColdStartFigure[] = [];
  let coldError: string | undefined;
  try {
    cold = await coldStart(ROOT, OUT, assets, SETTINGS.loadRounds, SETTINGS.loadWarmup);
  } catch (err) {
    coldError = (err as Error).message;
  }
  const referenceBundle = join(OUT, 'bundles', 'reference-twilio-sdk', 'index.js');

  log('warm cost per message');
  const warm: Outcome<WarmResult> = await runScenario<WarmResult>(
    join(SCENARIOS, 'warm-send.ts'),
    { ...assetEnv, BENCH_ITERATIONS: String(SETTINGS.warmIterations), BENCH_WARMUP: String(SETTINGS.warmWarmup), ...(existsSync(referenceBundle) ? { BENCH_REFERENCE_BUNDLE: referenceBundle } : {}) },
    180_000,
  );

  log('fan-out: 100 recipients, 100 ms per Twilio request');
  const fanOut = await runScenario<FanOutResult>(join(SCENARIOS, 'fan-out.ts'), { ...assetEnv, BENCH_ITERATIONS: String(SETTINGS.fanOutRuns) }, 180_000);

  log('status callbacks');
  const callback = await runScenario<CallbackResult>(join(SCENARIOS, 'status-callback.ts'), { ...assetEnv, BENCH_ITERATIONS: String(SETTINGS.callbackMessages), BENCH_WARMUP: '5' }, 180_000);

  log('forged webhooks: a normal-size and a 5.5 MB / 380k-parameter forgery, before-style and now');
  const forged = await runScenario<ForgedWebhookResult>(join(SCENARIOS, 'forged-webhook.ts'), assetEnv, 300_000);

  let pipeline: Outcome<PipelineResult>;
  if (existsSync(join(ROOT, 'test', 'pipeline', 'local-pipeline.ts'))) {
    log(`pipeline: ${SETTINGS.pipelineNotifications} notifications`);
    pipeline = await runScenario<PipelineResult>(join(SCENARIOS, 'pipeline.ts'), { BENCH_NOTIFICATIONS: String(SETTINGS.pipelineNotifications) }, 300_000);
  } else {
    pipeline = { error: 'test/pipeline/local-pipeline.ts does not exist yet' };
  }

  const md = render({ construct, cold, coldError, warm, fanOut, callback, forged, pipeline, elapsedMs: Date.now() - started });
  const file = process.env.BENCH_OUT_FILE ?? (QUICK ? join(OUT, 'BENCHMARKS.quick.md') : join(ROOT, 'BENCHMARKS.md'));
  writeFileSync(file, md);
  process.stdout.write(md);
  log(`wrote ${file} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

interface All {
  construct: Outcome<ConstructResult>;
  cold: ColdStartFigure[];
  coldError?: string;
  warm: Outcome<WarmResult>;
  fanOut: Outcome<FanOutResult>;
  callback: Outcome<CallbackResult>;
  forged: Outcome<ForgedWebhookResult>;
  pipeline: Outcome<PipelineResult>;
  elapsedMs: number;
}

function failure(what: string, error: string | undefined): string {
  return `${what} could not be measured: \`${(error ?? 'unknown error').split('\n')[0].slice(0, 300)}\``;
}

function render(a: All): string {
  const L: string[] = [];
  const sender = a.cold.find((c) => c.name.startsWith('sender'));
  const reference = a.cold.find((c) => c.name.startsWith('reference'));
  const floor = a.cold.find((c) => c.name.startsWith('floor'));
  const loadRatio = sender && reference ? sender.load.median / reference.load.median : undefined;
  // Each round loads every variant back to back, so per-round ratios cancel most of the machine's drift.
  const roundRatios = sender && reference ? summarize(sender.samples.map((ms, i) => ms / reference.samples[i])) : undefined;
  const w = a.warm.result;
  const f = a.fanOut.result;
  const cb = a.callback.result;
  const p = a.pipeline.result;
  const cbWrites = cb ? sumOps(cb.ddbOpsPerCallback, true) : undefined;

  L.push('# Benchmarks', '');
  L.push('Produced by `npm run bench` (test/bench/run.ts); every figure below comes from one run on the machine described. Re-run to refresh; `BENCH_QUICK=1 npm run bench` is a smoke run that writes bench-out/BENCHMARKS.quick.md instead.', '');
  L.push('## Machine', '', ...machine(), `- Wall time of the run: ${(a.elapsedMs / 1000).toFixed(0)} s`, '');

  L.push('## Summary', '');
  L.push('| # | Measurement | Figure | Target | Result |', '| --- | --- | --- | --- | --- |');
  L.push(
    `| 1 | Sender module load (fresh process, median) | ${sender ? `${sender.load.median.toFixed(1)} ms vs twilio-SDK reference ${reference?.load.median.toFixed(1) ?? 'n/a'} ms = **${loadRatio !== undefined ? loadRatio.toFixed(2) : 'n/a'}×** (per-round ratio median ${roundRatios?.median.toFixed(2)}, p10–p90 ${roundRatios?.p10.toFixed(2)}–${roundRatios?.p90.toFixed(2)}; floor ${floor?.load.median.toFixed(1) ?? 'n/a'} ms)` : failure('load time', a.coldError)} | ≤ 0.5× reference | ${verdict(loadRatio === undefined ? undefined : loadRatio <= 0.5)} |`,
  );
  L.push(
    `| 1 | Sender zipped asset | ${sender ? `${formatBytes(sender.zippedBytes)} vs reference ${reference ? formatBytes(reference.zippedBytes) : 'n/a'}` : 'n/a'} | (none) | |`,
  );
  L.push(
    `| 2 | DynamoDB round trips per recipient (warm, 1 record, 1 recipient) | ${w ? `median ${w.ddbRoundTripsPerRecipient.median}, max ${w.ddbRoundTripsMax}, in ${w.ddbCallsPerRecipient.median} calls (${Object.entries(w.ddbOpsPerRecipient).map(([op, n]) => `${op} ${n}`).join(', ')}: the claim, then the message record and the claim's mark sent together)${w.batchFailures ? `; ⚠ ${w.batchFailures} of ${w.sender.n} invocations reported batch item failures, figures not valid` : ''}` : failure('warm send', a.warm.error)} | ≤ 2 beyond the POST | ${verdict(w ? w.ddbRoundTripsMax <= 2 && w.postsPerMessage.median === 1 && w.batchFailures === 0 : undefined)} |`,
  );
  L.push(
    `| 2 | Warm time per message | ${w ? `${w.sender.median.toFixed(2)} ms vs bare Twilio POST ${w.bare.median.toFixed(2)} ms (overhead ${(w.sender.median - w.bare.median).toFixed(2)} ms, of which the fakes' ${w.floorDdbRoundTrips} DynamoDB round trips ${(w.floor.median - w.bare.median).toFixed(2)} ms${w.reference ? `; twilio-SDK reference ${w.reference.median.toFixed(2)} ms` : ''})` : 'n/a'} | (none) | |`,
  );
  L.push(
    `| 3 | Fan-out, 100 recipients, 100 ms per request | ${f ? `${f.wall.median.toFixed(0)} ms vs ideal ${f.idealMs} ms = **${f.ratio.toFixed(2)}×** (concurrency ${f.concurrency}, max in flight ${f.maxInFlight}); harness floor: bare POSTs ${(f.barePosts.median / f.idealMs).toFixed(2)}×, dynalite needs ${f.ddbOnly.median.toFixed(0)} ms for the sender's ${f.ddbOnlyWrites} writes${f.batchFailures ? `; ⚠ ${f.batchFailures} batch item failures` : ''}` : failure('fan-out', a.fanOut.error)} | ≤ 1.3× ideal | ${verdict(f ? f.ratio <= 1.3 && f.maxInFlight <= f.concurrency && f.postsPerRun.median === f.recipients : undefined)} |`,
  );
  L.push(
    `| 4 | Status callback: DynamoDB calls per callback | ${cb ? `median ${cb.ddbCalls.median}, max ${cb.ddbCallsMax} (${Object.entries(cb.ddbOpsPerCallback).map(([op, n]) => `${op} ${n}`).join(', ')}); handler ${cb.time.median.toFixed(2)} ms` : failure('status callback', a.callback.error)} | one write | ${verdict(cb ? cb.ddbCallsMax === 1 && cbWrites === 1 && Object.keys(cb.httpStatuses).every((s) => s.startsWith('2')) : undefined)} |`,
  );
  L.push(
    `| 5 | Local pipeline, sustained | ${p ? `${p.settled ? '' : '⚠ did not settle in time: '}${p.notifications.toLocaleString('en-US')} notifications in ${(p.wallMs / 1000).toFixed(1)} s = ${p.notificationsPerSecond.toFixed(0)}/s (${p.messagesPerSecond.toFixed(0)} messages/s, ${((p.tally.statusCallbackInvocations as number) / (p.wallMs / 1000)).toFixed(0)} status callbacks/s), peak RSS ${formatBytes(p.peakRssBytes)}` : failure('pipeline', a.pipeline.error)} | (none: reported) | ${p ? 'measured' : 'not measured'} |`,
  );
  L.push(forgedSummaryRow(a.forged));
  L.push('');

  // 1
  L.push('## 1. Cold start', '');
  L.push(`Method: each bundle is built by scripts/bundle.mjs's \`handlerBuildOptions\` (esbuild, node24, minified, cjs). Load time is the \`require()\` of the bundle timed with \`process.hrtime\` inside a fresh \`node -e\` process, ${SETTINGS.loadRounds} rounds after ${SETTINGS.loadWarmup} discarded warm-up rounds, the variants interleaved in a rotating order each round so that load from other sessions hits all alike. Zipped size: ${a.cold[0]?.zipMethod ?? 'n/a'} (index.js and its source map, as CDK uploads the directory). The reference (test/bench/reference/twilio-sdk-handler.ts) does the sender's job with the official \`twilio\` package (${'v' + twilioVersion()}) and otherwise the same modules (AWS SDK DynamoDB document client, the shared Secrets Manager loader, Powertools Logger and Metrics); the floor (fetch-floor-handler.ts) makes one fetch() POST and nothing else.`, '');
  if (a.coldError) L.push(failure('Cold start', a.coldError), '');
  L.push('| Bundle | index.js | zipped | load time median (p10–p90) | vs reference |', '| --- | --- | --- | --- | --- |');
  for (const c of a.cold) {
    L.push(`| ${c.name} | ${formatBytes(c.rawBytes)} | ${formatBytes(c.zippedBytes)} | ${c.load.median.toFixed(1)} ms (${c.load.p10.toFixed(1)}–${c.load.p90.toFixed(1)}) | ${reference ? `${(c.load.median / reference.load.median).toFixed(2)}×` : ''} |`);
  }
  L.push('');
  for (const c of a.cold.filter((x) => x.topInputs)) {
    L.push(`Largest contributors to *${c.name}*: ${c.topInputs!.map((t) => `${t.pkg} ${formatBytes(t.bytes)}`).join(', ')}.`, '');
  }

  // 2
  L.push('## 2. Warm cost per message', '');
  L.push(`Method: dynalite (the status table as the construct defines it), the Secrets Manager fake and the fake Twilio (test/support) run in a process of their own, so that their CPU time is not charged to the handler's event loop, and are reached over loopback HTTP through the real clients; the shipped assets/sender/index.js is loaded and called through \`handler(event, context)\` with one SQS record (an SNS envelope of a CloudWatch alarm) for one recipient. ${SETTINGS.warmIterations} measured invocations after ${SETTINGS.warmWarmup} warm-up ones, interleaved with a bare Twilio POST (undici keep-alive, the same form) and the twilio-SDK reference handler against the same fakes. DynamoDB calls are counted by dynalite per API target; a round trip is a wait the handler makes in sequence (dynalite counts a call that arrives while no other is in flight as a new one; calls sent together share one). Round trips are counted in ${w ? w.ddbRoundTripSamples : 20} further invocations with ${w ? w.ddbRoundTripLatencyMs : 5} ms held on each DynamoDB call, as the network to DynamoDB would: on bare loopback dynalite can answer the first of two parallel calls before the second arrives. The harness floor (the bare POST plus as many sequential dynalite round trips as the sender makes) shows how much of the handler's time is the fakes'.`, '');
  if (w) {
    L.push('| | median | p10–p90 |', '| --- | --- | --- |');
    L.push(`| sender handler, 1 recipient | ${w.sender.median.toFixed(2)} ms | ${w.sender.p10.toFixed(2)}–${w.sender.p90.toFixed(2)} ms |`);
    L.push(`| bare Twilio POST | ${w.bare.median.toFixed(2)} ms | ${w.bare.p10.toFixed(2)}–${w.bare.p90.toFixed(2)} ms |`);
    L.push(`| harness floor: ${w.floorDdbRoundTrips} sequential dynalite writes + the bare POST | ${w.floor.median.toFixed(2)} ms | ${w.floor.p10.toFixed(2)}–${w.floor.p90.toFixed(2)} ms |`);
    if (w.reference) L.push(`| twilio-SDK reference handler | ${w.reference.median.toFixed(2)} ms | ${w.reference.p10.toFixed(2)}–${w.reference.p90.toFixed(2)} ms |`);
    L.push('');
    L.push(`- DynamoDB round trips per recipient: median ${w.ddbRoundTripsPerRecipient.median}, max ${w.ddbRoundTripsMax}; calls: median ${w.ddbCallsPerRecipient.median}, max ${w.ddbCallsMax}; by operation ${JSON.stringify(w.ddbOpsPerRecipient)}${w.referenceDdbCalls ? ` (reference: ${w.referenceDdbCalls.median} calls)` : ''}.`);
    L.push(`- Why three calls in two round trips: the conditional PutItem of the send claim must precede the POST (Twilio has no idempotency key); after the 201, the message item (id = SID, rank-guarded) and the claim's mark \`sent\` are written in parallel. Merging those two into one call needs TransactWriteItems (twice the write units, and dynalite cannot test it) or a claim-id index on message items (the same write units, and an eventually consistent read on redelivery), so neither would make an alert cheaper or faster.`);
    L.push(`- Twilio POSTs per message: ${w.postsPerMessage.median}; batch item failures: ${w.batchFailures}; Secrets Manager reads over the whole run: ${w.secretReads} (the credentials are cached for the 300 s TTL: one read per handler module loaded${w.reference ? ', ours and the reference' : ''}).`);
    L.push(`- Log bytes per message (Powertools JSON + EMF): ${w.logBytesPerMessage.median}.`);
    L.push(`- First invocation after load (credentials read, connections opened): ${w.firstInvocation.ms.toFixed(1)} ms. Peak RSS of the scenario process: ${formatBytes(w.maxRssBytes)}.`, '');
  } else L.push(failure('Warm send', a.warm.error), '');

  // 3
  L.push('## 3. Fan-out', '');
  L.push(`Method: SENDER_CONFIG with 100 allowed recipients and sendConcurrency ${f?.concurrency ?? 10}; the fake Twilio answers every create after ${f?.delayMs ?? 100} ms. One JSON envelope addressed to all 100, ${SETTINGS.fanOutRuns} runs after one warm-up run. Ideal = ceil(100 / concurrency) × delay.`, '');
  if (f) {
    L.push(`- Wall time: ${formatMs(f.wall, 0)}; ideal ${f.idealMs} ms; ratio ${f.ratio.toFixed(2)}×.`);
    L.push(`- Most requests in flight at once: ${f.maxInFlight} (bound ${f.concurrency}); POSTs per run ${f.postsPerRun.median}; DynamoDB calls per run ${f.ddbCallsPerRun.median}; batch failures ${f.batchFailures}.`);
    L.push(`- What the harness allows, measured in the same runs: the same 100 POSTs with the same bound and no DynamoDB take ${formatMs(f.barePosts, 0)} (${(f.barePosts.median / f.idealMs).toFixed(2)}× ideal); the fake DynamoDB (dynalite, one process, JavaScript) absorbs ${f.ddbOnlyWrites} concurrent writes, as many as the sender made, in ${formatMs(f.ddbOnly, 0)}. Real DynamoDB serves such writes in parallel at a few ms each, so the part of the sender's excess over the bare POSTs that dynalite's serial time explains would not occur in AWS; the rest is the handler's.`, '');
  } else L.push(failure('Fan-out', a.fanOut.error), '');

  // 4
  L.push('## 4. Status callback', '');
  L.push(`Method: the shipped assets/status-callback/index.js called with API Gateway REST proxy events carrying Twilio's form body, signed with test/support/twilio-sign.ts against STATUS_CALLBACK_URL (HMAC-SHA1 with the auth token); \`sent\` then \`delivered\` per message. Message items written first by: ${cb?.itemsFrom ?? 'n/a'}.`, '');
  if (cb) {
    L.push(`- Handler time per callback: ${formatMs(cb.time)}.`);
    L.push(`- DynamoDB calls per callback: median ${cb.ddbCalls.median}, max ${cb.ddbCallsMax}; by operation ${JSON.stringify(cb.ddbOpsPerCallback)}; HTTP statuses ${JSON.stringify(cb.httpStatuses)}.`);
    L.push(`- Log bytes per callback: ${cb.logBytesPerCallback.median}. Item sizes at the end (bytes, DynamoDB's accounting): ${Object.entries(cb.itemSizes).map(([k, s]) => `${k} median ${s.median} max ${s.max} (n=${s.n})`).join('; ')}.`, '');
  } else L.push(failure('Status callback', a.callback.error), '');

  // 5
  L.push('## 5. Sustained throughput of the local pipeline', '');
  if (p) {
    L.push(`Method: test/pipeline/local-pipeline.ts (the real built handlers, SQS semantics, fake Twilio with status callbacks, dynalite) in a child process; ${p.notifications.toLocaleString('en-US')} notifications of ${p.recipientsPerNotification} recipient(s) published, then settled. Peak memory: process RSS sampled every 100 ms (${p.rssSamples} samples) and the process's maxRSS.${p.notes ? ` ${p.notes}` : ''}`, '');
    L.push(`- ${p.notifications.toLocaleString('en-US')} notifications in ${(p.wallMs / 1000).toFixed(1)} s: ${p.notificationsPerSecond.toFixed(0)} notifications/s, ${p.messagesPerSecond.toFixed(0)} messages/s.`);
    L.push(`- Peak RSS ${formatBytes(p.peakRssBytes)} (maxRSS ${formatBytes(p.maxRssBytes)}): the whole harness in one process (dynalite holding every item in memory, the fakes, and the handlers' worker-thread execution environments), not one Lambda's memory.`);
    L.push(`- Tally: ${JSON.stringify(p.tally)}.`, '');
  } else L.push(failure('The pipeline', a.pipeline.error), '');

  // 6
  L.push(...renderCost(a, w, cb, sender, reference));

  // 7
  L.push(...renderForged(a.forged));
  return L.join('\n') + '\n';
}

/** Forged webhooks: the CPU a refusal costs stays flat whatever the forgery's size. */
function forgedFigures(forged: Outcome<ForgedWebhookResult>) {
  const normal = forged.result?.sizes.find((s) => s.name === 'normal');
  const flood = forged.result?.sizes.find((s) => s.name === 'flood');
  if (!normal || !flood) return undefined;
  return {
    normal,
    flood,
    nowFloodVsNormal: flood.handlerCpuMs.median / normal.handlerCpuMs.median,
    beforeFloodVsNormal: flood.beforeCpuMs.median / normal.beforeCpuMs.median,
    floodBeforeVsNow: flood.beforeCpuMs.median / flood.gateCpuMs.median,
    normalBeforeVsNow: normal.beforeCpuMs.median / normal.gateCpuMs.median,
  };
}

const FORGED_FLAT_TARGET = 2;
const times = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(2));
const cpu = (s: Summary) => (s.median >= 10 ? `${s.median.toFixed(0)} ms` : `${s.median.toFixed(3)} ms`);

function forgedSummaryRow(forged: Outcome<ForgedWebhookResult>): string {
  const f = forgedFigures(forged);
  const figure = f
    ? `5.5 MB / 380k-parameter forgery ${cpu(f.flood.handlerCpuMs)} CPU vs normal-size ${cpu(f.normal.handlerCpuMs)} = **${times(f.nowFloodVsNormal)}×** (before-style: ${cpu(f.flood.beforeCpuMs)} vs ${cpu(f.normal.beforeCpuMs)} = ${times(f.beforeFloodVsNormal)}×)`
    : failure('forged webhooks', forged.error);
  return `| 7 | Forged webhook: CPU to refuse one (handler) | ${figure} | flood ≤ ${FORGED_FLAT_TARGET}× normal | ${verdict(f ? f.nowFloodVsNormal <= FORGED_FLAT_TARGET : undefined)} |`;
}

function renderForged(forged: Outcome<ForgedWebhookResult>): string[] {
  const L: string[] = ['## 7. Forged webhooks', ''];
  L.push('Method: test/bench/scenarios/forged-webhook.ts. Two forged status callbacks, each with a well-formed signature under the wrong token: a normal-size one (Twilio\'s 9 delivered-callback parameters) and the flood of issue 9 (5.5 MB, 380,000 parameters). CPU time per request is `process.cpuUsage()` (user + system) around each one, in one process, the variants interleaved. *Before-style* is the gate as it was before the body limits (reproduced in the scenario): the whole body parsed, then the signed text built and HMAC\'d once per URL variant. *Now, gate* runs the shipped gate functions (`readForm`, `prepareSignature`, `verifyPreparedSignature`) on the same body, the same scope as before-style. *Now, handler* is the shipped assets/status-callback handler end to end (credentials cached, logging and metrics included); its answers are listed.', '');
  const f = forgedFigures(forged);
  if (!f) return [...L, failure('Forged webhooks', forged.error), ''];
  L.push('| forgery | body | parameters | before-style | now, gate | now, handler | handler answers |', '| --- | --- | --- | --- | --- | --- | --- |');
  for (const s of [f.normal, f.flood]) {
    const range = (x: Summary) => `${cpu(x)} (p10–p90 ${x.p10.toFixed(3)}–${x.p90.toFixed(3)}, n=${x.n})`;
    L.push(`| ${s.name === 'normal' ? 'normal size' : '5.5 MB flood'} | ${formatBytes(s.bodyBytes)} | ${s.params.toLocaleString('en-US')} | ${range(s.beforeCpuMs)} | ${range(s.gateCpuMs)} | ${range(s.handlerCpuMs)} | ${JSON.stringify(s.handlerStatuses)} |`);
  }
  L.push('');
  L.push(`- Flat: the flood costs the handler ${times(f.nowFloodVsNormal)}× a normal-size forgery (before-style ${times(f.beforeFloodVsNormal)}×). It is refused with 413 by its length before the credentials or any HMAC; the normal-size one is refused with 403 after its HMACs.`);
  L.push(`- Before-style vs now, same scope (the gate): ${times(f.floodBeforeVsNow)}× less CPU for the flood, ${times(f.normalBeforeVsNow)}× for a normal-size forgery.`, '');
  return L;
}

function renderCost(a: All, w: WarmResult | undefined, cb: CallbackResult | undefined, sender: ColdStartFigure | undefined, reference: ColdStartFigure | undefined): string[] {
  const L: string[] = ['## 6. Cost model: where the money goes', ''];
  const fnOf = (role: string) => a.construct.result?.functions.find((x) => x.role === role);
  const senderFn = fnOf('sender');
  const callbackFn = fnOf('status-callback');
  const configSource = senderFn ? 'read from the construct\'s synthesized template' : `ASSUMED (the construct could not be synthesized: ${a.construct.error?.split('\n')[0] ?? ''})`;
  const missing: string[] = [];
  if (!w) missing.push('warm sender figures (assumed 10 ms, 2 writes, 600 log bytes)');
  if (!cb) missing.push('status-callback figures (assumed 5 ms, 1 write, 500 log bytes, 600 B items)');
  const pipelineTally = (a.pipeline.result?.settled ? a.pipeline.result.tally : undefined) as { statusCallbackInvocations?: number; twilioMessages?: number } | undefined;
  const callbacksPerMessage =
    pipelineTally?.statusCallbackInvocations && pipelineTally.twilioMessages ? Math.round((pipelineTally.statusCallbackInvocations / pipelineTally.twilioMessages) * 100) / 100 : ASSUME.callbacksPerMessage;
  const callbacksSource = pipelineTally?.statusCallbackInvocations
    ? `${callbacksPerMessage} status callbacks per message, as the local pipeline's fake Twilio posts them (\`queued\`, \`sent\`, \`delivered\`; real SMS traffic often has only \`sent\` and \`delivered\`, so this errs high)`
    : `${callbacksPerMessage} status callbacks (\`sent\`, \`delivered\`; assumed)`;
  // The handlers' own time: what the fakes' round trips took is replaced by the assumed AWS latencies.
  const dynaliteMsPerCall = w && w.floorDdbRoundTrips > 0 ? Math.max(0, (w.floor.median - w.bare.median) / w.floorDdbRoundTrips) : 0;
  const senderOwnMs = w ? Math.max(0, w.sender.median - w.floor.median) : 10;
  const callbackOwnMs = cb ? Math.max(0, cb.time.median - dynaliteMsPerCall * cb.ddbCalls.median) : 5;
  const itemBytes = cb?.itemSizes.message?.max ?? 600;
  const claimBytes = cb?.itemSizes.claim?.max ?? 250;
  const cost = costPerThousandAlerts({
    architecture: senderFn?.architecture ?? 'arm64',
    senderMemoryMb: senderFn?.memoryMb ?? 256,
    callbackMemoryMb: callbackFn?.memoryMb ?? 256,
    senderLocalMs: senderOwnMs,
    senderDdbWritesPerRecipient: w ? sumOps(w.ddbOpsPerRecipient, true) : 2,
    senderDdbReadsPerRecipient: w ? sumOps(w.ddbOpsPerRecipient, false) : 0,
    senderDdbRoundTripsPerRecipient: w ? w.ddbRoundTripsPerRecipient.median : 2,
    callbackLocalMs: callbackOwnMs,
    callbackDdbWrites: cb ? sumOps(cb.ddbOpsPerCallback, true) : 1,
    callbackDdbReads: cb ? sumOps(cb.ddbOpsPerCallback, false) : 0,
    messageItemBytes: itemBytes,
    claimItemBytes: claimBytes,
    senderLogBytes: w?.logBytesPerMessage.median ?? 600,
    callbackLogBytes: cb?.logBytesPerCallback.median ?? 500,
    senderLoadMs: sender?.load.median ?? 100,
    referenceLoadMs: reference?.load.median,
    callbacksPerMessage,
    alarms: a.construct.result?.alarms ?? 2,
    kmsKeys: a.construct.result?.kmsKeys ?? 1,
    secrets: a.construct.result?.secrets ?? 1,
    metricNames: Object.keys(METRIC).length,
  });
  L.push(`An alert here is one CloudWatch alarm notification to one US SMS recipient, one segment, with ${callbacksSource}. Lambda: ${senderFn?.architecture ?? 'arm64'}, sender ${senderFn?.memoryMb ?? 256} MB, status-callback ${callbackFn?.memoryMb ?? 256} MB (${configSource}). Durations are the handlers' own time measured in this run (handler time minus the fakes' round trips: ${senderOwnMs.toFixed(1)} ms per sender invocation, ${callbackOwnMs.toFixed(1)} ms per callback) and DynamoDB call counts as measured, plus stated network assumptions (${ASSUME.twilioApiMs} ms per Twilio API call, ${ASSUME.dynamoMs} ms per DynamoDB round trip). Prices: AWS us-east-1 public list prices as of ${PRICES_AS_OF}, no free tier; Twilio US list price. Check both before quoting.${missing.length ? ` Not measured in this run, so assumed: ${missing.join('; ')}.` : ''}`, '');
  const table = (lines: CostLine[], total: number | undefined, share: boolean, headers = ['Per alert', 'Per 1,000 alerts']) => {
    const rows = [`| Item | ${headers[0]} | ${headers[1]} | Share | Note |`, '| --- | --- | --- | --- | --- |'];
    for (const l of lines) rows.push(`| ${l.item} | ${l.quantity} | ${money(l.perThousand)} | ${share && total ? `${((l.perThousand / total) * 100).toFixed(1)}%` : ''} | ${l.note ?? ''} |`);
    if (total !== undefined) rows.push(`| **Total** | | **${money(total)}** | | |`);
    return rows;
  };
  const grand = cost.awsTotal + cost.twilioTotal;
  L.push('### Per 1,000 alerts: AWS', '', ...table(cost.aws, cost.awsTotal, true), '');
  L.push('### Per 1,000 alerts: Twilio', '', ...table(cost.twilio, cost.twilioTotal, false), '');
  L.push(`**AWS is ${((cost.awsTotal / grand) * 100).toFixed(1)}% of the per-alert spend (${money(cost.awsTotal)} of ${money(grand)} per 1,000 alerts); Twilio and the carriers are the rest.** Each further recipient of the same alert adds roughly one Twilio message (${money(PRICE.twilioUsSmsSegment + PRICE.usCarrierFeeSegment)} per segment), its DynamoDB writes and ${callbacksPerMessage} callbacks; the sender's duration barely grows because recipients are sent concurrently. A message longer than 160 GSM-7 characters (or 70 UCS-2, e.g. with one emoji) is billed per segment, which is why alarm texts are rendered GSM-7 and one segment where possible. WhatsApp: Twilio charges a per-message fee plus Meta's template fee, which varies by country and template category (utility, authentication, marketing); see Twilio's and Meta's current rate cards.`, '');
  const amortised = cost.aws.filter((l) => l.item.startsWith('KMS') || l.item.startsWith('Secrets')).reduce((sum, l) => sum + l.perThousand, 0);
  L.push(`At a steady rate (more than one alert per 5 minutes per execution environment), KMS data keys and the cached secret are reused and those two lines fall to nearly nothing: AWS then costs about ${money(cost.awsTotal - amortised)} per 1,000 alerts, of which API Gateway (one request per status callback) and DynamoDB writes are most.`, '');
  L.push('### Cold starts', '', ...table(cost.coldExtra, undefined, false, ['Init per cold start', 'Per 1,000 alerts, all cold']), '');
  L.push('Lambda bills the init phase. When alerts are rare every invocation may be a cold start; the line above is the extra per 1,000 alerts in that worst case, roughly estimated from this machine\'s load time scaled by the CPU share Lambda gives the configured memory (a full vCPU at 1,769 MB); measure INIT_DURATION in the REPORT lines of a deployed stack for the real figure.', '');
  L.push('### Fixed, per month (independent of volume)', '', ...table(cost.fixed, undefined, false, ['Quantity', 'Per month']), '');
  L.push(`Total fixed: about ${money(cost.fixed.reduce((s, l) => s + l.perThousand, 0))} per month, plus DynamoDB storage ($0.25/GB-month; items expire after STATUS_RETENTION_DAYS) and the API Gateway access and Lambda log groups' storage.`, '');
  L.push('Prices used (per unit): ' + [
    `Lambda arm64 $${PRICE.lambdaGbSecondArm}/GB-s (x86 $${PRICE.lambdaGbSecondX86}) + $0.20/1M requests`,
    'SQS $0.40/1M requests',
    'SNS $0.50/1M publishes (delivery to SQS free)',
    'DynamoDB on-demand $0.625/1M WRU, $0.125/1M RRU',
    'API Gateway REST $3.50/1M requests',
    'KMS $1/key-month + $0.03/10k requests',
    'Secrets Manager $0.40/secret-month + $0.05/10k API calls',
    'CloudWatch Logs $0.50/GB ingested, custom metrics $0.30/metric-month, alarms $0.10/alarm-month',
    'Twilio US SMS $0.0083/segment outbound + carrier fees',
  ].join('; ') + '.', '');
  return L;
}

function gitDescribe(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'lambda', 'lib', 'scripts'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return `commit ${head}${dirty ? ' with uncommitted changes under lambda/, lib/ or scripts/' : ''}`;
  } catch {
    return 'unknown commit';
  }
}

function twilioVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(join(ROOT, 'node_modules', 'twilio', 'package.json')) as { version: string }).version;
  } catch {
    return '?';
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
