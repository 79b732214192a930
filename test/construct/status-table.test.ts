import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { TABLE } from '../../lib/contract';
import { logicalId, render, statementsOfRole, synth } from './helpers';

// The byParent index, the prop that leaves it out for the first of two upgrade
// deploys, and grantReadStatus's Query on the named indexes.
const indexesOf = (template: ReturnType<typeof synth>['template']) =>
  (template.toJSON().Resources[logicalId(template, 'AWS::DynamoDB::Table', 'AlertsTable')].Properties.GlobalSecondaryIndexes as Array<{ IndexName: string }>).map((i) => i.IndexName);

test('statusTableByParentIndex: false leaves byParent out and keeps the other indexes (the first of two upgrade deploys)', () => {
  const { template } = synth({ statusTableByParentIndex: false });
  expect(indexesOf(template)).toEqual([TABLE.ALERTS_BY_RECIPIENT_INDEX, TABLE.AWAITING_FINAL_INDEX]);
  const attributes = template.toJSON().Resources[logicalId(template, 'AWS::DynamoDB::Table', 'AlertsTable')].Properties.AttributeDefinitions as Array<{ AttributeName: string }>;
  expect(attributes.map((a) => a.AttributeName)).not.toContain(TABLE.PARENT_ATTRIBUTE);
  expect(indexesOf(synth({ statusTableByParentIndex: true }).template)).toEqual([TABLE.ALERTS_BY_RECIPIENT_INDEX, TABLE.AWAITING_FINAL_INDEX, TABLE.BY_PARENT_INDEX]);
});

test('statusTableByParentIndex with existingTable is refused, naming the fix', () => {
  expect(() => synth({}, (stack) => ({ existingTable: dynamodb.Table.fromTableName(stack, 'Mine', 'pager-status'), statusTableByParentIndex: false }))).toThrow(
    /statusTableByParentIndex is false, but existingTable is given: .*add the byParent index to your table yourself \(README, "Upgrading a table \(new indexes\)"\)/,
  );
});

test('grantReadStatus: Query on byParent (and the other indexes) by name, for an imported table too; nothing that writes', () => {
  const { template } = synth({}, (stack) => ({ existingTable: dynamodb.Table.fromTableName(stack, 'Mine', 'pager-status') }), (messaging, stack) => {
    messaging.grantReadStatus(new Role(stack, 'Reader', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') }));
  });
  const statements = statementsOfRole(template, 'Reader');
  const queried = statements.filter((s) => [s.Action].flat().includes('dynamodb:Query')).flatMap((s) => [s.Resource].flat().map(render));
  for (const index of [TABLE.BY_PARENT_INDEX, TABLE.ALERTS_BY_RECIPIENT_INDEX, TABLE.AWAITING_FINAL_INDEX]) {
    expect(queried).toContainEqual(expect.stringMatching(new RegExp(`:table/pager-status/index/${index}$`)));
  }
  expect(statements.flatMap((s) => [s.Action].flat()).filter((a) => /Put|Update|Delete|Write/.test(String(a)))).toEqual([]);
});
