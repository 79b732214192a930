import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ts from 'typescript';
import * as lib from '../../lib';

test('lib/index exports the construct and nothing of the internal contract module', () => {
  // The `as const` objects of lib/contract.ts are not a jsii-compatible surface.
  expect(Object.keys(lib).sort()).toEqual(['TwilioMessaging']);
});

test('the README\'s "Use in an existing stack" sample synthesizes', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Use in an existing stack'));
  const source = /```ts\n([\s\S]*?)```/.exec(section)![1];
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
  const sampleExports: Record<string, any> = {};
  const sampleRequire = (id: string) => (id === 'cdk-twilio-messaging' ? lib : require(id));
  new Function('exports', 'require', outputText)(sampleExports, sampleRequire);
  const app = new App();
  const stack: Stack = new sampleExports.MonitoringStack(app, 'Monitoring');
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'CPUUtilization', AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlertsTopic') }] });
});
