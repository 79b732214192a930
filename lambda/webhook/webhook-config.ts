import { ENV } from '../../lib/contract';
import { logger } from '../shared/observability';
import type { WebhookName } from './webhook-backlog';

/*
 * A webhook's configuration, resolved and checked once per execution
 * environment (at cold start), as the sender's config.ts does. The construct
 * sets every variable; a problem here means a hand-edited or half-deployed
 * function. What each problem does:
 *
 * - STATUS_TABLE_NAME (both webhooks) or INBOUND_TOPIC_ARN (inbound) missing
 *   or not a table name / SNS topic ARN: nothing can be recorded. Every
 *   verified request is handed to the function's backlog queue untouched and
 *   answered as accepted, so nothing is lost; the backlog's records fail
 *   (ConfigurationErrors) until the variable is fixed, then apply, or wait in
 *   the backlog's dead-letter queue for a redrive. Without a backlog either,
 *   the answer is 500 (a configuration error; Twilio does not retry an error
 *   answer by default), never a 502, which says "try again".
 * - WEBHOOK_BACKLOG_QUEUE_URL set but not an http(s) URL: treated as unset
 *   (webhook-backlog.ts says what unset means). ALERT_QUEUE_URL likewise is
 *   reported; a timer sent to a bad one fails, and the request goes to the backlog.
 * - The webhook's own URL (STATUS_CALLBACK_URL, INBOUND_URL) is the gate's
 *   (webhook-auth.ts): without it no signature can be checked, answered 500.
 *
 * Each problem is logged once, at cold start, naming the variable and the fix.
 */

export interface ConfigProblem {
  readonly variable: string;
  /** What is wrong with it, e.g. `STATUS_TABLE_NAME is not set`. */
  readonly reason: string;
  readonly fix: string;
}

export interface WebhookConfig {
  /** '' when unusable (a problem says why). */
  readonly tableName: string;
  /** inbound: the topic replies are published to; '' when unusable. */
  readonly topicArn: string;
  /** What keeps this function from recording anything: while any, verified requests are only held in the backlog. */
  readonly problems: readonly ConfigProblem[];
}

// DynamoDB's table name rule; an SNS topic ARN in any partition (a FIFO topic ends in .fifo).
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const FIX = 'redeploy the TwilioMessaging construct, which sets it';

function checked(variable: string, value: string | undefined, pattern: RegExp, shape: string, problems: ConfigProblem[]): string {
  if (value && pattern.test(value)) return value;
  problems.push({ variable, reason: value ? `${variable} is not ${shape}: ${JSON.stringify(value.slice(0, 80))}` : `${variable} is not set`, fix: `set ${variable} to ${shape} (${FIX})` });
  return '';
}

/** An optional queue URL: absent stays absent; one that is not an http(s) URL is reported and treated as absent. */
export function optionalQueueUrl(variable: string, value: string | undefined): string | undefined {
  if (!value) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url && (url.protocol === 'https:' || url.protocol === 'http:')) return value;
  logger.error('configuration error', { reason: `${variable} is not a queue URL: ${JSON.stringify(value.slice(0, 80))}`, fix: `set ${variable} to the queue's URL (https://sqs.<region>.amazonaws.com/<account>/<name>), or ${FIX}; until then it is treated as unset` });
  return undefined;
}

/** The variables a webhook's entry point read (each reads only its own, so that its bundle's reads are the variables its function is given). */
export interface WebhookVariables {
  readonly tableName: string | undefined;
  /** inbound only. */
  readonly topicArn?: string | undefined;
  readonly alertQueueUrl: string | undefined;
}

/** Resolves the webhook's configuration and logs each problem (once: call it at cold start). */
export function resolveWebhookConfig(webhook: WebhookName, read: WebhookVariables): WebhookConfig {
  const problems: ConfigProblem[] = [];
  const tableName = checked(ENV.STATUS_TABLE_NAME, read.tableName, TABLE_NAME, "the status table's name", problems);
  const topicArn = webhook === 'inbound' ? checked(ENV.INBOUND_TOPIC_ARN, read.topicArn, TOPIC_ARN, "the inbound topic's ARN", problems) : '';
  optionalQueueUrl(ENV.ALERT_QUEUE_URL, read.alertQueueUrl);
  for (const p of problems) logger.error('configuration error', { reason: p.reason, fix: p.fix, webhook });
  return { tableName, topicArn, problems };
}
