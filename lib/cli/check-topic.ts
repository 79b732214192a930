import { GetKeyPolicyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { Check, fail, pass } from './check';
import { arnParts } from './deployment';
import { explainAwsError } from './errors';

const CLOUDWATCH = 'cloudwatch.amazonaws.com';

interface Statement {
  readonly Effect?: string;
  readonly Principal?: unknown;
  readonly Action?: string | string[];
  readonly Condition?: Record<string, Record<string, unknown>>;
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);

/** The statement names CloudWatch as its principal (`{"Service": ...}`). */
function forCloudWatch(s: Statement): boolean {
  const p = s.Principal as { Service?: unknown } | undefined;
  return s.Effect === 'Allow' && typeof p === 'object' && p !== null && list(p.Service).includes(CLOUDWATCH);
}

/** `action` is granted by one of the statement's actions (IAM wildcards: `*`, `kms:*`, `kms:GenerateDataKey*`). */
function grants(s: Statement, action: string): boolean {
  return list(s.Action).some((a) => new RegExp(`^${a.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i').test(action));
}

/** A condition on aws:SourceAccount, when there is one, names the topic's account. */
function sourceAccountAllows(s: Statement, account: string): boolean {
  const values = Object.values(s.Condition ?? {}).flatMap((c) => Object.entries(c).filter(([k]) => k.toLowerCase() === 'aws:sourceaccount').flatMap(([, v]) => list(v)));
  return values.length === 0 || values.includes(account);
}

function policyStatements(policy: string | undefined): Statement[] {
  try {
    const statements = (JSON.parse(policy ?? '{}') as { Statement?: Statement | Statement[] }).Statement;
    return statements === undefined ? [] : Array.isArray(statements) ? statements : [statements];
  } catch {
    return [];
  }
}

/**
 * CloudWatch can publish an alarm to the topic: the topic policy lets
 * cloudwatch.amazonaws.com sns:Publish, and the topic's key (when it has one)
 * lets it kms:Decrypt and kms:GenerateDataKey*. Without either, an alarm's
 * publish fails silently: nobody is paged.
 */
export async function checkTopic(sns: SNSClient, kms: KMSClient, topicArn: string, recordedKeyArn: string): Promise<Check[]> {
  let attributes: Record<string, string> | undefined;
  try {
    ({ Attributes: attributes } = await sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn })));
  } catch (err) {
    throw explainAwsError(err, `reading the attributes of topic ${topicArn}`, 'sns:GetTopicAttributes');
  }
  const account = arnParts(topicArn)?.account ?? '';
  const checks: Check[] = [];
  const topicStatement = JSON.stringify({
    Sid: 'AllowCloudWatchAlarmsOfThisAccount',
    Effect: 'Allow',
    Principal: { Service: CLOUDWATCH },
    Action: 'sns:Publish',
    Resource: topicArn,
    Condition: { StringEquals: { 'aws:SourceAccount': account } },
  });
  const publishers = policyStatements(attributes?.Policy).filter((s) => forCloudWatch(s) && grants(s, 'sns:Publish'));
  if (publishers.length === 0) {
    checks.push(fail('topic policy', `no statement lets ${CLOUDWATCH} sns:Publish to ${topicArn}`, `add this statement to the topic's access policy (Console → SNS → Topics → Access policy, or aws sns set-topic-attributes --topic-arn ${topicArn} --attribute-name Policy --attribute-value file://policy.json): ${topicStatement}`));
  } else if (!publishers.some((s) => sourceAccountAllows(s, account))) {
    checks.push(fail('topic policy', `the statements for ${CLOUDWATCH} allow another account than ${account} (aws:SourceAccount)`, `make the aws:SourceAccount condition name ${account}: ${topicStatement}`));
  } else {
    checks.push(pass('topic policy', `CloudWatch alarms of ${account} may publish`));
  }

  const keyId = attributes?.KmsMasterKeyId;
  if (!keyId) {
    checks.push(pass('topic key', 'the topic is not encrypted: CloudWatch needs no key'));
    return checks;
  }
  if (/(^|:)alias\/aws\/sns$/.test(keyId)) {
    checks.push(fail('topic key', 'the topic is encrypted with the AWS-managed key alias/aws/sns, which CloudWatch cannot use: alarms fail to publish', 'encrypt the topic with a customer-managed key whose policy lets cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey* (the construct\'s default)'));
    return checks;
  }
  // An alias of the topic is resolved by KMS; the recorded key ARN says which key the construct meant.
  const key = keyId.startsWith('alias/') && recordedKeyArn ? recordedKeyArn : keyId;
  let policy: string | undefined;
  try {
    ({ Policy: policy } = await kms.send(new GetKeyPolicyCommand({ KeyId: key, PolicyName: 'default' })));
  } catch (err) {
    throw explainAwsError(err, `reading the key policy of ${key}`, 'kms:GetKeyPolicy');
  }
  const keyStatement = JSON.stringify({
    Sid: 'AllowCloudWatchAlarmsToUseTheKey',
    Effect: 'Allow',
    Principal: { Service: CLOUDWATCH },
    Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
    Resource: '*',
    Condition: { StringEquals: { 'aws:SourceAccount': account } },
  });
  const statements = policyStatements(policy).filter((s) => forCloudWatch(s) && sourceAccountAllows(s, account));
  const missing = ['kms:Decrypt', 'kms:GenerateDataKey'].filter((a) => !statements.some((s) => grants(s, a)));
  if (missing.length > 0) {
    checks.push(
      fail(
        'topic key',
        `the key policy of ${key} does not let ${CLOUDWATCH} ${missing.join(' or ')}${missing.includes('kms:GenerateDataKey') ? '*' : ''}: alarms fail to publish`,
        `add this statement to the key policy (aws kms get-key-policy --key-id ${key} --policy-name default --query Policy --output text > key-policy.json, add it, then aws kms put-key-policy --key-id ${key} --policy-name default --policy file://key-policy.json): ${keyStatement}`,
      ),
    );
  } else {
    checks.push(pass('topic key', `CloudWatch may use ${key} (kms:Decrypt, kms:GenerateDataKey*)`));
  }
  return checks;
}
