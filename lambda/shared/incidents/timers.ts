import { recipientProblem } from '../../../lib/contract';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { sqsClient } from '../sqs';
import { isIncidentId } from './keys';

/*
 * Durable timers: SQS messages to the alert queue whose raw body is
 * `{ "kind": "timer", "timer": "escalate" | "repeat", "incidentId", "dueAt",
 * "stage"?, "repeat"?, "reason"? }`, delivered to the sender like any record
 * once their DelaySeconds pass. The sender sets them for an incident's next
 * stage or repeat; the webhooks send an `escalate` one with no delay and
 * `reason: unreachable` when an address an incident paged can no longer be
 * reached. SQS delays at most 900 s, so a timer due later is sent with the
 * longest delay and, when it arrives early, sent again for the time left
 * (chaining). A timer carries no authority: it only makes the sender re-read
 * its incident and do what is due then, so a duplicate, a late or a forged
 * one can never page anyone before their time or twice. The same body
 * published to the topic arrives inside an SNS envelope and is never read as
 * a timer.
 *
 * A `digest` timer `{ "kind": "timer", "timer": "digest", "address", "dueAt" }`
 * flushes the storm window of one address (lambda/sender/storm/) when it
 * closes: it only makes the sender re-read that window and send what it still
 * holds, once.
 */

export type TimerName = 'escalate' | 'repeat';

export interface Timer {
  readonly kind: 'timer';
  readonly timer: TimerName;
  readonly incidentId: string;
  /** Epoch ms. */
  readonly dueAt: number;
  readonly stage?: number;
  readonly repeat?: number;
  /** `unreachable`: a page of the incident ended undelivered/failed, or its address opted out. */
  readonly reason?: string;
}

/** SQS's limit for DelaySeconds. */
export const MAX_DELAY_SECONDS = 900;
/** A timer this close to its time is waited for in the invocation rather than sent again (SQS counts whole seconds). */
export const EARLY_TOLERANCE_MS = 1_000;

/**
 * The webhooks' timer: due now, for an incident whose address became
 * unreachable at `stage` (its stage then, so the plain escalate rule, page
 * `stage` if above the item's, does nothing with it); the sender re-evaluates
 * and pages the next stage at once if every address of the current one is
 * unreachable.
 */
export function unreachableTimer(incidentId: string, stage: number, now: number): Timer {
  return { kind: 'timer', timer: 'escalate', incidentId, dueAt: now, stage, reason: 'unreachable' };
}

/** The storm window of `address` closes at `dueAt` (epoch ms, the window's end). */
export interface DigestTimer {
  readonly kind: 'timer';
  readonly timer: 'digest';
  readonly address: string;
  readonly dueAt: number;
}

/** Any timer the sender fires. */
export type AnyTimer = Timer | DigestTimer;

export const isDigestTimer = (timer: AnyTimer): timer is DigestTimer => timer.timer === 'digest';

export function digestTimer(address: string, windowEndsAt: number): DigestTimer {
  return { kind: 'timer', timer: 'digest', address, dueAt: windowEndsAt };
}

export class InvalidTimerError extends Error {
  readonly name = 'InvalidTimerError';
}

/** A raw record body that claims to be a timer (the caller has already ruled out an SNS envelope). */
export function isTimerBody(json: unknown): json is Record<string, unknown> {
  return typeof json === 'object' && json !== null && !Array.isArray(json) && (json as Record<string, unknown>).kind === 'timer';
}

const wholeNumber = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** @throws InvalidTimerError naming the field at fault */
export function readTimer(json: Record<string, unknown>): AnyTimer {
  const fail = (reason: string): never => {
    throw new InvalidTimerError(`timer: ${reason}`);
  };
  const { timer, incidentId, dueAt, stage, repeat, reason } = json;
  if (timer === 'digest') return readDigestTimer(json, fail);
  if (timer !== 'escalate' && timer !== 'repeat') fail('"timer" must be "escalate", "repeat" or "digest"');
  if (typeof incidentId !== 'string' || !isIncidentId(incidentId) || incidentId.length > 1024) fail('"incidentId" must be an incident id (incident#...)');
  if (typeof dueAt !== 'number' || !Number.isFinite(dueAt)) fail('"dueAt" must be epoch milliseconds');
  if (stage !== undefined && !wholeNumber(stage)) fail('"stage" must be a whole number');
  if (repeat !== undefined && !wholeNumber(repeat)) fail('"repeat" must be a whole number');
  if (reason !== undefined && typeof reason !== 'string') fail('"reason" must be a string');
  return {
    kind: 'timer',
    timer: timer as TimerName,
    incidentId: incidentId as string,
    dueAt: dueAt as number,
    ...(stage !== undefined ? { stage: stage as number } : {}),
    ...(repeat !== undefined ? { repeat: repeat as number } : {}),
    ...(typeof reason === 'string' ? { reason } : {}),
  };
}

function readDigestTimer(json: Record<string, unknown>, fail: (reason: string) => never): DigestTimer {
  const { address, dueAt } = json;
  if (typeof address !== 'string' || recipientProblem(address) !== undefined) fail('"address" of a digest timer must be a recipient address (+E.164 or whatsapp:+E.164)');
  if (typeof dueAt !== 'number' || !Number.isFinite(dueAt)) fail('"dueAt" must be epoch milliseconds');
  return digestTimer(address as string, dueAt as number);
}

/** Seconds to delay a timer due at `dueAt`: whole seconds rounded up (never early), at most SQS's 900. */
export function delaySecondsUntil(dueAt: number, now: number): number {
  return Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil((dueAt - now) / 1000)));
}

/**
 * Hands the timer to SQS with the delay left until it is due.
 * @returns the DelaySeconds it was sent with
 * @throws when SQS refuses it (the caller keeps its work for a retry, so the timer is not lost)
 */
export async function sendTimer(queueUrl: string, timer: AnyTimer, now: number): Promise<number> {
  const sqs = await sqsClient();
  const delaySeconds = delaySecondsUntil(timer.dueAt, now);
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(timer), DelaySeconds: delaySeconds }));
  return delaySeconds;
}
