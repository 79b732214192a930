import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ENV } from '../../../lib/contract';
import { isIncidentId } from './keys';
import { markAddressUnreachable, markDigestUnreachable, UnreachableMark } from './mark-unreachable';

/** Read once per execution environment: the construct sets it on every handler that sets timers (the webhooks, the reconciler). */
const queueUrl = process.env[ENV.ALERT_QUEUE_URL] || undefined;

/**
 * The webhooks' and the reconciler's side of an unreachable address (its
 * page ended `undelivered`/`failed`, or it opted out): markAddressUnreachable
 * (mark-unreachable.ts) with the alert queue of this handler, so that
 * without ALERT_QUEUE_URL the timer is skipped with a warning.
 * @throws on DynamoDB or SQS errors: the caller's work goes to its backlog and is repeated
 */
export function markUnreachable(client: DynamoDBClient, tableName: string, incidentId: string, address: string, detail: string, now: number): Promise<UnreachableMark> {
  return markAddressUnreachable(client, tableName, queueUrl, incidentId, address, detail, now);
}

/**
 * A message that paged `address` ended `undelivered`/`failed`: a page of one
 * incident (markUnreachable), or a storm digest that named several
 * (`digest`: markDigestUnreachable, the step the sender takes for a digest
 * it finds undelivered, so only the incidents still `open` count). A repeat
 * (a callback delivered twice, a callback and a poll) adds nothing the
 * first did not, and its timers page nothing twice.
 * @throws on DynamoDB or SQS errors
 */
export async function markPageUnreachable(client: DynamoDBClient, tableName: string, page: { readonly incidentIds: readonly string[]; readonly digest: boolean }, address: string, detail: string, now: number): Promise<UnreachableMark[]> {
  const ids = page.incidentIds.filter(isIncidentId);
  if (page.digest) return markDigestUnreachable(client, tableName, queueUrl, ids, address, detail, now);
  return Promise.all(ids.map((id) => markUnreachable(client, tableName, id, address, detail, now)));
}
