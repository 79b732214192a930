import { maskAddress } from '../shared/mask';
import type { ClaimState } from '../shared/table/claims';
import { parentIdOf } from '../shared/table/items';
import type { SenderSettings } from './config';
import type { Received, SendContext } from './context';
import { buildMessage } from './message-params';
import { logger } from './observability';
import type { Notification } from './parse-notification';
import { errorSummary, Job, sendToRecipient, settleStarted } from './recipient';
import { HeldUnarmedError } from './storm/admit';
import { admitToWindow } from './storm/window';
import { combine, Combined, RecipientResult, tally } from './results';
import { checkRecipients, isAddress } from './validate';

export type { Deferred } from './results';

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
  /**
   * Send nothing new: only settle the sends an earlier delivery of the same
   * record claimed (recipient.ts settleStarted), because the incident
   * stopped paging since. Recipients without a claim are left out.
   */
  readonly settleOnly?: boolean;
}

export interface RecipientSettlement {
  readonly state: ClaimState;
  /** Settled by this invocation (not found settled by an earlier one). */
  readonly now: boolean;
}

export interface DeliveryResult extends Combined {
  /** What became of each recipient that is settled (sent, failed or unknown); pending ones are absent. */
  readonly settled: ReadonlyMap<string, RecipientSettlement>;
  /** Every recipient's result, in the order given: what the record's metrics count. */
  readonly recipients: readonly RecipientResult[];
}

/** The channels the settings have a sender for. */
export function channels(settings: SenderSettings): { readonly sms: boolean; readonly whatsapp: boolean } {
  return {
    sms: settings.from !== undefined || settings.messagingServiceSid !== undefined,
    whatsapp: settings.whatsappFrom !== undefined || settings.messagingServiceSid !== undefined,
  };
}

/** Sends one text to each recipient exactly once (recipient.ts); rejected and refused recipients are recorded failed first. */
export async function deliverAll(d: Delivery, ctx: SendContext, received: Received): Promise<DeliveryResult> {
  if (d.settleOnly) return settleAll(d, ctx, received);
  const { notification, notificationId } = d;
  const { settings } = ctx;
  const refused = d.refused ?? new Map<string, string>();
  const check = checkRecipients(d.recipients.filter((r) => !refused.has(r)), settings.allowed, channels(settings));
  const rejected = [...check.rejected.map((r) => ({ ...r, code: 'invalid-recipient' })), ...[...refused].map(([recipient, reason]) => ({ recipient, reason, code: reason }))];
  const failed = await Promise.all(
    rejected.map(async ({ recipient, reason, code }): Promise<RecipientResult> => {
      // An arbitrary string is no key: keep the claim id within DynamoDB's limits.
      const key = isAddress(recipient) ? recipient : `invalid:${recipient.slice(0, 40)}`;
      try {
        const recorded = await ctx.claims.recordRejectedRecipient(notificationId, key, recipient, reason, code, { parentId: parentIdOf(notificationId, d.incidentId) }, Date.now());
        logger.warn('recipient rejected', { notificationId, to: maskAddress(recipient), reason });
        return { to: recipient, kind: 'failed', code, reason, recorded, now: recorded };
      } catch (err) {
        logger.error('recording a rejected recipient failed, will retry', { notificationId, to: maskAddress(recipient), error: errorSummary(err) });
        return { to: recipient, kind: 'retry', error: err };
      }
    }),
  );
  // The table is in trouble: nobody is sent to before every rejection is on record.
  if (failed.some((r) => r.kind === 'retry')) return summarise(d, failed);

  const sent = await Promise.all(
    check.accepted.map(async (to): Promise<RecipientResult> => {
      const job: Job = {
        notification,
        notificationId,
        msg: buildMessage(notification, to, settings),
        ctx,
        received,
        ...(d.incidentId !== undefined ? { incidentId: d.incidentId } : {}),
        page: d.page,
      };
      // Every text to an address passes its storm window: sent now, or held for the window's digest.
      try {
        const admission = await admitToWindow(job);
        if (admission !== 'send') return { to, kind: 'digest', ...(admission === 'held' ? { newlyHeld: true } : {}) };
      } catch (err) {
        logger.error('storm window unavailable, will retry', { notificationId, to: maskAddress(to), error: errorSummary(err) });
        return { to, kind: 'retry', error: err, ...(err instanceof HeldUnarmedError ? { newlyHeld: true } : {}) };
      }
      return sendToRecipient(job);
    }),
  );
  return summarise(d, [...failed, ...sent]);
}

/** Settles what an earlier delivery started (Delivery.settleOnly); sends nothing new. */
async function settleAll(d: Delivery, ctx: SendContext, received: Received): Promise<DeliveryResult> {
  const started = await Promise.all(
    // A recipient the delivery rejected has its failed claim already; only an accepted one can have a send in progress.
    checkRecipients(d.recipients, ctx.settings.allowed, channels(ctx.settings)).accepted.map((to) => {
      const job: Job = { notification: d.notification, notificationId: d.notificationId, msg: buildMessage(d.notification, to, ctx.settings), ctx, received, ...(d.incidentId !== undefined ? { incidentId: d.incidentId } : {}), page: d.page };
      return settleStarted(job);
    }),
  );
  const results = started.filter((r): r is RecipientResult => r !== undefined);
  // Nothing was in progress (no claim, or each settled already): no log line for a step that is over or never began.
  if (results.every((r) => r.kind === 'already')) return { outcome: 'done', progressed: false, settled: settlements(results), recipients: results };
  return summarise(d, results);
}

/** One log line per notification, and what the delivery amounts to. */
function summarise(d: Delivery, recipients: RecipientResult[]): DeliveryResult {
  logger.info('notification processed', {
    notificationId: d.notificationId,
    kind: d.notification.kind,
    ...(d.incidentId !== undefined ? { incidentId: d.incidentId } : {}),
    recipients: d.recipients.length,
    ...tally(recipients),
  });
  return { ...combine(recipients), settled: settlements(recipients), recipients };
}

function settlements(recipients: readonly RecipientResult[]): Map<string, RecipientSettlement> {
  const settled = new Map<string, RecipientSettlement>();
  for (const r of recipients) {
    if (r.kind === 'sent') settled.set(r.to, { state: 'sent', now: true });
    else if (r.kind === 'already') settled.set(r.to, { state: r.state, now: false });
    else if (r.kind === 'failed') settled.set(r.to, { state: 'failed', now: r.now });
    else if (r.kind === 'unknown') settled.set(r.to, { state: 'unknown', now: true });
  }
  return settled;
}
