// The `fallbacks` prop: its synth-time checks and its SENDER_CONFIG form.
// Internal: not exported from lib/index.ts.
//
// Like escalation, fallbacks may not be tokens: the sender re-checks SENDER_CONFIG at
// cold start and refuses a bad one, which would stop every page.
import { Token } from 'aws-cdk-lib';
import { isRecipientAddress, WHATSAPP_PREFIX } from '../contract';
import { allowedWithEscalation } from '../escalation';
import type { TwilioMessagingProps } from '../twilio-messaging';
import { fail } from '../validation';

/** One per on-call phone is the use; bounded, like escalation's addresses, so SENDER_CONFIG stays within Lambda's 4 KB of environment. */
const MAX_FALLBACKS = 10;

type FallbackInput = Pick<TwilioMessagingProps, 'fallbacks' | 'defaultRecipients' | 'allowedRecipients' | 'escalation' | 'from' | 'messagingServiceSid' | 'whatsappFrom'>;

/**
 * Every entry: two valid addresses, different; the key an address the construct may
 * page and the fallback an allowed recipient (default, allowed or escalation
 * recipients) with a sender for its channel; no fallback that has one of its own.
 */
export function checkFallbacks(props: FallbackInput): void {
  const fallbacks = props.fallbacks;
  if (fallbacks === undefined) return;
  if (Token.isUnresolved(fallbacks)) fail('fallbacks is a token (known only at deploy time); give the map itself, so synth can check it');
  const entries = Object.entries(fallbacks);
  if (entries.length > MAX_FALLBACKS) fail(`fallbacks has ${entries.length} entries; at most ${MAX_FALLBACKS} (SENDER_CONFIG must fit Lambda's 4 KB of environment)`);
  const allowed = new Set([...props.defaultRecipients, ...(allowedWithEscalation(props) ?? [])]);
  for (const [address, fallback] of entries) {
    const at = `fallbacks["${address}"]`;
    if (Token.isUnresolved(address) || Token.isUnresolved(fallback)) fail(`${at} is a token (known only at deploy time); give the addresses themselves`);
    if (!isRecipientAddress(address)) fail(`fallbacks has the key "${address}", which is neither an E.164 number (+ then 7 to 15 digits, e.g. +15551234567) nor whatsapp:+<E.164>`);
    if (typeof fallback !== 'string' || !isRecipientAddress(fallback)) {
      fail(`${at} is "${String(fallback)}", which is neither an E.164 number (+ then 7 to 15 digits, e.g. +15551234567) nor whatsapp:+<E.164>`);
    }
    if (fallback === address) fail(`${at} is the address itself; give another address (e.g. its WhatsApp address "${WHATSAPP_PREFIX}${address}")`);
    if (!allowed.has(address)) fail(`fallbacks has the key "${address}", which the construct never pages; name a default, allowed or escalation recipient (or add it to allowedRecipients)`);
    if (!allowed.has(fallback)) fail(`${at} is "${fallback}", which is not an allowed recipient; add it to allowedRecipients (or to a stage of escalation)`);
    if (fallback.startsWith(WHATSAPP_PREFIX)) {
      if (props.whatsappFrom === undefined && props.messagingServiceSid === undefined) fail(`${at} is "${fallback}", a WhatsApp address, but neither whatsappFrom nor messagingServiceSid is set; set whatsappFrom`);
    } else if (props.from === undefined && props.messagingServiceSid === undefined) {
      fail(`${at} is "${fallback}", an SMS number, but neither from nor messagingServiceSid is set; set from`);
    }
    if (fallbacks[fallback] !== undefined) {
      fail(`${at} is "${fallback}", which has a fallback of its own ("${fallbacks[fallback]}"); fallbacks do not chain: give "${address}" its final fallback and drop the other entry`);
    }
  }
}

/** SENDER_CONFIG.fallbacks of checked props; undefined when there are none. */
export function senderFallbacks(props: Pick<TwilioMessagingProps, 'fallbacks'>): Record<string, string> | undefined {
  if (props.fallbacks === undefined || Object.keys(props.fallbacks).length === 0) return undefined;
  return { ...props.fallbacks };
}
