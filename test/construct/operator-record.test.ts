import { Duration, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { OPERATOR_RECORD_KEY, readOperatorRecord } from '../../lib/private/operator-record';
import { logicalId, render, synth } from './helpers';

// The names `cdk-twilio-messaging verify --stack` reads back: one Metadata entry on the sender's resource.
const recordOf = (template: ReturnType<typeof synth>['template']) => {
  const id = logicalId(template, 'AWS::Lambda::Function', 'AlertsSender');
  return template.toJSON().Resources[id].Metadata?.[OPERATOR_RECORD_KEY] as Record<string, unknown> | undefined;
};

test('the sender function carries the operator record: the construct\'s topic, key, secret, table, webhook URLs and senders', () => {
  const { template } = synth({ allowedRecipients: ['+15005550001', '+15005550009'], escalation: { stages: [{ recipients: ['+15005550001'] }, { recipients: ['+15005550003'], after: Duration.minutes(5) }] } });
  const record = recordOf(template)!;
  expect(Object.fromEntries(Object.entries(record).map(([k, v]) => [k, render(v)]))).toEqual({
    version: '1',
    construct: 'TestStack/Alerts',
    topicArn: `\${${logicalId(template, 'AWS::SNS::Topic', 'AlertsTopic')}}`,
    inboundTopicArn: `\${${logicalId(template, 'AWS::SNS::Topic', 'AlertsInboundTopic')}}`,
    encryptionKeyArn: `\${${logicalId(template, 'AWS::KMS::Key', 'AlertsTopicKey')}.Arn}`,
    secretArn: `\${${logicalId(template, 'AWS::SecretsManager::Secret', 'AlertsSecret')}}`,
    tableName: `\${${logicalId(template, 'AWS::DynamoDB::Table', 'AlertsTable')}}`,
    statusCallbackUrl: `https://\${${logicalId(template, 'AWS::ApiGateway::RestApi', 'AlertsApi')}}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/v1/status`,
    inboundUrl: `https://\${${logicalId(template, 'AWS::ApiGateway::RestApi', 'AlertsApi')}}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/v1/inbound`,
    from: '+15005550006',
    // Every address the sender may text: defaults, and allowed with the escalation's.
    defaultRecipients: '+15005550001',
    allowedRecipients: '+15005550001,+15005550009,+15005550003',
    serviceName: 'TestStackAlerts8F0C84D3',
  });
  // No stack output is added for it: the only one is the RestApi's own endpoint.
  expect(Object.keys(template.toJSON().Outputs ?? {})).toEqual([expect.stringMatching(/^AlertsApiEndpoint/)]);
});

test('the record names existing resources and a custom domain as given, and reads back as a valid record', () => {
  let names: Record<string, string> = {};
  const { template } = synth({ messagingServiceSid: `MG${'a'.repeat(32)}`, from: undefined, publicCallbackBaseUrl: 'https://hooks.example.com/twilio' }, (stack: Stack) => {
    const existingTopic = sns.Topic.fromTopicArn(stack, 'T', 'arn:aws:sns:eu-west-1:111122223333:pager');
    const existingSecret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'S', 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:twilio-AbCdEf');
    const existingTable = dynamodb.Table.fromTableName(stack, 'D', 'pager-status');
    names = { topicArn: existingTopic.topicArn, secretArn: existingSecret.secretArn, tableName: existingTable.tableName };
    return { existingTopic, existingSecret, existingTable };
  });
  const record = readOperatorRecord({ [OPERATOR_RECORD_KEY]: Object.fromEntries(Object.entries(recordOf(template)!).map(([k, v]) => [k, k.endsWith('Recipients') || k === 'version' ? v : render(v)])) });
  expect(typeof record).toBe('object');
  expect(record).toMatchObject({ ...names, messagingServiceSid: `MG${'a'.repeat(32)}`, inboundUrl: 'https://hooks.example.com/twilio/inbound', statusCallbackUrl: 'https://hooks.example.com/twilio/status' });
  expect(record).not.toHaveProperty('from');
  expect(record).toHaveProperty('recipients', ['+15005550001']);
});

test('a record the tool cannot read says why', () => {
  expect(readOperatorRecord(undefined)).toBe(`no "${OPERATOR_RECORD_KEY}" metadata`);
  expect(readOperatorRecord({ [OPERATOR_RECORD_KEY]: { version: 2 } })).toContain('has version 2, this tool reads version 1');
  expect(readOperatorRecord({ [OPERATOR_RECORD_KEY]: { version: 1, construct: 'S/A' } })).toContain('lacks topicArn, inboundTopicArn');
});
