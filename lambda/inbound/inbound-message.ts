import { FormParams, MalformedRequestError, nonEmptyParam, param } from '../webhook/webhook-request';
import type { InboundMessage } from '../shared/table/inbound';

const MESSAGE_SID = /^[A-Z]{2}[0-9a-fA-F]{32}$/;
/** Twilio allows 10 media per message; the bound keeps a forged NumMedia from costing anything. */
const MAX_MEDIA = 10;

/** @throws MalformedRequestError when MessageSid, From or To is missing. */
export function parseInbound(params: FormParams): InboundMessage {
  const messageSid = nonEmptyParam(params, 'MessageSid') ?? nonEmptyParam(params, 'SmsMessageSid');
  const from = nonEmptyParam(params, 'From');
  const to = nonEmptyParam(params, 'To');
  if (!messageSid || !MESSAGE_SID.test(messageSid)) throw new MalformedRequestError('no valid MessageSid');
  if (!from || !to) throw new MalformedRequestError('no From or To');
  const numMedia = Math.min(MAX_MEDIA, Math.max(0, Number.parseInt(param(params, 'NumMedia') ?? '0', 10) || 0));
  const mediaUrls: string[] = [];
  for (let i = 0; i < numMedia; i++) {
    const url = nonEmptyParam(params, `MediaUrl${i}`);
    if (url) mediaUrls.push(url);
  }
  const channel = from.startsWith('whatsapp:') ? 'whatsapp' : mediaUrls.length > 0 ? 'mms' : 'sms';
  return { messageSid, from, to, body: param(params, 'Body') ?? '', mediaUrls, channel };
}

/** An inbound SMS, MMS or WhatsApp message as Twilio posts it to the number's messaging webhook (its shape is the item's, in the table layer). */
export type { InboundMessage };
