/**
 * The fakes (dynalite with the status table, Secrets Manager, Twilio) in a
 * process of their own, driven over IPC by support/local-env.ts. In Lambda,
 * DynamoDB and Twilio do their work elsewhere; run in the handler's process,
 * dynalite's CPU time would be charged to the handler's event loop and inflate
 * exactly the figures we measure (per-message time, fan-out wall time).
 */
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createStatusTable, startDynalite } from '../../support/dynalite';
import { startFakeSecretsManager } from '../../support/fake-secrets-manager';
import { FakeAnswer, startFakeTwilio } from '../../support/fake-twilio';
import { startFakeSqs } from '../../support/fake-sqs';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { stormId } from '../../../lambda/shared/table/storm';

/** The alert queue's name in the SQS fake: the sender's ALERT_QUEUE_URL (digest and escalation timers), as the construct sets it. */
export const ALERT_QUEUE_NAME = 'alerts';

export type FakesRequest =
  | { id: number; op: 'stats' }
  | { id: number; op: 'twilioDefault'; answer: FakeAnswer }
  | { id: number; op: 'resetTwilioCounters' }
  | { id: number; op: 'ddbLatency'; ms: number }
  | { id: number; op: 'twilioMessages' }
  | { id: number; op: 'twilioLatency'; baseMs: number; jitterMs: number; seed?: number }
  | { id: number; op: 'twilioCreates' }
  | { id: number; op: 'endStormWindows'; addresses: string[] }
  | { id: number; op: 'close' };

export interface FakesReady {
  ready: true;
  dynamoEndpoint: string;
  secretsUrl: string;
  twilioUrl: string;
  /** The alert queue in the SQS fake (its URL names the fake's host, which the SDK sends to). */
  alertQueueUrl: string;
  sqsUrl: string;
}

export interface FakeStats {
  ddb: Record<string, number>;
  ddbTotal: number;
  /** Calls that found no other in flight: what a client waits for in sequence (test/support/dynalite.ts). */
  ddbRoundTrips: number;
  twilioCreates: number;
  twilioMaxInFlight: number;
  secretReads: number;
  /** Conditional writes DynamoDB refused (ConditionalCheckFailedException), by operation: billed like any write. */
  ddbConditionalFailures: Record<string, number>;
  /** SQS calls by operation (SendMessage: a digest's or an escalation's timer). */
  sqs: Record<string, number>;
}

/** One Messages create as the fake Twilio received it (epoch ms). */
export interface CreateRecord {
  readonly at: number;
  readonly to: string;
  readonly body: string;
  readonly concurrent: number;
}

/**
 * A pass-through in front of dynalite that reads each answer, so that refused
 * conditional writes (which DynamoDB bills) are counted: dynalite itself
 * counts calls, not their outcomes.
 */
async function startOutcomeProxy(target: string): Promise<{ url: string; failures: Map<string, number>; close(): Promise<void> }> {
  const failures = new Map<string, number>();
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const op = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    const up = request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers, agent },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          if (answer.statusCode === 400 && body.includes('ConditionalCheckFailed')) failures.set(op, (failures.get(op) ?? 0) + 1);
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          res.end(body);
        });
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  // Node closes a keep-alive socket idle for 5 s by default; a client reusing it just then gets "socket hang up".
  // Between runs the harness's and the handler's clients sit idle far longer, so the fakes keep idle sockets open.
  server.keepAliveTimeout = IDLE_SOCKET_MS;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    failures,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}

/** How long the proxy and dynalite keep an idle keep-alive socket open (startOutcomeProxy). */
const IDLE_SOCKET_MS = 10 * 60_000;

/** Deterministic jitter (mulberry32): the same run draws the same latencies. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function main() {
  const { accountSid, authToken, secretArn, tableName } = JSON.parse(process.env.BENCH_FAKES ?? '{}') as Record<string, string>;
  const dynamo = await startDynalite();
  await createStatusTable(dynamo.endpoint, tableName);
  const proxy = await startOutcomeProxy(dynamo.endpoint);
  const secrets = await startFakeSecretsManager();
  secrets.setSecret(secretArn, JSON.stringify({ accountSid, authToken }));
  const twilio = await startFakeTwilio({ accountSid });
  const sqs = await startFakeSqs();
  const alertQueueUrl = sqs.queueUrl(ALERT_QUEUE_NAME);
  const db = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const send = (m: unknown) => process.send!(m);
  process.on('message', async (req: FakesRequest) => {
    switch (req.op) {
      case 'stats': {
        const stats: FakeStats = {
          ddb: Object.fromEntries(dynamo.calls),
          ddbTotal: dynamo.totalCalls(),
          ddbRoundTrips: dynamo.roundTrips(),
          twilioCreates: twilio.createRequests().length,
          twilioMaxInFlight: twilio.maxInFlight,
          secretReads: [...secrets.getCalls.values()].reduce((a, b) => a + b, 0),
          ddbConditionalFailures: Object.fromEntries(proxy.failures),
          sqs: Object.fromEntries(sqs.calls),
        };
        return send({ id: req.id, value: stats });
      }
      case 'twilioDefault':
        twilio.setDefault(req.answer);
        return send({ id: req.id });
      case 'ddbLatency':
        dynamo.setLatency(req.ms);
        return send({ id: req.id });
      case 'resetTwilioCounters':
        twilio.resetCounters();
        return send({ id: req.id });
      case 'twilioLatency': {
        // Latency uniform in [base - jitter, base + jitter] for creates; other requests as the default answer.
        const draw = prng(req.seed ?? 12);
        twilio.setFaultInjector(req.baseMs > 0 || req.jitterMs > 0 ? (r) => (r.kind === 'create' ? { delayMs: Math.max(0, Math.round(req.baseMs + (draw() * 2 - 1) * req.jitterMs)) } : undefined) : undefined);
        return send({ id: req.id });
      }
      case 'twilioCreates': {
        const creates: CreateRecord[] = twilio.createRequests().map((r) => ({
          at: r.time,
          to: r.params.find(([k]) => k === 'To')?.[1] ?? '',
          body: r.params.find(([k]) => k === 'Body')?.[1] ?? '',
          concurrent: r.concurrent,
        }));
        return send({ id: req.id, value: creates });
      }
      case 'endStormWindows': {
        // As the window's 60 s passing would: each address's window ends in the past (nothing is held in it).
        for (const address of req.addresses) {
          await db
            .send(new UpdateItemCommand({ TableName: tableName, Key: { id: { S: stormId(address) } }, UpdateExpression: 'SET windowEndsAt = :past', ConditionExpression: 'attribute_exists(id)', ExpressionAttributeValues: { ':past': { N: '0' } } }))
            .catch((err: Error) => {
              if (err.name !== 'ConditionalCheckFailedException') throw err;
            });
        }
        return send({ id: req.id });
      }
      case 'twilioMessages':
        return send({ id: req.id, value: [...twilio.messages.values()].map((m) => ({ sid: m.sid, to: m.to, body: m.body })) });
      case 'close':
        db.destroy();
        await Promise.all([proxy.close(), dynamo.close(), secrets.close(), twilio.close(), sqs.close()]);
        send({ id: req.id });
        return process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
  const ready: FakesReady = { ready: true, dynamoEndpoint: proxy.url, secretsUrl: secrets.url, twilioUrl: twilio.url, alertQueueUrl, sqsUrl: sqs.url };
  send(ready);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
