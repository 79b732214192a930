import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { ClaimState } from '../shared/table/claims';
import { countConfigurationError, countDeferred, countDigest, countFailed, countHeld, countOutcomeUnknown, countRetry, countSent, countUnclassified } from './observability';

/*
 * What the record pipeline answers, and what the handler makes of it: each
 * recipient's result, each record's, the SQS partial-batch response and the
 * metrics, all read from the results once the batch is over (nothing is
 * tallied on the way).
 */

/** Facts about a recipient that count whatever its result. */
interface RecipientFacts {
  /** The address as given (a rejected one may be no address at all). */
  readonly to: string;
  /** A POST Twilio accepted in this invocation, from its first attempt: MessagesSent and SendLatency. Absent for a message found in Twilio's log. */
  readonly postedMs?: number;
  /** Twilio requests retried on the way (SendRetries). */
  readonly retries?: number;
  /**
   * This invocation's write held the text in its storm window (TextsHeld), whatever came after: a digest
   * timer that could not be set leaves the recipient to a retry, which finds the text held and counts nothing.
   */
  readonly newlyHeld?: boolean;
  /** A storm digest's message (storm/flush.ts): the held texts it carries. DigestsSent and TextsDigested count it when it is `sent`. */
  readonly digestOf?: number;
}

/** What became of one recipient in this invocation. */
export type RecipientResult = RecipientFacts &
  (
    | /** Accepted by Twilio now, or found in its log (an earlier attempt had created it). */ { readonly kind: 'sent' }
    | /** Settled by an earlier invocation. */ { readonly kind: 'already'; readonly state: ClaimState }
    | /** Recorded failed for good: refused by Twilio, or rejected before any request (invalid, not allowed, opted out). */ {
        readonly kind: 'failed';
        readonly code: string;
        readonly reason: string;
        /** This invocation wrote the failure (MessagesFailed counts it once). */
        readonly recorded: boolean;
        /** Settled by this invocation (an incident's timeline says so). */
        readonly now: boolean;
        /** A code the failure table does not know, recorded after its bounded retries. */
        readonly unclassified?: boolean;
        /** A refusal an operator can fix (21408): ConfigurationErrors counts it too. */
        readonly countsConfigurationError?: boolean;
      }
    | /** Left to an operator: lookups could not tell whether it was sent. */ { readonly kind: 'unknown'; readonly recorded: boolean }
    | /** Never sent: its incident stopped paging (acknowledged or resolved) before this claimed send reached Twilio; recorded failed (FATE_CODE.PAGE_STOPPED), not counted as a failure. */ {
        readonly kind: 'stopped';
      }
    | /** Held for the address's storm digest (storm/): it goes out when the window closes, under its window's digest timer. */ { readonly kind: 'digest' }
    | /** Kept for redrive: a configuration error holds its sender or the credentials (ConfigurationErrors). */ { readonly kind: 'held' }
    | /** To be tried again on a later receive. */ { readonly kind: 'retry'; readonly error?: unknown }
    | /** Held up only by time until `deferUntil` (epoch ms). */ {
        readonly kind: 'deferred';
        readonly deferUntil: number;
        /** The request went out and no answer came (SendOutcomeUnknown). */
        readonly outcomeUnknown?: boolean;
      }
  );

/** Only time stood in the way: another attempt is pointless before `deferUntil` (epoch ms; now, when only this invocation's time ran out). */
export interface Deferred {
  readonly deferUntil: number;
}

/** What a set of recipients (one delivery, or a record's) amounts to. */
export interface Combined {
  readonly outcome: 'done' | 'retry' | Deferred;
  /** Some recipient was sent (or found sent) in this invocation: slow, but not stuck. */
  readonly progressed: boolean;
}

/** Any retry wins; then every deferred recipient must have its chance, so the latest deferral; else done. */
export function combine(recipients: readonly RecipientResult[]): Combined {
  const progressed = recipients.some((r) => r.kind === 'sent');
  if (recipients.some((r) => r.kind === 'retry' || r.kind === 'held')) return { outcome: 'retry', progressed };
  const deferred = recipients.filter((r) => r.kind === 'deferred');
  if (deferred.length > 0) return { outcome: { deferUntil: Math.max(...deferred.map((r) => r.deferUntil)) }, progressed };
  return { outcome: 'done', progressed };
}

/** The counts of a delivery's log line: one line per notification, not one per message. */
export function tally(recipients: readonly RecipientResult[]): Record<string, number> {
  const count = (...kinds: Array<RecipientResult['kind']>) => recipients.filter((r) => kinds.includes(r.kind)).length;
  return {
    sent: count('sent'),
    alreadyDone: count('already'),
    failed: count('failed'),
    unknown: count('unknown'),
    stopped: count('stopped'),
    held: count('held'),
    heldForDigest: count('digest'),
    retry: count('retry', 'held'),
    deferred: count('deferred'),
  };
}

/** What became of one SQS record, as the pipeline answers it (record.ts). */
export type RecordResult =
  | /** Every recipient settled (sent, found done, recorded failed or unknown), or nothing was due. */ { readonly outcome: 'done'; readonly recipients: readonly RecipientResult[] }
  | /** The record can never be sent (an invalid notification or timer): recorded once, never retried. */ {
      readonly outcome: 'refused';
      readonly code: string;
      readonly reason: string;
      /** This invocation wrote the failure (MessagesFailed counts it once). */
      readonly recorded: boolean;
    }
  | /** Held up only by time: worth trying again later without spending a receive (defer.ts). */ {
      readonly outcome: 'deferred';
      readonly deferUntil: number;
      /** The id the copy must keep (its SQS message id will differ). */
      readonly notificationId: string;
      readonly progressed: boolean;
      readonly recipients: readonly RecipientResult[];
    }
  | /** Must come again: a batch item failure, spending one of its receives. */ { readonly outcome: 'retry'; readonly recipients: readonly RecipientResult[] };

/** A record's final answer: a deferred one was put back on the queue, or fell back to a retry. */
export type RecordAnswer = Exclude<RecordResult, { readonly outcome: 'deferred' }> | { readonly outcome: 'requeued'; readonly recipients: readonly RecipientResult[] };

/** ReportBatchItemFailures: exactly the records that must come again. `answers[i]` is `records[i]`'s. */
export function batchResponse(records: readonly SQSRecord[], answers: readonly RecordAnswer[]): SQSBatchResponse {
  return { batchItemFailures: records.filter((_, i) => answers[i].outcome === 'retry').map((r) => ({ itemIdentifier: r.messageId })) };
}

/** Every record of the batch kept for redrive or retried, before any was looked at (configuration, credentials). */
export function failAll(records: readonly SQSRecord[]): SQSBatchResponse {
  return { batchItemFailures: records.map((r) => ({ itemIdentifier: r.messageId })) };
}

/** The batch's metrics, from its answers. */
export function countAnswers(answers: readonly RecordAnswer[]): void {
  for (const answer of answers) {
    if (answer.outcome === 'refused') {
      if (answer.recorded) countFailed(answer.code, answer.reason);
      continue;
    }
    if (answer.outcome === 'requeued') countDeferred();
    answer.recipients.forEach(countRecipient);
  }
}

function countRecipient(r: RecipientResult): void {
  for (let i = 0; i < (r.retries ?? 0); i++) countRetry();
  if (r.postedMs !== undefined) countSent(r.postedMs);
  if (r.newlyHeld) countHeld();
  if (r.digestOf !== undefined && r.kind === 'sent') countDigest(r.digestOf);
  switch (r.kind) {
    case 'failed':
      if (r.recorded) {
        countFailed(r.code, r.reason);
        if (r.unclassified) countUnclassified(r.code);
      }
      if (r.countsConfigurationError) countConfigurationError();
      return;
    case 'unknown':
      if (r.recorded) countOutcomeUnknown();
      return;
    case 'held':
      countConfigurationError();
      return;
    case 'deferred':
      if (r.outcomeUnknown) countOutcomeUnknown();
      return;
    default:
      return;
  }
}
