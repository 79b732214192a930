import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC } from '../../lib/contract';
import { metrics } from '../shared/observability';
import { statusRank } from '../shared/status';
import type { ApplyResult, StatusCallback } from '../shared/table/messages';

/**
 * Counts a status that moved a message forward, whoever saw it (the status
 * callback, or the reconciler's poll when the callback never arrived): each
 * delivery and each delivery failure once. `receivedAt` is when the callback
 * arrived: a delivery then also counts its latencies, from the alert's
 * publishing (DeliveryLatency) and from Twilio's acceptance
 * (TwilioDeliveryLatency), each when the message item holds its start (a
 * poll, which learns of a delivery late, gives none).
 */
export function countOutcome(cb: StatusCallback, result: ApplyResult, receivedAt?: number): void {
  if (result.outcome !== 'advanced') return;
  // `read` follows `delivered` for WhatsApp: one delivered message, counted once.
  const delivered = cb.status === 'delivered' || (cb.status === 'read' && statusRank(result.previousStatus ?? '') < statusRank('delivered'));
  if (delivered) {
    metrics.addMetric(METRIC.MESSAGES_DELIVERED, MetricUnit.Count, 1);
    if (receivedAt !== undefined) {
      addLatency(METRIC.DELIVERY_LATENCY, result.publishedAt, receivedAt);
      addLatency(METRIC.TWILIO_DELIVERY_LATENCY, result.acceptedAt, receivedAt);
    }
  }
  if (cb.status === 'undelivered' || cb.status === 'failed') {
    metrics.addMetadata('errorCode', cb.errorCode ?? '');
    metrics.addMetric(METRIC.MESSAGES_UNDELIVERED, MetricUnit.Count, 1);
  }
}

function addLatency(name: string, since: string | undefined, receivedAt: number): void {
  const start = Date.parse(since ?? '');
  if (!Number.isFinite(start)) return;
  // Another clock set the start (SNS, SQS, Twilio's date_created after a lookup) and may be a little ahead of ours: never a negative latency.
  metrics.addMetric(name, MetricUnit.Milliseconds, Math.max(0, receivedAt - start));
}
