import type { ConfigurationError, TwilioCredentials } from '../shared/credentials';
import { maskAddress, maskNumbersInText } from '../shared/mask';
import { isNoTimeLeft, MIN_ATTEMPT_MS, TwilioMessage } from '../shared/twilio-client';
import { createMessageWithRetry, CreateResult, POST_5XX_SETTLE_MS } from './create-message';
import { TwilioApiError } from '../shared/twilio-errors';
import { isConfiguration } from './account';
import { Claim, FATE_CODE, Filing } from '../shared/table/claims';
import { claimId, parentIdOf } from '../shared/table/items';
import type { Received, SendContext } from './context';
import { findSentMessage } from './lookup';
import type { OutboundMessage } from './message-params';
import { writeMessageRecord } from '../shared/table/messages';
import { logger } from './observability';
import type { Notification } from './parse-notification';
import type { RecipientResult } from './results';

/*
 * One recipient of one notification, exactly once: claim → POST → record
 * (ARCHITECTURE.md, "One alert, step by step"), answered as a result
 * (results.ts) that says what became of the recipient and what it counts.
 */

/** One recipient of one notification. */
export interface Job {
  readonly notification: Notification;
  readonly notificationId: string;
  readonly msg: OutboundMessage;
  readonly ctx: SendContext;
  readonly received: Received;
  readonly incidentId?: string;
  readonly page: boolean;
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

/** Where the recipient's fate item is filed when no message item can be (items.ts parentIdOf). */
const filingOf = (job: Job): Filing => ({ parentId: parentIdOf(job.notificationId, job.incidentId) });

/** What became of the recipient; never rejects (DynamoDB or Secrets Manager trouble is a retry: the claim protocol makes a redelivery safe). */
export async function sendToRecipient(job: Job): Promise<RecipientResult> {
  return retryOnError(job, deliver(job), 'send to recipient failed, will retry');
}

/** A recipient's work that threw (DynamoDB, Secrets Manager) is a retry, logged once with `message`. */
async function retryOnError<R extends RecipientResult | undefined>(job: Job, work: Promise<R>, message: string): Promise<R | RecipientResult> {
  const result = await work.catch((err: unknown): RecipientResult => ({ to: job.msg.to, kind: 'retry', error: err }));
  if (result?.kind === 'retry' && result.error !== undefined) {
    logger.error(message, { notificationId: job.notificationId, to: maskAddress(job.msg.to), error: errorSummary(result.error) });
  }
  return result;
}

export function errorSummary(err: unknown): Record<string, unknown> {
  const e = err as { name?: string; message?: string; code?: string };
  return { name: e?.name, message: maskNumbersInText(String(e?.message ?? err)), ...(e?.code ? { code: e.code } : {}) };
}

/** The sender a message goes from: what a sender-scoped configuration error holds. */
function senderOf(msg: OutboundMessage): string | undefined {
  return msg.from ?? msg.messagingServiceSid;
}

/** Claim → POST → record, for one recipient. */
async function deliver(job: Job): Promise<RecipientResult> {
  const { notificationId, msg, ctx } = job;
  const { to } = msg;
  const leaseMs = ctx.settings.claimLeaseMs;
  const lostAnswer = (err: unknown) => logger.warn('claim write got no answer: reading it back', { notificationId, to: maskAddress(to), error: errorSummary(err) });
  let result = await ctx.claims.claim(notificationId, to, Date.now(), leaseMs, lostAnswer);
  // Released between our put and our read, or a lost put that never landed: claim again, once.
  if (!result.won && result.existing === undefined) result = await ctx.claims.claim(notificationId, to, Date.now(), leaseMs, lostAnswer);
  if (result.won) return post(job, result.claim);

  const held = await afterLease(job, result.existing);
  return 'result' in held ? held.result : recover(job, held.claim);
}

/**
 * A claim this invocation did not win: waited for when another invocation
 * (a duplicate running now, or a request whose answer never came) holds it
 * for only a little longer, else deferred until its lease ends. Answers the
 * claim once its lease has expired, or the recipient's result when it is
 * settled already or still held.
 */
async function afterLease(job: Job, found: Claim | undefined): Promise<{ readonly claim: Claim } | { readonly result: RecipientResult }> {
  const { notificationId, msg, ctx } = job;
  const { to } = msg;
  let existing = found;
  if (existing && existing.state === 'pending' && existing.leaseUntil > Date.now()) {
    const wait = existing.leaseUntil - Date.now() + 50;
    if (wait > MAX_LEASE_WAIT_MS || Date.now() + wait + SEND_BUDGET_MS > ctx.deadline) return { result: { to, kind: 'deferred', deferUntil: existing.leaseUntil } };
    await new Promise((resolve) => setTimeout(resolve, wait));
    existing = await ctx.claims.get(existing.id);
    if (existing?.state === 'pending' && existing.leaseUntil > Date.now()) return { result: { to, kind: 'deferred', deferUntil: existing.leaseUntil } };
  }
  if (!existing) return { result: { to, kind: 'retry' } };
  if (existing.state !== 'pending') {
    logger.debug('recipient already handled', { notificationId, to: maskAddress(to), state: existing.state });
    return { result: { to, kind: 'already', state: existing.state } };
  }
  return { claim: existing };
}

/**
 * Settles a send an earlier delivery of the same record started, and sends
 * nothing: its incident stopped paging (acknowledged or resolved) since. No
 * claim means nothing was started. A pending claim is waited for like any
 * other; then Twilio's message log decides: a message it has is recorded
 * sent (the phone has the page), and with none the claim is recorded failed
 * with FATE_CODE.PAGE_STOPPED, so that every page's fate is known.
 * @returns undefined when no send was started
 */
export function settleStarted(job: Job): Promise<RecipientResult | undefined> {
  return retryOnError(job, stopped(job), 'settling a stopped page failed, will retry');
}

async function stopped(job: Job): Promise<RecipientResult | undefined> {
  const { notificationId, msg, ctx } = job;
  const existing = await ctx.claims.get(claimId(notificationId, msg.to));
  if (existing === undefined) return undefined;
  const held = await afterLease(job, existing);
  if ('result' in held) return held.result;
  const looked = await lookUpInterrupted(job, held.claim);
  if ('result' in looked) return looked.result;
  if (looked.found) return recordFound(job, held.claim, looked.found, 'interrupted page had reached Twilio before its incident stopped paging: recorded');
  const recorded = await ctx.claims.markFailed(held.claim, 'not sent: its incident was acknowledged or resolved before this page reached Twilio', FATE_CODE.PAGE_STOPPED, filingOf(job), Date.now());
  if (!recorded) return { to: msg.to, kind: 'retry' };
  logger.info('interrupted page not sent: its incident stopped paging', { notificationId, to: maskAddress(msg.to) });
  return { to: msg.to, kind: 'stopped' };
}

/**
 * Holds the sender (or every sender, for the credentials) for the rest of
 * the invocation, and logs the error once per execution environment (per
 * code and sender); the result counts it.
 */
function hold(job: Job, err: ConfigurationError | TwilioApiError): RecipientResult {
  const { ctx, msg, notificationId } = job;
  const reason = maskNumbersInText(err.message);
  const scope = ctx.account.hold(err, senderOf(msg), reason);
  const code = err instanceof TwilioApiError ? err.code ?? String(err.httpStatus) : 'secret';
  const key = `${code}|${scope ?? '*'}`;
  if (!loggedConfiguration.has(key)) {
    loggedConfiguration.add(key);
    logger.error('Twilio configuration error: records kept for redrive until it is fixed', {
      notificationId,
      to: maskAddress(msg.to),
      code,
      sender: scope === undefined ? 'all' : maskAddress(scope),
      reason,
    });
  }
  return { to: msg.to, kind: 'held' };
}

/**
 * A pending claim whose lease expired: its holder crashed, or its request
 * got no answer. Its requests are over (the lease covered them), so Twilio's
 * message log tells whether one created a message.
 */
async function recover(job: Job, claim: Claim): Promise<RecipientResult> {
  const { notificationId, msg, ctx } = job;
  const to = maskAddress(msg.to);
  const looked = await lookUpInterrupted(job, claim);
  if ('result' in looked) return looked.result;
  if (looked.found) return recordFound(job, claim, looked.found, 'interrupted send had reached Twilio: recorded, not resent');
  const taken = await ctx.claims.takeOver(claim, Date.now(), ctx.settings.claimLeaseMs);
  if (!taken) return { to: msg.to, kind: 'retry' };
  logger.info('interrupted send had not reached Twilio: sending', { notificationId, to, attempts: taken.attempts });
  return post(job, taken);
}

/** The message an interrupted send created, found in Twilio's log: recorded as the claim's, never sent again. */
async function recordFound(job: Job, claim: Claim, found: TwilioMessage, message: string): Promise<RecipientResult> {
  logger.info(message, { notificationId: job.notificationId, to: maskAddress(job.msg.to), sid: found.sid });
  await recordAccepted(job, claim, found, true);
  return { to: job.msg.to, kind: 'sent' };
}

/**
 * Twilio's log on a pending claim whose lease expired: the message its send
 * created, or none; or, when the log cannot be read now, the recipient's
 * result (held, deferred, a retry counted as a doubt, unknown after
 * MAX_DOUBTS).
 */
async function lookUpInterrupted(job: Job, claim: Claim): Promise<{ readonly found: TwilioMessage | undefined } | { readonly result: RecipientResult }> {
  const { notificationId, msg, ctx } = job;
  const to = maskAddress(msg.to);
  if (ctx.account.heldReason() !== undefined) return { result: { to: msg.to, kind: 'held' } };
  const outOfTime = (): { result: RecipientResult } => {
    // No lookup was made, so nothing is in doubt: the claim stays as it is and the copy looks up later.
    logger.info('no time left to look up an interrupted send: deferred', { notificationId, to });
    return { result: { to: msg.to, kind: 'deferred', deferUntil: Date.now() } };
  };
  if (ctx.deadline - Date.now() < MIN_ATTEMPT_MS) return outOfTime();
  try {
    return { found: await ctx.semaphore.run(() => ctx.account.call((credentials) => findSentMessage(ctx.db, ctx.settings.tableName, credentials, msg, notificationId, claim, ctx.deadline))) };
  } catch (err) {
    // Refused credentials say nothing about the message: no doubt counted, the claim stays as it is.
    if (isConfiguration(err)) return { result: hold(job, err) };
    // The time ran out waiting for a slot or between pages: a doubt is only a request that failed.
    if (isNoTimeLeft(err)) return outOfTime();
    const why = maskNumbersInText(String((err as Error)?.message ?? err));
    const doubts = await ctx.claims.addDoubt(claim, why, Date.now());
    if (doubts === undefined) return { result: { to: msg.to, kind: 'retry' } };
    // What an operator needs to tell a flaky Twilio from a record running out of chances.
    const details = { notificationId, to, doubts, why, receiveCount: job.received.receiveCount, deferrals: job.received.deferrals, attempts: claim.attempts, claimedAt: claim.createdAt };
    if (doubts < MAX_DOUBTS) {
      logger.warn('could not look up an interrupted send, will retry', { ...details, error: errorSummary(err) });
      return { result: { to: msg.to, kind: 'retry' } };
    }
    const recorded = await ctx.claims.markUnknown(claim, `Twilio lookup failed ${doubts} times (last: ${why}): check the message log`, filingOf(job), Date.now());
    logger.error('interrupted send left for an operator: outcome unknown', details);
    return { result: { to: msg.to, kind: 'unknown', recorded } };
  }
}

async function post(job: Job, claim: Claim): Promise<RecipientResult> {
  const { notificationId, msg, ctx } = job;
  const deadline = Math.min(ctx.deadline, claim.leaseUntil - LEASE_MARGIN_MS);
  const to = maskAddress(msg.to);
  if (ctx.account.heldReason(senderOf(msg)) !== undefined) {
    // Refused moments ago for the same reason: kept for redrive without another POST.
    await ctx.claims.release(claim, false, Date.now());
    logger.debug('sender held by a configuration error: kept for redrive', { notificationId, to });
    return { to: msg.to, kind: 'held' };
  }
  let mayHaveCreated = false;
  let retries = 0;
  let started = Date.now();
  let result: CreateResult;
  try {
    result = await ctx.semaphore.run(() => {
      // Latency counts from the first attempt, not from the wait for a slot.
      started = Date.now();
      const lookUp = (credentials: TwilioCredentials) => findSentMessage(ctx.db, ctx.settings.tableName, credentials, msg, notificationId, claim, deadline);
      return ctx.account.call(async (credentials) => {
        // Called again after refused credentials: if an earlier attempt got a 5xx, its message may exist, so the log decides before any POST.
        if (mayHaveCreated) {
          const found = await lookUp(credentials);
          if (found) return { message: found, attempts: 0, foundByLookup: true };
        }
        return createMessageWithRetry(credentials, msg.params, {
          deadline,
          onRetry: (err, n, delayMs) => {
            retries++;
            if (err.mayHaveCreated) mayHaveCreated = true;
            logger.info('Twilio request will be retried', { notificationId, to, attempt: n, delayMs, httpStatus: err.httpStatus, code: err.code });
          },
          // A 5xx may hide a created message: the log decides before a second POST.
          lookUpBeforeRepost: () => lookUp(credentials),
        });
      });
    });
  } catch (err) {
    if (isConfiguration(err)) {
      const held = hold(job, err);
      await ctx.claims.release(claim, mayHaveCreated, Date.now());
      return { ...held, retries };
    }
    if (!(err instanceof TwilioApiError)) {
      // Secrets Manager trouble: nothing went out unless an earlier attempt did.
      await ctx.claims.release(claim, mayHaveCreated, Date.now()).catch(() => undefined);
      return { to: msg.to, kind: 'retry', error: err, retries };
    }
    return { ...(await handleFailure(job, claim, err, mayHaveCreated, retries > 0)), retries };
  }
  const accepted = result.message;
  if (result.foundByLookup) logger.info('a 5xx had hidden a created message: recorded, not resent', { notificationId, to, sid: accepted.sid });
  const posted = result.foundByLookup ? {} : { postedMs: Date.now() - started };
  try {
    await recordAccepted(job, claim, accepted, result.foundByLookup);
  } catch (err) {
    // Twilio has it (and it counts as sent); the claim stays pending, so the lookup after its lease records it.
    return { to: msg.to, kind: 'retry', error: err, retries, ...posted };
  }
  logger.debug('message accepted by Twilio', { notificationId, to, sid: accepted.sid, status: accepted.status, channel: msg.channel });
  return { to: msg.to, kind: 'sent', retries, ...posted };
}

async function handleFailure(job: Job, claim: Claim, err: TwilioApiError, mayHaveCreated: boolean, retried: boolean): Promise<RecipientResult> {
  const { notificationId, msg, ctx } = job;
  const to = maskAddress(msg.to);
  const reason = maskNumbersInText(err.message);
  const code = err.code ?? String(err.httpStatus ?? 'unknown');
  const details = { notificationId, to, httpStatus: err.httpStatus, code: err.code, reason };
  switch (err.failureClass) {
    case 'permanent': {
      const recorded = await ctx.claims.markFailed(claim, reason, code, filingOf(job), Date.now());
      logger.warn('Twilio refused the message for this recipient: not retried', details);
      return { to: msg.to, kind: 'failed', code, reason, recorded, now: true, ...(err.countsConfigurationError ? { countsConfigurationError: true } : {}) };
    }
    case 'unclassified': {
      const { receiveCount } = job.received;
      if (receiveCount < Math.min(MAX_UNCLASSIFIED_RECEIVES, ctx.settings.maxReceiveCount)) {
        // A 4xx is Twilio's answer: nothing was created, unless an earlier 5xx did.
        await ctx.claims.release(claim, mayHaveCreated, Date.now());
        logger.warn('Twilio error code not in the failure table: retried on a later receive', { ...details, receiveCount });
        return { to: msg.to, kind: 'retry' };
      }
      const recorded = await ctx.claims.markFailed(claim, reason, code, filingOf(job), Date.now());
      logger.error('Twilio error code not in the failure table, still refused: recorded failed', { ...details, receiveCount });
      return { to: msg.to, kind: 'failed', code, reason, recorded, now: true, unclassified: true };
    }
    case 'unknown':
      await ctx.claims.noteUnknownOutcome(claim, `no answer from Twilio: ${reason}`, Date.now());
      logger.error('Twilio request outcome unknown: a lookup decides after the claim lease', { ...details, leaseUntil: new Date(claim.leaseUntil).toISOString() });
      // No answer in time is slowness, not a refusal: the lookup is due when the lease ends.
      return { to: msg.to, kind: 'deferred', deferUntil: claim.leaseUntil, outcomeUnknown: true };
    case 'transient':
      break;
  }
  // Transient (a configuration error never gets here: post() holds the sender first).
  const mayExist = mayHaveCreated || err.mayHaveCreated;
  await ctx.claims.release(claim, mayExist, Date.now());
  if (isNoTimeLeft(err) && !retried) {
    // No request went out: this invocation's time was spent (waiting for a slot, or on other recipients).
    logger.info('no time left for this recipient: deferred', { notificationId, to });
    return { to: msg.to, kind: 'deferred', deferUntil: Date.now() };
  }
  if (mayExist) {
    // Released with its lease ended: the next delivery looks Twilio up before any POST, once the message had time to appear.
    logger.warn('a 5xx may hide a created message and no time is left to look it up: deferred to a lookup', details);
    return { to: msg.to, kind: 'deferred', deferUntil: Date.now() + POST_5XX_SETTLE_MS };
  }
  logger.warn('Twilio unavailable: left to SQS redelivery', details);
  return { to: msg.to, kind: 'retry' };
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
        ...(job.received.publishedAt !== undefined ? { publishedAt: job.received.publishedAt } : {}),
      },
      now,
    ),
    ctx.claims.markSent(claim, m.sid, now),
  ]);
}
