import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Acknowledgement } from './acknowledge';
import type { InboundMessage } from './inbound-message';

/**
 * The inbound topic's message (JSON), a contract with subscribers:
 * `{ messageSid, from, to, body, mediaUrls, channel, receivedAt, acknowledged? }`,
 * `acknowledged` = `{ messageSid, alarmName?, notificationId?, acknowledgedAt }`
 * when the message was an ACK of an alarm notification.
 */
export interface InboundEvent {
  readonly messageSid: string;
  readonly from: string;
  readonly to: string;
  readonly body: string;
  readonly mediaUrls: readonly string[];
  readonly channel: string;
  readonly receivedAt: string;
  readonly acknowledged?: Acknowledgement;
}

export function inboundEvent(msg: InboundMessage, receivedAt: string, acknowledged: Acknowledgement | undefined): InboundEvent {
  return {
    messageSid: msg.messageSid,
    from: msg.from,
    to: msg.to,
    body: msg.body,
    mediaUrls: msg.mediaUrls,
    channel: msg.channel,
    receivedAt,
    ...(acknowledged ? { acknowledged } : {}),
  };
}

/**
 * Publishes to the inbound topic with message attributes subscriptions can
 * filter on: `from`, `channel` (sms | mms | whatsapp) and `type` (`ack` when the
 * message acknowledged an alarm notification, else `message`).
 */
export async function publishInbound(client: SNSClient, topicArn: string, event: InboundEvent): Promise<string | undefined> {
  const out = await client.send(
    new PublishCommand({
      TopicArn: topicArn,
      Message: JSON.stringify(event),
      MessageAttributes: {
        from: { DataType: 'String', StringValue: event.from },
        channel: { DataType: 'String', StringValue: event.channel },
        type: { DataType: 'String', StringValue: event.acknowledged ? 'ack' : 'message' },
      },
    }),
  );
  return out.MessageId;
}
