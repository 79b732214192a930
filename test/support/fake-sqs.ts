import { createHash, randomUUID } from 'node:crypto';
import { listen, LocalServer, readBody } from './http';

/** A message sent to the fake SQS. */
export interface SentSqsMessage {
  readonly queueUrl: string;
  readonly body: string;
  readonly delaySeconds: number;
  readonly messageId: string;
}

/**
 * A small SQS (JSON 1.0 protocol): SendMessage over real HTTP. The SQS client
 * sends to the queue URL's own host, so a test names this server in its queue
 * URLs (`queueUrl(name)`) and in AWS_ENDPOINT_URL_SQS.
 */
export interface FakeSqs extends LocalServer {
  readonly sent: SentSqsMessage[];
  /** A queue URL on this server. */
  queueUrl(name: string): string;
  /** Makes the next `n` calls fail with HTTP 500 (InternalError). */
  failNext(n: number): void;
}

export async function startFakeSqs(): Promise<FakeSqs> {
  const sent: SentSqsMessage[] = [];
  let failures = 0;
  const server = await listen(async (req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const input = JSON.parse((await readBody(req)).toString('utf8') || '{}') as Record<string, unknown>;
    const reply = (status: number, json: unknown, errorCode?: string) => {
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.0',
        ...(errorCode ? { 'x-amzn-query-error': `${errorCode};${status >= 500 ? 'Receiver' : 'Sender'}` } : {}),
      });
      res.end(JSON.stringify(json));
    };
    if (failures > 0) {
      failures--;
      return reply(500, { __type: 'com.amazonaws.sqs#InternalError', message: 'injected failure' }, 'InternalError');
    }
    if (target !== 'AmazonSQS.SendMessage') {
      return reply(400, { __type: 'com.amazonaws.sqs#InvalidAction', message: `not faked: ${target}` }, 'InvalidAction');
    }
    const body = String(input.MessageBody ?? '');
    if (body === '') return reply(400, { __type: 'com.amazonaws.sqs#MissingParameter', message: 'MessageBody is required' }, 'MissingParameter');
    const message: SentSqsMessage = {
      queueUrl: String(input.QueueUrl ?? ''),
      body,
      delaySeconds: Number(input.DelaySeconds ?? 0),
      messageId: randomUUID(),
    };
    sent.push(message);
    reply(200, { MessageId: message.messageId, MD5OfMessageBody: createHash('md5').update(body, 'utf8').digest('hex') });
  });
  return {
    ...server,
    sent,
    queueUrl: (name) => `${server.url}/123456789012/${name}`,
    failNext: (n) => {
      failures = n;
    },
  };
}
