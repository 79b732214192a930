import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen, LocalServer, readBody } from './http';

/**
 * The one SQS fake: SendMessage, SendMessageBatch and GetQueueUrl in SQS's
 * JSON protocol (what the AWS SDK for JavaScript v3 speaks: POST,
 * `X-Amz-Target: AmazonSQS.<Operation>`, JSON 1.0), for any number of queues
 * on one port. A queue's URL names this server
 * (`http://127.0.0.1:<port>/<account>/<name>`), and the SDK sends to the queue
 * URL's own host, so a handler given that URL (and AWS_ENDPOINT_URL_SQS =
 * `url`) reaches its queue.
 *
 * It checks what SQS checks (a known queue, a body of 1 byte to 1 MiB of
 * allowed characters, DelaySeconds 0–900) and answers with the body's MD5
 * digest, which the SDK verifies. Every accepted message is recorded in
 * `sent`; a queue added with a sink (the pipeline's queue simulation) also
 * hands it on to be delivered.
 */
export interface FakeSqs extends LocalServer {
  /** Serves a queue under `name` whose messages `sink` takes; returns its queue URL. */
  addQueue(name: string, sink: SqsQueueSink): string;
  /** The queue URL of `name` on this server; a queue not served yet is created, recording what it is sent. */
  queueUrl(name: string): string;
  /** Every message accepted, in order (tests empty it with `sent.length = 0`). */
  readonly sent: SentSqsMessage[];
  /** Calls by operation (`SendMessage`, ...), refused ones included. */
  readonly calls: Map<string, number>;
  /** The next `n` calls get 500 InternalError (an SQS outage); `failNext(0)` ends what is left of it. */
  failNext(n: number): void;
  /** Calls answered with an injected 500 so far. */
  readonly failed: number;
}

/** A message the fake accepted. */
export interface SentSqsMessage {
  readonly queueUrl: string;
  readonly queueName: string;
  readonly messageId: string;
  readonly body: string;
  readonly delaySeconds: number;
  readonly messageAttributes: Readonly<Record<string, SqsMessageAttribute>>;
}

/** A message attribute as SendMessage takes it. */
export interface SqsMessageAttribute {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: string;
}

/** What takes a queue's messages on to its consumer; returns the SQS messageId it gave the message. */
export interface SqsQueueSink {
  sendRaw(body: string, options: { delaySeconds: number; snsMessageId?: string; messageAttributes?: Readonly<Record<string, SqsMessageAttribute>> }): string;
}

export const SQS_ACCOUNT = '123456789012';
/** SQS's largest message since August 2025 (it was 256 KiB before). */
export const SQS_MAX_MESSAGE_BYTES = 1024 * 1024;
const MAX_DELAY_SECONDS = 900;
/** The characters SQS accepts in a message: #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF. */
const INVALID_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

class SqsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly queryError: string,
    message: string,
  ) {
    super(message);
  }
}

const md5 = (data: string | Buffer) => createHash('md5').update(data).digest('hex');

/** The SNS MessageId of a body that is an SNS Notification envelope, else undefined. */
function snsMessageIdOf(body: string): string | undefined {
  if (!body.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(body) as { Type?: unknown; MessageId?: unknown };
    return parsed.Type === 'Notification' && typeof parsed.MessageId === 'string' && parsed.MessageId !== '' ? parsed.MessageId : undefined;
  } catch {
    return undefined;
  }
}

export async function startFakeSqs(): Promise<FakeSqs> {
  const queues = new Map<string, SqsQueueSink | undefined>();
  const sent: SentSqsMessage[] = [];
  const calls = new Map<string, number>();
  let failures = 0;
  let failed = 0;
  let baseUrl = '';
  const urlOf = (name: string) => `${baseUrl}/${SQS_ACCOUNT}/${name}`;

  const queueNamed = (queueUrl: unknown): { name: string; sink: SqsQueueSink | undefined } => {
    const name = typeof queueUrl === 'string' ? (queueUrl.split('/').pop() ?? '') : '';
    if (!queues.has(name)) throw new SqsError(400, 'QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', `The specified queue does not exist: ${String(queueUrl)}`);
    return { name, sink: queues.get(name) };
  };

  const accept = (queueUrl: unknown, input: Record<string, unknown>) => {
    const { name, sink } = queueNamed(queueUrl);
    const body = input.MessageBody;
    if (typeof body !== 'string' || body.length === 0) throw new SqsError(400, 'MissingParameter', 'MissingParameter', 'The request must contain the parameter MessageBody.');
    const attributes = (input.MessageAttributes ?? {}) as Record<string, SqsMessageAttribute>;
    const bytes = Buffer.byteLength(body, 'utf8') + Object.entries(attributes).reduce((n, [k, a]) => n + Buffer.byteLength(k) + Buffer.byteLength(a.DataType ?? '') + Buffer.byteLength(a.StringValue ?? a.BinaryValue ?? ''), 0);
    if (bytes > SQS_MAX_MESSAGE_BYTES) throw new SqsError(400, 'InvalidParameterValue', 'InvalidParameterValue', `One or more parameters are invalid. Reason: Message must be shorter than ${SQS_MAX_MESSAGE_BYTES} bytes.`);
    if (INVALID_CHARACTER.test(body)) throw new SqsError(400, 'InvalidMessageContents', 'InvalidMessageContents', 'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF');
    const delay = input.DelaySeconds ?? 0;
    if (typeof delay !== 'number' || !Number.isInteger(delay) || delay < 0 || delay > MAX_DELAY_SECONDS) {
      throw new SqsError(400, 'InvalidParameterValue', 'InvalidParameterValue', `Value ${String(delay)} for parameter DelaySeconds is invalid. Reason: must be between 0 and ${MAX_DELAY_SECONDS}.`);
    }
    const snsMessageId = snsMessageIdOf(body);
    const messageId = sink
      ? sink.sendRaw(body, { delaySeconds: delay, ...(snsMessageId ? { snsMessageId } : {}), ...(Object.keys(attributes).length > 0 ? { messageAttributes: attributes } : {}) })
      : randomUUID();
    sent.push({ queueUrl: urlOf(name), queueName: name, messageId, body, delaySeconds: delay, messageAttributes: attributes });
    // The SDK checks MD5OfMessageBody (not the attributes' digest, which is left out).
    return { MessageId: messageId, MD5OfMessageBody: md5(body) };
  };

  const operations: Record<string, (input: Record<string, unknown>) => unknown> = {
    SendMessage: (input) => accept(input.QueueUrl, input),
    SendMessageBatch: (input) => {
      queueNamed(input.QueueUrl);
      const entries = Array.isArray(input.Entries) ? (input.Entries as Array<Record<string, unknown>>) : [];
      if (entries.length === 0) throw new SqsError(400, 'EmptyBatchRequest', 'AWS.SimpleQueueService.EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.');
      if (entries.length > 10) throw new SqsError(400, 'TooManyEntriesInBatchRequest', 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest', 'Maximum number of entries per request are 10.');
      const Successful: unknown[] = [];
      const Failed: unknown[] = [];
      for (const entry of entries) {
        try {
          Successful.push({ Id: entry.Id, ...accept(input.QueueUrl, entry) });
        } catch (err) {
          if (!(err instanceof SqsError)) throw err;
          Failed.push({ Id: entry.Id, SenderFault: true, Code: err.type, Message: err.message });
        }
      }
      return { Successful, Failed };
    },
    GetQueueUrl: (input) => {
      const name = String(input.QueueName ?? '');
      if (!queues.has(name)) throw new SqsError(400, 'QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.');
      return { QueueUrl: urlOf(name) };
    },
  };

  const reply = (res: ServerResponse, status: number, json: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID(), ...headers });
    res.end(JSON.stringify(json));
  };

  const server = await listen(async (req: IncomingMessage, res: ServerResponse) => {
    const raw = (await readBody(req)).toString('utf8');
    const operation = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, '');
    calls.set(operation, (calls.get(operation) ?? 0) + 1);
    try {
      if (failures > 0) {
        failures--;
        failed++;
        throw new SqsError(500, 'InternalError', 'InternalError;Receiver', 'We encountered an internal error. Please try again.');
      }
      const run = operations[operation];
      if (!run) throw new SqsError(400, 'UnsupportedOperation', 'AWS.SimpleQueueService.UnsupportedOperation', `not faked: ${operation || '(no X-Amz-Target)'}`);
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(raw || '{}') as Record<string, unknown>;
      } catch {
        throw new SqsError(400, 'InvalidParameterValue', 'InvalidParameterValue', 'the request body is not JSON');
      }
      reply(res, 200, run(input));
    } catch (err) {
      if (!(err instanceof SqsError)) throw err;
      const queryError = err.queryError.includes(';') ? err.queryError : `${err.queryError};Sender`;
      reply(res, err.status, { __type: `com.amazonaws.sqs#${err.type}`, message: err.message }, { 'x-amzn-query-error': queryError });
    }
  });
  baseUrl = server.url;

  return {
    ...server,
    addQueue(name, sink) {
      queues.set(name, sink);
      return urlOf(name);
    },
    queueUrl(name) {
      if (!queues.has(name)) queues.set(name, undefined);
      return urlOf(name);
    },
    sent,
    calls,
    failNext(n) {
      failures = n;
    },
    get failed() {
      return failed;
    },
  };
}
