import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import { logicalId, synth } from './helpers';

// watch(alarm): the alarm's ALARM opens an incident and its OK resolves it, so both
// actions publish to the topic. An incident never resolves without the OK action.
function metricAlarm(stack: import('aws-cdk-lib').Stack, id: string): cloudwatch.Alarm {
  return new cloudwatch.Metric({ namespace: 'App', metricName: id }).createAlarm(stack, id, { threshold: 1, evaluationPeriods: 1 });
}

test('a metric alarm gets the topic as its ALARM and its OK action, and no INSUFFICIENT_DATA action', () => {
  const { template } = synth({}, undefined, (m, stack) => m.watch(metricAlarm(stack, 'DbCpu')));
  const topic = { Ref: logicalId(template, 'AWS::SNS::Topic', 'AlertsTopic') };
  const alarm = template.toJSON().Resources[logicalId(template, 'AWS::CloudWatch::Alarm', 'DbCpu')].Properties;
  expect(alarm.AlarmActions).toEqual([topic]);
  expect(alarm.OKActions).toEqual([topic]);
  expect(alarm.InsufficientDataActions).toBeUndefined();
});

test('a composite alarm gets both actions too', () => {
  const { template } = synth({}, undefined, (m, stack) => {
    const rule = cloudwatch.AlarmRule.anyOf(metricAlarm(stack, 'A'), metricAlarm(stack, 'B'));
    m.watch(new cloudwatch.CompositeAlarm(stack, 'Service', { alarmRule: rule }));
  });
  const topic = { Ref: logicalId(template, 'AWS::SNS::Topic', 'AlertsTopic') };
  const composite = template.toJSON().Resources[logicalId(template, 'AWS::CloudWatch::CompositeAlarm', 'Service')].Properties;
  expect(composite.AlarmActions).toEqual([topic]);
  expect(composite.OKActions).toEqual([topic]);
  // The alarms it is made of are not watched by watching it.
  expect(template.toJSON().Resources[logicalId(template, 'AWS::CloudWatch::Alarm', 'A')].Properties.AlarmActions).toBeUndefined();
});

test('with existingTopic, the actions publish to that topic', () => {
  const { template } = synth(
    {},
    (stack) => ({ existingTopic: new sns.Topic(stack, 'OpsTopic') }),
    (m, stack) => m.watch(metricAlarm(stack, 'DbCpu')),
  );
  const ops = { Ref: logicalId(template, 'AWS::SNS::Topic', 'OpsTopic') };
  const alarm = template.toJSON().Resources[logicalId(template, 'AWS::CloudWatch::Alarm', 'DbCpu')].Properties;
  expect(alarm.AlarmActions).toEqual([ops]);
  expect(alarm.OKActions).toEqual([ops]);
});

test('watching an alarm twice adds each action once', () => {
  const { template } = synth({}, undefined, (m, stack) => {
    const alarm = metricAlarm(stack, 'DbCpu');
    m.watch(alarm);
    m.watch(alarm);
  });
  const alarm = template.toJSON().Resources[logicalId(template, 'AWS::CloudWatch::Alarm', 'DbCpu')].Properties;
  expect(alarm.AlarmActions).toHaveLength(1);
  expect(alarm.OKActions).toHaveLength(1);
});

test('an imported alarm is refused: its actions cannot be set from this app, and CDK would drop them silently', () => {
  // TypeScript already refuses the IAlarm that fromAlarmArn returns; JavaScript (or a cast) does not.
  const arn = 'arn:aws:cloudwatch:us-east-1:111111111111:alarm:db-1-cpu-high';
  expect(() =>
    synth({}, undefined, (m, stack) => m.watch(cloudwatch.Alarm.fromAlarmArn(stack, 'Imported', arn) as cloudwatch.AlarmBase)),
  ).toThrow(/watch\(\): alarm "db-1-cpu-high" is imported .*add the topic's ARN as its ALARM and OK action where the alarm is defined/);
  expect(() =>
    synth({}, undefined, (m, stack) => m.watch(cloudwatch.CompositeAlarm.fromCompositeAlarmArn(stack, 'ImportedComposite', arn) as cloudwatch.AlarmBase)),
  ).toThrow(/alarm "db-1-cpu-high" is imported/);
});
