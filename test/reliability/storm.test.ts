/**
 * The alarm storm (test/pipeline/storm.ts: distinct alarms within 60 s to
 * 3 phones, here 20 of them, a short code, the stage throttle set low, time
 * compressed 30×)
 * under the reliability suite's faults: SNS and SQS duplicate deliveries,
 * duplicated and reordered status callbacks, sender environments crashed
 * mid-batch (and right after a claim), and random DynamoDB 500s under the
 * sender, the webhooks and the reconciler. Every page still reaches every
 * phone exactly once (named or counted), every message ends with its final
 * status in the table (the reconciler settling those whose final callback the
 * throttle refused), and nothing is lost.
 */
import { LocalPipeline, startLocalPipeline } from '../pipeline/local-pipeline';
import { DEFAULT_STORM, formatStorm, runStorm, StormReport, stormPipelineOptions, stormSenderConfig } from '../pipeline/storm';
import { createPrng, seedFromEnv } from '../support/prng';

const SCALE = 30;
const PHONES = ['+15550105001', '+15550105002', '+15550105003'];
const SEED = seedFromEnv(20261202);
/** Fewer alarms than the pipeline's storm test: the faults multiply the work (CI time). */
const ALARMS = 20;
/** A sender crash right after every CLAIMS_PER_CRASH-th claim write, CRASHES times. */
const CLAIMS_PER_CRASH = 8;
const CRASHES = 4;

let p: LocalPipeline;
let r: StormReport;
let crashes = 0;
let dbFaults = 0;

beforeAll(async () => {
  const faultRandom = createPrng(SEED).fork();
  const scenario = stormPipelineOptions(SCALE);
  p = await startLocalPipeline({
    seed: SEED,
    ...scenario,
    senderConfig: { ...stormSenderConfig(PHONES, DEFAULT_STORM, SCALE), claimLeaseSeconds: 3 },
    senderConcurrency: 3,
    webhookConcurrency: 4,
    senderTimeoutMs: 10_000,
    queue: { visibilityTimeoutMs: 2000, maxReceiveCount: 10, duplicateProbability: 0.1, snsDuplicateProbability: 0.05 },
    backlogQueue: { visibilityTimeoutMs: 1000, maxReceiveCount: 20, duplicateProbability: 0.1 },
    callbacks: { ...scenario.callbacks, duplicateProbability: 0.2, reorderProbability: 0.3, retryDelayMs: 30 },
  });
  const crashesBefore = p.sender.stats.crashes;
  // The environment dies with a claim written and its page not yet sent (a batch's other records mid-flight).
  let crashesLeft = CRASHES;
  let claims = 0;
  const armCrash = () =>
    p.senderDb.crashAfterWrite(
      (target, body) => target === 'PutItem' && body.includes('"claim#') && ++claims % CLAIMS_PER_CRASH === 0,
      async () => {
        await p.sender.crashRunning();
        if (--crashesLeft > 0) armCrash();
      },
    );
  armCrash();
  const endSenderDbFaults = p.senderDb.failRandomly(0.03, () => faultRandom.next());
  const endWebhookDbFaults = p.webhookDb.failRandomly(0.03, () => faultRandom.next());
  try {
    r = await runStorm(p, {
      phones: PHONES,
      prefix: 'rel',
      alarms: ALARMS,
      timeScale: SCALE,
      sender: 'short-code',
      storm: DEFAULT_STORM,
      stageThrottle: { rateLimit: 0.1, burstLimit: 5 },
      settleTimeoutMs: 90_000,
      // The reconciler runs under the DynamoDB faults too.
    });
  } finally {
    endSenderDbFaults();
    endWebhookDbFaults();
  }
  crashes = p.sender.stats.crashes - crashesBefore;
  dbFaults = p.senderDb.failed + p.webhookDb.failed;
  console.log(`${formatStorm(r)}\n  faults: ${crashes} sender crashes, ${dbFaults} DynamoDB 500s, ${p.queue.stats.sqsDuplicates + p.queue.stats.snsDuplicates} duplicate deliveries (seed ${SEED})`);
}, 150_000);

afterAll(async () => {
  await p?.close();
});

test('the faults happened', () => {
  expect(crashes).toBeGreaterThan(0);
  expect(dbFaults).toBeGreaterThan(0);
  expect(p.queue.stats.sqsDuplicates + p.queue.stats.snsDuplicates).toBeGreaterThan(0);
  expect(r.callbacksRefused).toBeGreaterThan(0);
});

test('every alarm reaches every phone, named or counted, with no page twice and none lost', () => {
  for (const phone of r.perPhone) {
    expect(phone.texts).toBeGreaterThan(0);
    expect(phone.unnamed).toBe(0);
  }
  expect(r.problems).toEqual([]);
  expect(r.tally).toMatchObject({ published: ALARMS, lost: 0, duplicates: 0, unknown: 0, deadLettered: 0, unrecorded: 0 });
});

test('every message ends with its final status in the table, the reconciler settling those the throttle left', () => {
  expect(r.unsettled).toEqual([]);
  expect(r.nonFinal).toBe(0);
  expect(r.reconcile?.stoppedBy).toBe('done');
});
