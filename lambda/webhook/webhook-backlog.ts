import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ENV } from '../../lib/contract';
import type { FormParams } from './webhook-request';
import { sqsClient } from '../shared/sqs';
import { optionalQueueUrl } from './webhook-config';

/**
 * The webhooks' backlog: a verified request whose table or topic work failed is
 * handed to the function's own SQS queue (WEBHOOK_BACKLOG_QUEUE_URL), whose
 * event source mapping brings it back to the same function to finish the job.
 * Twilio does not retry an error answer by default, so this queue is the retry.
 *
 * The body is a contract (other code drives the handlers through it):
 * `{"kind":"webhook","webhook":"status"|"inbound","params":[[name,value],...],"receivedAt":"<ISO>"}`.
 * A record is not re-verified: only the function itself may send to its queue.
 */
export type WebhookName = 'status' | 'inbound';

export interface BacklogRecord {
  readonly kind: 'webhook';
  readonly webhook: WebhookName;
  /** The verified form parameters, in the order sent. */
  readonly params: FormParams;
  /** When the webhook request arrived (ISO 8601). */
  readonly receivedAt: string;
}

/** SQS's largest delay; a lease never needs more. */
const MAX_DELAY_SECONDS = 900;

/** The backlog cannot be used: no queue configured. */
export class BacklogUnavailableError extends Error {
  readonly name = 'BacklogUnavailableError';
}

/** A backlog message that is not a record for this webhook (nothing can apply it: it stays for the dead-letter queue). */
export class InvalidBacklogRecordError extends Error {
  readonly name = 'InvalidBacklogRecordError';
}

/** Resolved at cold start; one that is not a URL is reported then and treated as unset. */
const queueUrl = optionalQueueUrl(ENV.WEBHOOK_BACKLOG_QUEUE_URL, process.env[ENV.WEBHOOK_BACKLOG_QUEUE_URL]);

// Made on first use: the backlog is the failure path (the module is imported
// statically, see ../shared/sqs.ts).
let client: Promise<{ sqs: SQSClient; send: (body: string, delaySeconds: number) => Promise<unknown> }> | undefined;

function backlogClient() {
  client ??= sqsClient().then((sqs) => {
    return {
      sqs,
      send: (body: string, delaySeconds: number) =>
        sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, ...(delaySeconds > 0 ? { DelaySeconds: delaySeconds } : {}) })),
    };
  });
  return client;
}

export function backlogRecord(webhook: WebhookName, params: FormParams, receivedAt: number): BacklogRecord {
  return { kind: 'webhook', webhook, params, receivedAt: new Date(receivedAt).toISOString() };
}

/**
 * Sends the record to the backlog, to be delivered after `delaySeconds` (rounded
 * up, at most 900).
 * @throws BacklogUnavailableError when WEBHOOK_BACKLOG_QUEUE_URL is not set (or not a URL); SQS errors as they come.
 */
export async function sendToBacklog(record: BacklogRecord, delaySeconds = 0): Promise<void> {
  if (!queueUrl) throw new BacklogUnavailableError(`${ENV.WEBHOOK_BACKLOG_QUEUE_URL} is not set`);
  const delay = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(delaySeconds)));
  await (await backlogClient()).send(JSON.stringify(record), delay);
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** @throws InvalidBacklogRecordError naming what is wrong. */
export function parseBacklogRecord(body: string, webhook: WebhookName): BacklogRecord {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new InvalidBacklogRecordError('the body is not JSON');
  }
  const record = value as Partial<Record<keyof BacklogRecord, unknown>> | null;
  if (typeof record !== 'object' || record === null || record.kind !== 'webhook') throw new InvalidBacklogRecordError('kind is not "webhook"');
  if (record.webhook !== webhook) throw new InvalidBacklogRecordError(`webhook is ${JSON.stringify(record.webhook)}, not "${webhook}"`);
  const params = record.params;
  if (!Array.isArray(params) || !params.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string')) {
    throw new InvalidBacklogRecordError('params is not a list of [name, value] strings');
  }
  if (typeof record.receivedAt !== 'string' || !ISO_TIME.test(record.receivedAt) || Number.isNaN(Date.parse(record.receivedAt))) {
    throw new InvalidBacklogRecordError('receivedAt is not an ISO 8601 UTC time');
  }
  return { kind: 'webhook', webhook, params: params as FormParams, receivedAt: record.receivedAt };
}
