import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../../lib/contract';
import { isFinalStatus } from '../status';

/**
 * Membership of a message item in the sparse TABLE.AWAITING_FINAL_INDEX, as
 * fragments of the UpdateItem that moves its status forward. Every writer that
 * advances a status (sender, status callback, reconciler) adds them to that one
 * write, so the index never disagrees with the status it was written with:
 *
 * - a status below final puts the item in the index at step `0`, waiting since
 *   `since` (if_not_exists: a later non-final status keeps the reconciler's step);
 * - a final status takes it out.
 *
 * Only forward moves carry them: status only moves forward (status.ts), so once a
 * final status is stored no later write can put the item back.
 */
export interface AwaitingFinalUpdate {
  readonly set: readonly string[];
  readonly remove: readonly string[];
  readonly names: Readonly<Record<string, string>>;
  readonly values: Readonly<Record<string, AttributeValue>>;
}

export const FIRST_RECONCILE_STEP = '0';

export function awaitingFinalUpdate(status: string, since: string): AwaitingFinalUpdate {
  const names = { '#reconcileStep': TABLE.RECONCILE_STEP_ATTRIBUTE, '#awaitingSince': TABLE.AWAITING_SINCE_ATTRIBUTE };
  if (isFinalStatus(status)) return { set: [], remove: ['#reconcileStep', '#awaitingSince'], names, values: {} };
  return {
    set: ['#reconcileStep = if_not_exists(#reconcileStep, :reconcileStep0)', '#awaitingSince = if_not_exists(#awaitingSince, :awaitingSince)'],
    remove: [],
    names,
    values: { ':reconcileStep0': { S: FIRST_RECONCILE_STEP }, ':awaitingSince': { S: since } },
  };
}

/** ` REMOVE a, b` or nothing: the clause to append to an UpdateExpression. */
export function removeClause(remove: readonly string[]): string {
  return remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : '';
}
