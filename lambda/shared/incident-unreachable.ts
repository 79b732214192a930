import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { maskAddress } from './mask';
import { logger } from './observability';
import type { Incident } from './incident-items';
import { sendUnreachableTimer, unreachableTimer } from './incident-timer';
import { updateIncident } from './incident-update';

export interface UnreachableMark {
  /** False when the incident is resolved or gone, or already had the address as unreachable. */
  readonly marked: boolean;
  /** True when the escalate timer went to the alert queue. */
  readonly timerSent: boolean;
  readonly incident?: Incident;
}

/**
 * An address a live incident paged can no longer be reached (its page ended
 * `undelivered`/`failed`, or it opted out): adds it to the incident's
 * `unreachable` with an `unreachable` timeline event (once per address), and
 * while the incident is `open` sends an escalate timer so the sender can page
 * the next stage at once. The timer is sent whether or not this call added
 * the address: a call repeated after a failure between the two steps must
 * still send it, and a second timer pages nothing twice. A resolved incident
 * is left as it is, and an acknowledged one gets no timer (its escalation has
 * stopped).
 * @throws on DynamoDB or SQS errors: the caller's work goes to its backlog and is repeated
 */
export async function markUnreachable(
  client: DynamoDBClient,
  tableName: string,
  incidentId: string,
  address: string,
  detail: string,
  now: number,
): Promise<UnreachableMark> {
  const result = await updateIncident(
    client,
    tableName,
    incidentId,
    {
      condition: '#state <> :resolved AND NOT contains(#unreachable, :address)',
      set: [],
      add: ['#unreachable :addresses'],
      names: { '#state': 'state', '#unreachable': 'unreachable' },
      values: { ':resolved': { S: 'resolved' }, ':address': { S: address }, ':addresses': { SS: [address] } },
      event: { at: new Date(now).toISOString(), event: 'unreachable', by: address, detail },
    },
    now,
  );
  const incident = result.incident;
  const marked = result.kind === 'updated';
  let timerSent = false;
  if (incident?.state === 'open') timerSent = await sendUnreachableTimer(unreachableTimer(incidentId, incident.stage, now));
  logger.info('incident address unreachable', { incidentId, address: maskAddress(address), detail, marked, state: incident?.state, timerSent });
  return { marked, timerSent, ...(incident ? { incident } : {}) };
}
