import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { maskAddress } from '../mask';
import { logger } from '../observability';
import { unreachableMarked } from './changes';
import { Incident, readIncident } from './items';
import { sendTimer, unreachableTimer } from './timers';
import { updateIncident } from './update';

/*
 * The one step every handler takes when an address an incident paged can no
 * longer be reached: the webhooks and the reconciler (unreachable.ts, with
 * the queue URL they read at cold start) and the sender for a storm digest
 * that ended undelivered (storm/flush.ts, with its own). The queue URL is a
 * parameter, not read here, because what its absence means differs: the
 * webhooks skip the timer with a warning, the sender refuses the digest's
 * step before it gets here.
 */

export interface UnreachableMark {
  /** False when the incident is resolved or gone, or already had the address as unreachable. */
  readonly marked: boolean;
  /** True when the escalate timer went to the alert queue. */
  readonly timerSent: boolean;
  readonly incident?: Incident;
}

/**
 * Adds `address` to the incident's `unreachable` with an `unreachable`
 * timeline event (once per address), and while the incident is `open` sends
 * an escalate timer (`reason: unreachable`, no delay) so the sender can page
 * the address's fallback (SENDER_CONFIG.fallbacks, which only the sender
 * knows) or the next stage at once. The timer is sent whether or not this
 * call added the address: a call repeated after a failure between the two
 * steps must still send it, and a second timer pages nothing twice. A
 * resolved incident is left as it is, and an acknowledged one gets no timer
 * (its escalation has stopped). Without `queueUrl` the timer is skipped with
 * a warning: the incident's scheduled escalation still runs, only the
 * shortcut is lost.
 * @throws on DynamoDB or SQS errors: the caller's work goes to its backlog and is repeated
 */
export async function markAddressUnreachable(client: DynamoDBClient, tableName: string, queueUrl: string | undefined, incidentId: string, address: string, detail: string, now: number): Promise<UnreachableMark> {
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
 * A storm digest that paged `address` ended `undelivered`/`failed` (or
 * Twilio refused it): it counts only for the incidents still `open` (read
 * first, one consistent GetItem each), and each of those gets
 * markAddressUnreachable. One acknowledged or resolved since is left as it
 * is, not even a timeline event; an id that is not an incident's reads as
 * none.
 * @throws on DynamoDB or SQS errors
 */
export async function markDigestUnreachable(client: DynamoDBClient, tableName: string, queueUrl: string | undefined, incidentIds: readonly string[], address: string, detail: string, now: number): Promise<UnreachableMark[]> {
  const states = await Promise.all(incidentIds.map(async (id) => readIncident((await client.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: id } }, ConsistentRead: true }))).Item)?.state));
  const open = incidentIds.filter((_, i) => states[i] === 'open');
  return Promise.all(open.map((id) => markAddressUnreachable(client, tableName, queueUrl, id, address, detail, now)));
}
