import { randomUUID } from 'node:crypto';
import { listen, LocalServer, readBody } from './http';

/** A message published to the fake SNS, decoded from the Query protocol. */
export interface PublishedMessage {
  readonly topicArn: string;
  readonly message: string;
  readonly subject?: string;
  readonly attributes: Record<string, { dataType: string; value: string }>;
  readonly messageId: string;
}

/**
 * A small SNS (Query protocol, XML answers): Publish over real HTTP, reached
 * with AWS_ENDPOINT_URL_SNS. Records every message with its attributes.
 */
export interface FakeSns extends LocalServer {
  readonly published: PublishedMessage[];
  /** Makes the next `n` Publish calls fail with HTTP 500. */
  failNext(n: number): void;
  /** Called with each message once it is recorded, before the answer goes out (tests inject faults that follow a publish). */
  onPublish(listener: ((message: PublishedMessage) => void) | undefined): void;
}

export async function startFakeSns(): Promise<FakeSns> {
  const published: PublishedMessage[] = [];
  let failures = 0;
  let listener: ((message: PublishedMessage) => void) | undefined;
  const server = await listen(async (req, res) => {
    const params = new URLSearchParams((await readBody(req)).toString('utf8'));
    const requestId = randomUUID();
    const xml = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/xml' });
      res.end(body);
    };
    if (failures > 0) {
      failures--;
      return xml(500, `<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code><Message>injected failure</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`);
    }
    if (params.get('Action') !== 'Publish') {
      return xml(400, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>not faked: ${params.get('Action')}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`);
    }
    const attributes: PublishedMessage['attributes'] = {};
    for (let i = 1; params.has(`MessageAttributes.entry.${i}.Name`); i++) {
      const p = `MessageAttributes.entry.${i}`;
      attributes[params.get(`${p}.Name`)!] = {
        dataType: params.get(`${p}.Value.DataType`) ?? '',
        value: params.get(`${p}.Value.StringValue`) ?? '',
      };
    }
    const messageId = randomUUID();
    const message: PublishedMessage = {
      topicArn: params.get('TopicArn') ?? '',
      message: params.get('Message') ?? '',
      ...(params.has('Subject') ? { subject: params.get('Subject')! } : {}),
      attributes,
      messageId,
    };
    published.push(message);
    listener?.(message);
    xml(200, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></PublishResponse>`);
  });
  return {
    ...server,
    published,
    failNext: (n) => {
      failures = n;
    },
    onPublish: (l) => {
      listener = l;
    },
  };
}
