import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ENV } from '../../../lib/contract';
import { maskAddress } from '../mask';
import { logger } from '../observability';
import { unreachableMarked } from './changes';
import { isIncidentId } from './keys';
import { Incident, readIncident } from './items';
import { sendTimer, unreachableTimer } from './timers';
import { updateIncident } from './update';

export interface UnreachableMark {
  /** False when the incident is resolved or gone, or already had the address as unreachable. */
  readonly marked: boolean;
  /** True when the escalate timer went to the alert queue. */
  readonly timerSent: boolean;
  readonly incident?: Incident;
}

/** Read once per execution environment: the construct sets it on every handler that sets timers (the webhooks, the reconciler). */
const queueUrl = process.env[ENV.ALERT_QUEUE_URL] || undefined;

/**
 * The webhooks' and the reconciler's side of an unreachable address (its
 * page ended `undelivered`/`failed`, or it opted out): adds it to the incident's
 * `unreachable` with an `unreachable` timeline event (once per address), and
 * while the incident is `open` sends an escalate timer (`reason:
 * unreachable`, no delay) so the sender can page the address's fallback
 * (SENDER_CONFIG.fallbacks, which only the sender knows) or the next stage at once. The
 * timer is sent whether or not this call added the address: a call repeated
 * after a failure between the two steps must still send it, and a second
 * timer pages nothing twice. A resolved incident is left as it is, and an
 * acknowledged one gets no timer (its escalation has stopped). Without
 * ALERT_QUEUE_URL the timer is skipped with a warning: the incident's
 * scheduled escalation still runs, only the shortcut is lost.
 * @throws on DynamoDB or SQS errors: the caller's work goes to its backlog and is repeated
 */
export async function markUnreachable(client: DynamoDBClient, tableName: string, incidentId: string, address: string, detail: string, now: number): Promise<UnreachableMark> {
  const result = await updateIncident(client, tableName, incidentId, unreachableMarked(address, detail, new Date(now).toISOString()), now);
  const incident = result.incident;
  const marked = result.kind === 'updated';
  let timerSent = false;
  if (incident?.state === 'open') {
    if (queueUrl) {
      await sendTimer(queueUrl, unreachableTimer(incidentId, incident.stage, now), now);
      timerSent = true;
    } else {
      logger.warn('escalation timer not sent: ALERT_QUEUE_URL is not set', { incidentId, reason: 'unreachable' });
    }
  }
  logger.info('incident address unreachable', { incidentId, address: maskAddress(address), detail, marked, state: incident?.state, timerSent });
  return { marked, timerSent, ...(incident ? { incident } : {}) };
}

/**
 * A message that paged `address` ended `undelivered`/`failed`: a page of one
 * incident (markUnreachable), or a storm digest that named several
 * (`digest`). A digest counts only for the incidents still `open` when it
 * failed (read first, one GetItem each): one acknowledged or resolved since
 * is left as it is, not even a timeline event. A repeat (a callback
 * delivered twice, a callback and a poll) adds nothing the first did not,
 * and its timers page nothing twice.
 * @throws on DynamoDB or SQS errors
 */
export async function markPageUnreachable(client: DynamoDBClient, tableName: string, page: { readonly incidentIds: readonly string[]; readonly digest: boolean }, address: string, detail: string, now: number): Promise<UnreachableMark[]> {
  let ids = page.incidentIds.filter(isIncidentId);
  if (page.digest) {
    const states = await Promise.all(ids.map(async (id) => readIncident((await client.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: id } }, ConsistentRead: true }))).Item)?.state));
    ids = ids.filter((_, i) => states[i] === 'open');
  }
  return Promise.all(ids.map((id) => markUnreachable(client, tableName, id, address, detail, now)));
}
