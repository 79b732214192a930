/**
 * Status callback (issue 6, measurement 4): handler time and DynamoDB calls per
 * callback, through the shipped assets/status-callback handler with an API
 * Gateway REST proxy event signed as Twilio signs it. The message items are
 * written first by the real sender (so the callbacks update what production
 * would hold); if the sender cannot send, the callbacks arrive before any
 * sender write, a case the handler must also take in one write.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { twilioFormBody, twilioWebhookHeaders } from '../../support/twilio-sign';
import { scenarioMain } from '../support/child';
import { modeMemoryFromEnv, startHost } from '../support/host';
import { ACCOUNT_SID, AUTH_TOKEN, FROM, STATUS_CALLBACK_URL, ddbDelta, ddbFailedDelta, recipients, snsRecord, sqsEvent, startBenchEnv } from '../support/local-env';
import { itemSize } from '../support/item-size';
import { summarize } from '../support/stats';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';

/** The run's snapshot of the built handlers (run.ts), else assets/. */
const ASSETS = process.env.BENCH_ASSETS_DIR ?? join(__dirname, '..', '..', '..', 'assets');
const messages = Number(process.env.BENCH_ITERATIONS ?? 40);
const warmupMessages = Number(process.env.BENCH_WARMUP ?? 5);

export function statusCallbackEvent(params: ReadonlyArray<readonly [string, string]>, url = STATUS_CALLBACK_URL, idempotencyToken: string = randomUUID()): APIGatewayProxyEvent {
  const u = new URL(url);
  const headers: Record<string, string> = {
    ...twilioWebhookHeaders(AUTH_TOKEN, url, params),
    Host: u.host,
    'User-Agent': 'TwilioProxy/1.1',
    'I-Twilio-Idempotency-Token': idempotencyToken,
    'X-Forwarded-Proto': 'https',
  };
  const stage = u.pathname.split('/')[1] ?? 'prod';
  const resourcePath = u.pathname.slice(stage.length + 1);
  return {
    resource: resourcePath,
    path: resourcePath,
    httpMethod: 'POST',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: twilioFormBody(params),
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'bench',
      authorizer: null,
      domainName: u.host,
      httpMethod: 'POST',
      identity: { sourceIp: '54.172.60.1', userAgent: 'TwilioProxy/1.1' } as APIGatewayProxyEvent['requestContext']['identity'],
      path: u.pathname,
      protocol: 'HTTP/1.1',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'abc123',
      resourcePath,
      stage,
    },
  };
}

function callbackParams(sid: string, to: string, status: string, channel: 'sms' | 'whatsapp' = 'sms'): Array<[string, string]> {
  const address = (n: string) => (channel === 'whatsapp' ? `whatsapp:${n}` : n);
  const p: Array<[string, string]> = [
    ['SmsSid', sid],
    ['SmsStatus', status],
    ['MessageStatus', status],
    ['To', address(to)],
    ['MessageSid', sid],
    ['AccountSid', ACCOUNT_SID],
    ['From', address(FROM)],
    ['ApiVersion', '2010-04-01'],
  ];
  if (channel === 'whatsapp') p.push(['ChannelPrefix', 'whatsapp'], ['ChannelToAddress', to]);
  if (status === 'delivered') p.push(['RawDlrDoneDate', '2611271500']);
  return p;
}

/**
 * Callback mixes, one message each: the statuses Twilio posts, in the order
 * they arrive. `dup` repeats the previous callback with the same
 * I-Twilio-Idempotency-Token (Twilio's retry of a callback it thinks failed).
 */
export const MIXES: ReadonlyArray<{ name: string; channel: 'sms' | 'whatsapp'; statuses: readonly string[]; note: string }> = [
  { name: 'SMS in order', channel: 'sms', statuses: ['queued', 'sent', 'delivered'], note: 'what the local pipeline and most SMS traffic post' },
  { name: 'SMS out of order', channel: 'sms', statuses: ['queued', 'delivered', 'sent'], note: '`sent` overtaken by `delivered`' },
  { name: 'SMS with duplicates', channel: 'sms', statuses: ['queued', 'sent', 'dup', 'delivered', 'dup'], note: 'each of `sent`, `delivered` posted twice with one idempotency token' },
  { name: 'WhatsApp with read', channel: 'whatsapp', statuses: ['queued', 'sent', 'delivered', 'read'], note: 'whatsapp: addresses; `read` after `delivered`' },
];

interface CallbackSample {
  mix: string;
  status: string;
  ms: number;
  cpuMs: number;
  ddb: number;
  ops: Record<string, number>;
  failed: Record<string, number>;
  httpStatus: number;
  logBytes: number;
}

scenarioMain(async () => {
  const total = warmupMessages + messages * MIXES.length;
  const to = recipients(total);
  const env = await startBenchEnv({ from: FROM, defaultRecipients: [to[0]], allowedRecipients: to });
  const memoryMb = modeMemoryFromEnv();
  const callback = await startHost({ memoryMb });
  await callback.init(join(ASSETS, 'status-callback', 'index.js'));
  let itemsFrom = 'the real sender (assets/sender, run unthrottled: it only sets the table up)';
  const sids: Array<{ sid: string; to: string }> = [];
  try {
    const sender = await startHost();
    try {
      await sender.init(join(ASSETS, 'sender', 'index.js'));
      await sender.invoke(sqsEvent(snsRecord(JSON.stringify({ body: 'Disk 91% on db-1', to }), 'bench')), { functionName: 'sender', timeoutMs: 900_000 });
    } finally {
      await sender.close();
    }
    for (const m of await env.twilioMessages()) sids.push({ sid: m.sid, to: m.to });
    if (sids.length < to.length) throw new Error(`sender created ${sids.length} of ${to.length} messages`);
  } catch (err) {
    itemsFrom = `none: callbacks arrive before any sender write (sender unavailable: ${(err as Error).message.split('\n')[0]})`;
    sids.length = 0;
    for (const t of to) sids.push({ sid: `SM${randomBytes(16).toString('hex')}`, to: t });
  }

  const samples: CallbackSample[] = [];
  const post = async (mix: string, status: string, event: APIGatewayProxyEvent, keep: boolean) => {
    const before = await env.stats();
    const run = await callback.invoke<{ statusCode?: number } | null>(event, { functionName: 'status-callback', timeoutMs: 10_000 });
    const after = await env.stats();
    if (keep) {
      samples.push({ mix, status, ms: run.ms, cpuMs: run.cpuMs, ddb: after.ddbTotal - before.ddbTotal, ops: ddbDelta(before, after), failed: ddbFailedDelta(before, after), httpStatus: run.result?.statusCode ?? 0, logBytes: run.logBytes });
    }
  };
  let next = 0;
  for (let i = 0; i < warmupMessages; i++, next++) {
    for (const status of MIXES[0].statuses) await post('warm-up', status, statusCallbackEvent(callbackParams(sids[next].sid, sids[next].to, status)), false);
  }
  // Interleaved: message i of every mix, then message i + 1, so that drift hits all mixes alike.
  const byMix = MIXES.map(() => [] as Array<{ sid: string; to: string }>);
  for (let i = 0; i < messages; i++) for (let k = 0; k < MIXES.length; k++) byMix[k].push(sids[next++]);
  for (let i = 0; i < messages; i++) {
    for (let k = 0; k < MIXES.length; k++) {
      const mix = MIXES[k];
      const { sid, to: number } = byMix[k][i];
      let last: { status: string; event: APIGatewayProxyEvent } | undefined;
      for (const step of mix.statuses) {
        const status = step === 'dup' ? last!.status : step;
        const params = callbackParams(sid, number, status, mix.channel);
        const event = step === 'dup' ? statusCallbackEvent(params, STATUS_CALLBACK_URL, last!.event.headers['I-Twilio-Idempotency-Token']!) : statusCallbackEvent(params);
        await post(mix.name, step === 'dup' ? `${status} (dup)` : status, event, true);
        last = { status, event };
      }
    }
  }
  const sizes = await itemSizesByKind(env.dynamoEndpoint);
  const callbackUsage = await callback.usage();
  const closed = await callback.close();
  await env.close();
  const perMix = MIXES.map((mix) => {
    const mine = samples.filter((s) => s.mix === mix.name);
    const sum = (pick: (s: CallbackSample) => Record<string, number>, write: boolean) =>
      mine.reduce((a, s) => a + Object.entries(pick(s)).reduce((b, [op, n]) => b + (isWrite(op) === write ? n : 0), 0), 0);
    const statuses: Record<string, number> = {};
    for (const s of mine) statuses[s.httpStatus] = (statuses[s.httpStatus] ?? 0) + 1;
    const byStatus: Record<string, { writes: number; failed: number; n: number }> = {};
    for (const s of mine) {
      const b = (byStatus[s.status] ??= { writes: 0, failed: 0, n: 0 });
      b.n++;
      b.writes += Object.entries(s.ops).reduce((a, [op, n]) => a + (isWrite(op) ? n : 0), 0);
      b.failed += Object.values(s.failed).reduce((a, n) => a + n, 0);
    }
    return {
      name: mix.name,
      note: mix.note,
      statuses: mix.statuses,
      callbacksPerMessage: mix.statuses.length,
      callbacks: mine.length,
      writesPerCallback: sum((s) => s.ops, true) / mine.length,
      readsPerCallback: sum((s) => s.ops, false) / mine.length,
      failedConditionalPerCallback: sum((s) => s.failed, true) / mine.length,
      writesPerMessage: sum((s) => s.ops, true) / messages,
      byStatus: Object.fromEntries(Object.entries(byStatus).map(([k, b]) => [k, { writes: b.writes / b.n, failed: b.failed / b.n }])),
      time: summarize(mine.map((s) => s.ms)),
      cpu: summarize(mine.map((s) => s.cpuMs)),
      httpStatuses: statuses,
    };
  });
  const first = samples.filter((s) => s.mix === MIXES[0].name);
  const ops: Record<string, number> = {};
  for (const s of first) for (const [op, n] of Object.entries(s.ops)) ops[op] = (ops[op] ?? 0) + n;
  for (const op of Object.keys(ops)) ops[op] = Math.round((ops[op] / first.length) * 100) / 100;
  const statuses: Record<string, number> = {};
  for (const s of samples) statuses[s.httpStatus] = (statuses[s.httpStatus] ?? 0) + 1;
  return {
    mode: callback.mode,
    throttle: closed.throttle,
    callbacks: first.length,
    messagesPerMix: messages,
    itemsFrom,
    time: summarize(first.map((s) => s.ms)),
    cpu: summarize(first.map((s) => s.cpuMs)),
    ddbCalls: summarize(first.map((s) => s.ddb)),
    ddbCallsMax: Math.max(...first.map((s) => s.ddb)),
    ddbOpsPerCallback: ops,
    httpStatuses: statuses,
    logBytesPerCallback: summarize(first.map((s) => s.logBytes)),
    itemSizes: sizes,
    mixes: perMix,
    handlerMaxRssBytes: callbackUsage.maxRssBytes,
  };
});

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems', 'BatchWriteItem']);
const isWrite = (op: string) => WRITES.has(op);

/** Final item sizes (bytes) in the table, by kind: what each write was billed on. */
async function itemSizesByKind(endpoint: string): Promise<Record<string, { n: number; median: number; max: number }>> {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const byKind = new Map<string, number[]>();
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: 'status', ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) {
      const kind = item.kind?.S ?? String(item.id?.S ?? '').split('#')[0] ?? 'other';
      byKind.set(kind, [...(byKind.get(kind) ?? []), itemSize(item)]);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  client.destroy();
  const out: Record<string, { n: number; median: number; max: number }> = {};
  for (const [kind, sizes] of byKind) {
    const s = summarize(sizes);
    out[kind] = { n: s.n, median: s.median, max: Math.max(...sizes) };
  }
  return out;
}
