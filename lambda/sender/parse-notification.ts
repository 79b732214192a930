import { CloudWatchAlarmNotification, isAlarmNotification, readAlarm, renderAlarm } from './render-alarm';
import { bodyLength, Envelope, InvalidNotificationError, looksLikeEnvelope, MAX_BODY_CHARS, validateEnvelope } from './validate';

/** An SQS record's body, unwrapped from its SNS envelope when it has one. */
export interface QueuedNotification {
  /** SNS MessageId when enveloped (the same across SNS redeliveries), else the SQS messageId. */
  readonly notificationId: string;
  readonly message: string;
  /** True when the body was an SNS notification envelope: what was published to the topic, never a timer. */
  readonly published: boolean;
}

/** What was published, decoded. */
export type Notification =
  | {
      readonly kind: 'alarm';
      readonly alarmName: string;
      readonly text: string;
      /** NewStateValue as CloudWatch sent it (ALARM, OK, INSUFFICIENT_DATA), when readable. */
      readonly state?: string;
      /** What identifies the alarm's incidents: its ARN, else its region and name. */
      readonly incidentKey?: string;
    }
  | ({ readonly kind: 'envelope' } & Envelope)
  | { readonly kind: 'text'; readonly text: string };

/**
 * Standard SNS→SQS delivery wraps the published message in a notification
 * envelope; a body sent straight to the queue (or raw message delivery) is
 * the message itself.
 */
export function unwrapRecord(record: { readonly messageId: string; readonly body: string }): QueuedNotification {
  if (record.body.startsWith('{')) {
    try {
      const json = JSON.parse(record.body) as Record<string, unknown>;
      if (json && json.Type === 'Notification' && typeof json.Message === 'string' && typeof json.MessageId === 'string' && json.MessageId !== '') {
        return { notificationId: json.MessageId, message: json.Message, published: true };
      }
    } catch {
      // not JSON: a plain-text body sent straight to the queue
    }
  }
  return { notificationId: record.messageId, message: record.body, published: false };
}

/** The key of an alarm's incidents: the ARN names one alarm in one account and region; without it, region and name. */
export function alarmIncidentKey(alarm: CloudWatchAlarmNotification): string {
  return alarm.AlarmArn ?? `alarm:${alarm.Region ?? ''}:${alarm.AlarmName}`;
}

/**
 * Decodes a published message: a CloudWatch alarm notification (rendered to
 * a short text), a JSON envelope, or plain text. Never throws anything
 * else, whatever the message holds. `allowed` (the allowed recipients),
 * when given, lets an envelope naming too many others be refused whole.
 *
 * @throws InvalidNotificationError when the message can never be sent
 */
export function parseNotification(message: string, allowUnicode: boolean, allowed?: ReadonlySet<string>): Notification {
  const trimmed = message.trim();
  if (trimmed === '') throw new InvalidNotificationError('the message is empty');
  if (trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch {
      json = undefined;
    }
    if (json && typeof json === 'object' && !Array.isArray(json)) {
      const obj = json as Record<string, unknown>;
      if (isAlarmNotification(obj)) {
        const alarm = readAlarm(obj);
        return {
          kind: 'alarm',
          alarmName: alarm.AlarmName,
          text: renderAlarm(alarm, allowUnicode),
          ...(alarm.NewStateValue !== undefined ? { state: alarm.NewStateValue } : {}),
          incidentKey: alarmIncidentKey(alarm),
        };
      }
      if (looksLikeEnvelope(obj)) return { kind: 'envelope', ...validateEnvelope(obj, Buffer.byteLength(trimmed, 'utf8'), allowed) };
      throw new InvalidNotificationError('a JSON message that is neither a CloudWatch alarm nor an envelope (body, to, mediaUrls, contentSid, incidentKey)');
    }
    // Text that merely starts with a brace: sent as it is.
  }
  if (bodyLength(trimmed) > MAX_BODY_CHARS) throw new InvalidNotificationError(`the message is longer than ${MAX_BODY_CHARS} characters`);
  return { kind: 'text', text: trimmed };
}
