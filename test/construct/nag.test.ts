import { App, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TwilioMessaging, TwilioMessagingProps } from '../../lib';
import { MINIMAL } from './helpers';

/** Unacknowledged AwsSolutions findings (errors and warnings) under the construct. */
function findings(extra: (stack: Stack) => Partial<TwilioMessagingProps> = () => ({})): string[] {
  const app = new App();
  const stack = new Stack(app, 'TestStack');
  new TwilioMessaging(stack, 'Alerts', { ...MINIMAL, ...extra(stack) } as TwilioMessagingProps);
  const report = new AwsSolutionsChecks(app).validateScope(app);
  return report.violations
    .flatMap((v) => v.violatingResources.map((r) => `${v.severity} ${v.ruleName} ${r.constructPath}`))
    .filter((line) => line.includes('/Alerts/'));
}

test('default configuration: no unacknowledged AwsSolutions finding', () => {
  expect(findings()).toEqual([]);
});

test('without API access logs: still none (the choice is acknowledged)', () => {
  expect(findings(() => ({ apiAccessLogging: false }))).toEqual([]);
});

test('with a VPC, alarms and an existing table under its own key: still none', () => {
  expect(
    findings((stack) => ({
      vpc: new ec2.Vpc(stack, 'Vpc'),
      enableDeadLetterQueueAlarm: true,
      enableSendFailureAlarm: true,
      existingTable: dynamodb.Table.fromTableAttributes(stack, 'Status', {
        tableName: 'status',
        encryptionKey: kms.Key.fromKeyArn(stack, 'StatusKey', 'arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab'),
      }),
    })),
  ).toEqual([]);
});

test('each acknowledgement is needed: without them exactly these findings appear', () => {
  // Guards against a test that passes because the pack silently checks nothing, and
  // against acknowledgements that no longer suppress anything.
  const acknowledge = jest.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
  try {
    const rules = new Set(findings().map((line) => line.split(' ')[1]));
    expect([...rules].sort()).toEqual(
      [
        'AwsSolutions-APIG2',
        'AwsSolutions-APIG3',
        'AwsSolutions-APIG4',
        'AwsSolutions-APIG6',
        'AwsSolutions-COG4',
        'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        'AwsSolutions-SMG4',
      ].sort(),
    );
  } finally {
    acknowledge.mockRestore();
  }
});

test('every acknowledgement has a reason, and the README lists each acknowledged rule', () => {
  const app = new App();
  const stack = new Stack(app, 'TestStack');
  const messaging = new TwilioMessaging(stack, 'Alerts', { ...MINIMAL, vpc: new ec2.Vpc(stack, 'Vpc') });
  const acknowledged = new Map<string, string>();
  for (const construct of messaging.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== 'aws:cdk:acknowledged-rules') continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        // aws-cdk-lib records acknowledgements of its own (CloudFormation-Validate::…) too.
        if (id.includes('AwsSolutions-')) acknowledged.set(id.replace(/^[A-Za-z]+::/, ''), reason);
      }
    }
  }
  expect(acknowledged.size).toBeGreaterThanOrEqual(7);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const readme: string = require('fs').readFileSync(require('path').join(__dirname, '..', '..', 'README.md'), 'utf8');
  for (const [id, reason] of acknowledged) {
    expect(reason.length).toBeGreaterThan(40);
    const rule = id.replace(/\[.*$/, '');
    expect({ rule, inReadme: readme.includes(rule) }).toEqual({ rule, inReadme: true });
  }
});
