import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IncidentStore } from '../shared/incidents/store';
import type { TwilioAccount } from './account';
import type { ClaimStore } from '../shared/table/claims';
import type { SenderSettings } from './config';
import type { Semaphore } from './semaphore';

/** What every record of one invocation shares: settings, stores, the Twilio account, the fan-out bound and the time budget. */
export interface SendContext {
  readonly settings: SenderSettings;
  readonly db: DynamoDBClient;
  readonly claims: ClaimStore;
  readonly incidents: IncidentStore;
  /** The credentials and what Twilio refused in this invocation (account.ts). */
  readonly account: TwilioAccount;
  /**
   * Bounds the Twilio requests in flight across the whole batch (the
   * fan-out bound, sendConcurrency). DynamoDB work around them is not
   * bounded by it, so a slot is held only while Twilio is being asked.
   */
  readonly semaphore: Semaphore;
  /** Epoch ms: no Twilio request may still be running after this (the function's own timeout, less a margin). */
  readonly deadline: number;
  /** Where timers and deferred copies go; absent in a harness without a queue (no escalation can then be configured). */
  readonly alertQueueUrl?: string;
}

/** The record as SQS delivered it, as far as the sender reads it. */
export interface QueuedRecord {
  readonly messageId: string;
  readonly body: string;
  /** SQS's ApproximateReceiveCount of this copy (1 on its first receive). */
  readonly receiveCount: number;
  /** Set on a copy the sender itself deferred: the notification id of the original (a raw record's is its first SQS message id). */
  readonly notificationId?: string;
  /** Deferrals counted so far (defer.ts; 0 on a record never deferred). */
  readonly deferrals: number;
  /** Epoch ms the body was first put on the queue: SQS's SentTimestamp, or the one a deferred copy carries from its original (defer.ts). */
  readonly queuedAt?: number;
}

/**
 * How often a record was received and deferred (what bounds its retries),
 * and when what it sends was published (record.ts: the message items'
 * `publishedAt`, where DeliveryLatency starts).
 */
export type Received = Pick<QueuedRecord, 'receiveCount' | 'deferrals'> & { readonly publishedAt?: number };
