/**
 * Cold start as Lambda pays it: a fresh execution environment (support/host.ts,
 * NODE_OPTIONS=--enable-source-maps as the construct deploys) loads the bundle
 * (init) and takes its first invocation (credentials read, connections
 * opened, one alarm to one recipient), at BENCH_MODE_MEMORY_MB's CPU share.
 * The sender and the twilio-SDK reference (the same three DynamoDB calls with
 * the same client) alternate, in an order rotated each round. Time to first
 * POST: from the start of the require to the fake Twilio's receipt of the
 * create (both clocks are this machine's). Storm windows on as deployed
 * (ALERT_QUEUE_URL, the default 60 s window): the recipient's window is
 * ended before each round, so each first invocation is a first page.
 */
import { scenarioMain } from '../support/child';
import { modeMemoryFromEnv, startHost, type HostMode } from '../support/host';
import { FROM, alarmMessage, recipients, snsRecord, sqsEvent, startBenchEnv } from '../support/local-env';
import { summarize } from '../support/stats';

const rounds = Number(process.env.BENCH_ITERATIONS ?? 11);
const warmup = Number(process.env.BENCH_WARMUP ?? 1);
const variants = JSON.parse(process.env.BENCH_COLD_VARIANTS ?? '[]') as Array<{ name: string; file: string }>;

interface Round {
  initMs: number;
  initCpuMs: number;
  firstMs: number;
  firstCpuMs: number;
  totalMs: number;
  totalCpuMs: number;
  toFirstPostMs: number;
  maxRssBytes: number;
  throttledMs: number;
}

scenarioMain(async () => {
  if (variants.length === 0) throw new Error('BENCH_COLD_VARIANTS names no bundles (run.ts sets it)');
  const [to] = recipients(1);
  const env = await startBenchEnv({ from: FROM, defaultRecipients: [to] });
  const memoryMb = modeMemoryFromEnv();
  const samples = new Map<string, Round[]>(variants.map((v) => [v.name, []]));
  let mode: HostMode | undefined;
  for (let round = 0; round < warmup + rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(round + k) % variants.length];
      await env.endStormWindows([to]);
      const host = await startHost({ memoryMb });
      mode = host.mode;
      const alarm = `cold-${round}-${k}-${v.name.replace(/[^a-z0-9]+/gi, '-')}`;
      let sample: Round | undefined;
      try {
        const init = await host.init(v.file);
        const first = await host.invoke<{ batchItemFailures?: unknown[] } | null>(sqsEvent(snsRecord(alarmMessage(alarm))), { functionName: 'sender' });
        if (first.result?.batchItemFailures?.length) throw new Error(`${v.name}: the first invocation reported batch item failures`);
        const create = (await env.twilioCreates()).find((c) => c.body.includes(alarm));
        if (!create) throw new Error(`${v.name}: no Twilio create for ${alarm}`);
        sample = {
          initMs: init.ms,
          initCpuMs: init.cpuMs,
          firstMs: first.ms,
          firstCpuMs: first.cpuMs,
          totalMs: init.ms + first.ms,
          totalCpuMs: init.cpuMs + first.cpuMs,
          toFirstPostMs: create.at - init.startedAt,
          maxRssBytes: first.maxRssBytes,
          throttledMs: 0,
        };
      } finally {
        const { throttle } = await host.close();
        if (sample) sample.throttledMs = throttle?.throttledMs ?? 0;
      }
      if (round >= warmup) samples.get(v.name)!.push(sample);
    }
  }
  await env.close();
  const figures = variants.map((v) => {
    const s = samples.get(v.name)!;
    const pick = (f: (r: Round) => number) => summarize(s.map(f));
    return {
      name: v.name,
      init: pick((r) => r.initMs),
      initCpu: pick((r) => r.initCpuMs),
      first: pick((r) => r.firstMs),
      firstCpu: pick((r) => r.firstCpuMs),
      total: pick((r) => r.totalMs),
      totalCpu: pick((r) => r.totalCpuMs),
      toFirstPost: pick((r) => r.toFirstPostMs),
      maxRss: pick((r) => r.maxRssBytes),
      throttled: pick((r) => r.throttledMs),
      samples: s,
    };
  });
  return { mode: mode!, rounds, warmup, figures };
});
