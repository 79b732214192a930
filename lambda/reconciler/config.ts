import { ENV, RECONCILE_AFTER_SECONDS_RANGE as RECONCILE_AFTER_BOUNDS } from '../../lib/contract';

export interface ReconcilerConfig {
  readonly tableName: string;
  /** Seconds after acceptance a message without a final status is first asked about. */
  readonly afterSeconds: number;
}

/**
 * The reconciler's environment, read once per execution environment.
 * @returns the configuration, or the reason it is unusable (naming the variable and the fix)
 */
export function readConfig(env: NodeJS.ProcessEnv): ReconcilerConfig | { readonly problem: string } {
  const tableName = env[ENV.STATUS_TABLE_NAME];
  if (!tableName) return { problem: `${ENV.STATUS_TABLE_NAME} is not set: it names the status table (the construct sets it)` };
  const raw = env[ENV.RECONCILE_AFTER_SECONDS];
  const afterSeconds = Number(raw);
  if (raw === undefined || !Number.isInteger(afterSeconds) || afterSeconds < RECONCILE_AFTER_BOUNDS.min || afterSeconds > RECONCILE_AFTER_BOUNDS.max) {
    return {
      problem:
        `${ENV.RECONCILE_AFTER_SECONDS} is ${raw === undefined ? 'not set' : JSON.stringify(raw)}: ` +
        `give whole seconds from ${RECONCILE_AFTER_BOUNDS.min} to ${RECONCILE_AFTER_BOUNDS.max} (the construct's reconcileAfter)`,
    };
  }
  return { tableName, afterSeconds };
}
