import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ts from 'typescript';
import * as lib from '../../lib';

test('lib/index exports the construct, its dashboard and nothing of the internal contract module', () => {
  // The `as const` objects of lib/contract.ts are not a jsii-compatible surface.
  expect(Object.keys(lib).sort()).toEqual(['TwilioMessaging', 'TwilioMessagingDashboard']);
});

/** The stack class exported by the first ts sample after a README heading, synthesized. */
function readmeSample(heading: string, className: string): Template {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  expect(readme).toContain(heading);
  const section = readme.slice(readme.indexOf(heading));
  const source = /```ts\n([\s\S]*?)```/.exec(section)![1];
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
  const sampleExports: Record<string, any> = {};
  const sampleRequire = (id: string) => (id === 'cdk-twilio-messaging' ? lib : require(id));
  new Function('exports', 'require', outputText)(sampleExports, sampleRequire);
  const stack: Stack = new sampleExports[className](new App(), 'Sample');
  return Template.fromStack(stack);
}

test('the README\'s "Use in an existing stack" sample synthesizes', () => {
  const template = readmeSample('## Use in an existing stack', 'MonitoringStack');
  // watch(alarm): the ALARM pages, the OK resolves.
  const topic = { Ref: Match.stringLikeRegexp('^AlertsTopic') };
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'CPUUtilization', AlarmActions: [topic], OKActions: [topic] });
});

test('the README\'s escalation sample synthesizes: two stages with repeats in SENDER_CONFIG, its alarm watched', () => {
  const template = readmeSample('### Escalation props', 'OnCallStack');
  const sender = Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('AlertsSender'))![1];
  expect(JSON.parse(sender.Properties.Environment.Variables.SENDER_CONFIG).escalation).toEqual({
    stages: [
      { recipients: ['+15551234567'], afterSeconds: 0 },
      { recipients: ['+15557654321'], afterSeconds: 600 },
    ],
    repeats: 2,
    repeatAfterSeconds: 900,
  });
  const topic = { Ref: Match.stringLikeRegexp('^AlertsTopic') };
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateAgeOfOldestMessage', AlarmActions: [topic], OKActions: [topic] });
});
