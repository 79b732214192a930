/**
 * Alarm storm (issue 14): 50 distinct CloudWatch alarms in 60 s to the same 3
 * recipients, front-loaded (alarm i at 60 s × (i / 50)²), through the whole
 * local pipeline (test/pipeline/storm.ts): the built handlers, Twilio's
 * sender pacing (a queue per number: a long code 1 message/s, a short code
 * 100), the carrier's latency, the webhook stage's throttle (a token bucket of
 * its rate and burst, 429 when empty), Twilio's default callback policy (an
 * answer is final, so a refused callback is lost to the webhook) and the
 * reconciler run on its schedule afterwards. Time is compressed
 * BENCH_STORM_COMPRESSION times (the handlers run at their own speed, so
 * their share of each figure counts that many times over: pessimistic).
 *
 * Variants: a long code and a short code, each with digests off
 * (`storm.windowSeconds: 0`) and with a window of BENCH_STORM_WINDOW_S
 * (default 60 s, the design's default; a sender without storm control texts
 * every alarm either way). The long code runs under the construct's stage
 * throttle (BENCH_STAGE_RATE / BENCH_STAGE_BURST, read from the synthesized
 * template by run.ts); the short code under the 50 requests/s, burst
 * 100 (a throttle an operator set below what the sender causes), where
 * callbacks are refused and the reconciler settles them.
 */
import { NUMBERS, startLocalPipeline } from '../../pipeline/local-pipeline';
import { NO_DIGESTS, runStorm, SenderKind, StormReport, stormPipelineOptions } from '../../pipeline/storm';
import { scenarioMain } from '../support/child';

const ALARMS = Number(process.env.BENCH_STORM_ALARMS ?? 50);
const ARRIVAL_S = Number(process.env.BENCH_STORM_ARRIVAL_S ?? 60);
const COMPRESSION = Number(process.env.BENCH_STORM_COMPRESSION ?? 1);
const WINDOW_S = Number(process.env.BENCH_STORM_WINDOW_S ?? 60);
const STAGE_RATE = Number(process.env.BENCH_STAGE_RATE ?? 1500);
const STAGE_BURST = Number(process.env.BENCH_STAGE_BURST ?? 3000);
const LOW_THROTTLE = { rateLimit: 50, burstLimit: 100 };
const SENDER_CONCURRENCY = Number(process.env.BENCH_SENDER_MAX_CONCURRENCY ?? 5);

interface Variant {
  readonly name: string;
  readonly sender: SenderKind;
  readonly windowSeconds: number;
  readonly throttle: { rateLimit: number; burstLimit: number };
}

const VARIANTS: readonly Variant[] = [
  { name: 'long code, digests off', sender: 'long-code', windowSeconds: 0, throttle: { rateLimit: STAGE_RATE, burstLimit: STAGE_BURST } },
  { name: `long code, ${WINDOW_S} s window`, sender: 'long-code', windowSeconds: WINDOW_S, throttle: { rateLimit: STAGE_RATE, burstLimit: STAGE_BURST } },
  { name: 'short code, digests off, stage 50/s', sender: 'short-code', windowSeconds: 0, throttle: LOW_THROTTLE },
  { name: `short code, ${WINDOW_S} s window, stage 50/s`, sender: 'short-code', windowSeconds: WINDOW_S, throttle: LOW_THROTTLE },
];

scenarioMain(async () => {
  const pipeline = await startLocalPipeline({
    seed: 14,
    record: true,
    dynamoProxy: false,
    ...stormPipelineOptions(COMPRESSION),
    senderConcurrency: SENDER_CONCURRENCY,
    senderTimeoutMs: 30_000,
    queue: { visibilityTimeoutMs: 60_000 },
    senderConfig: { defaultRecipients: [NUMBERS.onCallSms], allowedRecipients: [NUMBERS.onCallSms] },
  });
  const variants: Array<StormReport & { name: string }> = [];
  try {
    for (const [i, v] of VARIANTS.entries()) {
      const phones = [1, 2, 3].map((k) => `+1555010${6 + i}00${k}`);
      const storm = v.windowSeconds === 0 ? NO_DIGESTS : { windowSeconds: v.windowSeconds, immediatePages: 1 };
      // Each variant its own phones and alarm names (a live incident would swallow a repeat of its alarm).
      const r = await runStorm(pipeline, { phones, prefix: `v${i}`, alarms: ALARMS, arrivalSeconds: ARRIVAL_S, timeScale: COMPRESSION, sender: v.sender, storm, stageThrottle: v.throttle, settleTimeoutMs: 600_000 });
      variants.push({ name: v.name, ...r });
    }
  } finally {
    await pipeline.close();
  }
  return { alarms: ALARMS, arrivalS: ARRIVAL_S, compression: COMPRESSION, windowS: WINDOW_S, phones: 3, constructThrottle: { rateLimit: STAGE_RATE, burstLimit: STAGE_BURST }, variants };
});
