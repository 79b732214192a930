/**
 * Warm cost per message (issue 6, measurement 2): one record, one recipient,
 * through the shipped assets/sender handler against the fake Twilio, dynalite
 * and the Secrets Manager fake; against a bare Twilio POST (undici, keep-alive)
 * and, when built, the twilio-SDK reference handler. Interleaved per iteration.
 * The handlers run in execution environments of their own (support/host.ts),
 * at BENCH_MODE_MEMORY_MB's CPU share when set; the bare POST and the harness
 * floor run in this (unthrottled) process: they describe the fakes.
 *
 * The sender's invocations are CloudWatch ALARM notifications of alarms not
 * seen before: each opens an incident (its items, the page's ACK code, the
 * timeline) as a page does. A plain JSON envelope to the same recipient (no
 * incident) is interleaved, so that what the incident writes cost shows as
 * the difference (issue 13).
 *
 * Storm windows are on as deployed (ALERT_QUEUE_URL, the default 60 s window):
 * every invocation is a first page to its recipient, its window ended before
 * it (as the 60 s between pages would), so it pays the window's one
 * conditional write and is never held.
 */
import { join } from 'node:path';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { Agent, request } from 'undici';
import { scenarioMain } from '../support/child';
import { startHost, modeMemoryFromEnv, type Host } from '../support/host';
import { ACCOUNT_SID, AUTH_TOKEN, FROM, TABLE_NAME, alarmMessage, ddbDelta, recipients, sqsDelta, snsRecord, sqsEvent, startBenchEnv, STATUS_CALLBACK_URL } from '../support/local-env';
import { msSince, summarize } from '../support/stats';

/** The run's snapshot of the built handlers (run.ts), else assets/. */
const ASSETS = process.env.BENCH_ASSETS_DIR ?? join(__dirname, '..', '..', '..', 'assets');
const iterations = Number(process.env.BENCH_ITERATIONS ?? 60);
const warmup = Number(process.env.BENCH_WARMUP ?? 10);
const ROUND_TRIP_LATENCY_MS = 5;

scenarioMain(async () => {
  const [to] = recipients(1);
  const env = await startBenchEnv({ from: FROM, defaultRecipients: [to] });
  const memoryMb = modeMemoryFromEnv();
  const sender = await startHost({ memoryMb });
  const senderInit = await sender.init(process.env.BENCH_SENDER_BUNDLE ?? join(ASSETS, 'sender', 'index.js'));
  const referenceFile = process.env.BENCH_REFERENCE_BUNDLE;
  const reference = referenceFile ? await startHost({ memoryMb }) : undefined;
  if (reference) await reference.init(referenceFile!);

  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 16 });
  const auth = `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`;
  const barePost = async () => {
    const res = await request(`${env.twilioUrl}/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`, {
      method: 'POST',
      dispatcher: agent,
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ To: to, From: FROM, Body: 'ALARM "api-p99-latency" in us-east-1 (123456789012): Threshold Crossed: 3 datapoints > 2.0. 15:00 UTC', StatusCallback: STATUS_CALLBACK_URL }).toString(),
    });
    const json = (await res.body.json()) as { sid?: string };
    if (res.statusCode !== 201 || !json.sid) throw new Error(`bare POST answered ${res.statusCode}`);
  };

  interface Sample {
    ms: number;
    cpuMs: number;
    ddb: number;
    ddbRoundTrips: number;
    ddbByOp: Record<string, number>;
    posts: number;
    sqs: Record<string, number>;
    logBytes: number;
    failures: number;
  }
  // Each alarm is new, so that each invocation opens an incident and pages (a repeat of an open one pages nobody).
  let eventSeq = 0;
  const invoke = async (host: Host, name: string, plain = false): Promise<Sample> => {
    await env.endStormWindows([to]);
    const before = await env.stats();
    const event = sqsEvent(plain ? snsRecord(JSON.stringify({ body: `Disk 91% on db-1 (${eventSeq++})`, to: [to] }), 'plain') : snsRecord(alarmMessage(`api-p99-latency-${name}-${eventSeq++}`)));
    const run = await host.invoke<{ batchItemFailures?: unknown[] } | null>(event, { functionName: name });
    const result = run.result;
    const after = await env.stats();
    const ddbByOp = ddbDelta(before, after);
    return {
      ms: run.ms,
      cpuMs: run.cpuMs,
      ddb: after.ddbTotal - before.ddbTotal,
      ddbRoundTrips: after.ddbRoundTrips - before.ddbRoundTrips,
      ddbByOp,
      posts: after.twilioCreates - before.twilioCreates,
      sqs: sqsDelta(before, after),
      logBytes: run.logBytes,
      failures: result?.batchItemFailures?.length ?? 0,
    };
  };

  const runs: Array<[string, () => Promise<Sample | number>]> = [
    ['sender', () => invoke(sender, 'sender')],
    ['plain', () => invoke(sender, 'sender', true)],
    ['bare', async () => {
      const start = process.hrtime.bigint();
      await barePost();
      return msSince(start);
    }],
  ];
  if (reference) runs.push(['reference', () => invoke(reference, 'reference')]);
  // The harness's floor for one message: the bare POST plus as many sequential
  // round trips to the fake DynamoDB as the sender waits for (known after its first call).
  const db = new DynamoDBClient({});
  let ddbRoundTrips = 0;
  let seq = 0;
  runs.push(['floor', async () => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ddbRoundTrips; i++) {
      await db.send(new PutItemCommand({ TableName: TABLE_NAME, Item: { id: { S: `bench#${seq++}` }, kind: { S: 'bench' } } }));
    }
    await barePost();
    return msSince(start);
  }]);

  const samples = new Map<string, Array<Sample | number>>(runs.map(([n]) => [n, []]));
  const firstInvocation = await invoke(sender, 'sender');
  const firstInvocationCpuMs = firstInvocation.cpuMs;
  // Round trips, counted in a pass of their own with DynamoDB's network latency
  // simulated (5 ms a call): on bare loopback dynalite may answer one of two
  // parallel calls before the other arrives, and count them as two waits.
  await env.ddbLatency(ROUND_TRIP_LATENCY_MS);
  const roundTripSamples: Sample[] = [];
  const plainRoundTripSamples: Sample[] = [];
  for (let i = 0; i < Math.min(iterations, 20); i++) {
    roundTripSamples.push(await invoke(sender, 'sender'));
    plainRoundTripSamples.push(await invoke(sender, 'sender', true));
  }
  await env.ddbLatency(0);
  ddbRoundTrips = summarize(roundTripSamples.map((s) => s.ddbRoundTrips)).median;
  for (let i = 0; i < warmup + iterations; i++) {
    for (let k = 0; k < runs.length; k++) {
      const [name, run] = runs[(i + k) % runs.length];
      const s = await run();
      if (i >= warmup) samples.get(name)!.push(s);
    }
  }
  const senderSamples = samples.get('sender') as Sample[];
  const referenceSamples = (samples.get('reference') ?? []) as Sample[];
  const bare = samples.get('bare') as number[];
  const plainSamples = samples.get('plain') as Sample[];
  const opsPerInvocation = (list: Sample[]) => {
    const ops: Record<string, number> = {};
    for (const s of list) for (const [op, n] of Object.entries(s.ddbByOp)) ops[op] = (ops[op] ?? 0) + n;
    for (const op of Object.keys(ops)) ops[op] = Math.round((ops[op] / list.length) * 100) / 100;
    return ops;
  };
  const ddbOps = opsPerInvocation(senderSamples);
  const sqsOpsPerInvocation = (list: Sample[]) => {
    const ops: Record<string, number> = {};
    for (const s of list) for (const [op, n] of Object.entries(s.sqs)) ops[op] = (ops[op] ?? 0) + n / list.length;
    return ops;
  };
  await agent.close();
  db.destroy();
  const { secretReads } = await env.stats();
  const senderUsage = await sender.usage();
  const senderClosed = await sender.close();
  await reference?.close();
  await env.close();
  return {
    mode: sender.mode,
    throttle: senderClosed.throttle,
    senderInit,
    firstInvocationCpuMs,
    senderCpu: summarize(senderSamples.map((s) => s.cpuMs)),
    referenceCpu: referenceSamples.length ? summarize(referenceSamples.map((s) => s.cpuMs)) : undefined,
    handlerMaxRssBytes: senderUsage.maxRssBytes,
    iterations,
    warmup,
    firstInvocation,
    sender: summarize(senderSamples.map((s) => s.ms)),
    bare: summarize(bare),
    floor: summarize(samples.get('floor') as number[]),
    floorDdbRoundTrips: ddbRoundTrips,
    reference: referenceSamples.length ? summarize(referenceSamples.map((s) => s.ms)) : undefined,
    ddbCallsPerRecipient: summarize(senderSamples.map((s) => s.ddb)),
    ddbCallsMax: Math.max(...senderSamples.map((s) => s.ddb)),
    ddbRoundTripsPerRecipient: summarize(roundTripSamples.map((s) => s.ddbRoundTrips)),
    ddbRoundTripsMax: Math.max(...roundTripSamples.map((s) => s.ddbRoundTrips)),
    ddbRoundTripLatencyMs: ROUND_TRIP_LATENCY_MS,
    ddbRoundTripSamples: roundTripSamples.length,
    ddbOpsPerRecipient: ddbOps,
    sqsOpsPerRecipient: sqsOpsPerInvocation(senderSamples),
    referenceDdbCalls: referenceSamples.length ? summarize(referenceSamples.map((s) => s.ddb)) : undefined,
    postsPerMessage: summarize(senderSamples.map((s) => s.posts)),
    logBytesPerMessage: summarize(senderSamples.map((s) => s.logBytes)),
    batchFailures: senderSamples.reduce((a, s) => a + s.failures, 0),
    secretReads,
    plain: {
      wall: summarize(plainSamples.map((s) => s.ms)),
      cpu: summarize(plainSamples.map((s) => s.cpuMs)),
      ddbCalls: summarize(plainSamples.map((s) => s.ddb)),
      ddbOps: opsPerInvocation(plainSamples),
      ddbRoundTrips: summarize(plainRoundTripSamples.map((s) => s.ddbRoundTrips)),
      posts: summarize(plainSamples.map((s) => s.posts)),
      sqsOps: sqsOpsPerInvocation(plainSamples),
      batchFailures: plainSamples.reduce((a, s) => a + s.failures, 0),
    },
  };
});
