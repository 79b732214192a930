import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';

/**
 * Reading Twilio webhooks out of API Gateway REST proxy events: headers
 * (case-insensitive, single- or multi-value), the body (possibly base64) and
 * its form parameters, with repeated names kept as lists.
 */

/** The request cannot be read: answer 400 (Twilio will not fix it by retrying). */
export class MalformedRequestError extends Error {
  readonly name = 'MalformedRequestError';
}

/**
 * A header's first value. API Gateway keeps the client's spelling of header
 * names and may fill either `headers` or `multiValueHeaders` (or both).
 */
export function header(event: Pick<APIGatewayProxyEvent, 'headers' | 'multiValueHeaders'>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  for (const [key, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (key.toLowerCase() === wanted && values && values.length > 0) return values[0];
  }
  return undefined;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The body as text; base64 when API Gateway says so (binary media types). */
export function bodyText(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): string {
  const raw = event.body ?? '';
  if (!event.isBase64Encoded) return raw;
  const compact = raw.replace(/\s+/g, '');
  // Buffer.from skips characters it does not know; a body that is not base64 must not be half-read.
  if (compact.length % 4 === 1 || !BASE64.test(compact)) throw new MalformedRequestError('the body is marked base64 but is not base64');
  try {
    return strictUtf8.decode(Buffer.from(compact, 'base64'));
  } catch {
    throw new MalformedRequestError('the body is not UTF-8');
  }
}

/** Form parameters in the order sent, a repeated name once per value. */
export type FormParams = ReadonlyArray<readonly [string, string]>;

/*
 * Limits on a webhook, checked before anything else (the credentials, the
 * HMAC), so that refusing a forged request costs little whatever its size.
 * They sit far above anything Twilio sends:
 * - Twilio's largest webhook is an inbound WhatsApp message: some 25 standard
 *   fields (the SIDs, From and To with their city, state, zip and country, Body, NumMedia,
 *   NumSegments, SmsStatus, ApiVersion, ...), MediaUrl0-9 and
 *   MediaContentType0-9, and WhatsApp's extras (ProfileName, WaId, Forwarded,
 *   FrequentlyForwarded, ButtonText/ButtonPayload, Latitude/Longitude/Address/
 *   Label, the Referral* and OriginalRepliedMessage* fields, ChannelMetadata):
 *   under 90 parameters. A status callback has about 20.
 * - Its longest value is Body: 1,600 characters for SMS, 4,096 for WhatsApp.
 *   Form-encoded, a UTF-16 unit takes at most 9 characters (%XX for each of
 *   the 3 UTF-8 bytes of a BMP character), so Body stays under 37,000; ten
 *   media URLs take about 2,000 and the other fields a few thousand.
 */

/** Parameters in a webhook body: about three times Twilio's largest. */
export const MAX_WEBHOOK_PARAMS = 256;
/** Characters of a webhook body as Twilio form-encodes it (ASCII, so bytes too): about three times Twilio's largest. */
export const MAX_WEBHOOK_BODY_CHARS = 128 * 1024;
/** The same body base64-encoded (API Gateway's binary media types): 4 characters per 3 bytes. */
const MAX_BASE64_BODY_CHARS = Math.ceil(MAX_WEBHOOK_BODY_CHARS / 3) * 4;

/** The request is larger than any Twilio webhook: answer 413 without reading it further. */
export class RequestTooLargeError extends Error {
  readonly name = 'RequestTooLargeError';
  constructor(readonly limit: 'body' | 'parameters') {
    super(limit === 'body' ? 'the body is larger than any Twilio webhook' : 'the body has more parameters than any Twilio webhook');
  }
}

/**
 * The form parameters of a webhook, refusing a body over the limits before
 * decoding or parsing it.
 *
 * @throws RequestTooLargeError over MAX_WEBHOOK_BODY_CHARS or MAX_WEBHOOK_PARAMS
 * @throws MalformedRequestError when the body cannot be read
 */
export function readForm(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): FormParams {
  const raw = event.body ?? '';
  // A decoded base64 body has at most 3/4 as many bytes, and no more characters than bytes.
  if (raw.length > (event.isBase64Encoded ? MAX_BASE64_BODY_CHARS : MAX_WEBHOOK_BODY_CHARS)) throw new RequestTooLargeError('body');
  const text = bodyText(event);
  if (hasMoreParametersThan(text, MAX_WEBHOOK_PARAMS)) throw new RequestTooLargeError('parameters');
  return parseForm(text);
}

/** Counts separators rather than parsing, and stops at the limit. */
function hasMoreParametersThan(text: string, max: number): boolean {
  let separators = 0;
  for (let i = text.indexOf('&'); i !== -1; i = text.indexOf('&', i + 1)) {
    if (++separators >= max) return true;
  }
  return false;
}

/** Parses an application/x-www-form-urlencoded body (`+` is a space, %XX escapes decoded). */
export function parseForm(text: string): FormParams {
  return [...new URLSearchParams(text)];
}

/** The first value sent for `name`; undefined when absent. */
export function param(params: FormParams, name: string): string | undefined {
  for (const [key, value] of params) if (key === name) return value;
  return undefined;
}

/** Like `param`, but an empty value counts as absent (Twilio sends `ErrorCode=` for none). */
export function nonEmptyParam(params: FormParams, name: string): string | undefined {
  const value = param(params, name);
  return value === undefined || value === '' ? undefined : value;
}

/** An answer with no body: what Twilio expects from a status callback. */
export function emptyResponse(statusCode: number): APIGatewayProxyResult {
  return { statusCode, headers: { 'Content-Type': 'text/plain' }, body: '' };
}

/** Empty TwiML: Twilio sends no reply to the inbound message. */
export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

export function twimlResponse(): APIGatewayProxyResult {
  return { statusCode: 200, headers: { 'Content-Type': 'text/xml' }, body: EMPTY_TWIML };
}
