import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createExampleApp } from '../../bin/example';
import { useCloudFormationValidation } from '../support/cdk-validation';

useCloudFormationValidation();

// The app `npx cdk synth` runs, synthesized into a temporary directory: with cdk-nag's
// AwsSolutions checks registered, synthesis itself fails on any unacknowledged finding.
let outdir: string;
let template: { Resources: Record<string, { Type: string; Properties: any }>; Outputs: Record<string, { Value: unknown }> };

beforeAll(() => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'example-app-'));
  const assembly = createExampleApp({ outdir }).synth();
  template = assembly.getStackByName('TwilioMessagingExample').template;
});

afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

test('outputs: topic ARN, secret ARN, status callback URL, inbound URL', () => {
  expect(Object.keys(template.Outputs)).toEqual(expect.arrayContaining(['TopicArn', 'SecretArn', 'StatusCallbackUrl', 'InboundUrl']));
  const topic = Object.entries(template.Resources).find(([id, r]) => r.Type === 'AWS::SNS::Topic' && id.startsWith('AlertsTopic'))![0];
  expect(template.Outputs.TopicArn.Value).toEqual({ Ref: topic });
  expect(JSON.stringify(template.Outputs.InboundUrl.Value)).toContain('/v1/inbound');
  expect(JSON.stringify(template.Outputs.StatusCallbackUrl.Value)).toContain('/v1/status');
});

test('the sample alarm is watched: its ALARM and its OK publish to the topic', () => {
  const topic = Object.entries(template.Resources).find(([id, r]) => r.Type === 'AWS::SNS::Topic' && id.startsWith('AlertsTopic'))![0];
  const sample = Object.values(template.Resources).find((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.Namespace === 'ExampleApp')!;
  expect(sample.Properties.AlarmActions).toEqual([{ Ref: topic }]);
  expect(sample.Properties.OKActions).toEqual([{ Ref: topic }]);
});

test('the example pages through a two-stage escalation with repeats', () => {
  const sender = Object.entries(template.Resources).find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('AlertsSender'))![1];
  expect(JSON.parse(sender.Properties.Environment.Variables.SENDER_CONFIG).escalation).toEqual({
    stages: [
      { recipients: ['+15005550001'], afterSeconds: 0 },
      { recipients: ['+15005550002'], afterSeconds: 600 },
    ],
    repeats: 2,
    repeatAfterSeconds: 900,
  });
});

test('environment-agnostic: no account or region is baked in', () => {
  const text = JSON.stringify(template);
  expect(text).not.toMatch(/\b\d{12}\b/);
  expect(text).toContain('"Ref":"AWS::Region"');
});

test('the cloud assembly holds the template and a clean validation report', () => {
  expect(fs.existsSync(path.join(outdir, 'TwilioMessagingExample.template.json'))).toBe(true);
  const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
  const violations = (report.pluginReports as { violations?: unknown[] }[]).flatMap((p) => p.violations ?? []);
  expect(violations).toEqual([]);
});

test('synthesizes under every feature flag a new CDK app turns on (cdk init), as cdk.json does', () => {
  // Consumers' apps carry these flags; one of them (restrictSqsDescryption) once
  // turned the topic key and topic into a dependency cycle.
  const flags = JSON.parse(fs.readFileSync(require.resolve('aws-cdk-lib/recommended-feature-flags.json'), 'utf8'));
  expect(JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')).context).toEqual(flags);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'example-app-flags-'));
  try {
    const assembly = createExampleApp({ outdir: dir, context: flags }).synth();
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'validation-report.json'), 'utf8'));
    expect((report.pluginReports as { violations?: unknown[] }[]).flatMap((p) => p.violations ?? [])).toEqual([]);
    expect(Object.keys(assembly.getStackByName('TwilioMessagingExample').template.Resources).length).toBeGreaterThan(20);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
