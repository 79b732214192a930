/**
 * Fan-out (issue 6, measurement 3): one notification to 100 recipients while
 * the fake Twilio takes 100 ms per request. Wall time against the ideal
 * ceil(recipients / sendConcurrency) × 100 ms. The sender (and the bare-calls
 * reference, when built) run in execution environments of their own at
 * BENCH_MODE_MEMORY_MB's CPU share; CPU time is theirs (process.cpuUsage).
 * The bare POSTs and dynalite-only writes run here, unthrottled: they
 * describe what the harness allows.
 *
 * The incident variant (issue 13) pages the same 100 as an incident: a
 * CloudWatch ALARM of a new alarm, the 100 the default recipients, so each
 * run opens an incident, gives the page its ACK code and records each page
 * in the incident's timeline, besides the per-recipient claim and message.
 *
 * Storm windows are on as deployed (ALERT_QUEUE_URL, the default 60 s
 * window): before each run the 100 recipients' windows are ended (as the
 * 60 s between runs would), so every text is a first page, never held.
 */
import { join } from 'node:path';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { Agent, request } from 'undici';
import { scenarioMain } from '../support/child';
import { modeMemoryFromEnv, startHost, type Host } from '../support/host';
import { ACCOUNT_SID, AUTH_TOKEN, FROM, TABLE_NAME, alarmMessage, ddbDelta, recipients, sqsDelta, snsRecord, sqsEvent, startBenchEnv } from '../support/local-env';
import { msSince, summarize } from '../support/stats';

/** The run's snapshot of the built handlers (run.ts), else assets/. */
const ASSETS = process.env.BENCH_ASSETS_DIR ?? join(__dirname, '..', '..', '..', 'assets');
const RECIPIENTS = Number(process.env.BENCH_FANOUT_RECIPIENTS ?? 100);
const CONCURRENCY = Number(process.env.BENCH_FANOUT_CONCURRENCY ?? 10);
const DELAY_MS = Number(process.env.BENCH_FANOUT_DELAY_MS ?? 100);
const runs = Number(process.env.BENCH_ITERATIONS ?? 5);

scenarioMain(async () => {
  const to = recipients(RECIPIENTS);
  // All 100 are the default recipients, whom an incident pages; the envelope names them itself.
  const env = await startBenchEnv({ from: FROM, defaultRecipients: to, sendConcurrency: CONCURRENCY });
  const memoryMb = modeMemoryFromEnv();
  const sender = await startHost({ memoryMb });
  await sender.init(process.env.BENCH_SENDER_BUNDLE ?? join(ASSETS, 'sender', 'index.js'));
  const bareFile = process.env.BENCH_BARE_CALLS_BUNDLE;
  const bareCalls = bareFile ? await startHost({ memoryMb }) : undefined;
  if (bareCalls) await bareCalls.init(bareFile!);
  await env.twilioDefault({ delayMs: DELAY_MS });
  let alarms = 0;
  const once = async (label: string, host: Host = sender, incident = false) => {
    await env.resetTwilioCounters();
    await env.endStormWindows(to);
    const before = await env.stats();
    const event = sqsEvent(incident ? snsRecord(alarmMessage(`fan-out-incident-${alarms++}`)) : snsRecord(JSON.stringify({ body: `Fan-out ${label}: disk 91% on db-1`, to }), 'fan-out'));
    const run = await host.invoke<{ batchItemFailures?: unknown[] } | null>(event, { functionName: 'sender', timeoutMs: 900_000 });
    const result = run.result;
    const after = await env.stats();
    return {
      ms: run.ms,
      cpuMs: run.cpuMs,
      posts: after.twilioCreates - before.twilioCreates,
      ddbCalls: after.ddbTotal - before.ddbTotal,
      ddbByOp: ddbDelta(before, after),
      sqsCalls: Object.values(sqsDelta(before, after)).reduce((a, n) => a + n, 0),
      maxInFlight: after.twilioMaxInFlight,
      failures: result?.batchItemFailures?.length ?? 0,
    };
  };
  // What the harness itself allows: the same 100 POSTs with the same bound and no DynamoDB,
  // and how long the fake DynamoDB takes to absorb as many writes as the sender made.
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: CONCURRENCY });
  const auth = `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`;
  const barePosts = async () => {
    let next = 0;
    const start = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < to.length) {
          const recipient = to[next++];
          const res = await request(`${env.twilioUrl}/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`, {
            method: 'POST',
            dispatcher: agent,
            headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ To: recipient, From: FROM, Body: 'bare fan-out' }).toString(),
          });
          await res.body.dump();
        }
      }),
    );
    return msSince(start);
  };
  const db = new DynamoDBClient({});
  let writesToTime = RECIPIENTS * 2;
  const ddbOnly = async () => {
    const start = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: writesToTime }, (_, i) =>
        db.send(new PutItemCommand({ TableName: TABLE_NAME, Item: { id: { S: `bench#${process.hrtime.bigint()}#${i}` }, kind: { S: 'bench' } } })),
      ),
    );
    return msSince(start);
  };

  // Warm-up: connections, credentials, JIT.
  writesToTime = Math.max(1, (await once('warm-up')).ddbCalls);
  if (bareCalls) await once('warm-up bare', bareCalls);
  await once('warm-up incident', sender, true);
  await barePosts();
  await ddbOnly();
  const samples = [];
  const bareCallSamples = [];
  const incidentSamples = [];
  const bare: number[] = [];
  const ddb: number[] = [];
  for (let i = 0; i < runs; i++) {
    samples.push(await once(`run ${i}`));
    incidentSamples.push(await once(`incident ${i}`, sender, true));
    if (bareCalls) bareCallSamples.push(await once(`bare ${i}`, bareCalls));
    bare.push(await barePosts());
    ddb.push(await ddbOnly());
  }
  await agent.close();
  db.destroy();
  const senderUsage = await sender.usage();
  const closed = await sender.close();
  await bareCalls?.close();
  await env.close();
  const idealMs = Math.ceil(RECIPIENTS / CONCURRENCY) * DELAY_MS;
  const wall = summarize(samples.map((s) => s.ms));
  return {
    recipients: RECIPIENTS,
    concurrency: CONCURRENCY,
    delayMs: DELAY_MS,
    idealMs,
    wall,
    ratio: wall.median / idealMs,
    postsPerRun: summarize(samples.map((s) => s.posts)),
    ddbCallsPerRun: summarize(samples.map((s) => s.ddbCalls)),
    sqsCallsPerRun: summarize(samples.map((s) => s.sqsCalls)),
    maxInFlight: Math.max(...samples.map((s) => s.maxInFlight)),
    batchFailures: samples.reduce((a, s) => a + s.failures, 0),
    barePosts: summarize(bare),
    ddbOnly: summarize(ddb),
    ddbOnlyWrites: writesToTime,
    mode: sender.mode,
    throttle: closed.throttle,
    cpuPerRecipient: summarize(samples.map((s) => s.cpuMs / RECIPIENTS)),
    cpuPerRun: summarize(samples.map((s) => s.cpuMs)),
    bareCalls: bareCallSamples.length
      ? { wall: summarize(bareCallSamples.map((s) => s.ms)), cpuPerRecipient: summarize(bareCallSamples.map((s) => s.cpuMs / RECIPIENTS)), ddbCallsPerRun: summarize(bareCallSamples.map((s) => s.ddbCalls)) }
      : undefined,
    handlerMaxRssBytes: senderUsage.maxRssBytes,
    incident: (() => {
      const iw = summarize(incidentSamples.map((s) => s.ms));
      const ops: Record<string, number> = {};
      for (const s of incidentSamples) for (const [op, n] of Object.entries(s.ddbByOp)) ops[op] = (ops[op] ?? 0) + n / incidentSamples.length;
      return {
        wall: iw,
        ratio: iw.median / idealMs,
        cpuPerRecipient: summarize(incidentSamples.map((s) => s.cpuMs / RECIPIENTS)),
        cpuPerRun: summarize(incidentSamples.map((s) => s.cpuMs)),
        postsPerRun: summarize(incidentSamples.map((s) => s.posts)),
        ddbCallsPerRun: summarize(incidentSamples.map((s) => s.ddbCalls)),
        sqsCallsPerRun: summarize(incidentSamples.map((s) => s.sqsCalls)),
        ddbOpsPerRun: Object.fromEntries(Object.entries(ops).map(([op, n]) => [op, Math.round(n * 10) / 10])),
        batchFailures: incidentSamples.reduce((a, s) => a + s.failures, 0),
        maxInFlight: Math.max(...incidentSamples.map((s) => s.maxInFlight)),
      };
    })(),
    plainDdbOpsPerRun: (() => {
      const ops: Record<string, number> = {};
      for (const s of samples) for (const [op, n] of Object.entries(s.ddbByOp)) ops[op] = (ops[op] ?? 0) + n / samples.length;
      return Object.fromEntries(Object.entries(ops).map(([op, n]) => [op, Math.round(n * 10) / 10]));
    })(),
  };
});
