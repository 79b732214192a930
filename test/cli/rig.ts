import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TwilioMessaging, TwilioMessagingProps } from '../../lib';
import { main } from '../../lib/cli/main';
import { OPERATOR_RECORD_KEY, OperatorRecord } from '../../lib/private/operator-record';
import { LocalPipeline, LocalPipelineOptions, NUMBERS, startLocalPipeline } from '../pipeline/local-pipeline';
import { snsEnvelope } from '../support/records';
import { CfnTemplate, DeployedStack, FakeCloudFormation, startFakeCloudFormation } from '../support/fake-cloudformation';
import { FakeKms, startFakeKms } from '../support/fake-kms';

/** A number whose pages Twilio reports undelivered (30003): the local pipeline's fate for a number ending in 7. */
export const UNDELIVERABLE = '+15550101007';
/** The example app's stack name (bin/example.ts), so that the README's commands are the ones a reader of it runs. */
export const STACK = 'TwilioMessagingExample';

/**
 * The CLI's world: the local pipeline (the built handlers, the fake Twilio,
 * Secrets Manager, SNS and dynalite) plus a fake CloudFormation holding the
 * real construct's synthesized template, "deployed" onto the pipeline's
 * topic, secret and table, and a fake KMS holding the construct's key policy.
 * The CLI runs in this process, its AWS clients reaching the fakes through
 * AWS_ENDPOINT_URL_*.
 */
export interface CliRig {
  readonly p: LocalPipeline;
  readonly cfn: FakeCloudFormation;
  readonly kms: FakeKms;
  readonly deployed: DeployedStack;
  readonly template: CfnTemplate;
  /** The record as CloudFormation answers it (every token resolved). */
  readonly record: OperatorRecord;
  readonly numberSid: string;
  /** The template's key policy, resolved: what the construct deploys. */
  readonly keyPolicy: string;
  run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** As `run`, with stderr a terminal: the test page's progress is redrawn in place. */
  runInteractive(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

export const CONSTRUCT_PROPS: TwilioMessagingProps = {
  from: NUMBERS.smsFrom,
  defaultRecipients: [NUMBERS.onCallSms],
  allowedRecipients: [NUMBERS.onCallSms, NUMBERS.backupSms, UNDELIVERABLE],
};

async function runCli(args: string[], interactive: boolean): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), interactive, env: process.env, pollMs: 100 });
  return { code, stdout, stderr };
}

export async function startCliRig(options: LocalPipelineOptions = {}): Promise<CliRig> {
  const p = await startLocalPipeline({
    senderConfig: { defaultRecipients: [...CONSTRUCT_PROPS.defaultRecipients], allowedRecipients: [...CONSTRUCT_PROPS.allowedRecipients!], whatsappFrom: undefined },
    ...options,
  });
  const cfn = await startFakeCloudFormation();
  const kms = await startFakeKms();
  try {
    return await assemble(p, cfn, kms);
  } catch (err) {
    await Promise.all([cfn.close(), kms.close(), p.close()]);
    throw err;
  }
}

async function assemble(p: LocalPipeline, cfn: FakeCloudFormation, kms: FakeKms): Promise<CliRig> {

  const app = new App();
  const stack = new Stack(app, STACK);
  new TwilioMessaging(stack, 'Alerts', CONSTRUCT_PROPS);
  const template = Template.fromStack(stack).toJSON() as CfnTemplate;
  const only = (type: string) => {
    const ids = Object.entries(template.Resources).filter(([, r]) => r.Type === type).map(([id]) => id);
    return (prefix: string) => ids.find((id) => id.startsWith(prefix))!;
  };
  const deployed = cfn.deploy(STACK, template, {
    refs: { [only('AWS::SNS::Topic')('AlertsTopic')]: p.topicArn, [only('AWS::SecretsManager::Secret')('AlertsSecret')]: p.secretArn, [only('AWS::DynamoDB::Table')('AlertsTable')]: p.tableName },
  });
  const sender = Object.values(template.Resources).find((r) => r.Metadata?.[OPERATOR_RECORD_KEY])!;
  const record = (deployed.resolve(sender.Metadata) as Record<string, OperatorRecord>)[OPERATOR_RECORD_KEY];

  // What the construct's topic and key carry, resolved as CloudFormation would.
  const topic = template.Resources[only('AWS::SNS::Topic')('AlertsTopic')];
  const topicPolicy = Object.values(template.Resources).find((r) => r.Type === 'AWS::SNS::TopicPolicy' && JSON.stringify(r.Properties?.Topics).includes('AlertsTopic'))!;
  p.sns.setTopicAttributes(p.topicArn, {
    Policy: JSON.stringify(deployed.resolve(topicPolicy.Properties!.PolicyDocument)),
    KmsMasterKeyId: String(deployed.resolve(topic.Properties!.KmsMasterKeyId)),
  });
  const keyPolicy = JSON.stringify(deployed.resolve(template.Resources[only('AWS::KMS::Key')('AlertsTopicKey')].Properties!.KeyPolicy));
  kms.setKeyPolicy(record.encryptionKeyArn, keyPolicy);
  const numberSid = p.twilio.addIncomingNumber({ phoneNumber: NUMBERS.smsFrom, smsUrl: record.inboundUrl, smsMethod: 'POST' });

  // The alert topic delivers to the pipeline's alert queue under the MessageId SNS answered the CLI.
  p.sns.onPublish((m) => {
    if (m.topicArn === p.topicArn) p.queue.sendRaw(snsEnvelope(p.topicArn, m.message, m.messageId), { snsMessageId: m.messageId });
  });

  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDLOCALCLI',
    AWS_SECRET_ACCESS_KEY: 'local-cli-secret',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.url,
    AWS_ENDPOINT_URL_KMS: kms.url,
    AWS_ENDPOINT_URL_SNS: p.sns.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: p.secrets.url,
    AWS_ENDPOINT_URL_DYNAMODB: p.dynamo.endpoint,
    TWILIO_API_BASE_URL: p.twilio.url,
    TWILIO_MESSAGING_API_BASE_URL: p.twilio.url,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  delete process.env.AWS_PROFILE;

  return {
    p,
    cfn,
    kms,
    deployed,
    template,
    record,
    numberSid,
    keyPolicy,
    run: (...args) => runCli(args, false),
    runInteractive: (...args) => runCli(args, true),
    close: async () => {
      await Promise.all([cfn.close(), kms.close()]);
      await p.close();
    },
  };
}
