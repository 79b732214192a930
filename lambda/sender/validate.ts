/**
 * Validation rules for what may be published (ARCHITECTURE.md, "What can be
 * published"). A failure here can never succeed later, so callers record it
 * as failed instead of retrying. Reasons are logged: they never quote a
 * number or a body.
 */

import { isRecipientAddress } from '../../lib/contract';

/** Twilio's limit for a message body. */
export const MAX_BODY_CHARS = 1600;
/** Twilio's limit for MediaUrl parameters on one message. */
export const MAX_MEDIA_URLS = 10;

const HX = /^HX[0-9a-fA-F]{32}$/;

export class InvalidNotificationError extends Error {
  readonly name = 'InvalidNotificationError';
}

/** `+15551234567` or `whatsapp:+15551234567`: the rule the construct checks at synth. */
export const isAddress = isRecipientAddress;

export function isWhatsApp(address: string): boolean {
  return address.startsWith('whatsapp:');
}

/** Characters as Twilio counts them for its 1600 limit (code points, not UTF-16 units). */
export function bodyLength(body: string): number {
  let n = 0;
  for (const _ of body) n++;
  return n;
}

/** A JSON envelope, validated. */
export interface Envelope {
  readonly body?: string;
  readonly to?: readonly string[];
  readonly mediaUrls: readonly string[];
  readonly contentSid?: string;
  readonly contentVariables?: Readonly<Record<string, string>>;
}

export const ENVELOPE_FIELDS = ['body', 'to', 'mediaUrls', 'contentSid', 'contentVariables'] as const;

export function looksLikeEnvelope(json: Record<string, unknown>): boolean {
  return ENVELOPE_FIELDS.some((f) => f in json);
}

/** Checks an envelope's fields; throws InvalidNotificationError with the first problem. */
export function validateEnvelope(json: Record<string, unknown>): Envelope {
  const fail = (reason: string): never => {
    throw new InvalidNotificationError(reason);
  };
  const { body, to, mediaUrls, contentSid, contentVariables } = json;
  if (body !== undefined && typeof body !== 'string') fail('"body" must be a string');
  if (typeof body === 'string' && bodyLength(body) > MAX_BODY_CHARS) fail(`"body" is longer than ${MAX_BODY_CHARS} characters`);
  let recipients: string[] | undefined;
  if (to !== undefined) {
    const list = typeof to === 'string' ? [to] : to;
    if (!Array.isArray(list) || list.length === 0 || !list.every((a) => typeof a === 'string')) fail('"to" must be an address or a non-empty array of addresses');
    recipients = [...new Set((list as string[]).map((a) => a.trim()))];
  }
  let media: string[] = [];
  if (mediaUrls !== undefined) {
    if (!Array.isArray(mediaUrls) || !mediaUrls.every((u) => typeof u === 'string')) fail('"mediaUrls" must be an array of URLs');
    media = mediaUrls as string[];
    if (media.length > MAX_MEDIA_URLS) fail(`"mediaUrls" holds more than ${MAX_MEDIA_URLS} URLs`);
    for (const u of media) {
      let url: URL | undefined;
      try {
        url = new URL(u);
      } catch {
        url = undefined;
      }
      if (!url || url.protocol !== 'https:') fail('"mediaUrls" must be https URLs');
    }
  }
  if (contentSid !== undefined && (typeof contentSid !== 'string' || !HX.test(contentSid))) fail('"contentSid" must be HX followed by 32 hex digits');
  let variables: Record<string, string> | undefined;
  if (contentVariables !== undefined) {
    if (contentSid === undefined) fail('"contentVariables" needs "contentSid"');
    if (typeof contentVariables !== 'object' || contentVariables === null || Array.isArray(contentVariables) || !Object.values(contentVariables).every((v) => typeof v === 'string')) {
      fail('"contentVariables" must be an object of strings');
    }
    variables = { ...(contentVariables as Record<string, string>) };
  }
  if ((body === undefined || body === '') && media.length === 0 && contentSid === undefined) fail('the envelope needs "body", "mediaUrls" or "contentSid"');
  return {
    ...(typeof body === 'string' && body !== '' ? { body } : {}),
    ...(recipients ? { to: recipients } : {}),
    mediaUrls: media,
    ...(typeof contentSid === 'string' ? { contentSid } : {}),
    ...(variables ? { contentVariables: variables } : {}),
  };
}

export interface RecipientCheck {
  readonly accepted: string[];
  readonly rejected: Array<{ readonly recipient: string; readonly reason: string }>;
}

/**
 * Splits recipients into those we may send to and those we must not: an
 * invalid address, one outside the allowed set (a publish right must not
 * become a way to text any number), or a channel with no sender configured.
 */
export function checkRecipients(
  recipients: readonly string[],
  allowed: ReadonlySet<string>,
  senders: { readonly sms: boolean; readonly whatsapp: boolean },
): RecipientCheck {
  const out: RecipientCheck = { accepted: [], rejected: [] };
  for (const r of recipients) {
    if (!isAddress(r)) out.rejected.push({ recipient: r, reason: 'not an E.164 or whatsapp:+E.164 address' });
    else if (!allowed.has(r)) out.rejected.push({ recipient: r, reason: 'recipient not in the allowed recipients' });
    else if (isWhatsApp(r) ? !senders.whatsapp : !senders.sms) out.rejected.push({ recipient: r, reason: `no ${isWhatsApp(r) ? 'WhatsApp' : 'SMS'} sender configured` });
    else out.accepted.push(r);
  }
  return out;
}
