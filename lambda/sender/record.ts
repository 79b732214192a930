import type { SQSRecord } from 'aws-lambda';
import { AnyTimer, InvalidTimerError, isDigestTimer, isTimerBody, readTimer } from '../shared/incidents/timers';
import { maskNumbersInText } from '../shared/mask';
import type { QueuedRecord, SendContext } from './context';
import { DEFERRALS_ATTRIBUTE, NOTIFICATION_ID_ATTRIBUTE, QUEUED_AT_ATTRIBUTE } from './defer';
import { commandOf, fireTimer, handleIncidentNotification, IncidentContext } from './incidents/flow';
import { logger } from './observability';
import { Notification, parseNotification, unwrapRecord } from './parse-notification';
import type { Combined, RecipientResult, RecordResult } from './results';
import { channels, deliverAll, Delivery, DeliveryResult } from './send';
import { fireDigest } from './storm/flush';
import { checkRecipients, InvalidNotificationError } from './validate';

/*
 * One SQS record, walking forward: parse (a timer, a notification, or
 * something that can never be sent) → decide (an incident matter, or a plain
 * text to its recipients) → act (send.ts, incidents/flow.ts) → the record's
 * result (results.ts), which the handler turns into the batch response.
 */

/** What the sender reads of an SQS record. */
export function readQueued(record: SQSRecord): QueuedRecord {
  // NaN (absent) and 0 are no time.
  const queuedAt = Number(record.messageAttributes?.[QUEUED_AT_ATTRIBUTE]?.stringValue ?? record.attributes?.SentTimestamp);
  return {
    messageId: record.messageId,
    body: record.body,
    receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? 1) || 1,
    notificationId: record.messageAttributes?.[NOTIFICATION_ID_ATTRIBUTE]?.stringValue || undefined,
    deferrals: Number(record.messageAttributes?.[DEFERRALS_ATTRIBUTE]?.stringValue ?? 0) || 0,
    ...(queuedAt > 0 ? { queuedAt } : {}),
  };
}

/** What became of the record; never rejects (an error is a retry, with the recipients it had reached). */
export async function processRecord(record: QueuedRecord, ctx: SendContext): Promise<RecordResult> {
  // Every delivery the record makes (an incident step may make several): what its result counts.
  const recipients: RecipientResult[] = [];
  const deliverFrom = (publishedAt: number | undefined): Deliver => async (d) => {
    const result = await deliverAll(d, ctx, { ...record, ...(publishedAt !== undefined ? { publishedAt } : {}) });
    recipients.push(...result.recipients);
    return result;
  };
  try {
    return await walk(record, ctx, deliverFrom, recipients);
  } catch (err) {
    logger.error('record failed, will retry', { messageId: record.messageId, error: (err as Error)?.name, reason: maskNumbersInText(String((err as Error)?.message ?? err)) });
    return { outcome: 'retry', recipients };
  }
}

type Deliver = (d: Delivery) => Promise<DeliveryResult>;

/*
 * When what a record sends was published (the message items' publishedAt,
 * where DeliveryLatency starts), the same on every delivery of the record:
 * - a publish to the topic: the SNS envelope's Timestamp (in the body, so
 *   SQS redeliveries and deferred copies keep it);
 * - a body sent straight to the queue (raw message delivery, an SQS
 *   SendMessage): its SentTimestamp, which a deferred copy carries over;
 * - a timer's page (an escalation stage, a repeat, the next stage after an
 *   unreachable one): the timer's dueAt, when the page became due. Not the
 *   incident's opening: the escalation's wait is the policy, not slowness of
 *   delivery; not the timer's own SentTimestamp: a chained or deferred timer
 *   is a later message.
 */
async function walk(record: QueuedRecord, ctx: SendContext, deliverFrom: (publishedAt: number | undefined) => Deliver, recipients: RecipientResult[]): Promise<RecordResult> {
  const queued = unwrapRecord({ messageId: record.notificationId ?? record.messageId, body: record.body });
  const { notificationId, message, published } = queued;
  const deliver = deliverFrom(queued.publishedAt ?? record.queuedAt);
  const result = (combined: Combined): RecordResult => {
    const { outcome, progressed } = combined;
    if (typeof outcome === 'object') return { outcome: 'deferred', deferUntil: outcome.deferUntil, notificationId, progressed, recipients };
    return { outcome, recipients };
  };
  // Only a body sent straight to the queue can be a timer: one published to the topic arrives in an SNS envelope.
  if (!published) {
    const timer = readRawTimer(message);
    if (timer instanceof InvalidTimerError) {
      const recorded = await ctx.claims.recordFailedNotification(notificationId, timer.message, Date.now(), 'invalid-timer');
      logger.warn('timer can never fire', { notificationId, reason: timer.message });
      return { outcome: 'refused', code: 'invalid-timer', reason: timer.message, recorded };
    }
    if (timer && isDigestTimer(timer)) {
      const flushed = await fireDigest(timer, ctx, record);
      recipients.push(...flushed.recipients);
      return result(flushed);
    }
    if (timer) return result(await fireTimer(timer, incidentContext(ctx, deliverFrom(timer.dueAt))));
  }
  let notification: Notification;
  try {
    notification = parseNotification(queued, ctx.settings, ctx.settings.allowed);
  } catch (err) {
    if (!(err instanceof InvalidNotificationError)) throw err;
    const recorded = await ctx.claims.recordFailedNotification(notificationId, err.message, Date.now());
    logger.warn('notification can never be sent', { notificationId, reason: err.message, length: message.length });
    return { outcome: 'refused', code: 'invalid-notification', reason: err.message, recorded };
  }

  let to = notification.kind === 'envelope' && notification.to ? notification.to : ctx.settings.defaultRecipients;
  const command = commandOf(notification);
  if (command) {
    const flow = await handleIncidentNotification(command, notificationId, incidentContext(ctx, deliver));
    if (!flow.plain) return result(flow);
    // An alarm state that concerns no live incident is sent as before incidents, to whoever an incident's first page would reach.
    to = ctx.settings.escalation.stages[0].recipients;
  }
  return result(await deliver({ notification, notificationId, recipients: to, page: false }));
}

/** A raw body that is a timer; the reason when it claims to be one and is not; undefined for anything else. */
function readRawTimer(message: string): AnyTimer | InvalidTimerError | undefined {
  if (!message.trimStart().startsWith('{')) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (!isTimerBody(json)) return undefined;
  try {
    return readTimer(json);
  } catch (err) {
    if (err instanceof InvalidTimerError) return err;
    throw err;
  }
}

function incidentContext(ctx: SendContext, deliver: Deliver): IncidentContext {
  const { settings } = ctx;
  return {
    store: ctx.incidents,
    plan: settings.escalation,
    allowUnicode: settings.allowUnicode,
    ...(ctx.alertQueueUrl ? { alertQueueUrl: ctx.alertQueueUrl } : {}),
    claimLeaseMs: settings.claimLeaseMs,
    deliver,
    sendable: (recipients) => checkRecipients(recipients, settings.allowed, channels(settings)).accepted,
  };
}
