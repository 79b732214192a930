/**
 * Scaling curve (issue 12): one sender invocation of 1, 10, 100, 1,000
 * recipients, and a batch of 10 records × 100 recipients, each in a fresh
 * execution environment (support/host.ts) at BENCH_MODE_MEMORY_MB's CPU share,
 * after one warm-up invocation (credentials, connections, JIT), with the
 * fake Twilio answering every create in BENCH_SCALING_DELAY_MS (100 ms).
 * Per point: wall time, the handler process's CPU time and peak RSS, DynamoDB
 * calls, POSTs, and the margin to the function timeout (the construct's,
 * given to the handler's context, so the sender's own time budget acts as in
 * Lambda). Ideal = ceil(recipients / sendConcurrency) × latency: the in-flight
 * bound is per invocation, shared by the batch's records. Storm windows on as
 * deployed (ALERT_QUEUE_URL, the default 60 s window): every point and every
 * record of the batch texts addresses of its own, and the warm-up another, so
 * every text is a first page, never held.
 */
import { join } from 'node:path';
import { scenarioMain } from '../support/child';
import { modeMemoryFromEnv, startHost, type HostMode } from '../support/host';
import { FROM, recipients, snsRecord, sqsEvent, startBenchEnv } from '../support/local-env';

const ASSETS = process.env.BENCH_ASSETS_DIR ?? join(__dirname, '..', '..', '..', 'assets');
const DELAY_MS = Number(process.env.BENCH_SCALING_DELAY_MS ?? 100);
const CONCURRENCY = Number(process.env.BENCH_FANOUT_CONCURRENCY ?? 10);
const TIMEOUT_S = Number(process.env.BENCH_SENDER_TIMEOUT_S ?? 30);
/** `n` (one record to n recipients) or `r×n` / `rxn` (r records, n recipients each). */
const POINTS = (process.env.BENCH_SCALING_POINTS ?? '1,10,100,1000,10x100').split(',').map((p) => {
  const m = /^(?:(\d+)[x×])?(\d+)$/.exec(p.trim());
  if (!m) throw new Error(`BENCH_SCALING_POINTS: "${p}" is neither a recipient count (100) nor records × recipients (10x100)`);
  return { records: Number(m[1] ?? 1), recipients: Number(m[2]) };
});

export interface ScalingPoint {
  readonly label: string;
  readonly records: number;
  readonly recipientsPerRecord: number;
  readonly messages: number;
  readonly wallMs: number;
  readonly idealMs: number;
  readonly cpuMs: number;
  readonly cpuPerRecipientMs: number;
  readonly maxRssBytes: number;
  readonly ddbCalls: number;
  readonly posts: number;
  readonly batchFailures: number;
  readonly timeoutMs: number;
  readonly marginMs: number;
  readonly throttledMs: number;
}

scenarioMain(async () => {
  // Addresses of its own for each warm-up, point and record.
  const all = recipients(POINTS.reduce((a, p) => a + 1 + p.records * p.recipients, 0));
  let taken = 0;
  const fresh = (count: number) => all.slice(taken, (taken += count));
  const env = await startBenchEnv({ from: FROM, defaultRecipients: [all[0]], allowedRecipients: all, sendConcurrency: CONCURRENCY });
  await env.twilioDefault({ delayMs: DELAY_MS });
  const memoryMb = modeMemoryFromEnv();
  const points: ScalingPoint[] = [];
  let mode: HostMode | undefined;
  const timeoutMs = TIMEOUT_S * 1000;
  for (const [i, p] of POINTS.entries()) {
    const host = await startHost({ memoryMb });
    mode = host.mode;
    let point: Omit<ScalingPoint, 'throttledMs'> | undefined;
    try {
      await host.init(join(ASSETS, 'sender', 'index.js'));
      await host.invoke(sqsEvent(snsRecord(JSON.stringify({ body: `warm-up ${i}`, to: fresh(1) }), 'warm-up')), { functionName: 'sender', timeoutMs });
      const event = sqsEvent(...Array.from({ length: p.records }, (_, r) => snsRecord(JSON.stringify({ body: `Scaling ${i}.${r}: disk 91% on db-${r}`, to: fresh(p.recipients) }), 'scaling')));
      const before = await env.stats();
      const run = await host.invoke<{ batchItemFailures?: unknown[] } | null>(event, { functionName: 'sender', timeoutMs });
      const after = await env.stats();
      const messages = p.records * p.recipients;
      point = {
        label: p.records > 1 ? `${p.records}×${p.recipients}` : String(p.recipients),
        records: p.records,
        recipientsPerRecord: p.recipients,
        messages,
        wallMs: run.ms,
        idealMs: Math.ceil(messages / CONCURRENCY) * DELAY_MS,
        cpuMs: run.cpuMs,
        cpuPerRecipientMs: run.cpuMs / messages,
        maxRssBytes: run.maxRssBytes,
        ddbCalls: after.ddbTotal - before.ddbTotal,
        posts: after.twilioCreates - before.twilioCreates,
        batchFailures: run.result?.batchItemFailures?.length ?? 0,
        timeoutMs,
        marginMs: timeoutMs - run.ms,
      };
    } finally {
      const { throttle } = await host.close();
      if (point) points.push({ ...point, throttledMs: throttle?.throttledMs ?? 0 });
    }
  }
  await env.close();
  return { mode: mode!, delayMs: DELAY_MS, concurrency: CONCURRENCY, timeoutS: TIMEOUT_S, points };
});
