import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfigurationError, getCredentials, refreshAfterRejection, TwilioCredentials } from '../shared/credentials';
import type { IncidentStore } from '../shared/incidents/store';
import { InvalidTimerError, isTimerBody, readTimer, Timer } from '../shared/incidents/timers';
import { maskAddress, maskNumbersInText } from '../shared/mask';
import { createMessageWithRetry, CreateResult, POST_5XX_SETTLE_MS } from './create-message';
import { isNoTimeLeft, MIN_ATTEMPT_MS, TwilioMessage } from '../shared/twilio-client';
import { TwilioApiError } from '../shared/twilio-errors';
import { Claim, ClaimState, ClaimStore } from '../shared/table/claims';
import type { SenderSettings } from './config';
import { commandOf, fireTimer, handleIncidentNotification, IncidentContext } from './incidents/flow';
import { findSentMessage } from './lookup';
import { buildMessage, OutboundMessage } from './message-params';
import { writeMessageRecord } from '../shared/table/messages';
import { countConfigurationError, countFailed, countOutcomeUnknown, countRetry, countSent, countUnclassified, logger } from './observability';
import { Notification, parseNotification, unwrapRecord } from './parse-notification';
import type { Semaphore } from './semaphore';
import { checkRecipients, InvalidNotificationError, isAddress } from './validate';

/**
 * What becomes of an SQS record: done (sent, skipped or failed for good),
 * retry (left to SQS redelivery, spending one of its receives), or deferred:
 * nothing went wrong but time (a claim held by another invocation until
 * `until`, an answer that did not come in time, a time budget spent waiting
 * for a slot), so it is worth trying again later without spending a receive
 * (index.ts, defer.ts).
 */
export type RecordOutcome = 'done' | 'retry' | DeferredRecord;
/** One recipient's outcome. */
type RecipientOutcome = 'done' | 'retry' | Deferred;
export interface Deferred {
  /** Epoch ms before which another attempt is pointless (now, when only this invocation's time ran out). */
  readonly deferUntil: number;
}
export interface DeferredRecord extends Deferred {
  /** The id the copy must keep (its SQS message id will differ). */
  readonly notificationId: string;
  /** Some recipient was sent (or found sent) in this invocation: slow, but not stuck. */
  readonly progressed: boolean;
}

export interface SendContext {
  readonly settings: SenderSettings;
  readonly db: DynamoDBClient;
  readonly claims: ClaimStore;
  /**
   * Bounds the Twilio requests in flight across the whole batch (the
   * fan-out bound, sendConcurrency). DynamoDB work around them is not
   * bounded by it, so a slot is held only while Twilio is being asked.
   */
  readonly semaphore: Semaphore;
  /** Epoch ms: no Twilio request may still be running after this (the function's own timeout, less a margin). */
  readonly deadline: number;
  /**
   * Senders found misconfigured in this invocation (ALL_SENDERS for the
   * credentials): their other messages are kept for redrive without a POST
   * that would be refused the same way.
   */
  readonly held: Map<string, string>;
  readonly incidents: IncidentStore;
  /** Where timers go; absent in a harness without a queue (no escalation can then be configured). */
  readonly alertQueueUrl?: string;
}

/** How often a record was received and deferred: what bounds its retries. */
type Received = Pick<QueuedRecord, 'receiveCount' | 'deferrals'>;

/** The record as SQS delivered it, as far as the sender reads it. */
export interface QueuedRecord {
  readonly messageId: string;
  readonly body: string;
  /** SQS's ApproximateReceiveCount of this copy (1 on its first receive). */
  readonly receiveCount: number;
  /** Set on a copy the sender itself deferred: the notification id of the original (a raw record's is its first SQS message id). */
  readonly notificationId?: string;
  /** Deferrals counted so far (defer.ts; 0 on a record never deferred). */
  readonly deferrals?: number;
}

/** One recipient of one notification. */
interface Job {
  readonly notification: Notification;
  readonly notificationId: string;
  readonly msg: OutboundMessage;
  readonly tally: Tally;
  readonly ctx: SendContext;
  readonly receiveCount: number;
  readonly incidentId?: string;
  readonly page: boolean;
  /** Called once the recipient's claim is settled: sent, failed or unknown, now or by an earlier invocation. */
  readonly settle: (state: ClaimState, now: boolean) => void;
  /** Deferrals of the record so far: logged with a lookup's doubts. */
  readonly deferrals: number;
}

/** What became of a notification's recipients in this invocation: one log line per record, not one per message. */
interface Tally {
  sent: number;
  alreadyDone: number;
  failed: number;
  unknown: number;
  held: number;
}

/** Failed lookups (Twilio unreachable) after which a crashed claim is left to an operator. */
export const MAX_DOUBTS = 3;
/**
 * An error code the failure table does not know is retried on this many
 * receives of the record, then recorded failed (UnclassifiedTwilioErrors):
 * a new transient code gets a few chances, a new permanent one costs a few
 * POSTs, and neither loses the page silently. Never more than the queue's
 * maxReceiveCount (settings), so the failure is recorded on the last receive
 * at the latest rather than dead-lettered.
 */
export const MAX_UNCLASSIFIED_RECEIVES = 3;
/** Key of `SendContext.held` when the credentials themselves are refused: every sender is held. */
const ALL_SENDERS = '*';
/** A POST must end this long before its claim's lease does. */
const LEASE_MARGIN_MS = 1_000;
/**
 * A claim whose lease ends within this long is waited for rather than
 * deferred: short leases (claimLeaseSeconds is configurable) end before a
 * deferred copy would come back.
 */
const MAX_LEASE_WAIT_MS = 5_000;
/** Time a recipient needs after a wait: a lookup, a POST attempt, the writes. */
const SEND_BUDGET_MS = 2_500;

/** Configuration errors already logged in this execution environment (by class and sender): logged once, counted always. */
const loggedConfiguration = new Set<string>();

/** One SQS record: every recipient done, `retry` if any must be tried again later, or deferred if only time stood in the way. */
export async function processRecord(record: QueuedRecord, ctx: SendContext): Promise<RecordOutcome> {
  const queued = unwrapRecord({ messageId: record.notificationId ?? record.messageId, body: record.body });
  const { notificationId, message } = queued;
  const { published } = queued;
  // Only a body sent straight to the queue can be a timer: one published to the topic arrives in an SNS envelope.
  if (!published) {
    const timer = readRawTimer(message);
    if (timer instanceof InvalidTimerError) {
      if (await ctx.claims.recordFailedNotification(notificationId, timer.message, Date.now())) countFailed('invalid-timer', timer.message);
      logger.warn('timer can never fire', { notificationId, reason: timer.message });
      return 'done';
    }
    if (timer) return withNotificationId(await fireTimer(timer, incidentContext(ctx, record)), notificationId);
  }
  let notification: Notification;
  try {
    notification = parseNotification(queued, ctx.settings, ctx.settings.allowed);
  } catch (err) {
    if (!(err instanceof InvalidNotificationError)) throw err;
    if (await ctx.claims.recordFailedNotification(notificationId, err.message, Date.now())) countFailed('invalid-notification', err.message);
    logger.warn('notification can never be sent', { notificationId, reason: err.message, length: message.length });
    return 'done';
  }

  let recipients = notification.kind === 'envelope' && notification.to ? notification.to : ctx.settings.defaultRecipients;
  const command = commandOf(notification);
  if (command) {
    const result = await handleIncidentNotification(command, notificationId, incidentContext(ctx, record));
    if (!result.plain) return withNotificationId(result, notificationId);
    // An alarm state that concerns no live incident is sent as before incidents, to whoever an incident's first page would reach.
    recipients = ctx.settings.escalation.stages[0].recipients;
  }
  const sent = await deliverAll({ notification, notificationId, recipients, page: false }, ctx, record);
  return withNotificationId(sent, notificationId);
}

/** The record's outcome from a delivery's or the incident flow's. */
function withNotificationId(result: { readonly outcome: RecipientOutcome; readonly progressed: boolean }, notificationId: string): RecordOutcome {
  return typeof result.outcome === 'object' ? { deferUntil: result.outcome.deferUntil, notificationId, progressed: result.progressed } : result.outcome;
}

/** A raw body that is a timer; the reason when it claims to be one and is not; undefined for anything else. */
function readRawTimer(message: string): Timer | InvalidTimerError | undefined {
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

function incidentContext(ctx: SendContext, queued: Received): IncidentContext {
  const { settings } = ctx;
  return {
    store: ctx.incidents,
    plan: settings.escalation,
    allowUnicode: settings.allowUnicode,
    ...(ctx.alertQueueUrl ? { alertQueueUrl: ctx.alertQueueUrl } : {}),
    claimLeaseMs: settings.claimLeaseMs,
    deliver: (d) => deliverAll(d, ctx, queued),
    sendable: (recipients) => checkRecipients(recipients, settings.allowed, channels(settings)).accepted,
  };
}

function channels(settings: SenderSettings): { readonly sms: boolean; readonly whatsapp: boolean } {
  return {
    sms: settings.from !== undefined || settings.messagingServiceSid !== undefined,
    whatsapp: settings.whatsappFrom !== undefined || settings.messagingServiceSid !== undefined,
  };
}

/** One text to a list of recipients, each claimed under `notificationId`. */
export interface Delivery {
  readonly notification: Notification;
  readonly notificationId: string;
  readonly recipients: readonly string[];
  /** The incident the text belongs to: its message items carry it. */
  readonly incidentId?: string;
  /** A page (not a RESOLVED or a plain text): its message items join the alerts-by-recipient index. */
  readonly page: boolean;
  /** Recipients not to send to, each recorded as a failed claim with the reason (opted out). */
  readonly refused?: ReadonlyMap<string, string>;
}

export interface RecipientSettlement {
  readonly state: ClaimState;
  /** Settled by this invocation (not found settled by an earlier one). */
  readonly now: boolean;
}

export interface DeliveryResult {
  readonly outcome: 'done' | 'retry' | Deferred;
  /** Some recipient was sent (or found sent) in this invocation. */
  readonly progressed: boolean;
  /** What became of each recipient that is settled (sent, failed or unknown); pending ones are absent. */
  readonly settled: ReadonlyMap<string, RecipientSettlement>;
}

/** Sends one text to each recipient exactly once (claim → POST → record); rejected and refused recipients are recorded failed. */
export async function deliverAll(d: Delivery, ctx: SendContext, queued: Received): Promise<DeliveryResult> {
  const { notification, notificationId } = d;
  const { settings } = ctx;
  const refused = d.refused ?? new Map<string, string>();
  const check = checkRecipients(d.recipients.filter((r) => !refused.has(r)), settings.allowed, channels(settings));
  const settled = new Map<string, RecipientSettlement>();
  const rejected = [...check.rejected.map((r) => ({ ...r, code: 'invalid-recipient' })), ...[...refused].map(([recipient, reason]) => ({ recipient, reason, code: reason }))];
  await Promise.all(
    rejected.map(async ({ recipient, reason, code }) => {
      // An arbitrary string is no key: keep the claim id within DynamoDB's limits.
      const key = isAddress(recipient) ? recipient : `invalid:${recipient.slice(0, 40)}`;
      const recorded = await ctx.claims.recordRejectedRecipient(notificationId, key, reason, Date.now());
      if (recorded) countFailed(code, reason);
      settled.set(recipient, { state: 'failed', now: recorded });
      logger.warn('recipient rejected', { notificationId, to: maskAddress(recipient), reason });
    }),
  );

  const tally: Tally = { sent: 0, alreadyDone: 0, failed: rejected.length, unknown: 0, held: 0 };
  const outcomes = await Promise.all(
    check.accepted.map((to) =>
      deliver({
        notification,
        notificationId,
        msg: buildMessage(notification, to, settings),
        tally,
        ctx,
        receiveCount: queued.receiveCount,
        deferrals: queued.deferrals ?? 0,
        ...(d.incidentId !== undefined ? { incidentId: d.incidentId } : {}),
        page: d.page,
        settle: (state, now) => settled.set(to, { state, now }),
      }).catch((err: unknown): RecipientOutcome => {
        // DynamoDB or Secrets Manager trouble: the claim protocol makes a redelivery safe.
        logger.error('send to recipient failed, will retry', { notificationId, to: maskAddress(to), error: errorSummary(err) });
        return 'retry';
      }),
    ),
  );
  const retry = outcomes.filter((o) => o === 'retry').length;
  const deferred = outcomes.filter((o): o is Deferred => typeof o === 'object');
  logger.info('notification processed', {
    notificationId,
    kind: notification.kind,
    ...(d.incidentId !== undefined ? { incidentId: d.incidentId } : {}),
    recipients: d.recipients.length,
    ...tally,
    retry,
    deferred: deferred.length,
  });
  const progressed = tally.sent > 0;
  if (retry > 0) return { outcome: 'retry', progressed, settled };
  // Every deferred recipient must have its chance: the copy comes back when the latest is due.
  if (deferred.length > 0) return { outcome: { deferUntil: Math.max(...deferred.map((x) => x.deferUntil)) }, progressed, settled };
  return { outcome: 'done', progressed, settled };
}

function errorSummary(err: unknown): Record<string, unknown> {
  const e = err as { name?: string; message?: string; code?: string };
  return { name: e?.name, message: maskNumbersInText(String(e?.message ?? err)), ...(e?.code ? { code: e.code } : {}) };
}

/** The sender a message goes from: what a sender-scoped configuration error holds. */
function senderOf(msg: OutboundMessage): string {
  return msg.from ?? msg.messagingServiceSid ?? ALL_SENDERS;
}

/** Claim → POST → record, for one recipient. */
async function deliver(job: Job): Promise<RecipientOutcome> {
  const { notificationId, msg, ctx } = job;
  const leaseMs = ctx.settings.claimLeaseMs;
  const lostAnswer = (err: unknown) => logger.warn('claim write got no answer: reading it back', { notificationId, to: maskAddress(msg.to), error: errorSummary(err) });
  let result = await ctx.claims.claim(notificationId, msg.to, Date.now(), leaseMs, lostAnswer);
  // Released between our put and our read, or a lost put that never landed: claim again, once.
  if (!result.won && result.existing === undefined) result = await ctx.claims.claim(notificationId, msg.to, Date.now(), leaseMs, lostAnswer);
  if (result.won) return post(job, result.claim);

  let existing = result.existing;
  if (existing && existing.state === 'pending' && existing.leaseUntil > Date.now()) {
    // Held by another invocation (a duplicate running now), or by a request whose answer never came.
    const wait = existing.leaseUntil - Date.now() + 50;
    if (wait > MAX_LEASE_WAIT_MS || Date.now() + wait + SEND_BUDGET_MS > ctx.deadline) return { deferUntil: existing.leaseUntil };
    await new Promise((resolve) => setTimeout(resolve, wait));
    existing = await ctx.claims.get(existing.id);
    if (existing?.state === 'pending' && existing.leaseUntil > Date.now()) return { deferUntil: existing.leaseUntil };
  }
  if (!existing) return 'retry';
  if (existing.state !== 'pending') {
    logger.debug('recipient already handled', { notificationId, to: maskAddress(msg.to), state: existing.state });
    job.settle(existing.state, false);
    job.tally.alreadyDone++;
    return 'done';
  }
  return recover(job, existing);
}

/**
 * Runs a Twilio call with the current credentials (a cache hit), taken when
 * the call is about to start, so each call knows which it used. When Twilio
 * refuses them, the credentials owner is told exactly which were refused and
 * the call is made once more with what it answers; when nothing newer exists
 * the refusal stands (a configuration error).
 */
async function withCredentials<T>(call: (credentials: TwilioCredentials) => Promise<T>): Promise<T> {
  const used = await getCredentials();
  try {
    return await call(used);
  } catch (err) {
    if (!(err instanceof TwilioApiError) || !err.isAuthentication) throw err;
    const fresh = await refreshAfterRejection(used);
    if (!fresh) throw err;
    return call(fresh);
  }
}

/** A Twilio answer or secret that no retry will change until an operator acts. */
function isConfiguration(err: unknown): err is ConfigurationError | TwilioApiError {
  return err instanceof ConfigurationError || (err instanceof TwilioApiError && err.failureClass === 'configuration');
}

/**
 * Counts a configuration error and logs it once per execution environment
 * (per code and sender), and holds the sender (or every sender, for the
 * credentials) for the rest of the invocation.
 */
function noteConfiguration(job: Job, err: ConfigurationError | TwilioApiError): void {
  const { ctx, msg, notificationId } = job;
  const scope = err instanceof TwilioApiError && err.senderScoped ? senderOf(msg) : ALL_SENDERS;
  const reason = maskNumbersInText(err.message);
  ctx.held.set(scope, reason);
  countConfigurationError();
  job.tally.held++;
  const code = err instanceof TwilioApiError ? err.code ?? String(err.httpStatus) : 'secret';
  const key = `${code}|${scope}`;
  if (loggedConfiguration.has(key)) return;
  loggedConfiguration.add(key);
  logger.error('Twilio configuration error: records kept for redrive until it is fixed', {
    notificationId,
    to: maskAddress(msg.to),
    code,
    sender: scope === ALL_SENDERS ? 'all' : maskAddress(scope),
    reason,
  });
}

/**
 * A pending claim whose lease expired: its holder crashed, or its request
 * got no answer. Its requests are over (the lease covered them), so Twilio's
 * message log tells whether one created a message.
 */
async function recover(job: Job, claim: Claim): Promise<RecipientOutcome> {
  const { notificationId, msg, ctx } = job;
  const to = maskAddress(msg.to);
  if (ctx.held.has(ALL_SENDERS)) {
    job.tally.held++;
    countConfigurationError();
    return 'retry';
  }
  const outOfTime = (): Deferred => {
    // No lookup was made, so nothing is in doubt: the claim stays as it is and the copy looks up later.
    logger.info('no time left to look up an interrupted send: deferred', { notificationId, to });
    return { deferUntil: Date.now() };
  };
  if (ctx.deadline - Date.now() < MIN_ATTEMPT_MS) return outOfTime();
  let found: TwilioMessage | undefined;
  try {
    found = await ctx.semaphore.run(() => withCredentials((credentials) => findSentMessage(ctx.db, ctx.settings.tableName, credentials, msg, notificationId, claim, ctx.deadline)));
  } catch (err) {
    if (isConfiguration(err)) {
      // Refused credentials say nothing about the message: no doubt counted, the claim stays as it is.
      noteConfiguration(job, err);
      return 'retry';
    }
    // The time ran out waiting for a slot or between pages: a doubt is only a request that failed.
    if (isNoTimeLeft(err)) return outOfTime();
    const why = maskNumbersInText(String((err as Error)?.message ?? err));
    const doubts = await ctx.claims.addDoubt(claim, why, Date.now());
    if (doubts === undefined) return 'retry';
    // What an operator needs to tell a flaky Twilio from a record running out of chances.
    const details = { notificationId, to, doubts, why, receiveCount: job.receiveCount, deferrals: job.deferrals, attempts: claim.attempts, claimedAt: claim.createdAt };
    if (doubts < MAX_DOUBTS) {
      logger.warn('could not look up an interrupted send, will retry', { ...details, error: errorSummary(err) });
      return 'retry';
    }
    if (await ctx.claims.markUnknown(claim, `Twilio lookup failed ${doubts} times (last: ${why}): check the message log`, Date.now())) countOutcomeUnknown();
    job.settle('unknown', true);
    job.tally.unknown++;
    logger.error('interrupted send left for an operator: outcome unknown', details);
    return 'done';
  }
  if (found) {
    logger.info('interrupted send had reached Twilio: recorded, not resent', { notificationId, to, sid: found.sid });
    await recordAccepted(job, claim, found, true);
    job.settle('sent', true);
    job.tally.sent++;
    return 'done';
  }
  const taken = await ctx.claims.takeOver(claim, Date.now(), ctx.settings.claimLeaseMs);
  if (!taken) return 'retry';
  logger.info('interrupted send had not reached Twilio: sending', { notificationId, to, attempts: taken.attempts });
  return post(job, taken);
}

async function post(job: Job, claim: Claim): Promise<RecipientOutcome> {
  const { notificationId, msg, ctx } = job;
  const deadline = Math.min(ctx.deadline, claim.leaseUntil - LEASE_MARGIN_MS);
  const to = maskAddress(msg.to);
  const heldReason = ctx.held.get(senderOf(msg)) ?? ctx.held.get(ALL_SENDERS);
  if (heldReason !== undefined) {
    // Refused moments ago for the same reason: kept for redrive without another POST.
    await ctx.claims.release(claim, false, Date.now());
    countConfigurationError();
    job.tally.held++;
    logger.debug('sender held by a configuration error: kept for redrive', { notificationId, to });
    return 'retry';
  }
  let mayHaveCreated = false;
  let retried = false;
  let started = Date.now();
  let result: CreateResult;
  try {
    result = await ctx.semaphore.run(() => {
      // Latency counts from the first attempt, not from the wait for a slot.
      started = Date.now();
      const lookUp = (credentials: TwilioCredentials) => findSentMessage(ctx.db, ctx.settings.tableName, credentials, msg, notificationId, claim, deadline);
      return withCredentials(async (credentials) => {
        // Called again after refused credentials: if an earlier attempt got a 5xx, its message may exist, so the log decides before any POST.
        if (mayHaveCreated) {
          const found = await lookUp(credentials);
          if (found) return { message: found, attempts: 0, foundByLookup: true };
        }
        return createMessageWithRetry(credentials, msg.params, {
            deadline,
            onRetry: (err, n, delayMs) => {
              retried = true;
              if (err.mayHaveCreated) mayHaveCreated = true;
              countRetry();
              logger.info('Twilio request will be retried', { notificationId, to, attempt: n, delayMs, httpStatus: err.httpStatus, code: err.code });
            },
          // A 5xx may hide a created message: the log decides before a second POST.
          lookUpBeforeRepost: () => lookUp(credentials),
        });
      });
    });
  } catch (err) {
    if (isConfiguration(err)) {
      noteConfiguration(job, err);
      await ctx.claims.release(claim, mayHaveCreated, Date.now());
      return 'retry';
    }
    if (!(err instanceof TwilioApiError)) {
      // Secrets Manager trouble: nothing went out unless an earlier attempt did.
      await ctx.claims.release(claim, mayHaveCreated, Date.now()).catch(() => undefined);
      throw err;
    }
    return handleFailure(job, claim, err, mayHaveCreated, retried);
  }
  const accepted = result.message;
  if (result.foundByLookup) logger.info('a 5xx had hidden a created message: recorded, not resent', { notificationId, to, sid: accepted.sid });
  else countSent(Date.now() - started);
  await recordAccepted(job, claim, accepted, result.foundByLookup);
  job.settle('sent', true);
  job.tally.sent++;
  logger.debug('message accepted by Twilio', { notificationId, to, sid: accepted.sid, status: accepted.status, channel: msg.channel });
  return 'done';
}

async function handleFailure(job: Job, claim: Claim, err: TwilioApiError, mayHaveCreated: boolean, retried: boolean): Promise<RecipientOutcome> {
  const { notificationId, msg, ctx } = job;
  const to = maskAddress(msg.to);
  const reason = maskNumbersInText(err.message);
  const code = err.code ?? String(err.httpStatus ?? 'unknown');
  const details = { notificationId, to, httpStatus: err.httpStatus, code: err.code, reason };
  switch (err.failureClass) {
    case 'permanent':
      if (await ctx.claims.markFailed(claim, reason, err.code, Date.now())) countFailed(code, reason);
      if (err.countsConfigurationError) countConfigurationError();
      job.settle('failed', true);
      job.tally.failed++;
      logger.warn('Twilio refused the message for this recipient: not retried', details);
      return 'done';
    case 'unclassified':
      if (job.receiveCount < Math.min(MAX_UNCLASSIFIED_RECEIVES, ctx.settings.maxReceiveCount)) {
        // A 4xx is Twilio's answer: nothing was created, unless an earlier 5xx did.
        await ctx.claims.release(claim, mayHaveCreated, Date.now());
        logger.warn('Twilio error code not in the failure table: retried on a later receive', { ...details, receiveCount: job.receiveCount });
        return 'retry';
      }
      if (await ctx.claims.markFailed(claim, reason, err.code, Date.now())) {
        countFailed(code, reason);
        countUnclassified(code);
      }
      job.settle('failed', true);
      job.tally.failed++;
      logger.error('Twilio error code not in the failure table, still refused: recorded failed', { ...details, receiveCount: job.receiveCount });
      return 'done';
    case 'unknown':
      await ctx.claims.noteUnknownOutcome(claim, `no answer from Twilio: ${reason}`, Date.now());
      countOutcomeUnknown();
      logger.error('Twilio request outcome unknown: a lookup decides after the claim lease', { ...details, leaseUntil: new Date(claim.leaseUntil).toISOString() });
      // No answer in time is slowness, not a refusal: the lookup is due when the lease ends.
      return { deferUntil: claim.leaseUntil };
    case 'transient':
      break;
  }
  // Transient (a configuration error never gets here: post() holds the sender first).
  const mayExist = mayHaveCreated || err.mayHaveCreated;
  await ctx.claims.release(claim, mayExist, Date.now());
  if (isNoTimeLeft(err) && !retried) {
    // No request went out: this invocation's time was spent (waiting for a slot, or on other recipients).
    logger.info('no time left for this recipient: deferred', { notificationId, to });
    return { deferUntil: Date.now() };
  }
  if (mayExist) {
    // Released with its lease ended: the next delivery looks Twilio up before any POST, once the message had time to appear.
    logger.warn('a 5xx may hide a created message and no time is left to look it up: deferred to a lookup', details);
    return { deferUntil: Date.now() + POST_5XX_SETTLE_MS };
  }
  logger.warn('Twilio unavailable: left to SQS redelivery', details);
  return 'retry';
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
        ...(job.incidentId !== undefined ? { incidentId: job.incidentId } : {}),
        page: job.page || notification.kind === 'alarm',
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
