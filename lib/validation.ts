// Synth-time checks of the construct's props. Internal: not exported from
// lib/index.ts. Every error names the prop and the offending value, so a typo
// in a phone number fails `cdk synth`, not the first alarm at 3 a.m.
import { Token } from 'aws-cdk-lib';
import {
  accountAliasProblem,
  isContentSid,
  isMessagingServiceSid,
  quoteValue,
  recipientProblem,
  SenderConfig,
  smsSenderProblem,
  WHATSAPP_PREFIX,
  whatsappSenderProblem,
} from './contract';

export function fail(message: string): never {
  throw new Error(`TwilioMessaging: ${message}`);
}

/** True when the value is only known at deploy time; such values are checked by the sender at cold start. */
function unresolved(value: unknown): boolean {
  return Token.isUnresolved(value);
}

/** A recipient: E.164 (`+15551234567`) or WhatsApp (`whatsapp:+15551234567`). */
export function checkRecipient(prop: string, address: string): void {
  if (unresolved(address)) return;
  const problem = recipientProblem(address);
  if (problem) fail(`${prop} has "${address}", which is ${problem}`);
}

export function checkFrom(from: string): void {
  if (unresolved(from)) return;
  const problem = smsSenderProblem(from);
  if (problem) fail(`from is "${from}", which is ${problem}`);
}

export function checkMessagingServiceSid(sid: string): void {
  if (unresolved(sid)) return;
  if (!isMessagingServiceSid(sid)) {
    fail(`messagingServiceSid is "${sid}", which is not MG followed by 32 hex digits`);
  }
}

export function checkWhatsAppFrom(address: string): void {
  if (unresolved(address)) return;
  const problem = whatsappSenderProblem(address);
  if (problem) fail(`whatsappFrom is "${address}", which is ${problem}`);
}

export function checkContentSid(sid: string): void {
  if (unresolved(sid)) return;
  if (!isContentSid(sid)) {
    fail(`whatsappContentSid is "${sid}", which is not HX followed by 32 hex digits`);
  }
}

/** An integer within [min, max]; tokens pass. */
export function checkIntegerRange(prop: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined || unresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(`${prop} is ${value}; it must be an integer from ${min} to ${max}`);
  }
}

/** Seconds within [min, max] (a Duration already converted); tokens pass. */
export function checkSecondsRange(prop: string, seconds: number | undefined, min: number, max: number): void {
  if (seconds === undefined || unresolved(seconds)) return;
  if (seconds < min || seconds > max) {
    fail(`${prop} is ${seconds} seconds; it must be from ${min} to ${max} seconds`);
  }
}

export function checkAccountAlias(alias: string): void {
  if (unresolved(alias)) return;
  const problem = accountAliasProblem(alias);
  if (problem) fail(`accountAlias is ${quoteValue(alias)}, which is ${problem}`);
}

export function checkHttpsBaseUrl(prop: string, url: string): void {
  if (unresolved(url)) return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail(`${prop} is "${url}", which is not a URL`);
  }
  if (parsed.protocol !== 'https:') fail(`${prop} is "${url}"; Twilio webhooks must use https://`);
  if (parsed.search || parsed.hash) fail(`${prop} is "${url}"; it must not carry a query or fragment`);
  // The sender refuses such a StatusCallback: Twilio rejects URLs with underscores.
  if (url.includes('_')) fail(`${prop} is "${url}"; Twilio rejects callback URLs that contain an underscore`);
}

/** The props that end up in SENDER_CONFIG, checked as the sender will check them. */
export type SenderIdentityInput = Pick<SenderConfig, 'from' | 'messagingServiceSid' | 'whatsappFrom' | 'defaultRecipients' | 'allowedRecipients' | 'whatsappContentSid'>;

/** The checks that concern who sends what to whom. */
export function checkSenderIdentity(input: SenderIdentityInput): void {
  const hasFrom = input.from !== undefined;
  const hasService = input.messagingServiceSid !== undefined;
  if (hasFrom === hasService) {
    fail(
      hasFrom
        ? `give exactly one of from ("${input.from}") and messagingServiceSid ("${input.messagingServiceSid}"), not both`
        : 'give exactly one of from (an E.164 number or an alphanumeric sender ID) and messagingServiceSid (MG…); neither was given',
    );
  }
  if (input.from !== undefined) checkFrom(input.from);
  if (input.messagingServiceSid !== undefined) checkMessagingServiceSid(input.messagingServiceSid);
  if (input.whatsappFrom !== undefined) checkWhatsAppFrom(input.whatsappFrom);
  if (input.whatsappContentSid !== undefined) checkContentSid(input.whatsappContentSid);

  // A token list (e.g. from a parameter) resolves at deploy time: the sender checks it then.
  const defaults = unresolved(input.defaultRecipients) ? [] : input.defaultRecipients;
  const allowed = input.allowedRecipients === undefined || unresolved(input.allowedRecipients) ? undefined : input.allowedRecipients;
  defaults.forEach((r) => checkRecipient('defaultRecipients', r));
  allowed?.forEach((r) => checkRecipient('allowedRecipients', r));

  if (!unresolved(input.defaultRecipients) && defaults.length === 0) {
    fail('defaultRecipients is empty: CloudWatch alarms and plain-text messages need at least one recipient');
  }
  // With a token among the allowed recipients, membership is unknowable until deploy.
  if (allowed !== undefined && !allowed.some(unresolved)) {
    const outside = defaults.filter((r) => !unresolved(r) && !allowed.includes(r));
    if (outside.length > 0) {
      fail(`defaultRecipients ${outside.map((r) => `"${r}"`).join(', ')} not in allowedRecipients; a default recipient must be allowed`);
    }
  }
  // Through a Messaging Service the sender sends WhatsApp without From: the service's pool holds the WhatsApp sender.
  if (input.whatsappFrom === undefined && input.messagingServiceSid === undefined) {
    const whatsapp = [...defaults, ...(allowed ?? [])].filter((r) => !unresolved(r) && r.startsWith(WHATSAPP_PREFIX));
    if (whatsapp.length > 0) {
      fail(
        `recipient "${whatsapp[0]}" is a WhatsApp address, but neither whatsappFrom nor messagingServiceSid is set: ` +
          'set whatsappFrom (whatsapp:+<E.164>), or send through a Messaging Service whose sender pool holds a WhatsApp sender',
      );
    }
  }
}
