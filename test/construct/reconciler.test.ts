import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Duration, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ENV, TABLE } from '../../lib/contract';
import { TwilioMessaging } from '../../lib';
import { webhookThrottle } from '../../lib/private/webhook-throttle';
import { actionsOfRole, environmentOf, logicalId, MINIMAL, render, statementsOfRole, synth } from './helpers';

const base = synth();
const { template } = base;
const ref = (type: string, prefix: string) => logicalId(template, type, prefix);
const resourcesFor = (action: string) =>
  statementsOfRole(template, 'AlertsReconcilerRole')
    .filter((s) => ([] as string[]).concat(s.Action).includes(action))
    .flatMap((s) => ([] as unknown[]).concat(s.Resource).map(render));

describe('reconciler', () => {
  test('a function of the reconciler bundle, with its own log group, RECONCILE_AFTER_SECONDS 300 by default', () => {
    const fn = ref('AWS::Lambda::Function', 'AlertsReconciler');
    const props = template.toJSON().Resources[fn].Properties;
    expect(props).toMatchObject({ Handler: 'index.handler', Runtime: 'nodejs24.x', Architectures: ['arm64'], Timeout: 120 });
    expect(props.LoggingConfig).toEqual({ LogGroup: { Ref: ref('AWS::Logs::LogGroup', 'AlertsReconcilerLogs') } });
    const env = environmentOf(template, 'AlertsReconciler');
    expect(env[ENV.RECONCILE_AFTER_SECONDS]).toBe('300');
    expect(env[ENV.STATUS_TABLE_NAME]).toEqual({ Ref: ref('AWS::DynamoDB::Table', 'AlertsTable') });
    expect(env[ENV.TWILIO_SECRET_ARN]).toEqual({ Ref: ref('AWS::SecretsManager::Secret', 'AlertsSecret') });
    expect(JSON.stringify(env)).not.toMatch(/authToken|apiKeySecret/);
  });

  test('run every 5 minutes by an EventBridge rule, not retried (the next run asks again)', () => {
    const fn = ref('AWS::Lambda::Function', 'AlertsReconciler');
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fn, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] },
    });
  });

  test('least privilege: Query on the awaiting-final index only, GetItem/UpdateItem on the table, SendMessage on the alert queue (timers), the secret, its logs', () => {
    expect(actionsOfRole(template, 'AlertsReconcilerRole')).toEqual(
      ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'logs:CreateLogStream', 'logs:PutLogEvents', 'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'sqs:SendMessage'].sort(),
    );
    const table = `\${${ref('AWS::DynamoDB::Table', 'AlertsTable')}.Arn}`;
    expect(resourcesFor('dynamodb:Query')).toEqual([`${table}/index/${TABLE.AWAITING_FINAL_INDEX}`]);
    expect(resourcesFor('dynamodb:UpdateItem')).toEqual([table]);
    expect(resourcesFor('dynamodb:GetItem')).toEqual([table]);
    expect(resourcesFor('sqs:SendMessage')).toEqual([`\${${ref('AWS::SQS::Queue', 'AlertsQueue')}.Arn}`]);
    expect(environmentOf(template, 'AlertsReconciler')[ENV.ALERT_QUEUE_URL]).toEqual(expect.anything());
    expect(resourcesFor('secretsmanager:GetSecretValue')).toEqual([`\${${ref('AWS::SecretsManager::Secret', 'AlertsSecret')}}`]);
  });

  test('reconcileAfter reaches RECONCILE_AFTER_SECONDS', () => {
    const { template: t } = synth({ reconcileAfter: Duration.minutes(15) });
    expect(environmentOf(t, 'AlertsReconciler')[ENV.RECONCILE_AFTER_SECONDS]).toBe('900');
  });

  test.each([
    [Duration.seconds(59), /reconcileAfter is 59 seconds; it must be from 60 to 86400 seconds/],
    [Duration.hours(25), /reconcileAfter is 90000 seconds; it must be from 60 to 86400 seconds/],
  ])('reconcileAfter %s is refused at synth, naming the value and the range', (after, message) => {
    expect(() => synth({ reconcileAfter: after })).toThrow(message);
  });

  test('an existing table under its own key: the reconciler may use that key, and cdk-nag finds nothing unacknowledged', () => {
    const app = new App();
    const stack = new Stack(app, 'TestStack');
    const key = kms.Key.fromKeyArn(stack, 'StatusKey', 'arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    new TwilioMessaging(stack, 'Alerts', { ...MINIMAL, existingTable: dynamodb.Table.fromTableAttributes(stack, 'Status', { tableName: 'status', encryptionKey: key }) });
    const decrypt = statementsOfRole(Template.fromStack(stack), 'AlertsReconcilerRole').filter((s) => ([] as string[]).concat(s.Action).includes('kms:Decrypt'));
    expect(decrypt.flatMap((s) => ([] as unknown[]).concat(s.Resource).map(render))).toEqual([key.keyArn]);
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`)).filter((l) => l.includes('/Alerts/Reconciler'));
    expect(findings).toEqual([]);
  });
});

describe('webhook stage throttling sized from the sender', () => {
  const throttleOf = (t: Template) => {
    const [setting] = Object.values(t.findResources('AWS::ApiGateway::Stage'))[0].Properties.MethodSettings;
    return { rate: setting.ThrottlingRateLimit, burst: setting.ThrottlingBurstLimit };
  };

  test('the formula: senderMaxConcurrency × sendConcurrency ÷ 0.1 s × 3 callbacks, burst twice that, within the account limits', () => {
    expect(webhookThrottle({ senderMaxConcurrency: 5, sendConcurrency: 10 })).toEqual({ rateLimit: 1500, burstLimit: 3000, maxCallbackRate: 1500 });
    expect(webhookThrottle({ senderMaxConcurrency: 2, sendConcurrency: 1 })).toEqual({ rateLimit: 60, burstLimit: 120, maxCallbackRate: 60 });
    expect(webhookThrottle({ senderMaxConcurrency: 100, sendConcurrency: 100 })).toEqual({ rateLimit: 10000, burstLimit: 5000, maxCallbackRate: 300000 });
    // A rate alone: a burst of twice it, at most 5,000.
    expect(webhookThrottle({ senderMaxConcurrency: 5, sendConcurrency: 10, apiThrottlingRateLimit: 2000 })).toMatchObject({ rateLimit: 2000, burstLimit: 4000 });
    expect(webhookThrottle({ senderMaxConcurrency: 5, sendConcurrency: 10, apiThrottlingRateLimit: 4000 })).toMatchObject({ rateLimit: 4000, burstLimit: 5000 });
  });

  test('the stage: sized from the default sender, wider for a faster one (burst capped at 5,000)', () => {
    expect(throttleOf(template)).toEqual({ rate: 1500, burst: 3000 });
    expect(throttleOf(synth({ senderMaxConcurrency: 20, sendConcurrency: 10 }).template)).toEqual({ rate: 6000, burst: 5000 });
  });

  test('explicit props win; a rate below what the sender can cause gets a synth warning naming both figures', () => {
    const { stack, template: t } = synth({ apiThrottlingRateLimit: 50, apiThrottlingBurstLimit: 100 });
    expect(throttleOf(t)).toEqual({ rate: 50, burst: 100 });
    Annotations.fromStack(stack).hasWarning('/TestStack/Alerts', Match.stringLikeRegexp('apiThrottlingRateLimit is 50 requests/s, below the 1500 status callbacks/s'));
  });

  test('no warning for the sized default', () => {
    Annotations.fromStack(base.stack).hasNoWarning('/TestStack/Alerts', Match.stringLikeRegexp('apiThrottlingRateLimit'));
  });
});
