/**
 * What the construct records in its stack for operator tools (the
 * `cdk-twilio-messaging` command): the metadata entry `cdk-twilio-messaging`
 * of the sender function's CloudFormation resource. CloudFormation resolves
 * the intrinsic functions in a resource's Metadata, so DescribeStackResource
 * answers the deployed ARNs, names and URLs, with no stack output added.
 *
 * This module must stay free of imports: the command-line tool bundles it.
 */

/** The metadata key; a resource carrying it is one construct instance. */
export const OPERATOR_RECORD_KEY = 'cdk-twilio-messaging';

/** Version of the record's shape: a tool refuses a newer one it cannot read. */
export const OPERATOR_RECORD_VERSION = 1;

/** The record, as DescribeStackResource answers it (every token resolved). */
export interface OperatorRecord {
  readonly version: number;
  /** The construct's path in the app (`MyStack/Alerts`): tells two instances in one stack apart. */
  readonly construct: string;
  readonly topicArn: string;
  readonly inboundTopicArn: string;
  /** The key of the topics (the construct's, or `encryptionKey`). */
  readonly encryptionKeyArn: string;
  readonly secretArn: string;
  readonly tableName: string;
  readonly statusCallbackUrl: string;
  readonly inboundUrl: string;
  readonly from?: string;
  readonly messagingServiceSid?: string;
  readonly whatsappFrom?: string;
  /** Every address the sender may text: the default recipients, `allowedRecipients` and the escalation's (the reader merges the recorded lists). */
  readonly recipients: readonly string[];
  /** The `service` dimension of the instance's metrics. */
  readonly serviceName: string;
}

/** What the metadata holds: the record with its two recipient lists as the construct has them. */
export type RecordedFields = Omit<OperatorRecord, 'recipients'> & {
  readonly defaultRecipients: readonly string[];
  /** The sender's allowedRecipients (the escalation's added), when not only the defaults. */
  readonly allowedRecipients?: readonly string[];
};

const REQUIRED = ['construct', 'topicArn', 'inboundTopicArn', 'encryptionKeyArn', 'secretArn', 'tableName', 'statusCallbackUrl', 'inboundUrl', 'serviceName'] as const;

/** The record read from a resource's Metadata, or why it cannot be used. */
export function readOperatorRecord(metadata: unknown): OperatorRecord | string {
  const value = (metadata as Record<string, unknown> | undefined)?.[OPERATOR_RECORD_KEY];
  if (typeof value !== 'object' || value === null) return `no "${OPERATOR_RECORD_KEY}" metadata`;
  const r = value as Record<string, unknown>;
  if (r.version !== OPERATOR_RECORD_VERSION) {
    return `its "${OPERATOR_RECORD_KEY}" metadata has version ${JSON.stringify(r.version)}, this tool reads version ${OPERATOR_RECORD_VERSION}: use the cdk-twilio-messaging version the stack was deployed with`;
  }
  const missing = REQUIRED.filter((k) => typeof r[k] !== 'string' || r[k] === '');
  if (missing.length > 0) return `its "${OPERATOR_RECORD_KEY}" metadata lacks ${missing.join(', ')}`;
  const lists = [r.defaultRecipients, r.allowedRecipients ?? []];
  if (!lists.every((l) => Array.isArray(l) && l.every((a) => typeof a === 'string'))) return `its "${OPERATOR_RECORD_KEY}" metadata has no recipient lists`;
  const { defaultRecipients: _defaults, allowedRecipients: _allowed, ...rest } = r;
  return { ...(rest as unknown as Omit<OperatorRecord, 'recipients'>), recipients: [...new Set((lists as string[][]).flat())] };
}
