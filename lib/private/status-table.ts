// The status table the construct creates when none is given: message status,
// send claims, inbound messages and incidents (item shapes in ARCHITECTURE.md,
// "Status table"). Internal: not exported from lib/index.ts.
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE } from '../contract';
import { addAwaitingFinalIndex } from './reconciler';

/** `Table`: on demand, point-in-time recovery, TTL, the sparse index of pages by recipient and that of messages awaiting a final status. */
export function buildStatusTable(scope: Construct, removalPolicy: RemovalPolicy): dynamodb.ITable {
  const table = new dynamodb.Table(scope, 'Table', {
    partitionKey: { name: TABLE.PARTITION_KEY, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: TABLE.TTL_ATTRIBUTE,
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    removalPolicy,
  });
  table.addGlobalSecondaryIndex({
    indexName: TABLE.ALERTS_BY_RECIPIENT_INDEX,
    partitionKey: { name: TABLE.ALERT_RECIPIENT_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
    sortKey: { name: TABLE.ALERT_SORT_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.ALL,
  });
  addAwaitingFinalIndex(table);
  return table;
}
