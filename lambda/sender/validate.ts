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
/**
 * Entries an envelope's `to` may list. The allowed recipients live in
 * SENDER_CONFIG, inside Lambda's 4 KB of environment, where an address
 * takes at least 11 bytes: no deployment allows 400 of them, so a longer
 * list can only hold addresses the sender must refuse.
 */
export const MAX_RECIPIENTS = 400;
/**
 * Addresses of one envelope refused one by one (a failed claim each). An
 * envelope naming more recipients that may not be sent to is a broken or
 * hostile publisher: it is refused whole, with one write, before any
 * per-recipient work.
 */
export const MAX_REFUSED_RECIPIENTS = 10;
/** Keys of `contentVariables`: far more than any template has placeholders. */
export const MAX_CONTENT_VARIABLES = 100;
/** Characters of one `contentVariables` value: a WhatsApp template body holds at most 1,024, so a longer value can never be sent. */
export const MAX_CONTENT_VARIABLE_CHARS = 1024;
/**
 * UTF-8 bytes of an envelope, a quarter of what SNS accepts (256 KB): the
 * largest valid body (1,600 characters) with ten media URLs is far below it.
 */
export const MAX_ENVELOPE_BYTES = 64 * 1024;

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
  /** Opens (or, with `resolve`, resolves) the incident of this key, as an alarm's ALARM (or OK) does. */
  readonly incidentKey?: string;
  readonly resolve?: boolean;
  /** The incident's name in pages and RESOLVED texts; only read with `incidentKey`. */
  readonly title?: string;
}

/**
 * Names a publisher may give the text: ours, Twilio's, and the ones chat
 * webhooks and loggers use. The first one present is the body.
 */
export const BODY_FIELDS = ['body', 'Body', 'message', 'text'] as const;

export const ENVELOPE_FIELDS = [...BODY_FIELDS, 'to', 'mediaUrls', 'contentSid', 'contentVariables', 'incidentKey', 'resolve', 'title'] as const;
export const MAX_INCIDENT_KEY_CHARS = 256;
export const MAX_TITLE_CHARS = 100;

export function looksLikeEnvelope(json: Record<string, unknown>): boolean {
  return ENVELOPE_FIELDS.some((f) => f in json);
}

/**
 * Checks an envelope's fields; throws InvalidNotificationError with the
 * first problem. `size` is the envelope's length in UTF-8 bytes; `allowed`,
 * when given, bounds how many recipients it may name that are not allowed.
 */
export function validateEnvelope(json: Record<string, unknown>, size = 0, allowed?: ReadonlySet<string>): Envelope {
  const fail = (reason: string): never => {
    throw new InvalidNotificationError(reason);
  };
  if (size > MAX_ENVELOPE_BYTES) fail(`the envelope is ${size} bytes; at most ${MAX_ENVELOPE_BYTES}`);
  const { to, mediaUrls, contentSid, contentVariables, incidentKey, resolve, title } = json;
  if (incidentKey !== undefined && (typeof incidentKey !== 'string' || incidentKey.trim() === '' || bodyLength(incidentKey) > MAX_INCIDENT_KEY_CHARS)) {
    fail(`"incidentKey" must be a string of 1 to ${MAX_INCIDENT_KEY_CHARS} characters`);
  }
  if (resolve !== undefined && typeof resolve !== 'boolean') fail('"resolve" must be true or false');
  if (resolve === true && incidentKey === undefined) fail('"resolve" needs "incidentKey": name the incident to resolve');
  // A title without incidentKey was ignored before incidents existed, and still is.
  if (incidentKey !== undefined && title !== undefined && (typeof title !== 'string' || title.trim() === '' || bodyLength(title) > MAX_TITLE_CHARS)) {
    fail(`"title" must be a string of 1 to ${MAX_TITLE_CHARS} characters`);
  }
  const bodyField = BODY_FIELDS.find((f) => json[f] !== undefined) ?? 'body';
  const body = json[bodyField];
  if (body !== undefined && typeof body !== 'string') fail(`"${bodyField}" must be a string`);
  if (typeof body === 'string' && bodyLength(body) > MAX_BODY_CHARS) fail(`"${bodyField}" is longer than ${MAX_BODY_CHARS} characters`);
  let recipients: string[] | undefined;
  if (to !== undefined) {
    const list = typeof to === 'string' ? [to] : to;
    if (!Array.isArray(list) || list.length === 0) fail('"to" must be an address or a non-empty array of addresses');
    if ((list as unknown[]).length > MAX_RECIPIENTS) fail(`"to" lists ${(list as unknown[]).length} addresses; at most ${MAX_RECIPIENTS}`);
    if (!(list as unknown[]).every((a) => typeof a === 'string')) fail('"to" must be an address or a non-empty array of addresses');
    recipients = [...new Set((list as string[]).map((a) => a.trim()))];
    if (allowed) {
      const refused = recipients.filter((r) => !allowed.has(r)).length;
      if (refused > MAX_REFUSED_RECIPIENTS) {
        fail(`"to" names ${refused} recipients outside the allowed recipients; at most ${MAX_REFUSED_RECIPIENTS}: nothing was sent (fix the publisher, or add them to allowedRecipients)`);
      }
    }
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
    const entries = Object.entries(contentVariables as Record<string, string>);
    if (entries.length > MAX_CONTENT_VARIABLES) fail(`"contentVariables" has ${entries.length} keys; at most ${MAX_CONTENT_VARIABLES}`);
    for (const [, value] of entries) {
      // The key is not quoted: like the value, it could hold a number.
      const chars = bodyLength(value);
      if (chars > MAX_CONTENT_VARIABLE_CHARS) fail(`a "contentVariables" value is ${chars} characters; at most ${MAX_CONTENT_VARIABLE_CHARS}`);
    }
    variables = Object.fromEntries(entries);
  }
  // An incident's page falls back to its title; a resolve sends only RESOLVED texts.
  if ((body === undefined || body === '') && media.length === 0 && contentSid === undefined && incidentKey === undefined) fail('the envelope needs "body" (or "Body", "message", "text"), "mediaUrls" or "contentSid"');
  return {
    ...(typeof body === 'string' && body !== '' ? { body } : {}),
    ...(recipients ? { to: recipients } : {}),
    mediaUrls: media,
    ...(typeof contentSid === 'string' ? { contentSid } : {}),
    ...(variables ? { contentVariables: variables } : {}),
    ...(typeof incidentKey === 'string' ? { incidentKey } : {}),
    ...(resolve === true ? { resolve: true } : {}),
    ...(typeof incidentKey === 'string' && typeof title === 'string' ? { title: title.trim() } : {}),
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
