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
