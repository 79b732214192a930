/**
 * `npm run bench`: measures the built assets side by side in one run and
 * writes BENCHMARKS.md (issues 6 and 12) and the scaling plot. Not part of
 * `npm test`.
 *
 * Every handler scenario runs once per CPU mode: unthrottled, and at the CPU
 * share Lambda gives each memory size in BENCH_MEMORY (default: 256 MB and the
 * construct's default memory sizes as synthesized; e.g.
 * BENCH_MEMORY=256,512,1024,1769), the handler's process alone in a cpu
 * cgroup (support/cpu-cgroup.ts). Where no cgroup can be made the run says so
 * in every figure it affects. The summary's verdicts are taken at the
 * construct's default memory.
 *
 * BENCH_QUICK=1: a smoke run (fewer rounds, a shorter curve, a compressed
 * storm, 1,000 pipeline notifications), written to bench-out/ so that the
 * committed figures stay those of a full run.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release, platform, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { METRIC } from '../../lib/contract';
import { MAX_RECIPIENTS } from '../../lambda/sender/validate';
import { coldStart, ColdStartFigure } from './cold-start';
import { ASSUME, costPerThousandAlerts, CostLine, lambdaInvocationCost, money, PRICE, PRICES_AS_OF } from './cost-model';
import type { ForgedWebhookResult } from './scenarios/forged-webhook';
import { runScenario } from './support/child';
import { CGROUP_ROOT, cpuShare, sweepRunGroups, type ThrottleStats } from './support/cpu-cgroup';
import type { HostMode } from './support/host';
import { formatBytes, formatMs, summarize, Summary } from './support/stats';
import { scalingSvg } from './support/svg-plot';
import type { ScalingPoint } from './scenarios/scaling';

const ROOT = join(__dirname, '..', '..');
const OUT = join(ROOT, 'bench-out');
const QUICK = process.env.BENCH_QUICK === '1';
const SCENARIOS = join(__dirname, 'scenarios');
/** Facts of the run described (saved with its figures, so that a re-render describes that run, not the re-render). */
let RUN_FACTS: { loadAtStart: number[]; date: string; code: string } = { loadAtStart: loadavg(), date: '', code: '' };
const loadSamples: number[] = [];
// So that run.ts can sweep the cgroups of this run, whoever made them.
process.env.BENCH_RUN_ID = `r${randomBytes(4).toString('hex')}`;

// Full mode is sized to finish in about 13 minutes on a shared 2-core machine with three CPU modes
// (unthrottled, 256 MB, the construct's default); each scenario's rounds are stated beside its figures.
const SETTINGS = QUICK
  ? { loadRounds: 5, loadWarmup: 1, coldRounds: 3, coldWarmup: 0, warmIterations: 15, warmWarmup: 3, fanOutRuns: 2, callbackMessages: 6, pipelineNotifications: 500, pipelineSettleMs: 60_000, scalingPoints: '1,10,100,3x20', stormCompression: 6 }
  : { loadRounds: 11, loadWarmup: 1, coldRounds: 7, coldWarmup: 1, warmIterations: 30, warmWarmup: 5, fanOutRuns: 3, callbackMessages: 20, pipelineNotifications: 2_000, pipelineSettleMs: 120_000, scalingPoints: `1,10,100,${MAX_RECIPIENTS},10x100`, stormCompression: 2 };

/**
 * The memory sizes whose CPU share the handlers also run at: BENCH_MEMORY, else
 * 256 MB (the size before the memory props) and the construct's defaults as
 * synthesized (set in main once the construct has been read).
 */
const MEMORY_FROM_ENV = process.env.BENCH_MEMORY?.split(',').filter((v) => v.trim()).map((v) => {
  const n = Number(v.trim());
  if (!Number.isInteger(n) || n < 128 || n > 10240) throw new Error(`BENCH_MEMORY: "${v}" is not a Lambda memory size (integers from 128 to 10240 MB, comma-separated, e.g. 256,512,1024,1769)`);
  return n;
});
/** The memory the summary's verdicts are taken at when the construct cannot be synthesized. */
const FALLBACK_SENDER_MB = 1769;
const FALLBACK_WEBHOOK_MB = 256;

/** A CPU mode: unthrottled, or a memory size's share. */
interface Mode {
  readonly key: string;
  readonly memoryMb?: number;
}
let MEMORIES: readonly number[] = [];
let MODES: readonly Mode[] = [];
/** The mode of the sender's default memory: the summary's verdicts. */
let DEFAULT_MODE_KEY = 'unthrottled';
/** The mode of the webhooks' default memory: the status-callback figures of the summary and the cost model. */
let WEBHOOK_MODE_KEY = 'unthrottled';
/** The construct's defaults, as synthesized. */
let DEFAULT_SENDER_MB = FALLBACK_SENDER_MB;
let DEFAULT_WEBHOOK_MB = FALLBACK_WEBHOOK_MB;
const modeKey = (mb: number) => `${mb} MB`;

function chooseModes(construct: ConstructResult | undefined, memories = MEMORY_FROM_ENV): void {
  DEFAULT_SENDER_MB = construct?.functions.find((f) => f.role === 'sender')?.memoryMb ?? FALLBACK_SENDER_MB;
  DEFAULT_WEBHOOK_MB = construct?.functions.find((f) => f.role === 'status-callback')?.memoryMb ?? FALLBACK_WEBHOOK_MB;
  MEMORIES = [...new Set(memories ?? [256, DEFAULT_WEBHOOK_MB, DEFAULT_SENDER_MB])].sort((x, y) => x - y);
  MODES = [{ key: 'unthrottled' }, ...MEMORIES.map((mb) => ({ key: modeKey(mb), memoryMb: mb }))];
  const throttled = MODES.filter((m) => m.memoryMb !== undefined);
  const nearest = (mb: number) => (throttled.length ? throttled.reduce((best, m) => (Math.abs(m.memoryMb! - mb) < Math.abs(best.memoryMb! - mb) ? m : best)).key : 'unthrottled');
  DEFAULT_MODE_KEY = nearest(DEFAULT_SENDER_MB);
  WEBHOOK_MODE_KEY = nearest(DEFAULT_WEBHOOK_MB);
}

type Outcome<T> = { result?: T; error?: string };
/** Per mode key, the outcome of a scenario run in that mode. */
type PerMode<T> = Record<string, Outcome<T>>;
interface ModeFigures {
  mode: HostMode;
  throttle?: ThrottleStats;
  handlerMaxRssBytes?: number;
}

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
  /** SQS calls per incident page, by operation (absent in runs before storm windows were on). */
  sqsOpsPerRecipient?: Record<string, number>;
  referenceDdbCalls?: Summary;
  postsPerMessage: Summary;
  logBytesPerMessage: Summary;
  batchFailures: number;
  secretReads: number;
  firstInvocation: { ms: number };
  maxRssBytes: number;
  senderCpu: Summary;
  referenceCpu?: Summary;
  senderInit: { ms: number; cpuMs: number };
  firstInvocationCpuMs: number;
  /** A plain JSON envelope to the same recipient (no incident), interleaved with the incident pages. */
  plain?: { wall: Summary; cpu: Summary; ddbCalls: Summary; ddbOps: Record<string, number>; ddbRoundTrips: Summary; posts: Summary; batchFailures: number };
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
  cpuPerRecipient: Summary;
  cpuPerRun: Summary;
  bareCalls?: { wall: Summary; cpuPerRecipient: Summary; ddbCallsPerRun: Summary };
  /** The same 100 paged as an incident (a new CloudWatch ALARM; they are the default recipients). */
  incident?: { wall: Summary; ratio: number; cpuPerRecipient: Summary; cpuPerRun: Summary; postsPerRun: Summary; ddbCallsPerRun: Summary; ddbOpsPerRun: Record<string, number>; batchFailures: number; maxInFlight: number };
  plainDdbOpsPerRun?: Record<string, number>;
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
  cpu: Summary;
  messagesPerMix: number;
  mixes: Array<{
    name: string;
    note: string;
    statuses: string[];
    callbacksPerMessage: number;
    callbacks: number;
    writesPerCallback: number;
    readsPerCallback: number;
    failedConditionalPerCallback: number;
    writesPerMessage: number;
    byStatus: Record<string, { writes: number; failed: number }>;
    time: Summary;
    cpu: Summary;
    httpStatuses: Record<string, number>;
  }>;
}
interface ColdInvokeFigure {
  name: string;
  init: Summary;
  initCpu: Summary;
  first: Summary;
  firstCpu: Summary;
  total: Summary;
  totalCpu: Summary;
  toFirstPost: Summary;
  maxRss: Summary;
  throttled: Summary;
}
interface ColdInvokeResult {
  rounds: number;
  warmup: number;
  figures: ColdInvokeFigure[];
}
interface ScalingResult {
  delayMs: number;
  concurrency: number;
  timeoutS: number;
  points: ScalingPoint[];
}
interface StormVariant {
  name: string;
  sender: string;
  messagesPerSecond: number;
  storm: { windowSeconds: number; immediatePages: number };
  stageThrottle?: { rateLimit: number; burstLimit: number };
  perPhone: Array<{ phone: string; texts: number; firstTextS?: number; allNamedS?: number; unnamed: number }>;
  texts: number;
  maxQueueWaitS: number;
  callbacks: number;
  callbacksRefused: number;
  nonFinalBeforeReconcile: number;
  reconcile?: { asked: number; reconciled: number; stoppedBy: string; runs: number };
  nonFinal: number;
  tally: { published: number; sent: number; lost: number; duplicates: number };
  wallMs: number;
}
interface StormResult {
  alarms: number;
  arrivalS: number;
  compression: number;
  windowS: number;
  phones: number;
  constructThrottle: { rateLimit: number; burstLimit: number };
  variants: StormVariant[];
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
  senderEnvironments?: number;
  webhookEnvironments?: number;
  sendConcurrency?: number;
  twilioMs?: number;
  twilioJitterMs?: number;
  twilioMaxInFlight?: number;
}
interface ConstructResult {
  functions: Array<{ role: string; memoryMb: number; architecture: string; timeoutS: number }>;
  senderBatchSize: number;
  senderMaxConcurrency?: number;
  apiThrottle?: { rate: number; burst: number };
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
    `- CPU: ${c[0]?.model ?? 'unknown'} × ${c.length} logical cores, shared with other work (load average at start ${RUN_FACTS.loadAtStart.map((l) => l.toFixed(2)).join(' / ')}: ${RUN_FACTS.loadAtStart[0] >= 1 ? 'busy' : 'quiet'})`,
    `- Memory: ${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    `- OS: ${platform()} ${release()}`,
    `- Node: ${process.version} (the Lambdas run Node 24 on arm64: absolute times differ; the CPU modes below give a handler Lambda's share of a CPU, not Lambda's processor, so compare CPU times and ratios measured in the same mode)`,
    `- Date: ${RUN_FACTS.date}`,
    `- Code: ${RUN_FACTS.code} (the handlers as built by \`npm run build\` at the start of the run, copied to bench-out/assets so that a rebuild during the run cannot change them; the pipeline runs assets/)`,
    `- Mode: ${QUICK ? 'BENCH_QUICK=1 (smoke run)' : 'full'}`,
  ];
}

const verdict = (met: boolean | undefined) => (met === undefined ? 'not measured' : met ? '**met**' : '**MISSED**');
/** The storm's targets, judged on the variants with digests on (those with digests off are the baseline they must beat). */
function stormVerdict(st: { readonly variants: ReadonlyArray<{ readonly storm: { readonly windowSeconds: number }; readonly perPhone: ReadonlyArray<{ readonly texts: number; readonly firstTextS?: number; readonly allNamedS?: number }>; readonly tally: { readonly lost: number; readonly duplicates: number } }> } | undefined): string {
  const withDigests = st?.variants.filter((v) => v.storm.windowSeconds > 0) ?? [];
  if (withDigests.length === 0) return 'not measured';
  const met = withDigests.every((v) => v.tally.lost === 0 && v.tally.duplicates === 0 && v.perPhone.every((x) => x.texts <= 4 && (x.firstTextS ?? Infinity) <= 5 && (x.allNamedS ?? Infinity) <= 120));
  return `${verdict(met)} with digests`;
}
/**
 * A verdict at a CPU share, beside the same test unthrottled: when the handler
 * misses the target even with the whole machine, the machine's load bounds the
 * figure, not the share, and the verdict says so (it stays MISSED).
 */
const verdictVs = (met: boolean | undefined, unthrottledMet: boolean | undefined) =>
  met === false && unthrottledMet === false ? '**MISSED** (unthrottled missed too: this shared machine\'s load bounds it, not the share; re-run on a quieter machine)' : verdict(met);

/** A handler scenario run once per CPU mode. Add a scenario here (and its section in render). */
interface ModeScenario {
  readonly key: keyof ModeResults;
  readonly file: string;
  readonly what: string;
  readonly timeoutMs: number;
  env(ctx: RunContext): Record<string, string>;
}
interface RunContext {
  assets: string;
  referenceBundle?: string;
  bareCallsBundle?: string;
  senderTimeoutS: number;
  senderMaxConcurrency: number;
  senderBatchSize: number;
}
interface ModeResults {
  coldInvoke: PerMode<ColdInvokeResult & ModeFigures>;
  warm: PerMode<WarmResult & ModeFigures>;
  fanOut: PerMode<FanOutResult & ModeFigures>;
  callback: PerMode<CallbackResult & ModeFigures>;
  scaling: PerMode<ScalingResult & ModeFigures>;
}

const MODE_SCENARIOS: readonly ModeScenario[] = [
  {
    key: 'coldInvoke',
    file: 'cold-invoke.ts',
    what: `cold start as Lambda pays it: ${SETTINGS.coldRounds} rounds of init + first invocation`,
    timeoutMs: 300_000,
    env: (c) => ({
      BENCH_ITERATIONS: String(SETTINGS.coldRounds),
      BENCH_WARMUP: String(SETTINGS.coldWarmup),
      BENCH_COLD_VARIANTS: JSON.stringify([
        { name: 'sender (ours)', file: join(c.assets, 'sender', 'index.js') },
        ...(c.referenceBundle ? [{ name: 'reference: twilio SDK', file: c.referenceBundle }] : []),
      ]),
    }),
  },
  {
    key: 'warm',
    file: 'warm-send.ts',
    what: 'warm cost per message',
    timeoutMs: 300_000,
    env: (c) => ({ BENCH_ITERATIONS: String(SETTINGS.warmIterations), BENCH_WARMUP: String(SETTINGS.warmWarmup), ...(c.referenceBundle ? { BENCH_REFERENCE_BUNDLE: c.referenceBundle } : {}) }),
  },
  {
    key: 'fanOut',
    file: 'fan-out.ts',
    what: 'fan-out: 100 recipients, 100 ms per Twilio request',
    timeoutMs: 300_000,
    env: (c) => ({ BENCH_ITERATIONS: String(SETTINGS.fanOutRuns), ...(c.bareCallsBundle ? { BENCH_BARE_CALLS_BUNDLE: c.bareCallsBundle } : {}) }),
  },
  {
    key: 'callback',
    file: 'status-callback.ts',
    what: 'status callbacks: four mixes',
    timeoutMs: 300_000,
    env: () => ({ BENCH_ITERATIONS: String(SETTINGS.callbackMessages), BENCH_WARMUP: '5' }),
  },
  {
    key: 'scaling',
    file: 'scaling.ts',
    what: `scaling curve: ${SETTINGS.scalingPoints}`,
    timeoutMs: 600_000,
    env: (c) => ({ BENCH_SCALING_POINTS: SETTINGS.scalingPoints, BENCH_SENDER_TIMEOUT_S: String(c.senderTimeoutS) }),
  },
];

/**
 * BENCH_RENDER_FROM=bench-out/bench-results.json: writes BENCHMARKS.md again from the figures a run saved
 * (e.g. after a change to this file's text), without measuring anything.
 */
function renderSaved(file: string): void {
  const saved = JSON.parse(readFileSync(file, 'utf8')) as Omit<All, 'elapsedMs' | 'svgFile'> & { elapsedMs?: number; memories?: number[]; loadSamples?: number[]; runFacts?: typeof RUN_FACTS };
  RUN_FACTS = saved.runFacts ?? { loadAtStart: [NaN, NaN, NaN], date: 'unknown (not saved)', code: 'unknown (not saved)' };
  chooseModes(saved.construct.result, saved.memories);
  loadSamples.push(...(saved.loadSamples ?? []));
  const svgFile = QUICK ? join(OUT, 'bench-scaling.quick.svg') : join(ROOT, 'test', 'bench', 'bench-scaling.svg');
  const out = process.env.BENCH_OUT_FILE ?? (QUICK ? join(OUT, 'BENCHMARKS.quick.md') : join(ROOT, 'BENCHMARKS.md'));
  writeFileSync(svgFile, renderScalingSvg(saved.scaling, saved.construct.result?.functions.find((f) => f.role === 'sender')?.timeoutS ?? 30));
  writeFileSync(out, render({ ...saved, elapsedMs: saved.elapsedMs ?? NaN, svgFile: relative(dirname(out), svgFile).split('\\').join('/') }));
  log(`rendered ${out} from ${file}`);
}

async function main() {
  if (process.env.BENCH_RENDER_FROM) return renderSaved(process.env.BENCH_RENDER_FROM);
  RUN_FACTS = { ...RUN_FACTS, date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), code: gitDescribe() };
  mkdirSync(OUT, { recursive: true });
  const started = Date.now();
  const sampler = setInterval(() => loadSamples.push(loadavg()[0]), 5_000);
  // Other work in this tree may rebuild assets/ while the benchmark runs: measure one snapshot throughout.
  const assets = join(OUT, 'assets');
  rmSync(assets, { recursive: true, force: true });
  for (const name of ['sender', 'status-callback', 'inbound']) {
    if (existsSync(join(ROOT, 'assets', name, 'index.js'))) cpSync(join(ROOT, 'assets', name), join(assets, name), { recursive: true });
  }
  const assetEnv = { BENCH_ASSETS_DIR: assets };
  log('construct configuration (synth)');
  const construct = await runScenario<ConstructResult>(join(SCENARIOS, 'construct-config.ts'), {}, 180_000);
  if (construct.error) log(`  failed: ${construct.error.split('\n')[0]}`);
  chooseModes(construct.result);
  log(`machine: ${cpus()[0]?.model} × ${cpus().length}, ${process.version}${QUICK ? ', QUICK' : ''}; modes ${MODES.map((m) => m.key).join(', ')}; verdicts at ${DEFAULT_MODE_KEY}`);

  log(`module load: ${SETTINGS.loadRounds} rounds (+${SETTINGS.loadWarmup} warm-up) of fresh-process loads`);
  let cold: ColdStartFigure[] = [];
  let coldError: string | undefined;
  try {
    cold = await coldStart(ROOT, OUT, assets, SETTINGS.loadRounds, SETTINGS.loadWarmup);
  } catch (err) {
    coldError = (err as Error).message;
  }
  const bundle = (dir: string) => (existsSync(join(OUT, 'bundles', dir, 'index.js')) ? join(OUT, 'bundles', dir, 'index.js') : undefined);
  const senderFn = construct.result?.functions.find((f) => f.role === 'sender');
  const ctx: RunContext = {
    assets,
    referenceBundle: bundle('reference-twilio-sdk'),
    bareCallsBundle: bundle('reference-bare-calls'),
    senderTimeoutS: senderFn?.timeoutS ?? 30,
    senderMaxConcurrency: construct.result?.senderMaxConcurrency ?? 5,
    senderBatchSize: construct.result?.senderBatchSize ?? 10,
  };

  const results = Object.fromEntries(MODE_SCENARIOS.map((sc) => [sc.key, {}])) as unknown as ModeResults;
  for (const sc of MODE_SCENARIOS) {
    for (const mode of MODES) {
      log(`${sc.what} [${mode.key}]`);
      (results[sc.key] as PerMode<unknown>)[mode.key] = await runScenario(join(SCENARIOS, sc.file), { ...assetEnv, ...sc.env(ctx), BENCH_MODE_MEMORY_MB: mode.memoryMb === undefined ? '' : String(mode.memoryMb) }, sc.timeoutMs);
      const error = (results[sc.key] as PerMode<unknown>)[mode.key].error;
      if (error) log(`  failed: ${error.split('\n')[0]}`);
    }
  }

  log('forged webhooks: a normal-size and a 5.5 MB / 380k-parameter forgery, before-style and now');
  const forged = await runScenario<ForgedWebhookResult>(join(SCENARIOS, 'forged-webhook.ts'), assetEnv, 300_000);

  let pipeline: Outcome<PipelineResult>;
  if (existsSync(join(ROOT, 'test', 'pipeline', 'local-pipeline.ts'))) {
    log(`pipeline: ${SETTINGS.pipelineNotifications} notifications`);
    pipeline = await runScenario<PipelineResult>(
      join(SCENARIOS, 'pipeline.ts'),
      { BENCH_NOTIFICATIONS: String(SETTINGS.pipelineNotifications), BENCH_SETTLE_MS: String(SETTINGS.pipelineSettleMs), BENCH_SENDER_CONCURRENCY: String(ctx.senderMaxConcurrency) },
      300_000,
    );
  } else {
    pipeline = { error: 'test/pipeline/local-pipeline.ts does not exist yet' };
  }
  log(`alarm storm through the local pipeline (time compressed ${SETTINGS.stormCompression}×)`);
  const throttle = construct.result?.apiThrottle;
  const storm = await runScenario<StormResult>(
    join(SCENARIOS, 'storm.ts'),
    { BENCH_STORM_COMPRESSION: String(SETTINGS.stormCompression), BENCH_SENDER_MAX_CONCURRENCY: String(ctx.senderMaxConcurrency), ...(throttle ? { BENCH_STAGE_RATE: String(throttle.rate), BENCH_STAGE_BURST: String(throttle.burst) } : {}) },
    900_000,
  );
  if (storm.error) log(`  failed: ${storm.error.split('\n')[0]}`);
  clearInterval(sampler);
  const leftover = sweepRunGroups();
  if (leftover.length) log(`removed ${leftover.length} cgroup(s) a killed scenario left: ${leftover.join(', ')}`);

  const svgFile = QUICK ? join(OUT, 'bench-scaling.quick.svg') : join(ROOT, 'test', 'bench', 'bench-scaling.svg');
  // Every figure as measured, so that the report and the plot can be re-rendered or compared later.
  writeFileSync(join(OUT, QUICK ? 'bench-results.quick.json' : 'bench-results.json'), JSON.stringify({ construct, cold, coldError, ...results, forged, pipeline, storm, memories: MEMORIES, loadSamples, runFacts: RUN_FACTS, elapsedMs: Date.now() - started }, null, 2));
  writeFileSync(svgFile, renderScalingSvg(results.scaling, construct.result?.functions.find((f) => f.role === 'sender')?.timeoutS ?? 30));
  const file = process.env.BENCH_OUT_FILE ?? (QUICK ? join(OUT, 'BENCHMARKS.quick.md') : join(ROOT, 'BENCHMARKS.md'));
  const md = render({ construct, cold, coldError, ...results, forged, pipeline, storm, elapsedMs: Date.now() - started, svgFile: relative(dirname(file), svgFile).split('\\').join('/') });
  writeFileSync(file, md);
  process.stdout.write(md);
  log(`wrote ${file} and ${svgFile} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

function renderScalingSvg(scaling: PerMode<ScalingResult & ModeFigures>, timeoutS: number): string {
  const series = MODES.flatMap((m) => {
    const r = scaling[m.key]?.result;
    if (!r) return [];
    return [{ name: r.mode.label, points: r.points.map((p) => ({ label: p.label, messages: p.messages, wallMs: p.wallMs, idealMs: p.idealMs, cpuPerRecipientMs: p.cpuPerRecipientMs, batch: p.records > 1, sent: p.posts })) }];
  });
  const any = MODES.map((m) => scaling[m.key]?.result).find(Boolean);
  return scalingSvg(series, {
    timeoutMs: timeoutS * 1000,
    title: 'Sender: one invocation, 1 to 1,000 messages',
    subtitle: `Twilio answers in ${any?.delayMs ?? 100} ms, ${any?.concurrency ?? 10} in flight; left: wall time; right: CPU per message. ${RUN_FACTS.date.slice(0, 10)}, ${RUN_FACTS.code}`,
  });
}

interface All extends ModeResults {
  forged: Outcome<ForgedWebhookResult>;
  construct: Outcome<ConstructResult>;
  cold: ColdStartFigure[];
  coldError?: string;
  pipeline: Outcome<PipelineResult>;
  storm?: Outcome<StormResult>;
  elapsedMs: number;
  svgFile: string;
}

function failure(what: string, error: string | undefined): string {
  return `${what} could not be measured: \`${(error ?? 'unknown error').split('\n')[0].slice(0, 300)}\``;
}

const ms0 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : `${v.toFixed(0)} ms`);
const ms1 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : `${v.toFixed(1)} ms`);
/** The label of a mode's run, with the fallback warning if its share was not applied. */
const modeLabel = (m: Mode, r: { mode: HostMode } | undefined) => (r ? r.mode.label : m.key);
/** One cell per mode: `render` of that mode's result, or why there is none. */
function perMode<T>(results: PerMode<T>, cell: (r: T, m: Mode) => string): string[] {
  return MODES.map((m) => {
    const o = results[m.key];
    return o?.result ? cell(o.result, m) : `n/a (${(o?.error ?? 'not run').split('\n')[0].slice(0, 80)})`;
  });
}
const get = <T>(results: PerMode<T>, key = DEFAULT_MODE_KEY): T | undefined => results[key]?.result;
/**
 * The wall time the CPU alone needs at the mode's share (the handler's CPU time ÷ share): what the share allows
 * on a machine that gives the process its whole share; above the measured wall, the machine's load held it back.
 */
const shareNote = (mode: HostMode, cpuMs: number) => (mode.share !== undefined ? `; CPU ÷ share = ${ms0(cpuMs / Math.min(1, mode.share))}` : '');
const opsText = (ops: Record<string, number>) => Object.entries(ops).map(([op, n]) => `${op} ${n}`).join(', ');

/** What the construct deploys by default, and where the summary's verdicts are taken. */
function constructDefaults(a: All): string {
  const read = a.construct.result ? 'as synthesized by test/bench/scenarios/construct-config.ts' : `ASSUMED: the construct could not be synthesized (${a.construct.error?.split('\n')[0] ?? 'unknown error'})`;
  const missing = [DEFAULT_SENDER_MB, DEFAULT_WEBHOOK_MB].filter((mb) => !MEMORIES.includes(mb));
  return `The construct's default memory (${read}): sender **${DEFAULT_SENDER_MB} MB** (senderMemorySize), webhooks ${DEFAULT_WEBHOOK_MB} MB (webhookMemorySize). **The summary's verdicts are taken at the construct's default memory**: the sender's figures in the ${DEFAULT_MODE_KEY} mode, the status callbacks' in the ${WEBHOOK_MODE_KEY} mode${MEMORIES.includes(256) && DEFAULT_SENDER_MB !== 256 ? '; 256 MB (the sender\'s size before senderMemorySize) is reported beside them' : ''}.${missing.length ? ` ⚠ BENCH_MEMORY left out ${missing.map((mb) => `${mb} MB`).join(' and ')}: those verdicts are taken at the nearest mode run (${DEFAULT_MODE_KEY}).` : ''}`;
}

function render(a: All): string {
  const L: string[] = [];
  const sender = a.cold.find((c) => c.name.startsWith('sender'));
  const reference = a.cold.find((c) => c.name.startsWith('reference: twilio'));
  const loadRatio = sender && reference ? sender.load.median / reference.load.median : undefined;
  const roundRatios = sender && reference ? summarize(sender.samples.map((ms, i) => ms / reference.samples[i])) : undefined;
  const w = get(a.warm, 'unthrottled');
  const cb = get(a.callback, 'unthrottled');
  const p = a.pipeline.result;
  const defaultMode = MODES.find((m) => m.key === DEFAULT_MODE_KEY)!;
  const throttledOk = MODES.filter((m) => m.memoryMb !== undefined).every((m) => MODE_SCENARIOS.every((sc) => {
    const r = (a[sc.key] as PerMode<ModeFigures>)[m.key]?.result;
    return !r || r.mode.throttled;
  }));
  const loadDuring = loadSamples.length ? summarize(loadSamples) : undefined;

  L.push('# Benchmarks', '');
  L.push('Produced by `npm run bench` (test/bench/run.ts); every figure below comes from one run on the machine described. Re-run to refresh; `BENCH_QUICK=1 npm run bench` is a smoke run that writes bench-out/ instead; `BENCH_MEMORY=256,512,1024,1769 npm run bench` runs the CPU modes of those memory sizes instead of the default ones (256 MB and the construct\'s defaults).', '');
  L.push('## Machine', '', ...machine(), `- Load average during the run (1-minute, sampled every 5 s): median ${loadDuring ? loadDuring.median.toFixed(1) : 'n/a'}, p10–p90 ${loadDuring ? `${loadDuring.p10.toFixed(1)}–${loadDuring.p90.toFixed(1)}` : 'n/a'} on ${cpus().length} cores: the machine was shared, so wall times are noisy and CPU times (process.cpuUsage of the handler's process) are the steadier figures`, `- Wall time of the run: ${(a.elapsedMs / 1000).toFixed(0)} s`, '');
  L.push('## CPU modes', '');
  L.push(`Lambda gives a function CPU in proportion to its memory: one vCPU at 1,769 MB, so ${cpuShare(256).toFixed(3)} of one at 256 MB. Each handler scenario runs once per mode: **unthrottled** (the handler's process may use whatever this shared machine gives it) and **at each memory size's share** (${MEMORIES.map((mb) => `${mb} MB = ${cpuShare(mb).toFixed(3)}`).join(', ')}): the handler's process, and only it, is put in a cgroup v1 \`cpu\` group of its own under ${CGROUP_ROOT} with cfs_quota_us / cfs_period_us = memory / 1769 (all its threads: JIT, GC, libuv pool), made for that process and removed after it; the fakes (dynalite, Secrets Manager, Twilio, SQS) and the scenario driving the handler run outside it, as AWS's services run outside a Lambda. ${throttledOk ? 'Every throttled run below was throttled.' : '**⚠ Some runs could not be throttled: their labels say "NOT THROTTLED" and why; those figures are unthrottled.**'} Handlers run in an execution environment of their own (test/bench/support/handler-host.cjs: plain \`node\` with \`NODE_OPTIONS=--enable-source-maps\` as the construct deploys, the bundle loaded with \`require\`), so CPU time (process.cpuUsage) and peak RSS are the handler process's, not the harness's. The sender runs as the construct deploys it: with \`ALERT_QUEUE_URL\` (the alert queue, in the SQS fake), so storm windows are on with the default window (60 s, immediatePages 1; SENDER_CONFIG sets no \`storm\`, as the construct writes none by default); every measured text is a first page to its recipient (the scenario ends the recipient's window before it, as the 60 s between pages would, or texts an address of its own), so it pays the window's one conditional write and is never held; SQS calls are counted beside DynamoDB's. ${constructDefaults(a)}`, '');

  // ---- Summary
  const ci = (key: string) => get(a.coldInvoke, key);
  const ciFig = (key: string, name: string) => ci(key)?.figures.find((f) => f.name.startsWith(name));
  const fo = (key: string) => get(a.fanOut, key);
  const sc = (key: string) => get(a.scaling, key);
  const cbDef = get(a.callback, WEBHOOK_MODE_KEY);
  const foDef = fo(DEFAULT_MODE_KEY);
  const toFirstPost = ciFig(DEFAULT_MODE_KEY, 'sender')?.toFirstPost.median;
  const senderInitDef = ciFig(DEFAULT_MODE_KEY, 'sender')?.init.median;
  const referenceInitDef = ciFig(DEFAULT_MODE_KEY, 'reference')?.init.median;
  const cost = costFigures(a);
  L.push('## Summary', '');
  L.push(`| # | Measurement | ${MODES.map((m) => m.key).join(' | ')} | Target | Result |`, `| --- | --- | ${MODES.map(() => '---').join(' | ')} | --- | --- |`);
  const row = (n: string, what: string, cells: string[], target: string, result: string) => L.push(`| ${n} | ${what} | ${cells.join(' | ')} | ${target} | ${result} |`);
  row('1', 'Sender module load (require only, fresh `node -e`, `--enable-source-maps`), vs twilio-SDK reference', MODES.map((m) => (m.memoryMb === undefined ? (sender ? `${sender.load.median.toFixed(1)} ms vs ${reference?.load.median.toFixed(1) ?? 'n/a'} ms = **${loadRatio?.toFixed(2) ?? 'n/a'}×** (per-round p10–p90 ${roundRatios?.p10.toFixed(2)}–${roundRatios?.p90.toFixed(2)})` : failure('load', a.coldError)) : (() => {
    const s = ciFig(m.key, 'sender');
    const r = ciFig(m.key, 'reference');
    return s && r ? `${ms0(s.init.median)} vs ${ms0(r.init.median)} = **${(s.init.median / r.init.median).toFixed(2)}×** (init in the environment)` : 'n/a';
  })())), '≤ 0.4× reference', verdict(senderInitDef !== undefined && referenceInitDef !== undefined ? senderInitDef / referenceInitDef <= 0.4 : loadRatio === undefined ? undefined : loadRatio <= 0.4));
  row('1', 'Cold page (a CloudWatch ALARM opening an incident): init + first invocation (wall / CPU), and until the first POST reaches Twilio', perMode(a.coldInvoke, (r) => {
    const s = r.figures.find((f) => f.name.startsWith('sender'));
    const ref = r.figures.find((f) => f.name.startsWith('reference'));
    return s ? `${ms0(s.total.median)} / CPU ${ms0(s.totalCpu.median)}; first POST at **${ms0(s.toFirstPost.median)}**${ref ? ` (reference ${ms0(ref.total.median)}, ratio ${(s.total.median / ref.total.median).toFixed(2)})` : ''}${shareNote(r.mode, s.totalCpu.median)}` : 'n/a';
  }), `first POST well under 500 ms at the default (${defaultMode.key})`, verdictVs(toFirstPost === undefined ? undefined : toFirstPost < 500, (() => {
    const u = ciFig('unthrottled', 'sender')?.toFirstPost.median;
    return u === undefined ? undefined : u < 500;
  })()));
  row('2', 'Warm page, 1 recipient (an ALARM opening an incident): wall / handler CPU; a plain message (no incident) beside it', perMode(a.warm, (r) => `${r.sender.median.toFixed(1)} ms / CPU ${r.senderCpu.median.toFixed(1)} ms${r.plain ? `; plain ${r.plain.wall.median.toFixed(1)} ms / CPU ${r.plain.cpu.median.toFixed(1)} ms` : ''}${r.referenceCpu ? ` (reference CPU ${r.referenceCpu.median.toFixed(1)} ms)` : ''}`), '(none: reported)', '');
  const wDef = get(a.warm);
  row('2', 'DynamoDB calls (round trips) per page: a plain message; an incident\'s page', perMode(a.warm, (r) => `plain ${r.plain ? `${r.plain.ddbCalls.median} (${r.plain.ddbRoundTrips.median}): ${opsText(r.plain.ddbOps)}` : 'n/a'}; incident ${r.ddbCallsPerRecipient.median} (${r.ddbRoundTripsPerRecipient.median}, max ${r.ddbRoundTripsMax}): ${opsText(r.ddbOpsPerRecipient)}`), 'median ≤ 3 round trips beyond the POST for a plain message (its storm window, its claim, its record; 2 before storm windows); an incident\'s: reported', verdict(wDef?.plain ? wDef.plain.ddbRoundTrips.median <= 3 && wDef.plain.posts.median === 1 && wDef.plain.batchFailures === 0 : undefined));
  row('3', 'Fan-out, 100 recipients, 100 ms per request: wall × ideal; CPU per recipient', perMode(a.fanOut, (r) => `${r.wall.median.toFixed(0)} ms = **${r.ratio.toFixed(2)}×**; CPU ${r.cpuPerRecipient.median.toFixed(1)} ms/recipient${r.bareCalls ? ` (bare calls ${r.bareCalls.cpuPerRecipient.median.toFixed(1)})` : ''}${shareNote(r.mode, r.cpuPerRun.median)}`), `≤ 1.5× ideal at the default (${defaultMode.key})`, verdictVs(foDef ? foDef.ratio <= 1.5 && foDef.postsPerRun.median === foDef.recipients : undefined, fo('unthrottled') ? fo('unthrottled')!.ratio <= 1.5 : undefined));
  row('3', 'Fan-out as an incident: an ALARM paging the same 100: wall × ideal; CPU and DynamoDB calls per recipient', perMode(a.fanOut, (r) => (r.incident ? `${r.incident.wall.median.toFixed(0)} ms = **${r.incident.ratio.toFixed(2)}×**; CPU ${r.incident.cpuPerRecipient.median.toFixed(1)} ms/recipient; ${(r.incident.ddbCallsPerRun.median / r.recipients).toFixed(2)} DynamoDB calls/recipient (plain ${(r.ddbCallsPerRun.median / r.recipients).toFixed(2)})${shareNote(r.mode, r.incident.cpuPerRun.median)}` : 'n/a')), `≤ 1.5× ideal at the default (${defaultMode.key})`, verdictVs(foDef?.incident ? foDef.incident.ratio <= 1.5 && foDef.incident.postsPerRun.median === foDef.recipients && foDef.incident.batchFailures === 0 : undefined, fo('unthrottled')?.incident ? fo('unthrottled')!.incident!.ratio <= 1.5 : undefined));
  // 1,000 messages in one invocation: one envelope if the sender took it whole, else the batch of 10 records × 100
  // (the sender refuses an envelope naming more addresses than it allows, and says so in its log).
  const s1000 = (key: string) => {
    const pts = sc(key)?.points.filter((pt) => pt.messages === 1000) ?? [];
    return pts.find((pt) => pt.posts > 0 && pt.records === 1) ?? pts.find((pt) => pt.records > 1) ?? pts[0];
  };
  const refused1000 = MODES.some((m) => sc(m.key)?.points.some((pt) => pt.records === 1 && pt.messages === 1000 && pt.posts === 0));
  const fits = (pt: ScalingPoint | undefined) => (pt ? pt.marginMs > 0 && pt.posts === pt.messages && pt.batchFailures === 0 : undefined);
  row('4', `Scaling: 1,000 messages in one invocation (wall, margin to the timeout)${refused1000 ? ': the batch of 10 records × 100 (one envelope to 1,000 was refused whole by the sender: 0 sent; see section 4)' : ''}`, MODES.map((m) => {
    const pt = s1000(m.key);
    if (!sc(m.key)) return 'n/a';
    return pt ? `${pt.label}: ${ms0(pt.wallMs)}, margin ${ms0(pt.marginMs)}${pt.posts < pt.messages ? `, only ${pt.posts} of ${pt.messages} sent (${pt.batchFailures} records handed back)` : ''}` : 'n/a';
  }), `within the timeout at the default (${defaultMode.key})`, verdictVs(fits(s1000(DEFAULT_MODE_KEY)), fits(s1000('unthrottled'))));
  row('5', 'Status callback, SMS `queued`/`sent`/`delivered`: DynamoDB writes per callback (refused conditional writes included)', perMode(a.callback, (r) => {
    const mix = r.mixes[0];
    return mix ? `${mix.writesPerCallback.toFixed(2)} (${mix.failedConditionalPerCallback.toFixed(2)} refused); CPU ${r.cpu.median.toFixed(1)} ms` : 'n/a';
  }), `one write (at the webhooks' default, ${WEBHOOK_MODE_KEY})`, verdict(cbDef ? cbDef.mixes[0].writesPerCallback <= 1 && cbDef.mixes[0].failedConditionalPerCallback === 0 : undefined));
  row('6', 'AWS share of an alert\'s cost (vs Twilio)', MODES.map((m) => (m.memoryMb === undefined ? '' : cost[m.key] ? `${((cost[m.key]!.aws / cost[m.key]!.twilio) * 100).toFixed(2)}% of Twilio's` : 'n/a')), `< 0.5% of Twilio's at the default (${defaultMode.key})`, verdict(cost[DEFAULT_MODE_KEY] ? cost[DEFAULT_MODE_KEY]!.aws / cost[DEFAULT_MODE_KEY]!.twilio < 0.005 : undefined));
  const st = a.storm?.result;
  row('7', `Storm: ${st?.alarms ?? 50} alarms / ${st?.arrivalS ?? 60} s to ${st?.phones ?? 3} phones through the local pipeline: first text, texts per phone, all named, callbacks refused / reconciled`, MODES.map((m) => (m.memoryMb === undefined ? (st ? st.variants.map((v) => `${v.name}: first ${sec(Math.max(...v.perPhone.map((x) => x.firstTextS ?? NaN)))}; ${v.perPhone.map((x) => x.texts).join('/')} texts; all named ${sec(Math.max(...v.perPhone.map((x) => x.allNamedS ?? NaN)))}; ${v.callbacksRefused} refused, ${v.reconcile?.reconciled ?? 0} reconciled`).join('<br>') : failure('storm', a.storm?.error)) : '(not run: worker threads)')), 'first text ≤ 5 s, ≤ 4 texts per phone, all named ≤ 2 min, 0 lost (with digests; digests off is the baseline)', stormVerdict(st));
  row('8', 'Local pipeline, sustained', MODES.map((m) => (m.memoryMb === undefined ? (p ? `${p.settled ? '' : '⚠ not settled: '}${p.messagesPerSecond.toFixed(0)} messages/s` : failure('pipeline', a.pipeline.error)) : '(not run: worker threads)')), '(none: reported)', p ? 'measured' : 'not measured');
  const forgedRow = forgedSummary(a.forged);
  row('9', 'Forged webhook: CPU to refuse one (handler, one process)', MODES.map((m) => (m.memoryMb === undefined ? forgedRow.figure : '(not run)')), `flood ≤ ${FORGED_FLAT_TARGET}× normal`, forgedRow.result);
  L.push('');

  L.push(...renderColdStart(a, reference));
  L.push(...renderWarm(a));
  L.push(...renderFanOut(a));
  L.push(...renderScaling(a));
  L.push(...renderCallbacks(a));
  L.push(...renderThroughput(a));
  L.push(...renderStorm(a));
  L.push(...renderCost(a, w, cb, sender, reference));
  L.push(...renderForged(a.forged));
  return L.join('\n') + '\n';
}

function throttleNote(r: ModeFigures | undefined): string {
  if (!r?.throttle) return '';
  return ` (throttled in ${r.throttle.throttledPeriods} of ${r.throttle.periods} CFS periods, ${(r.throttle.throttledMs / 1000).toFixed(1)} s held back)`;
}

function renderColdStart(a: All, reference: ColdStartFigure | undefined): string[] {
  const L: string[] = ['## 1. Cold start', ''];
  L.push('### Module load alone (unthrottled)', '');
  L.push(`Method: each bundle is built by scripts/bundle.mjs's \`handlerBuildOptions\` (esbuild, node24, minified, cjs, the AWS SDK's ES modules, a source map of our sources only; undici's WebAssembly parser and the SDK's credential chain past the environment are files beside index.js, loaded when first needed). Load time is the \`require()\` of the bundle timed with \`process.hrtime\` inside a fresh \`node -e\` process with \`NODE_OPTIONS=--enable-source-maps\` as the construct deploys (Node reads the bundle's source map as it loads it), ${SETTINGS.loadRounds} rounds after ${SETTINGS.loadWarmup} discarded warm-up rounds, the variants interleaved in a rotating order each round. Zipped size: ${a.cold[0]?.zipMethod ?? 'n/a'} (the whole asset directory as CDK uploads it: index.js, its source map and the files beside it). The reference (test/bench/reference/twilio-sdk-handler.ts) does the sender's job with the official \`twilio\` package (${'v' + twilioVersion()}) and otherwise the same modules and the same three DynamoDB calls per recipient with the same client (@aws-sdk/client-dynamodb; the shared Secrets Manager loader, Powertools Logger and Metrics); the floor (fetch-floor-handler.ts) makes one fetch() POST and nothing else; bare calls (bare-calls-handler.ts) makes the sender's four network calls per recipient with the same clients and no handler logic.`, '');
  if (a.coldError) L.push(failure('Module load', a.coldError), '');
  L.push('| Bundle | index.js | zipped | load time median (p10–p90) | vs twilio-SDK reference |', '| --- | --- | --- | --- | --- |');
  for (const c of a.cold) {
    L.push(`| ${c.name} | ${formatBytes(c.rawBytes)} | ${formatBytes(c.zippedBytes)} | ${c.load.median.toFixed(1)} ms (${c.load.p10.toFixed(1)}–${c.load.p90.toFixed(1)}) | ${reference ? `${(c.load.median / reference.load.median).toFixed(2)}×` : ''} |`);
  }
  L.push('');
  for (const c of a.cold.filter((x) => x.topInputs && x.name.startsWith('sender'))) {
    L.push(`Largest contributors to *${c.name}*: ${c.topInputs!.map((t) => `${t.pkg} ${formatBytes(t.bytes)}`).join(', ')}.`, '');
  }
  L.push('### Init + first invocation, as Lambda pays it', '');
  const any = MODES.map((m) => a.coldInvoke[m.key]?.result).find(Boolean);
  L.push(`Method: test/bench/scenarios/cold-invoke.ts. A fresh execution environment per round (the handler host, \`NODE_OPTIONS=--enable-source-maps\`) in the mode's CPU cgroup requires the bundle (init) and takes its first invocation: one CloudWatch ALARM of a new alarm to one recipient, which reads the secret, opens the connections to DynamoDB and Twilio, opens an incident (the sender's incident writes come before its page's POST: section 2) and makes the sender's calls against the fakes; the reference makes its three DynamoDB calls and no incident's. ${any?.rounds ?? SETTINGS.coldRounds} rounds after ${any?.warmup ?? SETTINGS.coldWarmup} discarded, the sender and the twilio-SDK reference alternating in a rotating order. "First POST" is from the start of the require to the fake Twilio's receipt of the create. Lambda's own runtime start (before init) is not included. The goal (issue 12): module load ≤ 0.4× the reference; init + first invocation shares the I/O (secret, connections, the DynamoDB calls, the POST), which pulls that ratio toward 1.`, '');
  L.push('| Mode | Bundle | init (wall) | init CPU | first invocation (wall) | its CPU | init + first | CPU | first POST at | peak RSS |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const m of MODES) {
    const r = a.coldInvoke[m.key];
    if (!r?.result) {
      L.push(`| ${m.key} | ${failure('cold start', r?.error)} | | | | | | | | |`);
      continue;
    }
    for (const f of r.result.figures) {
      L.push(`| ${modeLabel(m, r.result)} | ${f.name} | ${ms0(f.init.median)} (${f.init.p10.toFixed(0)}–${f.init.p90.toFixed(0)}) | ${ms0(f.initCpu.median)} | ${ms0(f.first.median)} | ${ms0(f.firstCpu.median)} | ${ms0(f.total.median)} | ${ms0(f.totalCpu.median)} | ${ms0(f.toFirstPost.median)} | ${formatBytes(f.maxRss.median)} |`);
    }
  }
  L.push('', 'Medians (p10–p90 for init). What bounds these: at the share, CPU (init is mostly parsing and compiling the bundle: its CPU time barely changes with the share, its wall time grows as 1 / share); unthrottled, the machine\'s load.', '');
  return L;
}

function renderWarm(a: All): string[] {
  const L: string[] = ['## 2. Warm cost per page', ''];
  const any = MODES.map((m) => a.warm[m.key]?.result).find(Boolean);
  L.push(`Method: dynalite (the status table as the construct defines it, behind a pass-through that counts refused conditional writes), the Secrets Manager fake and the fake Twilio run in a process of their own, outside any cgroup, reached over loopback HTTP through the real clients; the shipped assets/sender/index.js runs in its execution environment (the handler host, in the mode's cgroup) and is called with one SQS record for one recipient: **an incident page**, the SNS envelope of a CloudWatch ALARM of an alarm not seen before (so it opens an incident, gives the page its ACK code and records the page in the incident's timeline), and **a plain message**, a JSON envelope to the same recipient (no incident). ${SETTINGS.warmIterations} measured invocations of each after ${SETTINGS.warmWarmup} warm-up ones, interleaved with a bare Twilio POST (undici keep-alive, the same form; run by the unthrottled driver) and the twilio-SDK reference handler (in its own environment, same mode). Round trips are counted in ${any?.ddbRoundTripSamples ?? 20} further invocations of each kind with ${any?.ddbRoundTripLatencyMs ?? 5} ms held on each DynamoDB call. The harness floor (the bare POST plus as many sequential dynalite round trips as the sender makes, unthrottled) shows how much of the wall time is the fakes'.`, '');
  L.push('| Mode | incident page: wall | its CPU | its DynamoDB calls (round trips) | plain message: wall | its CPU | its DynamoDB calls (round trips) | reference wall / CPU | bare POST | harness floor | log bytes (incident page) | first invocation (wall / CPU) | handler peak RSS |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const m of MODES) {
    const o = a.warm[m.key];
    const r = o?.result;
    if (!r) {
      L.push(`| ${m.key} | ${failure('warm send', o?.error)} | | | | | | | | | | | |`);
      continue;
    }
    const pl = r.plain;
    L.push(`| ${modeLabel(m, r)} | ${r.sender.median.toFixed(1)} ms (${r.sender.p10.toFixed(1)}–${r.sender.p90.toFixed(1)}) | ${r.senderCpu.median.toFixed(1)} ms | ${r.ddbCallsPerRecipient.median} (${r.ddbRoundTripsPerRecipient.median}) | ${pl ? `${pl.wall.median.toFixed(1)} ms` : 'n/a'} | ${pl ? `${pl.cpu.median.toFixed(1)} ms` : 'n/a'} | ${pl ? `${pl.ddbCalls.median} (${pl.ddbRoundTrips.median})` : 'n/a'} | ${r.reference ? `${r.reference.median.toFixed(1)} ms` : 'n/a'} / ${r.referenceCpu ? `${r.referenceCpu.median.toFixed(1)} ms` : 'n/a'} | ${r.bare.median.toFixed(1)} ms | ${r.floor.median.toFixed(1)} ms | ${r.logBytesPerMessage.median} | ${r.firstInvocation.ms.toFixed(0)} / ${r.firstInvocationCpuMs.toFixed(0)} ms | ${formatBytes(r.handlerMaxRssBytes ?? NaN)} |`);
  }
  const w = any;
  if (w) {
    L.push('');
    const def = get(a.warm) ?? w;
    L.push(`- By operation, per invocation (${def.mode.label}): incident page ${opsText(def.ddbOpsPerRecipient)}; plain message ${def.plain ? opsText(def.plain.ddbOps) : 'n/a'}. The plain message's calls are the recipient's storm-window write (one conditional UpdateItem: a first page opens the window), the send claim's conditional PutItem, which must precede the POST (Twilio has no idempotency key), then the message item and the claim's mark \`sent\`; an incident page adds the incident's own items (its key, its ACK code, the incident with its timeline) and the reads that find whether the alarm already has an open incident.`);
    if (def.plain) {
      const addedCpu = def.senderCpu.median - def.plain.cpu.median;
      L.push(`- **What the incident writes cost (issue 13), at ${def.mode.label}**: ${(def.ddbCallsPerRecipient.median - def.plain.ddbCalls.median).toFixed(0)} DynamoDB calls and ${(def.ddbRoundTripsPerRecipient.median - def.plain.ddbRoundTrips.median).toFixed(0)} round trips more per page than a plain message, and ${addedCpu.toFixed(1)} ms of CPU (${def.senderCpu.median.toFixed(1)} vs ${def.plain.cpu.median.toFixed(1)} ms); section 3 has them at 100 recipients, section 1 on a cold page, section 8 in the cost.`);
    }
    L.push(`- Twilio POSTs per page: ${w.postsPerMessage.median} (plain: ${w.plain?.posts.median ?? 'n/a'}); batch item failures: ${w.batchFailures + (w.plain?.batchFailures ?? 0)}; Secrets Manager reads over the whole run: ${w.secretReads} (one per environment: the credentials are cached for the 300 s TTL).`);
    L.push('- What bounds the wall time: the DynamoDB round trips, which the fakes on this loaded machine serve slowly (compare the harness floor), and at a small share the handler\'s CPU divided by the share. The CPU columns are the steadier figures.', '');
  }
  return L;
}

function renderFanOut(a: All): string[] {
  const L: string[] = ['## 3. Fan-out', ''];
  const any = MODES.map((m) => a.fanOut[m.key]?.result).find(Boolean);
  L.push(`Method: SENDER_CONFIG with 100 default recipients and sendConcurrency ${any?.concurrency ?? 10}; the fake Twilio answers every create after ${any?.delayMs ?? 100} ms. **Plain**: one JSON envelope addressed to all 100; **incident**: a CloudWatch ALARM of an alarm not seen before, which opens an incident and pages its stage, the 100 default recipients (issue 13: the incident, its ACK code and each page's timeline event written besides each recipient's claim and message). ${SETTINGS.fanOutRuns} runs of each after one warm-up run of each, interleaved, in the mode's cgroup. Ideal = ceil(100 / concurrency) × delay = ${any?.idealMs ?? 1000} ms. The bare-calls reference makes the same four network calls per recipient with the same clients and bound and no handler logic, in an environment of its own in the same mode. The bare POSTs and the dynalite-only writes are the harness's floors (run unthrottled by the driver).`, '');
  L.push('| Mode | page | wall (p10–p90) | × ideal | CPU per run | CPU per recipient | bare calls: wall, CPU per recipient | max in flight | POSTs | DynamoDB calls | handler peak RSS |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const m of MODES) {
    const o = a.fanOut[m.key];
    const r = o?.result;
    if (!r) {
      L.push(`| ${m.key} | | ${failure('fan-out', o?.error)} | | | | | | | | |`);
      continue;
    }
    L.push(`| ${modeLabel(m, r)}${throttleNote(r)} | plain | ${r.wall.median.toFixed(0)} ms (${r.wall.p10.toFixed(0)}–${r.wall.p90.toFixed(0)}) | **${r.ratio.toFixed(2)}×** | ${r.cpuPerRun.median.toFixed(0)} ms | ${r.cpuPerRecipient.median.toFixed(2)} ms | ${r.bareCalls ? `${r.bareCalls.wall.median.toFixed(0)} ms, ${r.bareCalls.cpuPerRecipient.median.toFixed(2)} ms` : 'n/a'} | ${r.maxInFlight} (bound ${r.concurrency}) | ${r.postsPerRun.median} | ${r.ddbCallsPerRun.median} | ${formatBytes(r.handlerMaxRssBytes ?? NaN)} |`);
    const inc = r.incident;
    if (inc) L.push(`| ${modeLabel(m, r)} | incident | ${inc.wall.median.toFixed(0)} ms (${inc.wall.p10.toFixed(0)}–${inc.wall.p90.toFixed(0)}) | **${inc.ratio.toFixed(2)}×** | ${inc.cpuPerRun.median.toFixed(0)} ms | ${inc.cpuPerRecipient.median.toFixed(2)} ms | | ${inc.maxInFlight} (bound ${r.concurrency}) | ${inc.postsPerRun.median} | ${inc.ddbCallsPerRun.median} | (same environment) |`);
  }
  const def = get(a.fanOut);
  if (def?.incident) {
    L.push('', `- DynamoDB calls per run by operation (${def.mode.label}): plain ${opsText(def.plainDdbOpsPerRun ?? {})}; incident ${opsText(def.incident.ddbOpsPerRun)}. The incident adds ${(def.incident.ddbCallsPerRun.median - def.ddbCallsPerRun.median).toFixed(0)} calls over 100 recipients (${((def.incident.ddbCallsPerRun.median - def.ddbCallsPerRun.median) / def.recipients).toFixed(2)} per recipient) and ${(def.incident.cpuPerRecipient.median - def.cpuPerRecipient.median).toFixed(2)} ms of CPU per recipient; batch item failures: ${def.batchFailures + def.incident.batchFailures}.`);
  }
  if (any) {
    L.push('', `Harness floors (unthrottled driver, same runs): the same 100 POSTs with the same bound and no DynamoDB take ${formatMs(any.barePosts, 0)} (${(any.barePosts.median / any.idealMs).toFixed(2)}× ideal); dynalite absorbs ${any.ddbOnlyWrites} concurrent writes in ${formatMs(any.ddbOnly, 0)}. What bounds the fan-out, by mode: ${MODES.map((m) => {
      const r = a.fanOut[m.key]?.result;
      if (!r) return `${m.key}: not measured`;
      if (m.memoryMb === undefined) return `${m.key}: Twilio's latency × ceil(100 / in-flight bound) plus the machine's load`;
      const cpuWall = r.cpuPerRun.median / Math.min(1, cpuShare(m.memoryMb));
      return `${m.key}: ${cpuWall > r.idealMs ? `CPU (${r.cpuPerRun.median.toFixed(0)} ms of CPU ÷ share ${cpuShare(m.memoryMb).toFixed(3)} = ${cpuWall.toFixed(0)} ms, beyond the ${r.idealMs} ms ideal)` : `the in-flight bound and Twilio's latency (CPU ÷ share = ${cpuWall.toFixed(0)} ms, under the ${r.idealMs} ms ideal) plus the machine's load`}`;
    }).join('; ')}. CPU per recipient beside the bare-calls figure says how much is the handler's own logic and how much the clients' per-call cost.`, '');
  }
  return L;
}

function renderScaling(a: All): string[] {
  const L: string[] = ['## 4. Scaling curve', ''];
  const any = MODES.map((m) => a.scaling[m.key]?.result).find(Boolean);
  L.push(`![Scaling curve: wall time and CPU per message against messages per invocation](${a.svgFile})`, '');
  L.push(`Method: test/bench/scenarios/scaling.ts. One sender invocation per point, each in a fresh execution environment in the mode's cgroup after one warm-up invocation; the fake Twilio answers in ${any?.delayMs ?? 100} ms, sendConcurrency ${any?.concurrency ?? 10} (shared by a batch's records: the in-flight bound is per invocation), ideal = ceil(messages / ${any?.concurrency ?? 10}) × ${any?.delayMs ?? 100} ms. The context carries the construct's sender timeout (${any?.timeoutS ?? 30} s), so the sender's own time budget acts as in Lambda: a record it cannot finish is handed back for redelivery. Peak RSS is the environment's (maxRSS of the handler's process). AWS cost per message: Lambda duration and request at the mode's memory plus one write unit per DynamoDB call (index writes not included), not the Twilio price (${money(PRICE.twilioUsSmsSegment + PRICE.usCarrierFeeSegment)} per US segment).`, '');
  L.push('| Mode | messages | wall | × ideal | margin to timeout | CPU | CPU per message | DynamoDB calls | POSTs | batch failures | peak RSS | AWS per message |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const m of MODES) {
    const o = a.scaling[m.key];
    const r = o?.result;
    if (!r) {
      L.push(`| ${m.key} | ${failure('scaling', o?.error)} | | | | | | | | | | |`);
      continue;
    }
    for (const pt of r.points) {
      const aws = m.memoryMb !== undefined ? (lambdaInvocationCost(pt.wallMs, m.memoryMb) + pt.ddbCalls * PRICE.dynamoWru) / pt.messages : undefined;
      L.push(`| ${modeLabel(m, r)} | ${pt.label} | ${ms0(pt.wallMs)} | ${(pt.wallMs / pt.idealMs).toFixed(2)}× | ${ms0(pt.marginMs)} | ${ms0(pt.cpuMs)} | ${pt.cpuPerRecipientMs.toFixed(2)} ms | ${pt.ddbCalls} | ${pt.posts} | ${pt.batchFailures} | ${formatBytes(pt.maxRssBytes)} | ${aws === undefined ? '' : money(aws)} |`);
    }
  }
  const refused = MODES.flatMap((m) => (a.scaling[m.key]?.result?.points ?? []).filter((pt) => pt.records === 1 && pt.posts === 0 && pt.messages > MAX_RECIPIENTS).map((pt) => `${pt.label} (${m.key})`));
  if (refused.length) L.push('', `⚠ Refused whole, 0 sent: ${refused.join(', ')}. The sender takes at most ${MAX_RECIPIENTS} addresses in one envelope (lambda/sender/validate.ts); 1,000 messages in one invocation are the batch of 10 records × 100.`);
  L.push('', 'What bounds each point: the in-flight bound × Twilio latency (the ideal) while CPU keeps up; CPU ÷ share beyond that; the function timeout at the end (the margin column). One run per point: read the curve\'s shape, not its second digit.', '');
  return L;
}

function renderCallbacks(a: All): string[] {
  const L: string[] = ['## 5. Status callbacks', ''];
  const any = MODES.map((m) => a.callback[m.key]?.result).find(Boolean);
  L.push(`Method: the shipped assets/status-callback/index.js in its execution environment (mode's cgroup), called with API Gateway REST proxy events carrying Twilio's form body, signed with test/support/twilio-sign.ts against STATUS_CALLBACK_URL. Message items written first by: ${any?.itemsFrom ?? 'n/a'}. ${any?.messagesPerMix ?? SETTINGS.callbackMessages} messages per mix, the mixes interleaved message by message. Writes are write calls as dynalite counts them; "refused" are the conditional writes DynamoDB answered ConditionalCheckFailed (counted by a pass-through in front of dynalite): DynamoDB bills them like any write.`, '');
  L.push('| Mode | mix | statuses posted | writes per callback | of which refused | reads per callback | writes per message | handler wall | handler CPU | HTTP |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const m of MODES) {
    const o = a.callback[m.key];
    const r = o?.result;
    if (!r) {
      L.push(`| ${m.key} | ${failure('status callback', o?.error)} | | | | | | | | |`);
      continue;
    }
    for (const mix of r.mixes) {
      L.push(`| ${modeLabel(m, r)} | ${mix.name} | ${mix.statuses.map((x) => `\`${x}\``).join(' → ')} | ${mix.writesPerCallback.toFixed(2)} | ${mix.failedConditionalPerCallback.toFixed(2)} | ${mix.readsPerCallback.toFixed(2)} | ${mix.writesPerMessage.toFixed(2)} | ${ms1(mix.time.median)} | ${ms1(mix.cpu.median)} | ${JSON.stringify(mix.httpStatuses)} |`);
    }
  }
  if (any) {
    L.push('');
    L.push(`- Writes and refusals by status (first mode measured): ${any.mixes.map((mix) => `*${mix.name}*: ${Object.entries(mix.byStatus).map(([st, b]) => `\`${st}\` ${b.writes.toFixed(2)}${b.failed ? ` (${b.failed.toFixed(2)} refused)` : ''}`).join(', ')}`).join('; ')}.`);
    L.push(`- Item sizes at the end (bytes, DynamoDB's accounting): ${Object.entries(any.itemSizes).map(([k, s]) => `${k} median ${s.median} max ${s.max} (n=${s.n})`).join('; ')}. Log bytes per callback: ${any.logBytesPerCallback.median}.`);
    L.push('- What bounds a callback: its DynamoDB writes (one round trip each) and, at a small share, CPU for the signature check and the SDK call (compare handler wall and CPU by mode); the stage throttle bounds how many arrive (section 6).', '');
  }
  return L;
}

function renderThroughput(a: All): string[] {
  const L: string[] = ['## 6. Throughput: the local pipeline and the real ceilings', ''];
  const p = a.pipeline.result;
  const c = a.construct.result;
  const envs = c?.senderMaxConcurrency ?? 5;
  const inFlight = 10;
  const stage = c?.apiThrottle ?? { rate: 50, burst: 100 };
  const cbPerMsg = 3;
  if (p) {
    L.push(`Method: test/pipeline/local-pipeline.ts (the real built handlers as worker-thread environments, unthrottled, SQS semantics, fake Twilio with status callbacks, dynalite) in a child process; ${p.notifications.toLocaleString('en-US')} notifications of ${p.recipientsPerNotification} recipient published at once, then settled. ${p.notes ?? ''}`, '');
    L.push(`- **${p.messagesPerSecond.toFixed(0)} messages/s** (${p.notifications.toLocaleString('en-US')} notifications in ${(p.wallMs / 1000).toFixed(1)} s${p.settled ? '' : ', ⚠ NOT SETTLED'}); most creates in flight at Twilio at once: ${p.twilioMaxInFlight ?? 'n/a'}; ${((p.tally.statusCallbackInvocations as number) / (p.wallMs / 1000)).toFixed(0)} status callbacks/s. Peak RSS ${formatBytes(p.peakRssBytes)} (the whole harness in one process, not one Lambda).`);
    const handedBack = Number(p.tally.batchItemFailures ?? 0);
    if (handedBack > 0) L.push(`- ⚠ ${handedBack} records were handed back to the queue (batch item failures: the sender met retryable errors on this loaded machine); each then waits the queue's 60 s visibility timeout before its redelivery, so the run's wall time, and the rate above, are bounded by those waits, not by the handlers' speed.`);
    L.push(`- Tally: ${JSON.stringify(p.tally)}.`, '');
  } else L.push(failure('The pipeline', a.pipeline.error), '');
  const twilioS = (p?.twilioMs ?? 200) / 1000;
  const senderCeiling = (envs * inFlight) / twilioS;
  L.push('The limits that bound throughput in AWS, beside it:', '');
  L.push('| Limit | Value | Messages/s it allows | Source |', '| --- | --- | --- | --- |');
  L.push(`| Sender: environments × in-flight bound ÷ Twilio latency | ${envs} (the event source mapping's maxConcurrency: the construct's default senderMaxConcurrency, as synthesized) × ${inFlight} (sendConcurrency default) ÷ ${(twilioS * 1000).toFixed(0)} ms | ${senderCeiling.toFixed(0)} | construct defaults; latency as the pipeline's fake Twilio |`);
  for (const m of MODES.filter((x) => x.memoryMb !== undefined)) {
    const f = get(a.fanOut, m.key);
    const share = Math.min(1, cpuShare(m.memoryMb!));
    L.push(`| Sender at ${m.key}${m.key === DEFAULT_MODE_KEY ? ' (the default)' : ''}: environments × share ÷ CPU per message | ${envs} × ${share.toFixed(3)} ÷ ${f ? `${f.cpuPerRecipient.median.toFixed(1)} ms` : 'n/a'} | ${f ? ((envs * share * 1000) / f.cpuPerRecipient.median).toFixed(0) : 'n/a'} | section 3's CPU per recipient at ${m.key} (a plain message) |`);
  }
  L.push(`| Twilio account concurrency | about 100 concurrent API requests (error 20429 beyond) | 100 ÷ ${(twilioS * 1000).toFixed(0)} ms = ${(100 / twilioS).toFixed(0)} | Twilio's API concurrency limit; check the account's |`);
  L.push('| One sending number | US long code (10DLC) about 1 segment/s (more with a higher trust score), toll-free 3/s, short code 100/s; Twilio queues the excess (a full queue answers 21611) | 1–100 per number | Twilio\'s sending rates; a Messaging Service spreads over its pool |');
  L.push(`| Webhook stage throttle | ${stage.rate} requests/s, burst ${stage.burst} (apiThrottlingRateLimit / BurstLimit) | ${(stage.rate / cbPerMsg).toFixed(1)} at ${cbPerMsg} callbacks per message (\`queued\`, \`sent\`, \`delivered\`) | construct defaults; a refused callback gets 429 and Twilio does not retry it by default |`);
  L.push('', `So the local pipeline's figure measures this machine, not AWS: in AWS a page storm is first bounded by the sending number's rate (and the account's concurrency), and the status-callback stage refuses callbacks above ${(stage.rate / cbPerMsg).toFixed(0)} messages/s sustained. Status-callback environments: ${p?.webhookEnvironments ?? 'n/a'} in the local pipeline (the bench sets its webhookConcurrency option to that; the option's own default is 10); in AWS they are bounded by the stage throttle and the account's unreserved concurrency, not by a setting.`, '');
  return L;
}

const sec = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : `${v.toFixed(1)} s`);

function renderStorm(a: All): string[] {
  const L: string[] = ['## 7. Alarm storm', ''];
  const r = a.storm?.result;
  if (!r) return [...L, failure('The storm', a.storm?.error), ''];
  L.push(
    `Method: test/bench/scenarios/storm.ts over test/pipeline/storm.ts. ${r.alarms} distinct CloudWatch alarms in ${r.arrivalS} s to the same ${r.phones} recipients, front-loaded (alarm i at ${r.arrivalS} s × (i / ${r.alarms})²), through the whole local pipeline (the built handlers, SQS semantics, dynalite): Twilio sends each message in its turn per number (a long code 1/s, a short code 100/s), the phone receives it 1–3 s after it leaves and the delivery receipt follows, the webhook stage refuses callbacks beyond its token bucket with 429, Twilio never retries an answer (so a refused final callback leaves the message without its status), and the reconciler then runs on its schedule (its clock moved ahead). ${r.compression !== 1 ? `**Time compressed ${r.compression}×**: the alarms, Twilio's queue, the carrier, the throttle's refill and the digest window at scenario speed; the handlers at their own, so their share counts ${r.compression} times over (pessimistic), except in the first text, which counts it as it ran.` : 'In real time.'} The long code runs under the construct's stage throttle (${r.constructThrottle.rateLimit}/s, burst ${r.constructThrottle.burstLimit}, from the template), the short code under 50/s, burst 100 (a throttle set below what the sender causes). A window of 0 turns digests off; a sender without storm control texts every alarm whatever the window.`,
    '',
  );
  L.push('| Variant | first text per phone | texts per phone | every alarm named or counted (per phone) | longest wait in Twilio\'s queue | callbacks (refused by the stage) | left without a final status → reconciled | final at the end | lost / duplicates |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const v of r.variants) {
    L.push(`| ${v.name} | ${v.perPhone.map((x) => sec(x.firstTextS)).join(' / ')} | ${v.perPhone.map((x) => x.texts).join(' / ')} | ${v.perPhone.map((x) => (x.allNamedS !== undefined ? sec(x.allNamedS) : `${x.unnamed} never`)).join(' / ')} | ${sec(v.maxQueueWaitS)} | ${v.callbacks} (${v.callbacksRefused}) | ${v.nonFinalBeforeReconcile} → ${v.reconcile?.reconciled ?? 'not run'} | ${v.texts - v.nonFinal} of ${v.texts} | ${v.tally.lost} / ${v.tally.duplicates} |`);
  }
  L.push('', 'What bounds it: with digests off, the sending number\'s pace (a long code sends the 150th text minutes after the storm); with a window, the window itself. A stage throttle below the callbacks the sender causes loses final callbacks, and the reconciler finds their status a RECONCILE_AFTER_SECONDS later.', '');
  return L;
}

interface CostByMode {
  aws: number;
  twilio: number;
}
function costFigures(a: All): Record<string, CostByMode | undefined> {
  const out: Record<string, CostByMode | undefined> = {};
  for (const m of MODES) {
    if (m.memoryMb === undefined) continue;
    const c = costInputs(a, m);
    if (!c) continue;
    const r = costPerThousandAlerts(c);
    out[m.key] = { aws: r.awsTotal, twilio: r.twilioTotal };
  }
  return out;
}

/** The cost model's inputs at a memory size's CPU share (the handlers' CPU ÷ share, measured in that mode). */
function costInputs(a: All, m: Mode) {
  const w = get(a.warm, m.key);
  // The callbacks run at the webhooks' memory whatever the sender's: their CPU as measured at that share.
  const cb = get(a.callback, WEBHOOK_MODE_KEY) ?? get(a.callback, m.key);
  const fnOf = (role: string) => a.construct.result?.functions.find((x) => x.role === role);
  const senderFn = fnOf('sender');
  // Node runs the handler's JavaScript on one thread: more than one vCPU does not make it faster.
  const share = Math.min(1, cpuShare(m.memoryMb ?? DEFAULT_SENDER_MB));
  const callbackShare = Math.min(1, cpuShare(DEFAULT_WEBHOOK_MB));
  const mix = cb?.mixes[0];
  const ci = get(a.coldInvoke, m.key);
  const sender = a.cold.find((c) => c.name.startsWith('sender'));
  const reference = a.cold.find((c) => c.name.startsWith('reference: twilio'));
  return {
    architecture: senderFn?.architecture ?? 'arm64',
    senderMemoryMb: m.memoryMb ?? DEFAULT_SENDER_MB,
    callbackMemoryMb: DEFAULT_WEBHOOK_MB,
    senderLocalMs: w ? w.senderCpu.median / share : 10,
    localMsSource: w ? `CPU ${w.senderCpu.median.toFixed(1)} ms measured at ${m.key} ÷ share ${share.toFixed(3)}` : 'assumed',
    senderDdbWritesPerRecipient: w ? sumOps(w.ddbOpsPerRecipient, true) : 3,
    senderDdbReadsPerRecipient: w ? sumOps(w.ddbOpsPerRecipient, false) : 0,
    senderSqsSendsPerRecipient: w?.sqsOpsPerRecipient ? (w.sqsOpsPerRecipient.SendMessage ?? 0) + (w.sqsOpsPerRecipient.SendMessageBatch ?? 0) : 0,
    senderDdbRoundTripsPerRecipient: w ? w.ddbRoundTripsPerRecipient.median : 2,
    callbackLocalMs: cb ? cb.mixes[0].cpu.median / callbackShare : 5,
    callbackMsSource: cb ? `CPU ${cb.mixes[0].cpu.median.toFixed(1)} ms measured at ${cb.mode.label} ÷ share ${callbackShare.toFixed(3)}` : 'assumed',
    callbackDdbWrites: mix ? mix.writesPerCallback : 1,
    callbackDdbFailedWrites: mix ? mix.failedConditionalPerCallback : 0,
    callbackDdbReads: mix ? mix.readsPerCallback : 0,
    messageItemBytes: cb?.itemSizes.message?.max ?? 600,
    claimItemBytes: cb?.itemSizes.claim?.max ?? 250,
    senderLogBytes: w?.logBytesPerMessage.median ?? 600,
    callbackLogBytes: cb?.logBytesPerCallback.median ?? 500,
    senderLoadMs: sender?.load.median ?? 100,
    referenceLoadMs: reference?.load.median,
    senderInitMsAtShare: ci?.figures.find((f) => f.name.startsWith('sender'))?.init.median,
    referenceInitMsAtShare: ci?.figures.find((f) => f.name.startsWith('reference'))?.init.median,
    callbacksPerMessage: mix?.callbacksPerMessage ?? ASSUME.callbacksPerMessage,
    alarms: a.construct.result?.alarms ?? 2,
    kmsKeys: a.construct.result?.kmsKeys ?? 1,
    secrets: a.construct.result?.secrets ?? 1,
    metricNames: Object.keys(METRIC).length,
  };
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

function forgedSummary(forged: Outcome<ForgedWebhookResult>): { figure: string; result: string } {
  const f = forgedFigures(forged);
  const figure = f
    ? `5.5 MB / 380k-parameter forgery ${cpu(f.flood.handlerCpuMs)} CPU vs normal-size ${cpu(f.normal.handlerCpuMs)} = **${times(f.nowFloodVsNormal)}×** (before-style: ${cpu(f.flood.beforeCpuMs)} vs ${cpu(f.normal.beforeCpuMs)} = ${times(f.beforeFloodVsNormal)}×)`
    : failure('forged webhooks', forged.error);
  return { figure, result: verdict(f ? f.nowFloodVsNormal <= FORGED_FLAT_TARGET : undefined) };
}

function renderForged(forged: Outcome<ForgedWebhookResult>): string[] {
  const L: string[] = ['## 9. Forged webhooks', ''];
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

function renderCost(a: All, _w: WarmResult | undefined, _cb: CallbackResult | undefined, _sender: ColdStartFigure | undefined, _reference: ColdStartFigure | undefined): string[] {
  const L: string[] = ['## 8. Cost model: where the money goes', ''];
  const mode = MODES.find((m) => m.key === DEFAULT_MODE_KEY && m.memoryMb !== undefined) ?? MODES.find((m) => m.memoryMb !== undefined) ?? { key: 'unthrottled', memoryMb: 256 };
  const inputs = costInputs(a, mode);
  const fnOf = (role: string) => a.construct.result?.functions.find((x) => x.role === role);
  const senderFn = fnOf('sender');
  const configSource = senderFn ? 'architecture read from the construct\'s synthesized template' : `ASSUMED (the construct could not be synthesized: ${a.construct.error?.split('\n')[0] ?? ''})`;
  const w = get(a.warm, mode.key);
  const cb = get(a.callback, mode.key);
  const missing: string[] = [];
  if (!w) missing.push('warm sender figures (assumed 10 ms, 3 writes, 600 log bytes)');
  if (!cb) missing.push('status-callback figures (assumed 5 ms, 1 write, 500 log bytes, 600 B items)');
  const callbacksPerMessage = inputs.callbacksPerMessage;
  const mix = cb?.mixes[0];
  const callbacksSource = mix
    ? `${callbacksPerMessage} status callbacks per message (${mix.statuses.map((x) => `\`${x}\``).join(', ')}, as Twilio posts them for SMS and the local pipeline's fake does), costing ${mix.writesPerCallback.toFixed(2)} DynamoDB writes per callback of which ${mix.failedConditionalPerCallback.toFixed(2)} refused conditional writes (section 5); WhatsApp adds \`read\`${cb!.mixes[3] ? ` (${cb!.mixes[3].writesPerMessage.toFixed(2)} writes per message)` : ''}`
    : `${callbacksPerMessage} status callbacks (assumed)`;
  const cost = costPerThousandAlerts(inputs);
  const senderOwnMs = inputs.senderLocalMs;
  const callbackOwnMs = inputs.callbackLocalMs;
  L.push(`An alert here is one CloudWatch alarm notification to one US SMS recipient, one segment, opening an incident (its DynamoDB writes are section 2's incident page: ${w ? opsText(w.ddbOpsPerRecipient) : 'n/a'}), with ${callbacksSource}. Lambda: ${senderFn?.architecture ?? 'arm64'}, the sender at ${inputs.senderMemoryMb} MB (the ${mode.key} mode, the construct's default) and status-callback at ${inputs.callbackMemoryMb} MB (the webhooks' default; ${configSource}). Durations are the handlers' own time at that memory's CPU share: their CPU time measured in that mode divided by the share (${senderOwnMs.toFixed(1)} ms per sender invocation, ${callbackOwnMs.toFixed(1)} ms per callback), and DynamoDB call counts as measured, plus stated network assumptions (${ASSUME.twilioApiMs} ms per Twilio API call, ${ASSUME.dynamoMs} ms per DynamoDB round trip). Prices: AWS us-east-1 public list prices as of ${PRICES_AS_OF}, no free tier; Twilio US list price. Check both before quoting.${missing.length ? ` Not measured in this run, so assumed: ${missing.join('; ')}.` : ''}`, '');
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
  L.push('Lambda bills the init phase. When alerts are rare every invocation may be a cold start; the line above is the extra per 1,000 alerts in that worst case, from the init measured at the memory\'s CPU share (section 1); measure INIT_DURATION in the REPORT lines of a deployed stack for the real figure.', '');
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
