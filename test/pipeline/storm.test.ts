import { LocalPipeline, startLocalPipeline } from './local-pipeline';
import { DEFAULT_STORM, formatStorm, runStorm, StormReport, stormPipelineOptions, stormSenderConfig } from './storm';

/*
 * The storm of issue 14 through the whole local pipeline (the built handlers):
 * 50 distinct CloudWatch alarms within 60 s to 3 phones, with Twilio's sender
 * pacing, the carrier's latency, the webhook stage's throttle and Twilio's
 * default callback retry policy (an answer is final), on a clock compressed
 * 3 times (storm.ts), so the run takes seconds. The sender is a short code
 * (100 messages/s), and the stage throttle is set far below what it causes
 * (0.1 requests per scenario second, burst 5: it refuses callbacks however
 * slowly this machine runs the handlers; the construct's own throttle is sized
 * from the sender's maximum rate and refuses none of a storm's), so some final
 * callbacks are refused, lost to the webhook, and only the reconciler can
 * settle them. The storm control is the default one (a 60 s window, one page
 * at once).
 */
const SCALE = 3;
const PHONES = ['+15550102001', '+15550102002', '+15550102003'];
const LOW_THROTTLE = { rateLimit: 0.1, burstLimit: 5 };

let p: LocalPipeline;
let r: StormReport;
beforeAll(async () => {
  p = await startLocalPipeline({
    seed: 14,
    ...stormPipelineOptions(SCALE),
    senderConfig: stormSenderConfig(PHONES, DEFAULT_STORM, SCALE),
    senderConcurrency: 3,
    webhookConcurrency: 4,
    // No DynamoDB faults here (test/reliability/storm.test.ts has them): one hop less.
    dynamoProxy: false,
    senderTimeoutMs: 30_000,
    queue: { visibilityTimeoutMs: 40_000 },
  });
  r = await runStorm(p, { phones: PHONES, prefix: 'storm', timeScale: SCALE, sender: 'short-code', storm: DEFAULT_STORM, stageThrottle: LOW_THROTTLE });
  console.log(formatStorm(r));
}, 120_000);
afterAll(async () => {
  await p?.close();
});

test('every phone gets its first text within 5 s of the first alarm', () => {
  expect(r.perPhone.map((x) => x.phone)).toEqual(PHONES);
  for (const phone of r.perPhone) expect(phone.firstTextS).toBeLessThanOrEqual(5);
});

test('callbacks the stage throttle refused are lost to the webhook (Twilio does not retry an answer), and the reconciler settles every message they left without its final status', () => {
  expect(r.callbacksRefused).toBeGreaterThan(0);
  expect(r.nonFinalBeforeReconcile).toBeGreaterThan(0);
  expect(r.reconcile).toMatchObject({ stoppedBy: 'done', reconciled: r.nonFinalBeforeReconcile });
  expect(r.unsettled).toEqual([]);
  expect(r.nonFinal).toBe(0);
});

test('every page accounted for: 0 lost, 0 duplicates, every Twilio message in the table', () => {
  expect(r.problems).toEqual([]);
  expect(r.tally).toMatchObject({ published: 50, lost: 0, duplicates: 0, unrecorded: 0 });
});

// Needs the storm window in the sender (SENDER_CONFIG.storm, DESIGN.md "Storm control"): a sender without it texts every alarm to every phone.
test('digests: at most 4 texts per phone, and every alarm named or counted within 2 minutes', () => {
  for (const phone of r.perPhone) {
    expect(phone.texts).toBeLessThanOrEqual(4);
    expect(phone.allNamedS).toBeLessThanOrEqual(120);
  }
});
