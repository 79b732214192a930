import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC } from '../../lib/contract';
import { metrics } from '../shared/observability';
import { statusRank } from '../shared/status';
import type { ApplyResult, StatusCallback } from '../shared/table/messages';

/**
 * Counts a status that moved a message forward, whoever saw it (the status
 * callback, or the reconciler's poll when the callback never arrived): each
 * delivery and each delivery failure once. `receivedAt` is when the callback
 * arrived: a delivery then also counts its latency from Twilio's acceptance
 * (a poll, which learns of a delivery late, gives none).
 */
export function countOutcome(cb: StatusCallback, result: ApplyResult, receivedAt?: number): void {
  if (result.outcome !== 'advanced') return;
  // `read` follows `delivered` for WhatsApp: one delivered message, counted once.
  const delivered = cb.status === 'delivered' || (cb.status === 'read' && statusRank(result.previousStatus ?? '') < statusRank('delivered'));
  if (delivered) {
    metrics.addMetric(METRIC.MESSAGES_DELIVERED, MetricUnit.Count, 1);
    const acceptedAt = Date.parse(result.acceptedAt ?? '');
    // Twilio's date_created (a message found by a lookup) may be a little ahead of our clock: never a negative latency.
    if (receivedAt !== undefined && Number.isFinite(acceptedAt)) metrics.addMetric(METRIC.DELIVERY_LATENCY, MetricUnit.Milliseconds, Math.max(0, receivedAt - acceptedAt));
  }
  if (cb.status === 'undelivered' || cb.status === 'failed') {
    metrics.addMetadata('errorCode', cb.errorCode ?? '');
    metrics.addMetric(METRIC.MESSAGES_UNDELIVERED, MetricUnit.Count, 1);
  }
}
