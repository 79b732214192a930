import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Incident } from '../shared/incidents/items';
import type { CommandOutcome, InboundType } from './command';
import type { InboundMessage } from './inbound-message';

/** An incident as the inbound topic's events name it. */
export interface EventIncident {
  readonly incidentId: string;
  readonly code: string;
  readonly title: string;
  readonly state: string;
  readonly acknowledgedBy?: string;
  readonly acknowledgedAt?: string;
}

/**
 * The inbound topic's message (JSON), a contract with subscribers:
 * `{ messageSid, from, to, body, mediaUrls, channel, receivedAt, type,
 * incidents?, reply? }`. `type` says what the reply did (`ack`, `ack-all`,
 * `ack-none`, `opt-out`, `opt-in`, `message`); `incidents` are the ones it
 * acknowledged (`ack`, `ack-all`), the one its answer is about (`ack-none`),
 * or the live ones its address became unreachable for (`opt-out`); `reply`
 * is the line answered in TwiML.
 */
export interface InboundEvent {
  readonly messageSid: string;
  readonly from: string;
  readonly to: string;
  readonly body: string;
  readonly mediaUrls: readonly string[];
  readonly channel: string;
  readonly receivedAt: string;
  readonly type: InboundType;
  readonly incidents?: readonly EventIncident[];
  readonly reply?: string;
}

function eventIncident(incident: Incident): EventIncident {
  return {
    incidentId: incident.id,
    code: incident.code,
    title: incident.title,
    state: incident.state,
    ...(incident.acknowledgedBy !== undefined ? { acknowledgedBy: incident.acknowledgedBy } : {}),
    ...(incident.acknowledgedAt !== undefined ? { acknowledgedAt: incident.acknowledgedAt } : {}),
  };
}

export function inboundEvent(msg: InboundMessage, receivedAt: string, outcome: CommandOutcome): InboundEvent {
  return {
    messageSid: msg.messageSid,
    from: msg.from,
    to: msg.to,
    body: msg.body,
    mediaUrls: msg.mediaUrls,
    channel: msg.channel,
    receivedAt,
    type: outcome.type,
    ...(outcome.incidents.length > 0 ? { incidents: outcome.incidents.map(eventIncident) } : {}),
    ...(outcome.reply !== undefined ? { reply: outcome.reply } : {}),
  };
}

/**
 * Publishes to the inbound topic with message attributes subscriptions can
 * filter on: `from`, `channel` (sms | mms | whatsapp) and `type` (as in the JSON).
 */
export async function publishInbound(client: SNSClient, topicArn: string, event: InboundEvent): Promise<string | undefined> {
  const out = await client.send(
    new PublishCommand({
      TopicArn: topicArn,
      Message: JSON.stringify(event),
      MessageAttributes: {
        from: { DataType: 'String', StringValue: event.from },
        channel: { DataType: 'String', StringValue: event.channel },
        type: { DataType: 'String', StringValue: event.type },
      },
    }),
  );
  return out.MessageId;
}
