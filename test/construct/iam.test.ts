import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Vpc } from 'aws-cdk-lib/aws-ec2';
import { TABLE } from '../../lib/contract';
import { actionsOfRole, environmentOf, logicalId, render, statementsOfRole, synth } from './helpers';

// Each function's role holds exactly what that function does.
const { template } = synth();
const ref = (type: string, prefix: string) => logicalId(template, type, prefix);

function resourcesFor(rolePrefix: string, action: string): string[] {
  return statementsOfRole(template, rolePrefix)
    .filter((s) => ([] as string[]).concat(s.Action).includes(action))
    .flatMap((s) => ([] as unknown[]).concat(s.Resource).map(render));
}

const LOG_WRITE = ['logs:CreateLogStream', 'logs:PutLogEvents'];
const SECRET_READ = ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'];

test('sender: secret read, queue consumption, item-level table writes, its own logs', () => {
  expect(actionsOfRole(template, 'AlertsSenderRole')).toEqual(
    [
      ...LOG_WRITE,
      ...SECRET_READ,
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
      'sqs:SendMessage',
    ].sort(),
  );
  const table = `\${${ref('AWS::DynamoDB::Table', 'AlertsTable')}.Arn}`;
  expect(resourcesFor('AlertsSenderRole', 'dynamodb:PutItem')).toEqual([table]);
  expect(resourcesFor('AlertsSenderRole', 'sqs:ReceiveMessage')).toEqual([`\${${ref('AWS::SQS::Queue', 'AlertsQueue')}.Arn}`]);
});

test('sender: SendMessage (a record deferred for time) on the alert queue only, in a statement of its own', () => {
  const sends = statementsOfRole(template, 'AlertsSenderRole').filter((s) => ([] as string[]).concat(s.Action).includes('sqs:SendMessage'));
  expect(sends).toHaveLength(1);
  expect(sends[0].Action).toBe('sqs:SendMessage');
  expect(([] as unknown[]).concat(sends[0].Resource).map(render)).toEqual([`\${${ref('AWS::SQS::Queue', 'AlertsQueue')}.Arn}`]);
  expect(environmentOf(template, 'AlertsSender').ALERT_QUEUE_URL).toEqual({ Ref: ref('AWS::SQS::Queue', 'AlertsQueue') });
});

test('sender: DeleteItem only on send claims and an incident\'s live pointer and code (ids starting with claim#, incidentkey#, incidentcode#)', () => {
  const deletes = statementsOfRole(template, 'AlertsSenderRole').filter((s) => ([] as string[]).concat(s.Action).includes('dynamodb:DeleteItem'));
  expect(deletes).toHaveLength(1);
  expect(deletes[0].Action).toBe('dynamodb:DeleteItem');
  expect(render(deletes[0].Resource)).toBe(`\${${ref('AWS::DynamoDB::Table', 'AlertsTable')}.Arn}`);
  expect((deletes[0] as any).Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['claim#*', 'incidentkey#*', 'incidentcode#*'] } });
});

// Every handler that sets timers (the sender; status-callback for a page that failed;
// inbound for an opt-out) sends them to the alert queue: exactly sqs:SendMessage on it,
// in statements of their own. The queue uses SQS-managed encryption: no key to grant.
test.each([
  ['AlertsSenderRole', 'AlertsSender', []],
  ['AlertsStatusCallbackRole', 'AlertsStatusCallback', ['AlertsStatusCallbackBacklog']],
  ['AlertsInboundRole', 'AlertsInbound', ['AlertsInboundBacklog']],
])('%s: timers go to the alert queue (ALERT_QUEUE_URL), with sqs:SendMessage on it and on nothing but its own queues', (role, fn, backlogs) => {
  const alertQueue = ref('AWS::SQS::Queue', 'AlertsQueue');
  expect(environmentOf(template, fn).ALERT_QUEUE_URL).toEqual({ Ref: alertQueue });
  const sends = statementsOfRole(template, role).filter((s) => ([] as string[]).concat(s.Action).includes('sqs:SendMessage'));
  for (const statement of sends) {
    expect(statement.Action).toBe('sqs:SendMessage');
    expect((statement as any).Condition).toBeUndefined();
  }
  expect(sends.flatMap((s) => ([] as unknown[]).concat(s.Resource).map(render)).sort()).toEqual(
    [alertQueue, ...backlogs.map((b) => ref('AWS::SQS::Queue', b))].map((q) => `\${${q}.Arn}`).sort(),
  );
});

test('the alert queue takes messages from the four handlers that set timers and from no other role (SNS delivers through the queue policy)', () => {
  const alertQueue = `\${${ref('AWS::SQS::Queue', 'AlertsQueue')}.Arn}`;
  const senders = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
    p.Properties.PolicyDocument.Statement.some(
      (s: any) => ([] as string[]).concat(s.Action).includes('sqs:SendMessage') && ([] as unknown[]).concat(s.Resource).map(render).includes(alertQueue),
    ),
  );
  expect(senders.flatMap((p) => p.Properties.Roles.map((r: { Ref: string }) => r.Ref)).sort()).toEqual(
    ['AlertsSenderRole', 'AlertsStatusCallbackRole', 'AlertsInboundRole', 'AlertsReconcilerRole'].map((p) => ref('AWS::IAM::Role', p)).sort(),
  );
});

const BACKLOG_CONSUME = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'];

test('status-callback: secret read, conditional status updates, an incident read for a failed page, its own backlog', () => {
  expect(actionsOfRole(template, 'AlertsStatusCallbackRole')).toEqual(
    [...LOG_WRITE, ...SECRET_READ, ...BACKLOG_CONSUME, 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'sqs:SendMessage'].sort(),
  );
});

test.each([
  ['AlertsStatusCallbackRole', 'AlertsStatusCallbackBacklog'],
  ['AlertsInboundRole', 'AlertsInboundBacklog'],
])('%s sends and consumes %s only: a backlog record is not verified again, so no other queue and no other sender', (role, backlog) => {
  const queue = `\${${ref('AWS::SQS::Queue', backlog)}.Arn}`;
  const sends = statementsOfRole(template, role).filter((s) => ([] as string[]).concat(s.Action).includes('sqs:SendMessage') && render(s.Resource) === queue);
  expect(sends).toHaveLength(1);
  expect(sends[0].Action).toBe('sqs:SendMessage');
  expect(render(sends[0].Resource)).toBe(queue);
  expect(resourcesFor(role, 'sqs:ReceiveMessage')).toEqual([queue]);
  const senders = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
    p.Properties.PolicyDocument.Statement.some((s: any) => ([] as string[]).concat(s.Action).includes('sqs:SendMessage') && render(s.Resource) === queue),
  );
  expect(senders.flatMap((p) => p.Properties.Roles.map((r: { Ref: string }) => r.Ref))).toEqual([ref('AWS::IAM::Role', role)]);
});

test('inbound: secret read, item reads (incidents in one batch) and updates, Query on the alertsByRecipient index only, publish to the inbound topic, its own backlog', () => {
  expect(actionsOfRole(template, 'AlertsInboundRole')).toEqual(
    [
      ...LOG_WRITE,
      ...SECRET_READ,
      ...BACKLOG_CONSUME,
      'sqs:SendMessage',
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'kms:Decrypt',
      'kms:GenerateDataKey*',
      'sns:Publish',
    ].sort(),
  );
  const table = ref('AWS::DynamoDB::Table', 'AlertsTable');
  expect(resourcesFor('AlertsInboundRole', 'dynamodb:Query')).toEqual([`\${${table}.Arn}/index/${TABLE.ALERTS_BY_RECIPIENT_INDEX}`]);
  expect(resourcesFor('AlertsInboundRole', 'sns:Publish')).toEqual([`\${${ref('AWS::SNS::Topic', 'AlertsInboundTopic')}}`]);
  expect(resourcesFor('AlertsInboundRole', 'dynamodb:GetItem')).toEqual([`\${${table}.Arn}`]);
  // Its only key use is the inbound topic's: the alert queue it sends timers to needs none.
  const topicKey = `\${${ref('AWS::KMS::Key', 'AlertsTopicKey')}.Arn}`;
  expect(resourcesFor('AlertsInboundRole', 'kms:Decrypt')).toEqual([topicKey]);
  expect(resourcesFor('AlertsInboundRole', 'kms:GenerateDataKey*')).toEqual([topicKey]);
});

test('no role can scan, delete (beyond the sender\'s claims), or act on resources it does not name', () => {
  for (const role of ['AlertsSenderRole', 'AlertsStatusCallbackRole', 'AlertsInboundRole', 'AlertsReconcilerRole']) {
    const actions = actionsOfRole(template, role);
    expect(actions.filter((a) => /Scan|DeleteTable|BatchWrite|\*$/.test(a) && a !== 'kms:GenerateDataKey*')).toEqual([]);
    if (role !== 'AlertsSenderRole') expect(actions).not.toContain('dynamodb:DeleteItem');
    for (const statement of statementsOfRole(template, role)) {
      expect(([] as unknown[]).concat(statement.Resource)).not.toContain('*');
    }
  }
});

test('log writes go to the function\'s own log group only', () => {
  for (const prefix of ['AlertsSender', 'AlertsStatusCallback', 'AlertsInbound', 'AlertsReconciler']) {
    expect(resourcesFor(`${prefix}Role`, 'logs:PutLogEvents')).toEqual([`\${${ref('AWS::Logs::LogGroup', `${prefix}Logs`)}.Arn}`]);
  }
});

test('the secret is read by the three handlers and the reconciler, and no one else', () => {
  const secret = `\${${ref('AWS::SecretsManager::Secret', 'AlertsSecret')}}`;
  const readers = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
    p.Properties.PolicyDocument.Statement.some((s: any) => ([] as string[]).concat(s.Action).includes('secretsmanager:GetSecretValue') && render(s.Resource) === secret),
  );
  expect(readers.flatMap((p) => p.Properties.Roles.map((r: { Ref: string }) => r.Ref)).sort()).toEqual(
    ['AlertsSenderRole', 'AlertsStatusCallbackRole', 'AlertsInboundRole', 'AlertsReconcilerRole'].map((p) => ref('AWS::IAM::Role', p)).sort(),
  );
});

test('no AWS-managed policies on the roles (no AWSLambdaBasicExecutionRole and its log wildcard)', () => {
  for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  }
});

test('the VPC option adds only the VPC access policy to the sender', () => {
  const { template: vpcTemplate } = synth({}, (stack) => ({ vpc: new Vpc(stack, 'Vpc') }));
  const senderRole = logicalId(vpcTemplate, 'AWS::IAM::Role', 'AlertsSenderRole');
  expect(render(vpcTemplate.toJSON().Resources[senderRole].Properties.ManagedPolicyArns)).toBe(
    'arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole',
  );
  expect(vpcTemplate.toJSON().Resources[logicalId(vpcTemplate, 'AWS::IAM::Role', 'AlertsInboundRole')].Properties.ManagedPolicyArns).toBeUndefined();
});

test('grantPublish gives sns:Publish on the topic and use of its key; grantReadStatus gives table reads', () => {
  const { template: t } = synth({}, undefined, (messaging, stack) => {
    messaging.grantPublish(new Role(stack, 'Publisher', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') }));
    messaging.grantReadStatus(new Role(stack, 'Reader', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') }));
  });
  expect(actionsOfRole(t, 'Publisher')).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*', 'sns:Publish']);
  const readActions = actionsOfRole(t, 'Reader');
  expect(readActions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query']));
  expect(readActions.filter((a) => /Put|Update|Delete|Write/.test(a))).toEqual([]);
});
