import { AttributeValue, BatchGetItemCommand, DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../../lib/contract';
import { Incident, INCIDENT_PROJECTION, readIncident } from './items';
import { codeId, isIncidentId } from './keys';

/**
 * How far back a reply looks: the incidents among the latest this-many pages
 * sent to its address. Every page, repeat and escalation of a live incident
 * is a new page item, so a live incident is always among an on-call phone's
 * recent pages; the bound keeps one reply at one Query page and one
 * BatchGetItem whatever the address's history.
 */
export const PAGE_LOOKBACK = 100;

/** BatchGetItem's limit per request. */
const BATCH_GET_LIMIT = 100;
/** Rounds for keys DynamoDB left unprocessed (throttling) before the read counts as failed. */
const UNPROCESSED_ROUNDS = 4;

/**
 * Several incidents, read consistently in as few BatchGetItem calls as their
 * number allows; the ones that do not exist are left out, the order is not kept.
 * @throws when DynamoDB still leaves keys unprocessed after UNPROCESSED_ROUNDS rounds
 */
export async function getIncidents(client: DynamoDBClient, tableName: string, incidentIds: readonly string[]): Promise<Incident[]> {
  const found: Incident[] = [];
  for (let start = 0; start < incidentIds.length; start += BATCH_GET_LIMIT) {
    let keys: Array<Record<string, AttributeValue>> = incidentIds.slice(start, start + BATCH_GET_LIMIT).map((id) => ({ id: { S: id } }));
    for (let round = 0; keys.length > 0; round++) {
      if (round === UNPROCESSED_ROUNDS) throw new Error(`DynamoDB left ${keys.length} incident reads unprocessed`);
      const out = await client.send(
        new BatchGetItemCommand({
          RequestItems: {
            [tableName]: { Keys: keys, ConsistentRead: true, ProjectionExpression: INCIDENT_PROJECTION.expression, ExpressionAttributeNames: INCIDENT_PROJECTION.names },
          },
        }),
      );
      for (const item of out.Responses?.[tableName] ?? []) {
        const incident = readIncident(item);
        if (incident) found.push(incident);
      }
      keys = (out.UnprocessedKeys?.[tableName]?.Keys ?? []) as Array<Record<string, AttributeValue>>;
    }
  }
  return found;
}

/**
 * The incidents that paged `address`, newest opened first: one Query on the
 * sparse alertsByRecipient index (partition = the address exactly as Twilio
 * sends it in `From`, newest page first, only page items that carry an
 * incidentId), then one consistent BatchGetItem of the distinct incidents,
 * keeping those whose `paged` holds the address (the index is eventually
 * consistent; the incident item is the authority). No scan: the cost is
 * bounded by PAGE_LOOKBACK, not by the table.
 */
export async function incidentsThatPaged(client: DynamoDBClient, tableName: string, address: string): Promise<Incident[]> {
  const { Items } = await client.send(
    new QueryCommand({
      TableName: tableName,
      IndexName: TABLE.ALERTS_BY_RECIPIENT_INDEX,
      KeyConditionExpression: '#recipient = :recipient',
      FilterExpression: 'attribute_exists(#incidentId)',
      ProjectionExpression: '#incidentId',
      ExpressionAttributeNames: { '#recipient': TABLE.ALERT_RECIPIENT_ATTRIBUTE, '#incidentId': 'incidentId' },
      ExpressionAttributeValues: { ':recipient': { S: address } },
      ScanIndexForward: false,
      Limit: PAGE_LOOKBACK,
    }),
  );
  const ids = [...new Set((Items ?? []).map((item) => item.incidentId?.S).filter(isIncidentId))];
  if (ids.length === 0) return [];
  const incidents = await getIncidents(client, tableName, ids);
  return incidents.filter((incident) => incident.paged.includes(address)).sort((a, b) => (a.openedAt < b.openedAt ? 1 : a.openedAt > b.openedAt ? -1 : 0));
}

/** The incident that holds `code` now (its reservation), if any. */
export async function reservedIncidentId(client: DynamoDBClient, tableName: string, code: string): Promise<string | undefined> {
  const { Item } = await client.send(
    new GetItemCommand({ TableName: tableName, Key: { id: { S: codeId(code) } }, ConsistentRead: true, ProjectionExpression: 'incidentId' }),
  );
  const incidentId = Item?.incidentId?.S;
  return isIncidentId(incidentId) ? incidentId : undefined;
}
