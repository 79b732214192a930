import { DynamoDBClient, QueryCommand, QueryCommandOutput, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../../lib/contract';
import { conditionally } from './attributes';

/*
 * The reconciler's reads and steps on message items (their place in the sparse
 * TABLE.AWAITING_FINAL_INDEX; awaiting-final.ts puts it there and takes it out
 * with the status writes of messages.ts).
 */

const stepNames = { '#step': TABLE.RECONCILE_STEP_ATTRIBUTE, '#since': TABLE.AWAITING_SINCE_ATTRIBUTE };

/**
 * Moves a message that is still not final to the next step, waiting from now.
 * Conditional on the step it was found at: a final status written meanwhile (it
 * removed the step) or another run's move leaves the item as it is.
 * @returns false when the condition failed (nothing written)
 */
export async function nextStep(db: DynamoDBClient, tableName: string, sid: string, step: number, now: number): Promise<boolean> {
  const written = await conditionally(
    db.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { [TABLE.PARTITION_KEY]: { S: sid } },
        UpdateExpression: 'SET #step = :next, #since = :now',
        ConditionExpression: '#step = :step',
        ExpressionAttributeNames: stepNames,
        ExpressionAttributeValues: { ':step': { S: String(step) }, ':next': { S: String(step + 1) }, ':now': { S: new Date(now).toISOString() } },
      }),
    ),
  );
  return written.held;
}

/** Why the reconciler stopped asking about a message that is not final (kept on the item as reconcileOutcome). */
export type GiveUpReason = 'still-pending' | 'not-found';

/**
 * Takes the message out of the awaiting-final index, keeping its status, and
 * records why (`reconcileOutcome`, `reconciledAt`). Conditional on the step it
 * was found at, like nextStep.
 * @returns false when the condition failed (nothing written)
 */
export async function stopAsking(db: DynamoDBClient, tableName: string, sid: string, step: number, reason: GiveUpReason, now: number): Promise<boolean> {
  const written = await conditionally(
    db.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { [TABLE.PARTITION_KEY]: { S: sid } },
        UpdateExpression: 'SET #outcome = :reason, #reconciledAt = :now REMOVE #step, #since',
        ConditionExpression: '#step = :step',
        ExpressionAttributeNames: { ...stepNames, '#outcome': 'reconcileOutcome', '#reconciledAt': 'reconciledAt' },
        ExpressionAttributeValues: { ':step': { S: String(step) }, ':reason': { S: reason }, ':now': { S: new Date(now).toISOString() } },
      }),
    ),
  );
  return written.held;
}

/** A message in the awaiting-final index whose next poll is due. */
export interface DueMessage {
  readonly sid: string;
  /** Polls made so far (the index partition it was found in). */
  readonly step: number;
}

const PAGE_SIZE = 25;

/**
 * The messages of one step of the sparse awaiting-final index whose wait began
 * at or before `cutoff` (ISO 8601), oldest first, a page at a time: a Query
 * on the step's partition with a range on awaitingSince, never a Scan.
 */
export async function* dueMessages(db: DynamoDBClient, tableName: string, step: number, cutoff: string): AsyncGenerator<DueMessage[]> {
  let start: QueryCommandOutput['LastEvaluatedKey'];
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: TABLE.AWAITING_FINAL_INDEX,
        KeyConditionExpression: '#step = :step AND #since <= :cutoff',
        ExpressionAttributeNames: { '#step': TABLE.RECONCILE_STEP_ATTRIBUTE, '#since': TABLE.AWAITING_SINCE_ATTRIBUTE },
        ExpressionAttributeValues: { ':step': { S: String(step) }, ':cutoff': { S: cutoff } },
        Limit: PAGE_SIZE,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    const messages = (page.Items ?? []).flatMap((item) => {
      const sid = item[TABLE.PARTITION_KEY]?.S;
      return sid ? [{ sid, step }] : [];
    });
    if (messages.length > 0) yield messages;
    start = page.LastEvaluatedKey;
  } while (start);
}

/** DynamoDB's answer to a Query on an index the table does not have: an existingTable without the new index. */
export function isMissingIndex(err: unknown): boolean {
  const e = err as { name?: unknown; message?: unknown } | undefined;
  return e?.name === 'ValidationException' && typeof e.message === 'string' && /specified index|backfilling/i.test(e.message);
}
