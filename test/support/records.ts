import { createHash, randomUUID } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { SqsMessageAttribute } from './fake-sqs';

/*
 * The events Lambda's SQS event source mapping delivers, and the SNS
 * Notification envelope an SNS → SQS subscription (not raw) wraps a publish in.
 */

const ACCOUNT = '123456789012';
export const ALERTS_TOPIC_ARN = `arn:aws:sns:us-east-1:${ACCOUNT}:alerts`;

export interface SnsEnvelopeOptions {
  readonly subject?: string;
  readonly messageAttributes?: Record<string, { Type: string; Value: string }>;
}

/** The body SNS delivers to a subscribed queue for one publish; Subject only when the publisher gave one. */
export function snsEnvelope(topicArn: string, message: string, messageId: string = randomUUID(), options: SnsEnvelopeOptions = {}): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: messageId,
    TopicArn: topicArn,
    ...(options.subject !== undefined ? { Subject: options.subject } : {}),
    Message: message,
    Timestamp: new Date().toISOString(),
    SignatureVersion: '1',
    // Not a real signature: SQS subscribers do not verify it (the queue policy is the trust boundary).
    Signature: Buffer.from(createHash('sha256').update(messageId + message).digest()).toString('base64'),
    SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem',
    UnsubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}:${randomUUID()}`,
    ...(options.messageAttributes ? { MessageAttributes: options.messageAttributes } : {}),
  });
}

export interface SqsRecordOptions {
  readonly messageId?: string;
  /** Default `alerts`. */
  readonly queueName?: string;
  /** ApproximateReceiveCount; default 1 (the first receive). */
  readonly receiveCount?: number;
  readonly receiptHandle?: string;
  readonly sentTimestamp?: number;
  readonly firstReceiveTimestamp?: number;
  /** Who sent the message (attributes.SenderId). */
  readonly senderId?: string;
  /** SendMessage's MessageAttributes, shown as Lambda shows them. */
  readonly messageAttributes?: Readonly<Record<string, SqsMessageAttribute>>;
}

/** An SQS record as Lambda delivers it, carrying `body`. */
export function sqsRecord(body: string, options: SqsRecordOptions = {}): SQSRecord {
  const messageId = options.messageId ?? randomUUID();
  const now = Date.now();
  return {
    messageId,
    receiptHandle: options.receiptHandle ?? `rh-${messageId}-${randomUUID()}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: String(options.sentTimestamp ?? now),
      SenderId: options.senderId ?? 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(options.firstReceiveTimestamp ?? now),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(options.messageAttributes ?? {}).map(([name, a]) => [name, { dataType: a.DataType, stringValue: a.StringValue, stringListValues: [], binaryListValues: [] }]),
    ),
    md5OfBody: createHash('md5').update(body, 'utf8').digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:us-east-1:${ACCOUNT}:${options.queueName ?? 'alerts'}`,
    awsRegion: 'us-east-1',
  };
}

/** A delivery of a message the fake SQS took (or one like it): its body and attributes, as its queue's event source mapping delivers them. */
export function deliveredRecord(message: { readonly body: string; readonly messageAttributes?: Readonly<Record<string, SqsMessageAttribute>> }, options: SqsRecordOptions = {}): SQSRecord {
  return sqsRecord(message.body, { ...(message.messageAttributes ? { messageAttributes: message.messageAttributes } : {}), ...options });
}

/** An SQS record carrying an SNS notification envelope (standard SNS → SQS delivery to the alert queue). */
export function snsRecord(message: string, snsMessageId: string = randomUUID(), sqsMessageId: string = randomUUID(), subject?: string): SQSRecord {
  return sqsRecord(snsEnvelope(ALERTS_TOPIC_ARN, message, snsMessageId, subject !== undefined ? { subject } : {}), { messageId: sqsMessageId });
}

/** An SQS record whose body was sent straight to the alert queue. */
export function rawRecord(body: string, sqsMessageId: string = randomUUID()): SQSRecord {
  return sqsRecord(body, { messageId: sqsMessageId });
}

/** One invocation's event. */
export function sqsEvent(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}
