import { ENV } from '../../lib/contract';
import { logger } from './observability';
import { sqsClient } from './sqs';

/**
 * Timers the webhooks set (a raw SQS message to the alert queue, never through
 * the topic): `{"kind":"timer","timer":"escalate","incidentId":"incident#…",
 * "dueAt":<epoch ms>,"stage":<N>,"reason":"unreachable"}`, sent with no delay
 * when an address an incident paged became unreachable (its page ended
 * `undelivered`/`failed`, or it opted out). The sender then re-evaluates the
 * incident: if every address of its current stage is unreachable, it pages
 * the next stage at once. `stage` is the incident's stage when the address
 * became unreachable, so the plain escalate rule (page `stage` if above the
 * item's) does nothing with it. A timer carries no authority: sent twice, it
 * pages nothing twice.
 */
export interface UnreachableTimer {
  readonly kind: 'timer';
  readonly timer: 'escalate';
  readonly incidentId: string;
  readonly dueAt: number;
  readonly stage: number;
  readonly reason: 'unreachable';
}

/** Read once per execution environment: the construct sets it on every handler that sets timers. */
const queueUrl = process.env[ENV.ALERT_QUEUE_URL] || undefined;

export function unreachableTimer(incidentId: string, stage: number, now: number): UnreachableTimer {
  return { kind: 'timer', timer: 'escalate', incidentId, dueAt: now, stage, reason: 'unreachable' };
}

/**
 * Sends the timer. Without ALERT_QUEUE_URL it is skipped with a warning: the
 * incident's scheduled escalation still runs, only the shortcut past an
 * unreachable address is lost.
 * @returns false when skipped; SQS errors are thrown (the caller's work is then retried through its backlog)
 */
export async function sendUnreachableTimer(timer: UnreachableTimer): Promise<boolean> {
  if (!queueUrl) {
    logger.warn('escalation timer not sent: ALERT_QUEUE_URL is not set', { incidentId: timer.incidentId, reason: timer.reason });
    return false;
  }
  const [{ SendMessageCommand }, sqs] = await Promise.all([import('@aws-sdk/client-sqs'), sqsClient()]);
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(timer) }));
  return true;
}
