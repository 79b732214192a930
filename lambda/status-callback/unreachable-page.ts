import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { UnreachableMark } from '../shared/incidents/mark-unreachable';
import { markPageUnreachable } from '../shared/incidents/unreachable';
import { isUndeliveredStatus } from '../shared/status';
import { ApplyResult, pageOf, PageOf, StatusCallback } from '../shared/table/messages';

/*
 * A page of an incident ended `undelivered`/`failed`, as a status callback
 * or the reconciler's poll of Twilio saw it: its address becomes unreachable
 * for the incident (markUnreachable: added to `unreachable`, an escalate
 * timer with reason `unreachable` while it is open). The sender, firing that
 * timer, pages the address's fallback once when it has one
 * (SENDER_CONFIG.fallbacks), else (or once the fallback is unreachable too)
 * the next stage at once if the whole current stage is unreachable. Both
 * sources end in the same calls, so a callback and a poll that both see the
 * failure, or a callback delivered twice, record it once and send a second
 * timer that pages nothing twice. A storm digest that ends so is an
 * undelivered page of each incident it named (its `incidentIds`, written by
 * the sender) that is still open.
 */

/**
 * The status callback's side: done for the callback that moved the status
 * there (the incidentId came back with that write) and again for an exact
 * repeat of it (`duplicate`: a backlog record of a callback whose incident
 * step failed, or a Twilio retry), which costs one GetItem; a different
 * final status after the first (`recorded`, `dropped`) changes nothing. A
 * callback that arrives before the sender wrote the page's item finds no
 * incidentId and marks nothing: the incident's scheduled escalation still
 * runs.
 * @returns nothing when the callback is not about an undelivered page of an incident
 * @throws on DynamoDB or SQS errors (the caller hands the callback to its backlog)
 */
export async function markUndeliveredPage(client: DynamoDBClient, tableName: string, cb: StatusCallback, result: ApplyResult, now: number): Promise<UnreachableMark[]> {
  if (!isUndeliveredStatus(cb.status)) return [];
  let page: PageOf | undefined;
  if (result.outcome === 'advanced') page = result.page;
  else if (result.outcome === 'duplicate') page = await pageOf(client, tableName, cb.messageSid);
  return markPage(client, tableName, cb, page, now);
}

/**
 * The reconciler's side, called BEFORE the polled status is written: the
 * page is read (one GetItem), so that a failure here leaves the message
 * awaiting its final status, to be asked, and this step repeated, on a
 * later run.
 * @throws on DynamoDB or SQS errors
 */
export async function markPolledUndeliveredPage(client: DynamoDBClient, tableName: string, polled: StatusCallback, now: number): Promise<UnreachableMark[]> {
  if (!isUndeliveredStatus(polled.status)) return [];
  return markPage(client, tableName, polled, await pageOf(client, tableName, polled.messageSid), now);
}

async function markPage(client: DynamoDBClient, tableName: string, cb: StatusCallback, page: PageOf | undefined, now: number): Promise<UnreachableMark[]> {
  const to = page?.to ?? cb.to;
  if (!page || to === undefined) return [];
  const detail = cb.errorCode ? `${cb.status} ${cb.errorCode}` : cb.status;
  return markPageUnreachable(client, tableName, page, to, detail, now);
}
