import { CloudFormationClient, DescribeStackResourceCommand, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { OPERATOR_RECORD_KEY, OperatorRecord, readOperatorRecord } from '../private/operator-record';
import { CliError, EXIT, explainAwsError } from './errors';

/** What the tool works on: the construct's deployed names, and where they came from. */
export interface Deployment {
  readonly record: OperatorRecord;
  /** `stack MyStack, construct MyStack/Alerts`, or `the ARNs given`. */
  readonly source: string;
  readonly stackName?: string;
}

/** The explicit flags that stand in for a stack (every one optional here; commands say which they need). */
export interface ExplicitNames {
  readonly topicArn?: string;
  readonly inboundTopicArn?: string;
  readonly keyArn?: string;
  readonly secretArn?: string;
  readonly tableName?: string;
  readonly inboundUrl?: string;
  readonly statusCallbackUrl?: string;
  readonly from?: string;
  readonly messagingServiceSid?: string;
  readonly whatsappFrom?: string;
  readonly recipients?: readonly string[];
}

const isStackMissing = (err: unknown) => (err as { name?: string }).name === 'ValidationError' && /does not exist/.test(String((err as Error).message));

/**
 * Finds the construct in a deployed stack: the template names every resource
 * that carries the operator record (one per construct instance), and
 * DescribeStackResource answers that record with CloudFormation's values.
 */
export async function locateInStack(cfn: CloudFormationClient, stackName: string, constructPath?: string): Promise<Deployment> {
  let body: string | undefined;
  try {
    ({ TemplateBody: body } = await cfn.send(new GetTemplateCommand({ StackName: stackName })));
  } catch (err) {
    if (isStackMissing(err)) {
      throw new CliError(`stack "${stackName}" does not exist in this account and region`, EXIT.NOT_FOUND, 'check the stack name (`aws cloudformation list-stacks`) and the region (--region or AWS_REGION)');
    }
    throw explainAwsError(err, `reading the template of stack "${stackName}"`, 'cloudformation:GetTemplate');
  }
  const instances = recordedResources(body ?? '');
  if (instances.length === 0) {
    throw new CliError(
      `stack "${stackName}" has no TwilioMessaging construct with an operator record (the "${OPERATOR_RECORD_KEY}" metadata)`,
      EXIT.NOT_FOUND,
      'name the stack that holds the construct; if it does, deploy it with this version of cdk-twilio-messaging (older versions record nothing), or pass --topic-arn, --secret-arn, --table and --inbound-url',
    );
  }
  const chosen = constructPath === undefined ? instances : instances.filter((i) => i.construct === constructPath);
  if (chosen.length !== 1) {
    const list = instances.map((i) => i.construct).join(', ');
    throw new CliError(
      constructPath === undefined ? `stack "${stackName}" holds ${instances.length} TwilioMessaging constructs: ${list}` : `stack "${stackName}" has no TwilioMessaging construct at "${constructPath}" (it has ${list})`,
      constructPath === undefined ? EXIT.USAGE : EXIT.NOT_FOUND,
      `pass --construct with one of: ${list}`,
    );
  }
  const { logicalId, construct } = chosen[0];
  let metadata: string | undefined;
  try {
    metadata = (await cfn.send(new DescribeStackResourceCommand({ StackName: stackName, LogicalResourceId: logicalId }))).StackResourceDetail?.Metadata;
  } catch (err) {
    throw explainAwsError(err, `reading resource ${logicalId} of stack "${stackName}"`, 'cloudformation:DescribeStackResource');
  }
  const record = readOperatorRecord(metadata ? (JSON.parse(metadata) as unknown) : undefined);
  if (typeof record === 'string') {
    throw new CliError(`resource ${logicalId} of stack "${stackName}": ${record}`, EXIT.NOT_FOUND, 'redeploy the stack with this version of cdk-twilio-messaging');
  }
  return { record, source: `stack ${stackName}, construct ${construct}`, stackName };
}

/** The resources of a template that carry the operator record, with the construct path each names. */
export function recordedResources(templateBody: string): Array<{ logicalId: string; construct: string }> {
  let template: { Resources?: Record<string, { Metadata?: Record<string, unknown> }> };
  try {
    template = JSON.parse(templateBody) as typeof template;
  } catch {
    // A template deployed as YAML: CDK deploys JSON, so such a stack is not a CDK app's.
    return [];
  }
  return Object.entries(template.Resources ?? {}).flatMap(([logicalId, r]) => {
    const entry = r.Metadata?.[OPERATOR_RECORD_KEY] as { construct?: unknown } | undefined;
    return entry && typeof entry.construct === 'string' ? [{ logicalId, construct: entry.construct }] : [];
  });
}

/** A deployment from explicit flags; `needed` names the flags the command cannot do without. */
export function explicitDeployment(names: ExplicitNames, needed: ReadonlyArray<keyof ExplicitNames>): Deployment {
  const missing = needed.filter((k) => names[k] === undefined || (Array.isArray(names[k]) && (names[k] as unknown[]).length === 0));
  if (missing.length > 0) {
    throw new CliError(`without --stack this command needs ${missing.map(flagOf).join(', ')}`, EXIT.USAGE, `pass --stack <name> (the tool reads the rest from the stack), or ${missing.map(flagOf).join(', ')}`);
  }
  const record: OperatorRecord = {
    version: 1,
    construct: '(given on the command line)',
    topicArn: names.topicArn ?? '',
    inboundTopicArn: names.inboundTopicArn ?? '',
    encryptionKeyArn: names.keyArn ?? '',
    secretArn: names.secretArn ?? '',
    tableName: names.tableName ?? '',
    statusCallbackUrl: names.statusCallbackUrl ?? '',
    inboundUrl: names.inboundUrl ?? '',
    ...(names.from !== undefined ? { from: names.from } : {}),
    ...(names.messagingServiceSid !== undefined ? { messagingServiceSid: names.messagingServiceSid } : {}),
    ...(names.whatsappFrom !== undefined ? { whatsappFrom: names.whatsappFrom } : {}),
    recipients: names.recipients ?? [],
    serviceName: '',
  };
  return { record, source: 'the names given on the command line' };
}

export function flagOf(name: keyof ExplicitNames): string {
  return {
    topicArn: '--topic-arn',
    inboundTopicArn: '--inbound-topic-arn',
    keyArn: '--key-arn',
    secretArn: '--secret-arn',
    tableName: '--table',
    inboundUrl: '--inbound-url',
    statusCallbackUrl: '--status-callback-url',
    from: '--from',
    messagingServiceSid: '--messaging-service-sid',
    whatsappFrom: '--whatsapp-from',
    recipients: '--recipient',
  }[name];
}

/** Region, account and partition of an ARN (`arn:aws:sns:us-east-1:123456789012:name`). */
export function arnParts(arn: string): { partition: string; region: string; account: string } | undefined {
  const m = /^arn:([^:]+):[^:]+:([^:]*):(\d{12}):/.exec(arn);
  return m ? { partition: m[1], region: m[2], account: m[3] } : undefined;
}
