import { isRecipientAddress } from '../../../lib/contract';
import type { Fallbacks } from './fallbacks';

/**
 * Who an incident pages and when (SENDER_CONFIG.escalation): stage 0 when it
 * opens, stage k `afterSeconds` after opening while it is still open, then
 * everyone paged so far again every `repeatAfterSeconds`, `repeats` times.
 * Absent: one stage of the default recipients and no repeats, so an incident
 * needs no timer at all.
 */
export interface EscalationStage {
  readonly recipients: readonly string[];
  readonly afterSeconds: number;
}

export interface EscalationPlan {
  readonly stages: readonly EscalationStage[];
  readonly repeats: number;
  readonly repeatAfterSeconds: number;
  /** SENDER_CONFIG.fallbacks (fallbacks.ts); absent: none. */
  readonly fallbacks?: Fallbacks;
}

export const DEFAULT_REPEAT_AFTER_SECONDS = 300;
/** Bounds generous enough for anything the construct synthesizes, tight enough that a typo is caught. */
export const MAX_STAGES = 20;
export const MAX_REPEATS = 100;
const MAX_SECONDS = 30 * 86_400;

/** The setting at fault and how to fix it; the caller wraps it in its own configuration error. */
export class EscalationConfigError extends Error {}

function seconds(value: unknown, path: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_SECONDS) {
    throw new EscalationConfigError(`${path} must be an integer number of seconds from ${min} to ${MAX_SECONDS}`);
  }
  return value;
}

/**
 * Validates `escalation` (already JSON-decoded). Every message names the
 * field at fault and never quotes an address.
 *
 * @param prefix how the messages name the setting, e.g. `SENDER_CONFIG.escalation`
 */
export function parseEscalation(raw: unknown, defaultRecipients: readonly string[], prefix: string): EscalationPlan {
  if (raw === undefined || raw === null) return { stages: [{ recipients: defaultRecipients, afterSeconds: 0 }], repeats: 0, repeatAfterSeconds: DEFAULT_REPEAT_AFTER_SECONDS };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new EscalationConfigError(`${prefix} must be an object { stages, repeats?, repeatAfterSeconds? }`);
  const c = raw as Record<string, unknown>;
  if (!Array.isArray(c.stages) || c.stages.length === 0 || c.stages.length > MAX_STAGES) {
    throw new EscalationConfigError(`${prefix}.stages must be an array of 1 to ${MAX_STAGES} stages`);
  }
  const stages = c.stages.map((s: unknown, i: number): EscalationStage => {
    const at = `${prefix}.stages[${i}]`;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new EscalationConfigError(`${at} must be an object { recipients, afterSeconds }`);
    const stage = s as Record<string, unknown>;
    if (!Array.isArray(stage.recipients) || stage.recipients.length === 0) throw new EscalationConfigError(`${at}.recipients must be a non-empty array of addresses`);
    stage.recipients.forEach((a: unknown, j: number) => {
      if (typeof a !== 'string' || !isRecipientAddress(a)) throw new EscalationConfigError(`${at}.recipients[${j}] is not an E.164 or whatsapp:+E.164 address`);
    });
    return { recipients: [...new Set(stage.recipients as string[])], afterSeconds: seconds(stage.afterSeconds ?? (i === 0 ? 0 : undefined), `${at}.afterSeconds`, 0) };
  });
  if (stages[0].afterSeconds !== 0) throw new EscalationConfigError(`${prefix}.stages[0].afterSeconds must be 0: stage 0 is paged when the incident opens`);
  stages.forEach((s, i) => {
    if (i > 0 && s.afterSeconds <= stages[i - 1].afterSeconds) {
      throw new EscalationConfigError(`${prefix}.stages[${i}].afterSeconds must be greater than stage ${i - 1}'s (${stages[i - 1].afterSeconds})`);
    }
  });
  const repeats = c.repeats ?? 0;
  if (typeof repeats !== 'number' || !Number.isInteger(repeats) || repeats < 0 || repeats > MAX_REPEATS) throw new EscalationConfigError(`${prefix}.repeats must be an integer from 0 to ${MAX_REPEATS}`);
  const repeatAfterSeconds = c.repeatAfterSeconds === undefined ? DEFAULT_REPEAT_AFTER_SECONDS : seconds(c.repeatAfterSeconds, `${prefix}.repeatAfterSeconds`, 1);
  return { stages, repeats, repeatAfterSeconds };
}

/** Every address the plan may page, fallbacks included: the sender allows them as it allows the default recipients. */
export function planRecipients(plan: EscalationPlan): string[] {
  return [...new Set([...plan.stages.flatMap((s) => s.recipients), ...(plan.fallbacks?.values() ?? [])])];
}

/** True when the plan ever needs a timer (a second stage or a repeat). */
export function needsTimers(plan: EscalationPlan): boolean {
  return plan.stages.length > 1 || plan.repeats > 0;
}
