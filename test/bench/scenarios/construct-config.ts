/**
 * What the construct deploys, read from its synthesized template (not
 * assumed): each function's memory, architecture and timeout, the sender's
 * batch size, and the fixed-cost resources (keys, secrets, alarms). Input to
 * the cost model.
 */
import { scenarioMain } from '../support/child';

interface FunctionConfig {
  role: string;
  memoryMb: number;
  architecture: string;
  timeoutS: number;
}

scenarioMain(async () => {
  const { App, Stack } = await import('aws-cdk-lib');
  const { Template } = await import('aws-cdk-lib/assertions');
  const lib = (await import('../../../lib')) as unknown as Record<string, new (scope: unknown, id: string, props: unknown) => unknown>;
  const app = new App();
  const stack = new Stack(app, 'Bench', { env: { account: '123456789012', region: 'us-east-1' } });
  new lib.TwilioMessaging(stack, 'Alerts', { defaultRecipients: ['+15005550006'], from: '+15005550001' });
  const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
  const resources = Object.values(template.Resources);
  const functions: FunctionConfig[] = [];
  for (const r of resources) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const p = r.Properties ?? {};
    const vars = ((p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
    const role = 'SENDER_CONFIG' in vars ? 'sender' : 'INBOUND_URL' in vars || 'INBOUND_TOPIC_ARN' in vars ? 'inbound' : 'STATUS_CALLBACK_URL' in vars ? 'status-callback' : 'other';
    functions.push({
      role,
      memoryMb: Number(p.MemorySize ?? 128),
      architecture: String((p.Architectures as string[] | undefined)?.[0] ?? 'x86_64'),
      timeoutS: Number(p.Timeout ?? 3),
    });
  }
  const count = (type: string) => resources.filter((r) => r.Type === type).length;
  const mapping = resources.find((r) => r.Type === 'AWS::Lambda::EventSourceMapping')?.Properties ?? {};
  const stage = resources.find((r) => r.Type === 'AWS::ApiGateway::Stage')?.Properties ?? {};
  const methodSettings = (stage.MethodSettings as Array<Record<string, unknown>> | undefined) ?? [];
  const throttled = methodSettings.find((m) => m.ThrottlingRateLimit !== undefined);
  return {
    functions,
    senderBatchSize: Number(mapping.BatchSize ?? 10),
    senderMaxConcurrency: Number((mapping.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency ?? 0) || undefined,
    apiThrottle: throttled ? { rate: Number(throttled.ThrottlingRateLimit), burst: Number(throttled.ThrottlingBurstLimit) } : undefined,
    kmsKeys: count('AWS::KMS::Key'),
    secrets: count('AWS::SecretsManager::Secret'),
    alarms: count('AWS::CloudWatch::Alarm'),
    queues: count('AWS::SQS::Queue'),
    topics: count('AWS::SNS::Topic'),
    tables: count('AWS::DynamoDB::Table') + count('AWS::DynamoDB::GlobalTable'),
    apiAccessLogs: resources.some((r) => r.Type === 'AWS::ApiGateway::Stage' && (r.Properties ?? {}).AccessLogSetting !== undefined),
  };
});
