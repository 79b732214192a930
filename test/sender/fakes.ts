import { createHash, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import type { SQSRecord } from 'aws-lambda';
import { listen, LocalServer, readBody } from '../support/http';

/*
 * Two small fakes for the sender's failure-handling tests, over real HTTP:
 * an SQS queue that takes SendMessage (AWS JSON 1.0, as @aws-sdk/client-sqs
 * speaks it; the client sends to the queue URL's own host), and a proxy in
 * front of dynalite that can hold or drop chosen calls.
 */

export interface SentMessage {
  readonly body: string;
  readonly delaySeconds: number;
  readonly attributes: Record<string, { DataType: string; StringValue?: string }>;
}

export interface FakeSqs extends LocalServer {
  /** The queue URL to give the handler (ALERT_QUEUE_URL). */
  readonly queueUrl: string;
  readonly sent: SentMessage[];
  /** The next `n` SendMessage calls fail with HTTP 500. */
  failNext(n: number): void;
  /** A sent message as SQS would deliver it to the sender (first receive of that copy). */
  asRecord(message: SentMessage): SQSRecord;
}

export async function startFakeSqs(): Promise<FakeSqs> {
  const sent: SentMessage[] = [];
  let failures = 0;
  const server = await listen(async (req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const input = JSON.parse((await readBody(req)).toString('utf8') || '{}') as Record<string, any>;
    const reply = (status: number, json: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify(json));
    };
    if (target !== 'AmazonSQS.SendMessage') return reply(400, { __type: 'com.amazonaws.sqs#UnsupportedOperation', message: `not faked: ${target}` });
    if (failures > 0) {
      failures--;
      return reply(500, { __type: 'com.amazonaws.sqs#InternalError', message: 'injected failure' });
    }
    sent.push({ body: input.MessageBody, delaySeconds: input.DelaySeconds ?? 0, attributes: input.MessageAttributes ?? {} });
    return reply(200, { MessageId: randomUUID(), MD5OfMessageBody: createHash('md5').update(input.MessageBody).digest('hex') });
  });
  return {
    ...server,
    queueUrl: `${server.url}/123456789012/alerts`,
    sent,
    failNext: (n) => {
      failures = n;
    },
    asRecord: (m) => {
      const id = randomUUID();
      return {
        messageId: id,
        receiptHandle: `rh-${id}`,
        body: m.body,
        attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: 'AROAEXAMPLE', ApproximateFirstReceiveTimestamp: String(Date.now()) },
        messageAttributes: Object.fromEntries(
          Object.entries(m.attributes).map(([k, v]) => [k, { dataType: v.DataType, stringValue: v.StringValue, stringListValues: [], binaryListValues: [] }]),
        ),
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:alerts',
        awsRegion: 'us-east-1',
      };
    },
  };
}

/**
 * What the proxy does with one DynamoDB call: forward it, drop its answer
 * after DynamoDB did the work, or forward it once `hold` settles (and call
 * `answered` when DynamoDB has answered it).
 */
export type ProxyAction = 'pass' | 'drop-answer' | { readonly hold: Promise<unknown>; readonly answered?: () => void };

export interface DynamoProxy extends LocalServer {
  /** Decides per call: `target` is the operation (PutItem, UpdateItem, ...), `input` its JSON. */
  setRule(rule: ((target: string, input: Record<string, any>) => ProxyAction) | undefined): void;
}

export async function startDynamoProxy(upstream: string): Promise<DynamoProxy> {
  let rule: ((target: string, input: Record<string, any>) => ProxyAction) | undefined;
  const target = new URL(upstream);
  const server = await listen(async (req, res) => {
    const raw = await readBody(req);
    const op = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    const action = rule?.(op, JSON.parse(raw.toString('utf8') || '{}')) ?? 'pass';
    if (typeof action === 'object') await action.hold;
    const answer = await new Promise<{ status: number; headers: Record<string, any>; body: Buffer }>((resolve, reject) => {
      const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, async (r) => {
        resolve({ status: r.statusCode ?? 500, headers: r.headers, body: await readBody(r) });
      });
      up.on('error', reject);
      up.end(raw);
    });
    if (typeof action === 'object') action.answered?.();
    if (action === 'drop-answer') {
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  });
  return {
    ...server,
    setRule: (r) => {
      rule = r;
    },
  };
}
