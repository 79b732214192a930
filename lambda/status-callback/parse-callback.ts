import type { StatusCallback } from '../shared/table/messages';
import { FormParams, MalformedRequestError, nonEmptyParam } from '../webhook/webhook-request';

// Twilio message SIDs: two letters and 32 hex digits. Anything else would also
// be able to collide with the table's other id shapes (`claim#…`).
const MESSAGE_SID = /^[A-Z]{2}[0-9a-fA-F]{32}$/;
const STATUS = /^[a-z_]{1,32}$/;
const TOKEN = /^[A-Za-z0-9._:-]{1,128}$/;

/** @throws MalformedRequestError when MessageSid or MessageStatus is missing or not Twilio's shape. */
export function parseStatusCallback(params: FormParams, idempotencyToken: string | undefined): StatusCallback {
  const messageSid = nonEmptyParam(params, 'MessageSid') ?? nonEmptyParam(params, 'SmsSid');
  const status = nonEmptyParam(params, 'MessageStatus') ?? nonEmptyParam(params, 'SmsStatus');
  if (!messageSid || !MESSAGE_SID.test(messageSid)) throw new MalformedRequestError('no valid MessageSid');
  if (!status || !STATUS.test(status)) throw new MalformedRequestError('no valid MessageStatus');
  const optional = (name: string, key: keyof StatusCallback) => {
    const value = nonEmptyParam(params, name);
    return value === undefined ? {} : { [key]: value.slice(0, 1024) };
  };
  return {
    messageSid,
    status,
    ...optional('ErrorCode', 'errorCode'),
    ...optional('ChannelStatusMessage', 'channelStatusMessage'),
    ...optional('RawDlrDoneDate', 'rawDlrDoneDate'),
    ...optional('To', 'to'),
    ...optional('From', 'from'),
    // A token we cannot store safely is left out of the history entry.
    ...(idempotencyToken !== undefined && TOKEN.test(idempotencyToken) ? { idempotencyToken } : {}),
  };
}

export type { StatusCallback };
