// SENDER_CONFIG: the props the sender reads, in the form it validates again at
// cold start (SenderConfig in lib/contract.ts). Internal: not exported from lib/index.ts.
import { SenderConfig } from '../contract';
import { allowedWithEscalation, senderEscalation } from '../escalation';
import type { TwilioMessagingProps } from '../twilio-messaging';
import { senderFallbacks } from './fallbacks';
import { senderStorm } from './storm-control';

export interface SenderConfigSettings {
  /** How long a send claim is held: twice the sender's timeout. */
  readonly claimLeaseSeconds: number;
  readonly maxReceiveCount: number;
}

/** The sender's configuration: only the props that were given, plus the settings derived from others. */
export function buildSenderConfig(props: TwilioMessagingProps, settings: SenderConfigSettings): SenderConfig {
  const allowedRecipients = allowedWithEscalation(props);
  const fallbacks = senderFallbacks(props);
  return {
    ...(props.from !== undefined ? { from: props.from } : {}),
    ...(props.messagingServiceSid !== undefined ? { messagingServiceSid: props.messagingServiceSid } : {}),
    ...(props.whatsappFrom !== undefined ? { whatsappFrom: props.whatsappFrom } : {}),
    defaultRecipients: props.defaultRecipients,
    ...(allowedRecipients !== undefined ? { allowedRecipients } : {}),
    ...(props.whatsappContentSid !== undefined ? { whatsappContentSid: props.whatsappContentSid } : {}),
    ...(props.sendConcurrency !== undefined ? { sendConcurrency: props.sendConcurrency } : {}),
    claimLeaseSeconds: settings.claimLeaseSeconds,
    ...(props.allowUnicode !== undefined ? { allowUnicode: props.allowUnicode } : {}),
    ...(props.alarmTextSegments !== undefined ? { alarmTextSegments: props.alarmTextSegments } : {}),
    ...(props.accountAlias !== undefined ? { accountAlias: props.accountAlias } : {}),
    maxReceiveCount: settings.maxReceiveCount,
    ...(props.escalation !== undefined ? { escalation: senderEscalation(props.escalation) } : {}),
    ...(fallbacks !== undefined ? { fallbacks } : {}),
    ...(props.storm !== undefined ? { storm: senderStorm(props.storm) } : {}),
  };
}
