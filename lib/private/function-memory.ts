// The functions' memory sizes (props senderMemorySize, webhookMemorySize).
// Lambda gives a function CPU in proportion to its memory (one vCPU at
// 1,769 MB), and the sender's time is CPU-bound: BENCHMARKS.md measures it at
// each size's CPU share. Internal: not exported from lib/index.ts.
import { Token } from 'aws-cdk-lib';
import { fail } from '../validation';

/**
 * The sender's default memory (MiB): one vCPU. The sender's time is CPU (loading
 * the bundle, the clients' work per call): BENCHMARKS.md measures a cold page and a
 * 100-recipient fan-out at each size's CPU share; below one vCPU the CPU alone of
 * either takes longer than its target (first POST under 0.5 s, fan-out within 1.5×
 * of its ideal), and more than one vCPU does not speed up Node's one thread.
 */
export const DEFAULT_SENDER_MEMORY_MB = 1769;
/**
 * The webhooks' default memory (MiB). A status callback or a reply costs a few
 * milliseconds of CPU and one or two DynamoDB calls; Twilio waits up to 15 s for
 * the answer, so a smaller share costs only latency nobody waits on.
 */
export const DEFAULT_WEBHOOK_MEMORY_MB = 256;

/** Lambda's memory range (MiB). */
export const LAMBDA_MEMORY_MB = { min: 128, max: 10_240 } as const;

export interface FunctionMemoryProps {
  readonly senderMemorySize?: number;
  readonly webhookMemorySize?: number;
}

export interface FunctionMemory {
  readonly sender: number;
  readonly webhook: number;
}

/** The memory of each function, checked at synth (a token passes: Lambda checks it at deploy). */
export function functionMemory(props: FunctionMemoryProps): FunctionMemory {
  return {
    sender: checkedMemory('senderMemorySize', props.senderMemorySize, DEFAULT_SENDER_MEMORY_MB),
    webhook: checkedMemory('webhookMemorySize', props.webhookMemorySize, DEFAULT_WEBHOOK_MEMORY_MB),
  };
}

function checkedMemory(prop: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (Token.isUnresolved(value)) return value;
  if (!Number.isInteger(value) || value < LAMBDA_MEMORY_MB.min || value > LAMBDA_MEMORY_MB.max) {
    fail(
      `${prop} is ${value}; Lambda accepts whole MiB from ${LAMBDA_MEMORY_MB.min} to ${LAMBDA_MEMORY_MB.max.toLocaleString('en-US')} ` +
        `(e.g. ${Math.min(LAMBDA_MEMORY_MB.max, Math.max(LAMBDA_MEMORY_MB.min, Math.round(Number.isFinite(value) ? value : fallback)))}), or leave it unset for ${fallback}`,
    );
  }
  return value;
}
