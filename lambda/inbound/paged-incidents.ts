import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../lib/contract';
import { getIncidents, Incident, INCIDENT_ID_PREFIX } from '../shared/incident-items';

/**
 * How far back a reply looks: the incidents among the latest this-many pages
 * sent to its address. Every page, repeat and escalation of a live incident
 * is a new page item, so a live incident is always among an on-call phone's
 * recent pages; the bound keeps one reply at one Query page and one
 * BatchGetItem whatever the address's history.
 */
export const PAGE_LOOKBACK = 100;

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
  const ids = [...new Set((Items ?? []).map((item) => item.incidentId?.S).filter((id): id is string => id?.startsWith(INCIDENT_ID_PREFIX) === true))];
  if (ids.length === 0) return [];
  const incidents = await getIncidents(client, tableName, ids);
  return incidents.filter((incident) => incident.paged.has(address)).sort((a, b) => (a.openedAt < b.openedAt ? 1 : a.openedAt > b.openedAt ? -1 : 0));
}
