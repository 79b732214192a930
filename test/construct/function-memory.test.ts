import { Lazy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_SENDER_MEMORY_MB, DEFAULT_WEBHOOK_MEMORY_MB } from '../../lib/private/function-memory';
import { logicalId, synth } from './helpers';

const memoryOf = (template: Template, prefix: string) => (template.toJSON().Resources as Record<string, { Properties: { MemorySize?: number } }>)[logicalId(template, 'AWS::Lambda::Function', prefix)].Properties.MemorySize;

test('by default the sender gets a full vCPU (1,769 MiB) and the webhooks 256 MiB', () => {
  const { template } = synth();
  // The figures BENCHMARKS.md's verdicts are taken at; a change of default must come with a new run.
  expect(DEFAULT_SENDER_MEMORY_MB).toBe(1769);
  expect(DEFAULT_WEBHOOK_MEMORY_MB).toBe(256);
  expect(memoryOf(template, 'AlertsSender')).toBe(1769);
  expect(memoryOf(template, 'AlertsStatusCallback')).toBe(256);
  expect(memoryOf(template, 'AlertsInbound')).toBe(256);
});

test('senderMemorySize sizes the sender only; webhookMemorySize both webhooks only', () => {
  const { template } = synth({ senderMemorySize: 512, webhookMemorySize: 1024 });
  expect(memoryOf(template, 'AlertsSender')).toBe(512);
  expect(memoryOf(template, 'AlertsStatusCallback')).toBe(1024);
  expect(memoryOf(template, 'AlertsInbound')).toBe(1024);
});

test("Lambda's bounds, 128 and 10,240 MiB, are accepted", () => {
  const { template } = synth({ senderMemorySize: 128, webhookMemorySize: 10_240 });
  expect(memoryOf(template, 'AlertsSender')).toBe(128);
  expect(memoryOf(template, 'AlertsInbound')).toBe(10_240);
});

test('a token is passed through for Lambda to check at deploy', () => {
  const size = Lazy.number({ produce: () => 2048 });
  const { template } = synth({ senderMemorySize: size });
  expect(memoryOf(template, 'AlertsSender')).toBe(2048);
});

describe('a memory size Lambda would refuse fails synth, naming the prop, the value and the fix', () => {
  test.each<[string, Record<string, number>, RegExp]>([
    ['sender below 128', { senderMemorySize: 64 }, /TwilioMessaging: senderMemorySize is 64; Lambda accepts whole MiB from 128 to 10,240 \(e\.g\. 128\), or leave it unset for 1769/],
    ['sender above 10,240', { senderMemorySize: 16_384 }, /senderMemorySize is 16384; Lambda accepts whole MiB from 128 to 10,240 \(e\.g\. 10240\)/],
    ['sender not whole MiB', { senderMemorySize: 1769.5 }, /senderMemorySize is 1769\.5; Lambda accepts whole MiB/],
    ['sender given in GB by mistake', { senderMemorySize: 1 }, /senderMemorySize is 1; Lambda accepts whole MiB from 128/],
    ['webhook below 128', { webhookMemorySize: 0 }, /webhookMemorySize is 0; Lambda accepts whole MiB from 128 to 10,240 \(e\.g\. 128\), or leave it unset for 256/],
    ['webhook not a number', { webhookMemorySize: NaN }, /webhookMemorySize is NaN; Lambda accepts whole MiB .*\(e\.g\. 256\)/],
  ])('%s', (_name, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });
});
