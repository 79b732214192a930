// The status table the construct creates when none is given: message status,
// send claims, inbound messages and incidents (item shapes in ARCHITECTURE.md,
// "Status table"). Internal: not exported from lib/index.ts.
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE } from '../contract';
import { addAwaitingFinalIndex } from './reconciler';

/** What the construct's props say about its status table. */
export interface StatusTableProps {
  readonly existingTable?: dynamodb.ITable;
  readonly statusTableByParentIndex?: boolean;
}

/** The table given, or a new one; `statusTableByParentIndex` only shapes a table the construct creates. */
export function statusTableOf(scope: Construct, props: StatusTableProps, removalPolicy: RemovalPolicy): dynamodb.ITable {
  if (props.existingTable !== undefined) {
    if (props.statusTableByParentIndex !== undefined) {
      throw new Error(
        `statusTableByParentIndex is ${props.statusTableByParentIndex}, but existingTable is given: the construct does not change a table it did not create. ` +
          'Remove statusTableByParentIndex and add the byParent index to your table yourself (README, "Upgrading a table (new indexes)").',
      );
    }
    return props.existingTable;
  }
  return buildStatusTable(scope, removalPolicy, props.statusTableByParentIndex !== false);
}

/**
 * `Table`: on demand, point-in-time recovery, TTL, the sparse index of pages by
 * recipient, that of messages awaiting a final status, and (unless left out for
 * the first of two upgrade deploys) the index of outcomes by parent.
 */
export function buildStatusTable(scope: Construct, removalPolicy: RemovalPolicy, byParent: boolean = true): dynamodb.ITable {
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
  // Every (notification, recipient) outcome, and the incidents: "what happened to X" in one Query.
  if (byParent) {
    table.addGlobalSecondaryIndex({
      indexName: TABLE.BY_PARENT_INDEX,
      partitionKey: { name: TABLE.PARENT_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.CREATED_AT_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }
  return table;
}
