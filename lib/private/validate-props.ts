// Every synth-time check of the props, in one list (the checks themselves are in
// lib/validation.ts and lib/escalation.ts). Internal: not exported from lib/index.ts.
import { ALARM_TEXT_SEGMENTS } from '../contract';
import { checkEscalation } from '../escalation';
import { checkFallbacks } from './fallbacks';
import { checkReconcileAfter } from './reconciler';
import { checkStorm } from './storm-control';
import type { TwilioMessagingProps } from '../twilio-messaging';
import { checkAccountAlias, checkHttpsBaseUrl, checkIntegerRange, checkSecondsRange, checkSenderIdentity, fail } from '../validation';

export function validateProps(props: TwilioMessagingProps): void {
  checkSenderIdentity(props);
  checkEscalation(props);
  checkFallbacks(props);
  checkReconcileAfter(props.reconcileAfter);
  checkStorm(props.storm);
  checkIntegerRange('senderBatchSize', props.senderBatchSize, 1, 10);
  checkIntegerRange('senderMaxConcurrency', props.senderMaxConcurrency, 2, 1000);
  checkIntegerRange('sendConcurrency', props.sendConcurrency, 1, 100);
  checkIntegerRange('maxReceiveCount', props.maxReceiveCount, 1, 100);
  checkIntegerRange('statusRetentionDays', props.statusRetentionDays, 1, 3650);
  checkIntegerRange('alarmTextSegments', props.alarmTextSegments, ALARM_TEXT_SEGMENTS.min, ALARM_TEXT_SEGMENTS.max);
  if (props.accountAlias !== undefined) checkAccountAlias(props.accountAlias);
  checkIntegerRange('apiThrottlingRateLimit', props.apiThrottlingRateLimit, 1, 10000);
  checkIntegerRange('apiThrottlingBurstLimit', props.apiThrottlingBurstLimit, 1, 5000);
  if (props.senderTimeout) checkSecondsRange('senderTimeout', props.senderTimeout.toSeconds(), 10, 300);
  if (props.secretCacheTtl) checkSecondsRange('secretCacheTtl', props.secretCacheTtl.toSeconds(), 0, 3600);
  if (props.publicCallbackBaseUrl !== undefined) checkHttpsBaseUrl('publicCallbackBaseUrl', props.publicCallbackBaseUrl);
  if (props.vpcSubnets && !props.vpc) fail('vpcSubnets is given without vpc');
}
