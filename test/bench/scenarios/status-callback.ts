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
import { captureLogs, scenarioMain } from '../support/child';
import { ACCOUNT_SID, AUTH_TOKEN, FROM, STATUS_CALLBACK_URL, ddbDelta, lambdaContext, loadHandler, recipients, snsRecord, sqsEvent, startBenchEnv } from '../support/local-env';
import { itemSize } from '../support/item-size';
import { msSince, summarize } from '../support/stats';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';

/** The run's snapshot of the built handlers (run.ts), else assets/. */
const ASSETS = process.env.BENCH_ASSETS_DIR ?? join(__dirname, '..', '..', '..', 'assets');
const messages = Number(process.env.BENCH_ITERATIONS ?? 40);
const warmupMessages = Number(process.env.BENCH_WARMUP ?? 5);

export function statusCallbackEvent(params: ReadonlyArray<readonly [string, string]>, url = STATUS_CALLBACK_URL): APIGatewayProxyEvent {
  const u = new URL(url);
  const headers: Record<string, string> = {
    ...twilioWebhookHeaders(AUTH_TOKEN, url, params),
    Host: u.host,
    'User-Agent': 'TwilioProxy/1.1',
    'I-Twilio-Idempotency-Token': randomUUID(),
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

function callbackParams(sid: string, to: string, status: string): Array<[string, string]> {
  const p: Array<[string, string]> = [
    ['SmsSid', sid],
    ['SmsStatus', status],
    ['MessageStatus', status],
    ['To', to],
    ['MessageSid', sid],
    ['AccountSid', ACCOUNT_SID],
    ['From', FROM],
    ['ApiVersion', '2010-04-01'],
  ];
  if (status === 'delivered') p.push(['RawDlrDoneDate', '2611271500']);
  return p;
}

scenarioMain(async () => {
  const to = recipients(messages + warmupMessages);
  const env = await startBenchEnv({ from: FROM, defaultRecipients: [to[0]], allowedRecipients: to });
  const logs = captureLogs();
  const callback = loadHandler(join(ASSETS, 'status-callback', 'index.js'));
  let itemsFrom = 'the real sender (assets/sender)';
  const sids: Array<{ sid: string; to: string }> = [];
  try {
    const sender = loadHandler(join(ASSETS, 'sender', 'index.js'));
    await sender(sqsEvent(snsRecord(JSON.stringify({ body: 'Disk 91% on db-1', to }), 'bench')), lambdaContext('sender', 900_000));
    for (const m of await env.twilioMessages()) sids.push({ sid: m.sid, to: m.to });
    if (sids.length < to.length) throw new Error(`sender created ${sids.length} of ${to.length} messages`);
  } catch (err) {
    itemsFrom = `none: callbacks arrive before any sender write (sender unavailable: ${(err as Error).message.split('\n')[0]})`;
    sids.length = 0;
    for (const t of to) sids.push({ sid: `SM${randomBytes(16).toString('hex')}`, to: t });
  }

  const samples: Array<{ ms: number; ddb: number; ops: Record<string, number>; status: number; logBytes: number }> = [];
  for (let i = 0; i < sids.length; i++) {
    for (const status of ['sent', 'delivered']) {
      const before = await env.stats();
      const logsBefore = logs.bytes();
      const event = statusCallbackEvent(callbackParams(sids[i].sid, sids[i].to, status));
      const start = process.hrtime.bigint();
      const res = (await callback(event, lambdaContext('status-callback'))) as { statusCode?: number } | undefined;
      const ms = msSince(start);
      const after = await env.stats();
      const ops = ddbDelta(before, after);
      if (i >= warmupMessages) samples.push({ ms, ddb: after.ddbTotal - before.ddbTotal, ops, status: res?.statusCode ?? 0, logBytes: logs.bytes() - logsBefore });
    }
  }
  const sizes = await itemSizesByKind(env.dynamoEndpoint);
  await env.close();
  const ops: Record<string, number> = {};
  for (const s of samples) for (const [op, n] of Object.entries(s.ops)) ops[op] = (ops[op] ?? 0) + n;
  for (const op of Object.keys(ops)) ops[op] = Math.round((ops[op] / samples.length) * 100) / 100;
  const statuses: Record<string, number> = {};
  for (const s of samples) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
  return {
    callbacks: samples.length,
    itemsFrom,
    time: summarize(samples.map((s) => s.ms)),
    ddbCalls: summarize(samples.map((s) => s.ddb)),
    ddbCallsMax: Math.max(...samples.map((s) => s.ddb)),
    ddbOpsPerCallback: ops,
    httpStatuses: statuses,
    logBytesPerCallback: summarize(samples.map((s) => s.logBytes)),
    itemSizes: sizes,
  };
});

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
