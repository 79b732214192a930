import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { forgetCredentials, getCredentials, TwilioCredentials } from '../shared/credentials';
import { maskAddress, maskNumbersInText } from '../shared/mask';
import { authorizationHeader, createMessageWithRetry, TwilioMessage } from '../shared/twilio-client';
import { AUTHENTICATION_ERROR_CODE, TwilioApiError } from '../shared/twilio-errors';
import { Claim, ClaimStore } from './claims';
import type { SenderSettings } from './config';
import { findSentMessage } from './lookup';
import { buildMessage, OutboundMessage } from './message-params';
import { writeMessageRecord } from './message-record';
import { countFailed, countOutcomeUnknown, countRetry, countSent, logger } from './observability';
import { Notification, parseNotification, unwrapRecord } from './parse-notification';
import type { Semaphore } from './semaphore';
import { checkRecipients, InvalidNotificationError, isAddress } from './validate';

/** What becomes of an SQS record: done (sent, skipped or failed for good), or retry (left to SQS redelivery). */
export type RecordOutcome = 'done' | 'retry';

export interface SendContext {
  readonly settings: SenderSettings;
  readonly db: DynamoDBClient;
  readonly claims: ClaimStore;
  /** The credentials in use; replaced when Twilio rejects them and the secret holds newer ones. */
  credentials: TwilioCredentials;
  /**
   * Bounds the Twilio requests in flight across the whole batch (the
   * fan-out bound, sendConcurrency). DynamoDB work around them is not
   * bounded by it, so a slot is held only while Twilio is being asked.
   */
  readonly semaphore: Semaphore;
  /** Epoch ms: no Twilio request may still be running after this (the function's own timeout, less a margin). */
  readonly deadline: number;
}

/** One recipient of one notification. */
interface Job {
  readonly notification: Notification;
  readonly notificationId: string;
  readonly msg: OutboundMessage;
  readonly tally: Tally;
  readonly ctx: SendContext;
}

/** What became of a notification's recipients in this invocation: one log line per record, not one per message. */
interface Tally {
  sent: number;
  alreadyDone: number;
  failed: number;
  unknown: number;
}

/** Failed lookups (Twilio unreachable) after which a crashed claim is left to an operator. */
export const MAX_DOUBTS = 3;
/** A POST must end this long before its claim's lease does. */
const LEASE_MARGIN_MS = 1_000;
/**
 * A claim whose lease ends within this long is waited for rather than
 * handed back to SQS: each redelivery that finds it still held would spend
 * one of the record's receives, and short leases (claimLeaseSeconds is
 * configurable) could send the record to the DLQ before anyone decides.
 */
const MAX_LEASE_WAIT_MS = 5_000;
/** Time a recipient needs after a wait: a lookup, a POST attempt, the writes. */
const SEND_BUDGET_MS = 2_500;

/** One SQS record: every recipient done, or `retry` if any must be tried again later. */
export async function processRecord(record: { readonly messageId: string; readonly body: string }, ctx: SendContext): Promise<RecordOutcome> {
  const { notificationId, message } = unwrapRecord(record);
  let notification: Notification;
  try {
    notification = parseNotification(message, ctx.settings.allowUnicode, ctx.settings.allowed);
  } catch (err) {
    if (!(err instanceof InvalidNotificationError)) throw err;
    if (await ctx.claims.recordFailedNotification(notificationId, err.message, Date.now())) countFailed('invalid-notification', err.message);
    logger.warn('notification can never be sent', { notificationId, reason: err.message, length: message.length });
    return 'done';
  }

  const recipients = notification.kind === 'envelope' && notification.to ? notification.to : ctx.settings.defaultRecipients;
  const { settings } = ctx;
  const check = checkRecipients(recipients, settings.allowed, {
    sms: settings.from !== undefined || settings.messagingServiceSid !== undefined,
    whatsapp: settings.whatsappFrom !== undefined || settings.messagingServiceSid !== undefined,
  });
  await Promise.all(
    check.rejected.map(async ({ recipient, reason }) => {
      // An arbitrary string is no key: keep the claim id within DynamoDB's limits.
      const key = isAddress(recipient) ? recipient : `invalid:${recipient.slice(0, 40)}`;
      if (await ctx.claims.recordRejectedRecipient(notificationId, key, reason, Date.now())) countFailed('invalid-recipient', reason);
      logger.warn('recipient rejected', { notificationId, to: maskAddress(recipient), reason });
    }),
  );

  const tally: Tally = { sent: 0, alreadyDone: 0, failed: check.rejected.length, unknown: 0 };
  const outcomes = await Promise.all(
    check.accepted.map((to) =>
      deliver({ notification, notificationId, msg: buildMessage(notification, to, settings), tally, ctx }).catch((err: unknown): RecordOutcome => {
        // DynamoDB or Secrets Manager trouble: the claim protocol makes a redelivery safe.
        logger.error('send to recipient failed, will retry', { notificationId, to: maskAddress(to), error: errorSummary(err) });
        return 'retry';
      }),
    ),
  );
  const retry = outcomes.filter((o) => o === 'retry').length;
  logger.info('notification processed', { notificationId, kind: notification.kind, recipients: recipients.length, ...tally, retry });
  return retry > 0 ? 'retry' : 'done';
}

function errorSummary(err: unknown): Record<string, unknown> {
  const e = err as { name?: string; message?: string; code?: string };
  return { name: e?.name, message: maskNumbersInText(String(e?.message ?? err)), ...(e?.code ? { code: e.code } : {}) };
}

/** Claim → POST → record, for one recipient. */
async function deliver(job: Job): Promise<RecordOutcome> {
  const { notificationId, msg, ctx } = job;
  const leaseMs = ctx.settings.claimLeaseMs;
  let result = await ctx.claims.claim(notificationId, msg.to, Date.now(), leaseMs);
  // Released between our put and our read: claim again, once.
  if (!result.won && result.existing === undefined) result = await ctx.claims.claim(notificationId, msg.to, Date.now(), leaseMs);
  if (result.won) return post(job, result.claim);

  let existing = result.existing;
  if (existing && existing.state === 'pending' && existing.leaseUntil > Date.now()) {
    // Held by another invocation (a duplicate running now), or by a request whose answer never came.
    const wait = existing.leaseUntil - Date.now() + 50;
    if (wait > MAX_LEASE_WAIT_MS || Date.now() + wait + SEND_BUDGET_MS > ctx.deadline) return 'retry';
    await new Promise((resolve) => setTimeout(resolve, wait));
    existing = await ctx.claims.get(existing.id);
    if (existing?.state === 'pending' && existing.leaseUntil > Date.now()) return 'retry';
  }
  if (!existing) return 'retry';
  if (existing.state !== 'pending') {
    logger.debug('recipient already handled', { notificationId, to: maskAddress(msg.to), state: existing.state });
    job.tally.alreadyDone++;
    return 'done';
  }
  return recover(job, existing);
}

/**
 * A pending claim whose lease expired: its holder crashed, or its request
 * got no answer. Its requests are over (the lease covered them), so Twilio's
 * message log tells whether one created a message.
 */
async function recover(job: Job, claim: Claim): Promise<RecordOutcome> {
  const { notificationId, msg, ctx } = job;
  const to = maskAddress(msg.to);
  let found: TwilioMessage | undefined;
  try {
    found = await ctx.semaphore.run(() => findSentMessage(ctx.db, ctx.settings.tableName, ctx.credentials, msg, notificationId, claim, ctx.deadline));
  } catch (err) {
    const doubts = await ctx.claims.addDoubt(claim, Date.now());
    if (doubts === undefined) return 'retry';
    if (doubts < MAX_DOUBTS) {
      logger.warn('could not look up an interrupted send, will retry', { notificationId, to, doubts, error: errorSummary(err) });
      return 'retry';
    }
    if (await ctx.claims.markUnknown(claim, `Twilio lookup failed ${doubts} times: check the message log`, Date.now())) countOutcomeUnknown();
    job.tally.unknown++;
    logger.error('interrupted send left for an operator: outcome unknown', { notificationId, to, doubts, claimId: claim.id });
    return 'done';
  }
  if (found) {
    logger.info('interrupted send had reached Twilio: recorded, not resent', { notificationId, to, sid: found.sid });
    await recordAccepted(job, claim, found, true);
    job.tally.sent++;
    return 'done';
  }
  const taken = await ctx.claims.takeOver(claim, Date.now(), ctx.settings.claimLeaseMs);
  if (!taken) return 'retry';
  logger.info('interrupted send had not reached Twilio: sending', { notificationId, to, attempts: taken.attempts });
  return post(job, taken);
}

async function post(job: Job, claim: Claim): Promise<RecordOutcome> {
  const { notificationId, msg, ctx } = job;
  const deadline = Math.min(ctx.deadline, claim.leaseUntil - LEASE_MARGIN_MS);
  const to = maskAddress(msg.to);
  let mayHaveCreated = false;
  let started = Date.now();
  const attempt = (credentials: TwilioCredentials) =>
    ctx.semaphore.run(() => {
      // Latency counts from the first attempt, not from the wait for a slot.
      started = Date.now();
      return createMessageWithRetry(credentials, msg.params, {
        deadline,
        onRetry: (err, n, delayMs) => {
          if (err.httpStatus !== undefined && err.httpStatus >= 500) mayHaveCreated = true;
          countRetry();
          logger.info('Twilio request will be retried', { notificationId, to, attempt: n, delayMs, httpStatus: err.httpStatus, code: err.code });
        },
      });
    });
  let accepted: TwilioMessage;
  try {
    try {
      accepted = (await attempt(ctx.credentials)).message;
    } catch (err) {
      if (!(err instanceof TwilioApiError) || err.code !== AUTHENTICATION_ERROR_CODE) throw err;
      // Rotated credentials: our cached copy may be older than the secret.
      const fresh = await refreshCredentials(ctx);
      if (!fresh) throw err;
      accepted = (await attempt(fresh)).message;
    }
  } catch (err) {
    if (!(err instanceof TwilioApiError)) throw err;
    return handleFailure(job, claim, err, mayHaveCreated);
  }
  countSent(Date.now() - started);
  await recordAccepted(job, claim, accepted);
  job.tally.sent++;
  logger.debug('message accepted by Twilio', { notificationId, to, sid: accepted.sid, status: accepted.status, channel: msg.channel });
  return 'done';
}

/** Re-reads the secret after Twilio's 20003; the new credentials when they differ from those just rejected. */
async function refreshCredentials(ctx: SendContext): Promise<TwilioCredentials | undefined> {
  const rejected = authorizationHeader(ctx.credentials);
  forgetCredentials();
  const fresh = await getCredentials();
  if (authorizationHeader(fresh) === rejected) return undefined;
  ctx.credentials = fresh;
  return fresh;
}

async function handleFailure(job: Job, claim: Claim, err: TwilioApiError, mayHaveCreated: boolean): Promise<RecordOutcome> {
  const { notificationId, msg, ctx } = job;
  const to = maskAddress(msg.to);
  const reason = maskNumbersInText(err.message);
  const details = { notificationId, to, httpStatus: err.httpStatus, code: err.code, reason };
  switch (err.kind) {
    case 'permanent':
      if (await ctx.claims.markFailed(claim, reason, err.code, Date.now())) countFailed(err.code ?? String(err.httpStatus ?? 'unknown'), reason);
      job.tally.failed++;
      logger.warn('Twilio refused the message: not retried', details);
      return 'done';
    case 'unknown':
      await ctx.claims.noteUnknownOutcome(claim, `no answer from Twilio: ${reason}`, Date.now());
      countOutcomeUnknown();
      logger.error('Twilio request outcome unknown: a lookup decides after the claim lease', { ...details, leaseUntil: new Date(claim.leaseUntil).toISOString() });
      return 'retry';
    case 'retryable':
      await ctx.claims.release(claim, mayHaveCreated || (err.httpStatus !== undefined && err.httpStatus >= 500), Date.now());
      logger.warn('Twilio unavailable: left to SQS redelivery', details);
      return 'retry';
  }
}

/**
 * After a 201 (or a message found by a lookup): the message item and the
 * claim's SID are written in parallel, one round trip. Either may be lost
 * to a crash without harm: a claim left pending is settled by the lookup,
 * which finds the message and writes both again.
 */
async function recordAccepted(job: Job, claim: Claim, m: TwilioMessage, foundByLookup = false): Promise<void> {
  const { notification, notificationId, msg, ctx } = job;
  const now = Date.now();
  const segments = m.num_segments !== null && m.num_segments !== undefined ? Number(m.num_segments) : undefined;
  const created = m.date_created ? Date.parse(m.date_created) : Number.NaN;
  await Promise.all([
    writeMessageRecord(
      ctx.db,
      ctx.settings.tableName,
      {
        sid: m.sid,
        status: m.status,
        to: msg.to,
        ...(m.from ? { from: m.from } : msg.from !== undefined ? { from: msg.from } : {}),
        ...(m.messaging_service_sid ? { messagingServiceSid: m.messaging_service_sid } : {}),
        channel: msg.channel,
        notificationId,
        ...(notification.kind === 'alarm' ? { alarmName: notification.alarmName } : {}),
        bodyPreview: msg.preview,
        ...(segments !== undefined && Number.isFinite(segments) ? { segments } : {}),
        ...(m.price ? { price: m.price } : {}),
        ...(m.price_unit ? { priceUnit: m.price_unit } : {}),
        ...(foundByLookup && Number.isFinite(created) ? { acceptedAt: created } : {}),
      },
      now,
    ),
    ctx.claims.markSent(claim, m.sid, now),
  ]);
}
