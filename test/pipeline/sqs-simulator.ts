import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { SqsMessageAttribute } from '../support/fake-sqs';
import { snsEnvelope, sqsRecord } from '../support/records';
import { createPrng, Prng } from '../support/prng';

/**
 * SNS topic → SQS queue → Lambda event source mapping, in memory, with the
 * semantics the sender has to survive:
 * - SNS wraps each publish in its Notification envelope (the subscription is
 *   not raw), and occasionally delivers it twice (same SNS MessageId);
 * - SQS delivers at least once: occasionally a second copy of a message;
 * - the poller invokes the function with batches of up to `batchSize`, up to
 *   `maxConcurrency` at once;
 * - records listed in `batchItemFailures`, or the whole batch when the
 *   invocation fails (throws, times out, crashes), are not deleted: they come
 *   back once their visibility timeout has passed;
 * - a message received more than `maxReceiveCount` times moves to the DLQ,
 *   from where `redrive()` moves it back.
 */
export interface QueueSimulationOptions {
  /** Delivers one batch; resolves with the batch response, rejects when the invocation failed. */
  readonly invoke: (event: SQSEvent) => Promise<SQSBatchResponse | void | null | undefined>;
  readonly queueName?: string;
  readonly topicArn?: string;
  /** Default 10 (the construct's batch size). */
  readonly batchSize?: number;
  /** Wait up to this long for a batch to fill. Default 0. */
  readonly maxBatchingWindowMs?: number;
  /** Default 30 000 ms; tests use a few hundred. */
  readonly visibilityTimeoutMs?: number;
  /** Receives before a message moves to the DLQ. Default 3. */
  readonly maxReceiveCount?: number;
  /** Most batches in flight (the event source mapping's maximum concurrency). Default 2. */
  readonly maxConcurrency?: number;
  /** Probability that SQS delivers a received message a second time. Default 0. */
  readonly duplicateProbability?: number;
  /** Probability that SNS delivers a publish to the queue twice. Default 0. */
  readonly snsDuplicateProbability?: number;
  /** Random source (seeded, so runs reproduce). */
  readonly random?: Prng;
  /** Called when an invocation fails as a whole (for diagnostics). */
  readonly onBatchError?: (error: unknown, event: SQSEvent) => void;
}

/** A message in the queue or the DLQ. */
export interface QueuedMessage {
  readonly messageId: string;
  readonly body: string;
  readonly sentTimestamp: number;
  receiveCount: number;
  firstReceiveTimestamp?: number;
  visibleAt: number;
  receiptHandle?: string;
  /** True for a copy made by a simulated SQS duplicate delivery (same messageId). */
  readonly duplicate: boolean;
  /** The SNS MessageId when the body is an SNS envelope. */
  readonly snsMessageId?: string;
  /** SendMessage's MessageAttributes, delivered with every receive as SQS does. */
  readonly messageAttributes?: Readonly<Record<string, SqsMessageAttribute>>;
}

export interface QueueStats {
  published: number;
  sentRaw: number;
  received: number;
  deleted: number;
  /** Records a batch reported as failed. */
  itemFailures: number;
  /** Invocations that failed as a whole. */
  failedBatches: number;
  batches: number;
  sqsDuplicates: number;
  snsDuplicates: number;
  deadLettered: number;
  redriven: number;
  maxInFlight: number;
}

export interface QueueSimulation {
  readonly topicArn: string;
  readonly queueArn: string;
  readonly stats: QueueStats;
  /** The dead-letter queue's messages. */
  readonly dlq: QueuedMessage[];
  /** Publishes to the topic: the SNS envelope lands in the queue. Returns the SNS MessageId. */
  publish(message: string, options?: { subject?: string; messageAttributes?: Record<string, { Type: string; Value: string }> }): string;
  /** Sends a body straight to the queue (no SNS envelope), as SendMessage does. Returns the SQS messageId. */
  sendRaw(body: string, options?: SendRawOptions): string;
  /** Moves every DLQ message back to the queue, receive count reset. Returns how many. */
  redrive(): number;
  /** Messages in the queue (visible or in flight). */
  readonly depth: number;
  readonly inFlightBatches: number;
  /** Starts polling (idempotent). */
  start(): void;
  /** Stops polling; resolves when the batches in flight have ended. */
  stop(): Promise<void>;
  /** Resolves when the queue is empty and no batch is in flight (messages are deleted or dead-lettered). */
  drained(timeoutMs?: number): Promise<void>;
}

export interface SendRawOptions {
  /** SendMessage's DelaySeconds: invisible this long after it is sent. */
  readonly delaySeconds?: number;
  /** The SNS MessageId the body carries, when it is an SNS envelope sent again (the tally finds it in the DLQ by it). */
  readonly snsMessageId?: string;
  /** SendMessage's MessageAttributes. */
  readonly messageAttributes?: Readonly<Record<string, SqsMessageAttribute>>;
}

const SNS_SENDER_ID = 'AIDAIT2UOQQY3AUEKVGXU';
export function createQueueSimulation(options: QueueSimulationOptions): QueueSimulation {
  const queueName = options.queueName ?? 'alerts';
  const topicArn = options.topicArn ?? `arn:aws:sns:us-east-1:123456789012:${queueName}-topic`;
  const queueArn = `arn:aws:sqs:us-east-1:123456789012:${queueName}`;
  const batchSize = options.batchSize ?? 10;
  const windowMs = options.maxBatchingWindowMs ?? 0;
  const visibilityMs = options.visibilityTimeoutMs ?? 30_000;
  const maxReceiveCount = options.maxReceiveCount ?? 3;
  const maxConcurrency = options.maxConcurrency ?? 2;
  const random = options.random ?? createPrng(1);
  const stats: QueueStats = {
    published: 0,
    sentRaw: 0,
    received: 0,
    deleted: 0,
    itemFailures: 0,
    failedBatches: 0,
    batches: 0,
    sqsDuplicates: 0,
    snsDuplicates: 0,
    deadLettered: 0,
    redriven: 0,
    maxInFlight: 0,
  };
  const queue: QueuedMessage[] = [];
  const dlq: QueuedMessage[] = [];
  let inFlight = 0;
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  const idleWaiters: Array<() => void> = [];

  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  function enqueue(
    body: string,
    opts: { duplicate?: boolean; messageId?: string; snsMessageId?: string; delayMs?: number; messageAttributes?: QueuedMessage['messageAttributes'] } = {},
  ): QueuedMessage {
    const message: QueuedMessage = {
      messageId: opts.messageId ?? randomUUID(),
      body,
      sentTimestamp: Date.now(),
      receiveCount: 0,
      visibleAt: Date.now() + (opts.delayMs ?? 0),
      duplicate: opts.duplicate ?? false,
      ...(opts.snsMessageId ? { snsMessageId: opts.snsMessageId } : {}),
      ...(opts.messageAttributes ? { messageAttributes: opts.messageAttributes } : {}),
    };
    queue.push(message);
    poke();
    return message;
  }

  function remove(message: QueuedMessage): boolean {
    const index = queue.indexOf(message);
    if (index < 0) return false;
    queue.splice(index, 1);
    return true;
  }

  function toRecord(message: QueuedMessage): SQSRecord {
    return sqsRecord(message.body, {
      messageId: message.messageId,
      queueName,
      receiptHandle: message.receiptHandle!,
      receiveCount: message.receiveCount,
      sentTimestamp: message.sentTimestamp,
      firstReceiveTimestamp: message.firstReceiveTimestamp!,
      senderId: SNS_SENDER_ID,
      ...(message.messageAttributes ? { messageAttributes: message.messageAttributes } : {}),
    });
  }

  /** Receives up to batchSize visible messages, dead-lettering those received too often. */
  function receive(now: number): QueuedMessage[] {
    const batch: QueuedMessage[] = [];
    const ids = new Set<string>();
    for (const message of [...queue]) {
      if (batch.length >= batchSize) break;
      if (message.visibleAt > now) continue;
      // Two copies of one message in one batch would make batchItemFailures ambiguous; SQS does not do that.
      if (ids.has(message.messageId)) continue;
      if (message.receiveCount >= maxReceiveCount) {
        remove(message);
        dlq.push(message);
        stats.deadLettered++;
        continue;
      }
      message.receiveCount++;
      message.firstReceiveTimestamp ??= now;
      message.receiptHandle = Buffer.from(`${message.messageId}#${randomUUID()}`).toString('base64');
      message.visibleAt = now + visibilityMs;
      stats.received++;
      if (!message.duplicate && message.receiveCount === 1 && random.chance(options.duplicateProbability ?? 0)) {
        // At-least-once: another copy of the same message turns up a little later, maybe in a parallel batch.
        stats.sqsDuplicates++;
        enqueue(message.body, {
          duplicate: true,
          messageId: message.messageId,
          delayMs: random.int(0, Math.max(1, Math.floor(visibilityMs / 2))),
          ...(message.snsMessageId ? { snsMessageId: message.snsMessageId } : {}),
        });
      }
      ids.add(message.messageId);
      batch.push(message);
    }
    return batch;
  }

  async function deliver(batch: QueuedMessage[]): Promise<void> {
    const event: SQSEvent = { Records: batch.map(toRecord) };
    stats.batches++;
    let failedIds: Set<string> | 'all';
    try {
      const response = await options.invoke(event);
      const failures = response?.batchItemFailures ?? [];
      const known = new Set(batch.map((m) => m.messageId));
      // Lambda treats a response naming no record, or an unknown one, as a failure of the whole batch.
      if (failures.some((f) => typeof f?.itemIdentifier !== 'string' || !known.has(f.itemIdentifier))) failedIds = 'all';
      else failedIds = new Set(failures.map((f) => f.itemIdentifier));
    } catch (err) {
      stats.failedBatches++;
      options.onBatchError?.(err, event);
      failedIds = 'all';
    }
    for (const message of batch) {
      if (failedIds === 'all' || failedIds.has(message.messageId)) {
        if (failedIds !== 'all') stats.itemFailures++;
        continue; // stays invisible until its visibility timeout passes, then comes back
      }
      if (remove(message)) stats.deleted++;
    }
  }

  function nextVisibleIn(now: number): number {
    let soonest = Infinity;
    for (const message of queue) soonest = Math.min(soonest, message.visibleAt - now);
    return soonest;
  }

  function visibleCount(now: number): number {
    let n = 0;
    for (const message of queue) if (message.visibleAt <= now) n++;
    return n;
  }

  function checkIdle() {
    if (queue.length === 0 && inFlight === 0) while (idleWaiters.length > 0) idleWaiters.shift()!();
  }

  async function pollLoop(): Promise<void> {
    let windowStart: number | undefined;
    while (running) {
      const now = Date.now();
      if (inFlight < maxConcurrency) {
        const visible = visibleCount(now);
        const waitForBatch = windowMs > 0 && visible > 0 && visible < batchSize && (windowStart === undefined || now - windowStart < windowMs);
        if (waitForBatch) windowStart ??= now;
        if (visible > 0 && !waitForBatch) {
          windowStart = undefined;
          const batch = receive(now);
          if (batch.length > 0) {
            inFlight++;
            stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
            void deliver(batch).finally(() => {
              inFlight--;
              checkIdle();
              poke();
            });
          }
          checkIdle();
          continue;
        }
      }
      checkIdle();
      const nextIn = nextVisibleIn(now);
      const sleep = Math.max(1, Math.min(windowStart !== undefined ? windowMs : 250, Number.isFinite(nextIn) ? nextIn : 250));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          wake = undefined;
          resolve();
        }, sleep);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  const simulation: QueueSimulation = {
    topicArn,
    queueArn,
    stats,
    dlq,
    publish(message, opts = {}) {
      const snsMessageId = randomUUID();
      const body = snsEnvelope(topicArn, message, snsMessageId, opts);
      stats.published++;
      enqueue(body, { snsMessageId });
      if (random.chance(options.snsDuplicateProbability ?? 0)) {
        stats.snsDuplicates++;
        // A second SNS delivery is a distinct SQS message (its own messageId) carrying the same SNS MessageId.
        enqueue(body, { snsMessageId, delayMs: random.int(0, 50) });
      }
      return snsMessageId;
    },
    sendRaw(body, opts = {}) {
      stats.sentRaw++;
      return enqueue(body, {
        delayMs: (opts.delaySeconds ?? 0) * 1000,
        ...(opts.snsMessageId ? { snsMessageId: opts.snsMessageId } : {}),
        ...(opts.messageAttributes ? { messageAttributes: opts.messageAttributes } : {}),
      }).messageId;
    },
    redrive() {
      const moved = dlq.splice(0, dlq.length);
      for (const message of moved) {
        enqueue(message.body, {
          messageId: message.messageId,
          duplicate: message.duplicate,
          ...(message.snsMessageId ? { snsMessageId: message.snsMessageId } : {}),
          ...(message.messageAttributes ? { messageAttributes: message.messageAttributes } : {}),
        });
      }
      stats.redriven += moved.length;
      return moved.length;
    },
    get depth() {
      return queue.length;
    },
    get inFlightBatches() {
      return inFlight;
    },
    start() {
      if (running) return;
      running = true;
      loop = pollLoop();
    },
    async stop() {
      running = false;
      poke();
      await loop;
      while (inFlight > 0) await new Promise((r) => setTimeout(r, 5));
    },
    drained(timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        if (queue.length === 0 && inFlight === 0) return resolve();
        const timer = setTimeout(() => {
          const index = idleWaiters.indexOf(done);
          if (index >= 0) idleWaiters.splice(index, 1);
          reject(new Error(`queue not drained after ${timeoutMs} ms: ${queue.length} messages, ${inFlight} batches in flight`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        idleWaiters.push(done);
      });
    },
  };
  return simulation;
}
