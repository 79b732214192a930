import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Incident } from '../shared/incidents/items';
import { markUnreachable } from '../shared/incidents/unreachable';
import type { ReplyContext } from './acknowledge';
import { incidentsThatPaged } from '../shared/incidents/paged';

/**
 * An address that opted out can no longer be paged: every live incident that
 * paged it gets it as unreachable, and the open ones an escalate timer
 * (markUnreachable), in parallel. Returns those incidents as they are now.
 */
export async function escalatePastOptedOut(client: DynamoDBClient, tableName: string, reply: ReplyContext, word: string, now: number): Promise<Incident[]> {
  const live = (await incidentsThatPaged(client, tableName, reply.from)).filter((incident) => incident.state !== 'resolved');
  const marks = await Promise.all(live.map((incident) => markUnreachable(client, tableName, incident.id, reply.from, `opted out (${word})`, now)));
  return marks.flatMap((mark) => (mark.incident ? [mark.incident] : []));
}
