/**
 * Sustained throughput of the local pipeline (issue 6, measurement 5): N
 * notifications, one SMS recipient each, published at once and run through
 * the built handlers (worker-thread Lambdas, SQS semantics, fake Twilio with
 * signed status callbacks, dynalite) until everything settles. No fault
 * injection: this is the clean-path rate. The fake Twilio answers creates in
 * BENCH_PIPELINE_TWILIO_MS ± BENCH_PIPELINE_TWILIO_JITTER_MS (uniform, seeded),
 * as Twilio's API does from us-east-1. Peak memory: this process's RSS
 * (workers included) sampled every 100 ms, and its maxRSS. The handlers run
 * unthrottled here (worker threads of this process share its CPU).
 */
import { formatTally, NUMBERS, startLocalPipeline } from '../../pipeline/local-pipeline';
import { scenarioMain } from '../support/child';

const N = Number(process.env.BENCH_NOTIFICATIONS ?? 10_000);
/** The construct's default maximum concurrency of the event source mapping (senderMaxConcurrency: 5; the local pipeline's own default is 2). */
const SENDER_CONCURRENCY = Number(process.env.BENCH_SENDER_CONCURRENCY ?? 5);
/**
 * The status-callback environments the bench gives the local pipeline (its webhookConcurrency option, whose
 * own default is 10): 2, so that callbacks queue at Twilio's side as they would behind a busy stage. In AWS
 * no setting bounds them: the stage throttle and the account's unreserved concurrency do.
 */
const WEBHOOK_CONCURRENCY = Number(process.env.BENCH_WEBHOOK_CONCURRENCY ?? 2);
const TWILIO_MS = Number(process.env.BENCH_PIPELINE_TWILIO_MS ?? 200);
const TWILIO_JITTER_MS = Number(process.env.BENCH_PIPELINE_TWILIO_JITTER_MS ?? 100);

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
  let peakRss = process.memoryUsage().rss;
  let rssSamples = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    rssSamples++;
  }, 100);
  const pipeline = await startLocalPipeline({
    seed: 6,
    record: false,
    // No fault injection here: talk to dynalite directly rather than through the fault proxies.
    dynamoProxy: false,
    logLevel: 'WARN',
    // BENCH_PIPELINE_LOG=1: the handlers' warnings and errors on stderr, to see why records were handed back.
    ...(process.env.BENCH_PIPELINE_LOG === '1' ? { onLog: (line: string, fn: string) => process.stderr.write(`${fn}: ${line}\n`) } : {}),
    senderConcurrency: SENDER_CONCURRENCY,
    webhookConcurrency: WEBHOOK_CONCURRENCY,
    senderTimeoutMs: 30_000,
    // The construct's default cache TTL: one secret read per environment.
    secretCacheTtlSeconds: 300,
    queue: { visibilityTimeoutMs: 60_000 },
    senderConfig: { defaultRecipients: [NUMBERS.onCallSms], allowedRecipients: [NUMBERS.onCallSms] },
  });
  const draw = prng(6);
  pipeline.twilio.setFaultInjector((r) => (r.kind === 'create' ? { delayMs: Math.max(0, Math.round(TWILIO_MS + (draw() * 2 - 1) * TWILIO_JITTER_MS)) } : undefined));
  try {
    const recipient = NUMBERS.onCallSms;
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) {
      pipeline.publish({ body: `bench ${i}: disk 91% on db-${i % 50}`, to: [recipient] }, { recipients: [recipient] });
    }
    // Bounded so that `npm run bench` stays within its budget on a loaded machine;
    // an unsettled run still reports the rate it reached.
    let settled = true;
    try {
      await pipeline.settle(Number(process.env.BENCH_SETTLE_MS ?? 250_000));
    } catch {
      settled = false;
    }
    const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const tally = settled ? await pipeline.tally() : undefined;
    // Duplicates counted from Twilio's side: each body is unique to one notification.
    const perBody = new Map<string, number>();
    for (const m of pipeline.twilio.messages.values()) perBody.set(m.body, (perBody.get(m.body) ?? 0) + 1);
    const twilioDuplicates = [...perBody.values()].reduce((a, n) => a + Math.max(0, n - 1), 0);
    const messages = pipeline.twilio.messages.size;
    return {
      notifications: N,
      settled,
      recipientsPerNotification: 1,
      wallMs,
      notificationsPerSecond: (settled ? N : messages) / (wallMs / 1000),
      messagesPerSecond: messages / (wallMs / 1000),
      peakRssBytes: peakRss,
      rssSamples,
      senderEnvironments: SENDER_CONCURRENCY,
      webhookEnvironments: WEBHOOK_CONCURRENCY,
      sendConcurrency: pipeline.senderConfig.sendConcurrency ?? 10,
      twilioMs: TWILIO_MS,
      twilioJitterMs: TWILIO_JITTER_MS,
      twilioMaxInFlight: pipeline.twilio.maxInFlight,
      tally: {
        ...(tally
          ? { published: tally.published, sent: tally.sent, failed: tally.failed, deadLettered: tally.deadLettered, unknown: tally.unknown, lost: tally.lost, unrecorded: tally.unrecorded }
          : { published: N }),
        twilioMessages: messages,
        twilioDuplicates,
        senderInvocations: pipeline.sender.stats.invocations,
        senderColdStarts: pipeline.sender.stats.coldStarts,
        statusCallbackInvocations: pipeline.statusCallback.stats.invocations,
        batchItemFailures: pipeline.queue.stats.itemFailures,
        failedBatches: pipeline.queue.stats.failedBatches,
      },
      notes: `Sender: ${SENDER_CONCURRENCY} execution environments (the construct's default senderMaxConcurrency, the event source mapping's maximum concurrency), batch size 10, sendConcurrency ${pipeline.senderConfig.sendConcurrency ?? 10}; Twilio answers creates in ${TWILIO_MS} ± ${TWILIO_JITTER_MS} ms; status-callback: ${WEBHOOK_CONCURRENCY} environments (the bench's choice of the local pipeline's webhookConcurrency option; in AWS the stage throttle and the account's unreserved concurrency bound them, not a setting); callbacks 2–20 ms after each status.${
        tally ? ` Tally: ${formatTally(tally)}.` : ` NOT SETTLED within the time limit: ${messages} of ${N} messages sent when it was stopped; the rate is of those.`
      }`,
    };
  } finally {
    clearInterval(sampler);
    await pipeline.close();
  }
});
