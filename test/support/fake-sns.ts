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
 * GetTopicAttributes answers the attributes set with `setTopicAttributes`.
 */
export interface FakeSns extends LocalServer {
  readonly published: PublishedMessage[];
  /** Makes the next `n` Publish calls fail with HTTP 500. */
  failNext(n: number): void;
  /** Called with each message once it is recorded, before the answer goes out (tests inject faults that follow a publish). */
  onPublish(listener: ((message: PublishedMessage) => void) | undefined): void;
  /** What GetTopicAttributes answers for a topic (`Policy`, `KmsMasterKeyId`, ...); a topic never set is NotFound. */
  setTopicAttributes(topicArn: string, attributes: Record<string, string>): void;
}

export async function startFakeSns(): Promise<FakeSns> {
  const published: PublishedMessage[] = [];
  let failures = 0;
  let listener: ((message: PublishedMessage) => void) | undefined;
  const topics = new Map<string, Record<string, string>>();
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
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
    if (params.get('Action') === 'GetTopicAttributes') {
      const attributes = topics.get(params.get('TopicArn') ?? '');
      if (!attributes) return xml(404, `<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`);
      const entries = Object.entries(attributes).map(([k, v]) => `<entry><key>${escape(k)}</key><value>${escape(v)}</value></entry>`).join('');
      return xml(200, `<GetTopicAttributesResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><GetTopicAttributesResult><Attributes>${entries}</Attributes></GetTopicAttributesResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></GetTopicAttributesResponse>`);
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
    setTopicAttributes: (topicArn, attributes) => {
      topics.set(topicArn, { TopicArn: topicArn, ...attributes });
    },
  };
}
