import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC } from '../../lib/contract';
import { metrics } from '../shared/observability';
import { statusRank } from '../shared/status';
import type { ApplyResult, StatusCallback } from '../shared/table/messages';

/**
 * Counts a status that moved a message forward, whoever saw it (the status
 * callback, or the reconciler's poll when the callback never arrived): each
 * delivery and each delivery failure once.
 */
export function countOutcome(cb: StatusCallback, result: ApplyResult): void {
  if (result.outcome !== 'advanced') return;
  // `read` follows `delivered` for WhatsApp: one delivered message, counted once.
  const delivered = cb.status === 'delivered' || (cb.status === 'read' && statusRank(result.previousStatus ?? '') < statusRank('delivered'));
  if (delivered) metrics.addMetric(METRIC.MESSAGES_DELIVERED, MetricUnit.Count, 1);
  if (cb.status === 'undelivered' || cb.status === 'failed') {
    metrics.addMetadata('errorCode', cb.errorCode ?? '');
    metrics.addMetric(METRIC.MESSAGES_UNDELIVERED, MetricUnit.Count, 1);
  }
}
