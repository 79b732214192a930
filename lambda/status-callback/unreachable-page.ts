import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isIncidentId } from '../shared/incidents/keys';
import { markUnreachable, UnreachableMark } from '../shared/incidents/unreachable';
import { isUndeliveredStatus } from '../shared/status';
import { ApplyResult, pageOf, StatusCallback } from '../shared/table/messages';

/**
 * A page of an incident ended `undelivered`/`failed`: its address becomes
 * unreachable for the incident (markUnreachable: added to `unreachable`, an
 * escalate timer while it is open). Done for the callback that moved the
 * status there (the incidentId came back with that write) and again for an
 * exact repeat of it (`duplicate`: a backlog record of a callback whose
 * incident step failed, or a Twilio retry), which costs one GetItem; a
 * different final status after the first (`recorded`, `dropped`) changes
 * nothing. A callback that arrives before the sender wrote the page's item
 * finds no incidentId and marks nothing: the incident's scheduled escalation
 * still runs.
 * @returns undefined when the callback is not about an undelivered page of an incident
 * @throws on DynamoDB or SQS errors (the caller hands the callback to its backlog)
 */
export async function markUndeliveredPage(client: DynamoDBClient, tableName: string, cb: StatusCallback, result: ApplyResult, now: number): Promise<UnreachableMark | undefined> {
  if (!isUndeliveredStatus(cb.status)) return undefined;
  let page: ApplyResult['page'];
  if (result.outcome === 'advanced') page = result.page;
  else if (result.outcome === 'duplicate') page = await pageOf(client, tableName, cb.messageSid);
  const to = page?.to ?? cb.to;
  if (!page || !isIncidentId(page.incidentId) || to === undefined) return undefined;
  const detail = cb.errorCode ? `${cb.status} ${cb.errorCode}` : cb.status;
  return markUnreachable(client, tableName, page.incidentId, to, detail, now);
}
