import { DynamoDBClient, QueryCommand, QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../lib/contract';

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
