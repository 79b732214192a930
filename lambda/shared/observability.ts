import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC, METRICS_NAMESPACE } from '../../lib/contract';

/*
 * Each handler's logger and metrics (EMF), made once per execution
 * environment. The construct sets POWERTOOLS_SERVICE_NAME (the `service`
 * dimension) and POWERTOOLS_METRICS_NAMESPACE; the namespace falls back to
 * the contract's so the construct's metricX() methods always find them.
 * Log fields never carry credentials, bodies or unmasked numbers.
 */
export const logger = new Logger();
export const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE });

export function countConfigurationError(): void {
  metrics.addMetric(METRIC.CONFIGURATION_ERRORS, MetricUnit.Count, 1);
}

export function flushMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
