import { claimId } from '../../shared/table/items';
import { StormWindows } from '../../shared/table/storm';
import type { Job } from '../recipient';
import { Admission, admit } from './admit';
import { heldLabel } from './digest-text';
import { labelOf } from './label';

/**
 * The storm window's answer for one recipient of one text: `send` when
 * digests are off (or no alert queue to time them), else admit.ts decides.
 */
export async function admitToWindow(job: Job): Promise<Admission> {
  const { ctx, msg, notificationId } = job;
  const storm = ctx.settings.storm;
  if (!storm || !ctx.alertQueueUrl) return 'send';
  return admit({
    windows: new StormWindows(ctx.db, ctx.settings.tableName),
    storm,
    alertQueueUrl: ctx.alertQueueUrl,
    address: msg.to,
    key: notificationId,
    text: () => ({ label: heldLabel(labelOf(job.notification)), notification: JSON.stringify(job.notification), ...(job.incidentId !== undefined ? { incidentId: job.incidentId } : {}), page: job.page || job.notification.kind === 'alarm' }),
    claimed: async () => (await ctx.claims.get(claimId(notificationId, msg.to))) !== undefined,
  });
}
