import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/*
 * The table layer's primitives: attribute values, expression names, and the
 * one reading of a refused conditional write. Only modules of lambda/shared/table/
 * (and the incident items' update, lambda/shared/incidents/) send commands to
 * the table; handlers call them and never see a DynamoDB exception name.
 * This module sends nothing, so every handler may import it without its
 * bundle seeming to need another IAM action.
 */

export type Item = Record<string, AttributeValue>;

export const s = (v: string): AttributeValue => ({ S: v });
export const n = (v: number): AttributeValue => ({ N: String(v) });

/** Every `#name` in the expressions stands for the attribute `name` (DynamoDB reserves many plain words: state, status, ...). */
export function namesIn(...expressions: string[]): Record<string, string> {
  const names: Record<string, string> = {};
  for (const e of expressions) for (const [, name] of e.matchAll(/#(\w+)/g)) names[`#${name}`] = name;
  return names;
}

/**
 * DynamoDB refused a conditional write because its condition did not hold: an
 * answer about the item, not a failure of the call. Checked by name, so the
 * SDK's exception class need not be loaded by every module that asks.
 */
function isConditionFailure(err: unknown): boolean {
  return (err as { name?: unknown } | undefined)?.name === 'ConditionalCheckFailedException';
}

/** What a conditional write came to: it landed (with the command's output), or its condition did not hold. */
export type Conditional<T> = { readonly held: true; readonly out: T } | { readonly held: false; readonly old?: Item };

/**
 * Sends a conditional write; a refused condition is an answer (`held: false`,
 * with the old item when DynamoDB returned it for ReturnValuesOnConditionCheckFailure),
 * any other failure is thrown.
 */
export async function conditionally<T>(write: Promise<T>): Promise<Conditional<T>> {
  try {
    return { held: true, out: await write };
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    const old = (err as { Item?: Item }).Item;
    return old ? { held: false, old } : { held: false };
  }
}
