import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC } from '../../lib/contract';
import { metrics } from '../shared/observability';

export { countConfigurationError, flushMetrics, logger } from '../shared/observability';

/* The sender's own metrics; callers pass maskAddress()ed recipients to the logger. */

export function countSent(latencyMs: number): void {
  metrics.addMetric(METRIC.MESSAGES_SENT, MetricUnit.Count, 1);
  metrics.addMetric(METRIC.SEND_LATENCY, MetricUnit.Milliseconds, latencyMs);
}

/** Emitted on its own, so the error code (a property, not a dimension: codes are unbounded) belongs to this one failure. */
export function countFailed(errorCode: string, reason: string): void {
  const single = metrics.singleMetric();
  single.addMetadata('errorCode', errorCode);
  single.addMetadata('reason', reason);
  single.addMetric(METRIC.MESSAGES_FAILED, MetricUnit.Count, 1);
}

export function countRetry(): void {
  metrics.addMetric(METRIC.SEND_RETRIES, MetricUnit.Count, 1);
}

export function countOutcomeUnknown(): void {
  metrics.addMetric(METRIC.SEND_OUTCOME_UNKNOWN, MetricUnit.Count, 1);
}

/** A code the failure table does not know, recorded failed after its bounded retries; the code is a property. */
export function countUnclassified(errorCode: string): void {
  const single = metrics.singleMetric();
  single.addMetadata('errorCode', errorCode);
  single.addMetric(METRIC.UNCLASSIFIED_TWILIO_ERRORS, MetricUnit.Count, 1);
}

export function countDeferred(): void {
  metrics.addMetric(METRIC.SENDS_DEFERRED, MetricUnit.Count, 1);
}

export function countIncidentOpened(): void {
  metrics.addMetric(METRIC.INCIDENTS_OPENED, MetricUnit.Count, 1);
}

export function countIncidentResolved(): void {
  metrics.addMetric(METRIC.INCIDENTS_RESOLVED, MetricUnit.Count, 1);
}

export function countEscalationPaged(): void {
  metrics.addMetric(METRIC.ESCALATIONS_PAGED, MetricUnit.Count, 1);
}

export function countPageRepeated(): void {
  metrics.addMetric(METRIC.PAGES_REPEATED, MetricUnit.Count, 1);
}

/** A timer that did something (fired) or found nothing due (stale). */
export function countTimer(fired: boolean): void {
  metrics.addMetric(fired ? METRIC.TIMERS_FIRED : METRIC.TIMERS_STALE, MetricUnit.Count, 1);
}

/** A text this invocation held for its storm window's digest. */
export function countHeld(): void {
  metrics.addMetric(METRIC.TEXTS_HELD, MetricUnit.Count, 1);
}

/** A storm digest sent, and the held texts it carried. */
export function countDigest(texts: number): void {
  metrics.addMetric(METRIC.DIGESTS_SENT, MetricUnit.Count, 1);
  metrics.addMetric(METRIC.TEXTS_DIGESTED, MetricUnit.Count, texts);
}
