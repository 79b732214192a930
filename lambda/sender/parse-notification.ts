import { BODY_LIMIT, fitPage, fitWithHint, Page } from './fit-text';
import { AlarmFacts, alarmNameOfArn, alarmPage, isAlarmNotification, readAlarm } from './render-alarm';
import { parseArn, RenderContext } from './render-common';
import { isEventBridgeEvent, readEvent } from './render-event';
import { jsonPage } from './render-fields';
import { Envelope, InvalidNotificationError, looksLikeEnvelope, validateEnvelope } from './validate';

/** An SQS record's body, unwrapped from its SNS envelope when it has one. */
export interface QueuedNotification {
  /** SNS MessageId when enveloped (the same across SNS redeliveries), else the SQS messageId. */
  readonly notificationId: string;
  readonly message: string;
  /** True when the body was an SNS notification envelope: what was published to the topic, never a timer. */
  readonly published: boolean;
  /** The SNS Subject the publisher gave, if any. */
  readonly subject?: string;
  /** The topic it was published to (SNS envelope). */
  readonly topicArn?: string;
  /** Epoch ms SNS took the publish (the envelope's Timestamp), the same across SNS and SQS redeliveries. */
  readonly publishedAt?: number;
}

/** What the renderers need of the sender's settings. */
export interface RenderSettings {
  readonly allowUnicode: boolean;
  /** SMS segments a rendered alarm or event may take (alarmTextSegments). */
  readonly alarmTextSegments: number;
  readonly accountAlias?: string;
}

/**
 * A notification the sender renders itself: its page, fitted per channel
 * (message-params.ts), and its SMS text without a reply hint (previews,
 * logs). Set `replyHint` (`ACK 7K`, at most 8 characters) before
 * buildMessage and every text of it ends with the hint: its room is kept
 * in every rendering, so nothing else changes.
 */
interface Rendered {
  readonly page: Page;
  readonly text: string;
  readonly replyHint?: string;
}

/** What was published, decoded. */
export type Notification =
  | ({ readonly kind: 'alarm'; readonly alarmName: string; readonly alarmArn?: string; readonly state?: string; readonly region?: string; /** What identifies the alarm's incidents: its ARN, else its region and name. */ readonly incidentKey?: string } & Rendered)
  /** An EventBridge event other than a CloudWatch alarm's. */
  | ({ readonly kind: 'event'; readonly detailType: string; readonly source: string } & Rendered)
  /** A JSON object that is neither an alarm, an event nor an envelope. */
  | ({ readonly kind: 'json' } & Rendered)
  | ({ readonly kind: 'envelope'; readonly replyHint?: string } & Envelope)
  | { readonly kind: 'text'; readonly text: string; readonly replyHint?: string };

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
        return {
          notificationId: json.MessageId,
          message: json.Message,
          published: true,
          ...(typeof json.Subject === 'string' && json.Subject.trim() !== '' ? { subject: json.Subject } : {}),
          ...(typeof json.TopicArn === 'string' ? { topicArn: json.TopicArn } : {}),
          ...(typeof json.Timestamp === 'string' && Number.isFinite(Date.parse(json.Timestamp)) ? { publishedAt: Date.parse(json.Timestamp) } : {}),
        };
      }
    } catch {
      // not JSON: a plain-text body sent straight to the queue
    }
  }
  return { notificationId: record.messageId, message: record.body, published: false };
}

/** The key of an alarm's incidents: the ARN names one alarm in one account and region; without it, region and name. */
export function alarmIncidentKey(alarm: AlarmFacts): string {
  return alarmNameOfArn(alarm.arn) !== undefined ? alarm.arn! : `alarm:${alarm.region ?? ''}:${alarm.name}`;
}

function rendered(page: Page, settings: RenderSettings): Rendered {
  return { page, text: fitPage(page, { segments: settings.alarmTextSegments, allowUnicode: settings.allowUnicode }).text };
}

/** Plain text, headed by the SNS Subject when there is one (and the text does not already start with it), cut to Twilio's limit when longer. */
function plainText(text: string, subject: string | undefined): string {
  const heading = subject?.trim();
  const whole = heading && !text.startsWith(heading) ? `${heading}\n${text}` : text;
  return fitWithHint(whole, undefined, { maxChars: BODY_LIMIT });
}

/**
 * Decodes a published message: a CloudWatch alarm notification or an
 * EventBridge event (rendered from its structure), a JSON envelope, any
 * other JSON object (its fields), or plain text. Never throws anything
 * else, whatever the message holds. `allowed` (the allowed recipients),
 * when given, lets an envelope naming too many others be refused whole.
 *
 * @throws InvalidNotificationError when the message can never be sent
 */
export function parseNotification(queued: string | Pick<QueuedNotification, 'message' | 'subject' | 'topicArn'>, settings: RenderSettings, allowed?: ReadonlySet<string>): Notification {
  const { message, subject, topicArn } = typeof queued === 'string' ? { message: queued, subject: undefined, topicArn: undefined } : queued;
  const trimmed = message.trim();
  if (trimmed === '') throw new InvalidNotificationError('the message is empty');
  const ctx: RenderContext = { ...(settings.accountAlias !== undefined ? { accountAlias: settings.accountAlias } : {}), ...(topicArn ? { topicAccount: parseArn(topicArn)?.account } : {}) };
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
        return { kind: 'alarm', alarmName: alarm.name, ...alarmFields(alarm), ...rendered(alarmPage(alarm, ctx), settings) };
      }
      if (isEventBridgeEvent(obj)) {
        const event = readEvent(obj, ctx);
        if (event.kind === 'alarm') return { kind: 'alarm', alarmName: event.alarm.name, ...alarmFields(event.alarm), ...rendered(alarmPage(event.alarm, ctx), settings) };
        return { kind: 'event', detailType: event.detailType, source: event.source, ...rendered(event.page, settings) };
      }
      if (looksLikeEnvelope(obj)) return { kind: 'envelope', ...validateEnvelope(obj, Buffer.byteLength(trimmed, 'utf8'), allowed) };
      // An SNS notification published on to this topic (a topic subscribed to another): what it carries is the message.
      if (obj.Type === 'Notification' && typeof obj.Message === 'string' && obj.Message.trim() !== '') {
        return parseNotification({ message: obj.Message, ...(typeof obj.Subject === 'string' ? { subject: obj.Subject } : {}), ...(topicArn ? { topicArn } : {}) }, settings, allowed);
      }
      if (Object.keys(obj).length > 0) {
        const page = jsonPage(obj);
        if (page.parts.length > 0) return { kind: 'json', ...rendered(page, settings) };
      }
      throw new InvalidNotificationError('a JSON object with nothing readable in it (no field holds text, a number or a boolean): publish plain text, an envelope ({"body": "..."}) or JSON with a text field');
    }
    // Text that merely starts with a brace: sent as it is.
  }
  return { kind: 'text', text: plainText(trimmed, subject) };
}

/** What identifies an alarm beyond its name (an incident's key): the ARN only when it is an alarm's ARN. */
function alarmFields(alarm: AlarmFacts): { alarmArn?: string; state?: string; region?: string; incidentKey: string } {
  return {
    incidentKey: alarmIncidentKey(alarm),
    ...(alarmNameOfArn(alarm.arn) !== undefined ? { alarmArn: alarm.arn } : {}),
    ...(alarm.state ? { state: alarm.state } : {}),
    ...(alarm.region ? { region: alarm.region } : {}),
  };
}
