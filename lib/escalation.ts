// The `escalation` prop: its synth-time checks and its SENDER_CONFIG form.
// Internal: not exported from lib/index.ts (the public structs live beside the props).
//
// Escalation values may not be tokens. The sender re-checks SENDER_CONFIG at cold
// start and refuses a bad one, which would stop every page: a deploy-time value that
// breaks the stage order would be found only by the first alarm. Addresses held in
// SSM can be read at synth with StringParameter.valueFromLookup.
import { Duration, Token } from 'aws-cdk-lib';
import { isRecipientAddress, SenderEscalation, WHATSAPP_PREFIX } from './contract';
import type { EscalationPolicy, TwilioMessagingProps } from './twilio-messaging';
import { fail } from './validation';

/** Bounds that keep SENDER_CONFIG within Lambda's 4 KB of environment (with allowedRecipients, which repeats them). */
const MAX_STAGES = 5;
const MAX_STAGE_RECIPIENTS = 10;
const MAX_ESCALATION_ADDRESSES = 20;
const MAX_REPEATS = 10;
/** The latest a stage or a repeat may be due; timers chain 900 s delays to reach it. */
const MAX_DELAY_SECONDS = 24 * 60 * 60;
const MIN_REPEAT_AFTER_SECONDS = 60;
const DEFAULT_REPEAT_AFTER = Duration.minutes(5);

function failToken(prop: string): never {
  return fail(`${prop} is a token (known only at deploy time); give the value itself, so synth can check the escalation (addresses held in SSM: StringParameter.valueFromLookup)`);
}

function refuseToken(prop: string, value: unknown): void {
  if (Token.isUnresolved(value)) failToken(prop);
}

/** Whole seconds of a Duration, or a clear refusal. */
function wholeSeconds(prop: string, duration: Duration): number {
  if (duration.isUnresolved()) failToken(prop);
  const seconds = duration.toMilliseconds({ integral: false }) / 1000;
  if (!Number.isInteger(seconds)) fail(`${prop} is ${seconds} seconds; give whole seconds (SQS delays count whole seconds), e.g. Duration.seconds(${Math.ceil(seconds)})`);
  return seconds;
}

type EscalationInput = Pick<TwilioMessagingProps, 'escalation' | 'whatsappFrom' | 'allowedRecipients'>;

export function checkEscalation(props: EscalationInput): void {
  const policy = props.escalation;
  if (policy === undefined) return;
  refuseToken('escalation.stages', policy.stages);
  if (policy.stages.length === 0) {
    fail('escalation.stages is empty: give at least one stage (stage 0 is paged when an incident opens), or leave escalation out to page defaultRecipients');
  }
  if (policy.stages.length > MAX_STAGES) fail(`escalation.stages has ${policy.stages.length} stages; at most ${MAX_STAGES}`);

  let previousAfter = 0;
  policy.stages.forEach((stage, i) => {
    const prop = `escalation.stages[${i}]`;
    checkStageRecipients(`${prop}.recipients`, stage.recipients, props.whatsappFrom);
    if (stage.after === undefined) {
      if (i > 0) fail(`${prop}.after is not set; every stage after the first needs one, greater than stage ${i - 1}'s (${previousAfter} seconds)`);
      return;
    }
    const after = wholeSeconds(`${prop}.after`, stage.after);
    if (i === 0 && after !== 0) {
      fail(`${prop}.after is ${after} seconds; the first stage is paged when the incident opens: leave its after out (or 0), and give later stages their delays`);
    }
    if (i > 0 && after <= previousAfter) {
      fail(`${prop}.after is ${after} seconds, not after stage ${i - 1}'s ${previousAfter} seconds; each stage's after must be greater than the one before (it counts from the opening, not from the previous stage)`);
    }
    if (after > MAX_DELAY_SECONDS) fail(`${prop}.after is ${after} seconds; at most ${MAX_DELAY_SECONDS} (24 hours)`);
    previousAfter = after;
  });
  const addresses = policy.stages.reduce((n, stage) => n + stage.recipients.length, 0);
  if (addresses > MAX_ESCALATION_ADDRESSES) {
    fail(`escalation names ${addresses} addresses over its stages; at most ${MAX_ESCALATION_ADDRESSES} (SENDER_CONFIG must fit Lambda's 4 KB of environment)`);
  }

  if (policy.repeats !== undefined) {
    refuseToken('escalation.repeats', policy.repeats);
    if (!Number.isInteger(policy.repeats) || policy.repeats < 0 || policy.repeats > MAX_REPEATS) {
      fail(`escalation.repeats is ${policy.repeats}; it must be an integer from 0 to ${MAX_REPEATS}`);
    }
  }
  if (policy.repeatAfter !== undefined) {
    const seconds = wholeSeconds('escalation.repeatAfter', policy.repeatAfter);
    if (seconds < MIN_REPEAT_AFTER_SECONDS || seconds > MAX_DELAY_SECONDS) {
      fail(`escalation.repeatAfter is ${seconds} seconds; it must be from ${MIN_REPEAT_AFTER_SECONDS} to ${MAX_DELAY_SECONDS} seconds (1 minute to 24 hours)`);
    }
  }
  if (props.allowedRecipients !== undefined && Token.isUnresolved(props.allowedRecipients)) {
    fail('allowedRecipients is a token list (known only at deploy time); with escalation, give it as a list of addresses: the construct adds the escalation recipients to it');
  }
}

function checkStageRecipients(prop: string, recipients: readonly string[], whatsappFrom: string | undefined): void {
  refuseToken(prop, recipients);
  if (recipients.length === 0) fail(`${prop} is empty: each stage pages at least one address`);
  if (recipients.length > MAX_STAGE_RECIPIENTS) fail(`${prop} has ${recipients.length} addresses; at most ${MAX_STAGE_RECIPIENTS} per stage`);
  recipients.forEach((address, j) => {
    refuseToken(`${prop}[${j}]`, address);
    if (!isRecipientAddress(address)) {
      fail(`${prop} has "${address}", which is neither an E.164 number (+ then 7 to 15 digits, e.g. +15551234567) nor whatsapp:+<E.164>`);
    }
    if (recipients.indexOf(address) !== j) fail(`${prop} has "${address}" twice; name each address once per stage`);
    if (address.startsWith(WHATSAPP_PREFIX) && whatsappFrom === undefined) {
      fail(`${prop} has "${address}", a WhatsApp address, but whatsappFrom is not set`);
    }
  });
}

/** SENDER_CONFIG.escalation of a checked policy. */
export function senderEscalation(policy: EscalationPolicy): SenderEscalation {
  return {
    stages: policy.stages.map((stage) => ({ recipients: [...stage.recipients], afterSeconds: stage.after?.toSeconds() ?? 0 })),
    repeats: policy.repeats ?? 0,
    repeatAfterSeconds: (policy.repeatAfter ?? DEFAULT_REPEAT_AFTER).toSeconds(),
  };
}

/**
 * SENDER_CONFIG.allowedRecipients with the escalation recipients added: the operator
 * configured them, so an envelope may name them. The sender adds the default
 * recipients itself, so they are not repeated; undefined when nothing is to be listed.
 */
export function allowedWithEscalation(props: Pick<TwilioMessagingProps, 'escalation' | 'defaultRecipients' | 'allowedRecipients'>): string[] | undefined {
  if (props.escalation === undefined) return props.allowedRecipients;
  const given = props.allowedRecipients ?? [];
  const known = new Set([...given, ...props.defaultRecipients]);
  const added = [...new Set(props.escalation.stages.flatMap((stage) => stage.recipients))].filter((address) => !known.has(address));
  return props.allowedRecipients === undefined && added.length === 0 ? undefined : [...given, ...added];
}
