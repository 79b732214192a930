import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC, METRICS_NAMESPACE } from '../../lib/contract';

/*
 * The sender's logger and metrics (EMF). Log fields never carry credentials,
 * bodies or unmasked numbers; callers pass maskAddress()ed recipients.
 */
export const logger = new Logger();
export const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE });

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

export function countConfigurationError(): void {
  metrics.addMetric(METRIC.CONFIGURATION_ERRORS, MetricUnit.Count, 1);
}

export function flushMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
