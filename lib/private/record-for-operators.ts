import { CfnResource } from 'aws-cdk-lib';
import { allowedWithEscalation } from '../escalation';
import type { TwilioMessaging, TwilioMessagingProps } from '../twilio-messaging';
import { OPERATOR_RECORD_KEY, OPERATOR_RECORD_VERSION, RecordedFields } from './operator-record';

/**
 * Records the deployed names an operator tool needs as Metadata of the sender
 * function's resource (operator-record.ts): the one resource the construct
 * always creates that is its own, whichever existing topic, secret or table it
 * was given. Tokens resolve at deploy.
 */
export function recordForOperators(messaging: TwilioMessaging, props: TwilioMessagingProps): void {
  const allowedRecipients = allowedWithEscalation(props);
  const resource = messaging.senderFunction.node.defaultChild;
  if (!CfnResource.isCfnResource(resource)) throw new Error('TwilioMessaging: the sender function has no CloudFormation resource to record on');
  const record: RecordedFields = {
    version: OPERATOR_RECORD_VERSION,
    construct: messaging.node.path,
    topicArn: messaging.topic.topicArn,
    inboundTopicArn: messaging.inboundTopic.topicArn,
    encryptionKeyArn: messaging.encryptionKey.keyArn,
    secretArn: messaging.secret.secretArn,
    tableName: messaging.table.tableName,
    statusCallbackUrl: messaging.statusCallbackUrl,
    inboundUrl: messaging.inboundUrl,
    ...(props.from !== undefined ? { from: props.from } : {}),
    ...(props.messagingServiceSid !== undefined ? { messagingServiceSid: props.messagingServiceSid } : {}),
    ...(props.whatsappFrom !== undefined ? { whatsappFrom: props.whatsappFrom } : {}),
    // Two lists, not one merged here: either may be a list token, which CDK cannot concatenate.
    defaultRecipients: props.defaultRecipients,
    ...(allowedRecipients !== undefined ? { allowedRecipients } : {}),
    serviceName: messaging.serviceName,
  };
  resource.addMetadata(OPERATOR_RECORD_KEY, record);
}
