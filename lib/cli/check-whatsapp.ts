import type { TwilioCredentials } from '../../lambda/shared/credentials';
import { maskAddress } from '../../lambda/shared/mask';
import type { OperatorRecord } from '../private/operator-record';
import { Check, fail, pass, skip } from './check';
import { TwilioAnswer, twilioGet, TwilioBaseUrls, WhatsAppSender } from './twilio';

/** Senders asked for per page; pages followed at most (10,000 senders). */
const PAGE_SIZE = 1000;
const MAX_PAGES = 10;
/** Twilio's WhatsApp Sandbox number: shared by every account, not a sender of any; its webhook is set in the Sandbox's settings. */
const SANDBOX = 'whatsapp:+14155238886';

interface SendersPage {
  readonly senders: WhatsAppSender[];
  readonly meta?: { readonly next_page_url?: string | null };
}

/**
 * Replies to a WhatsApp sender without a Messaging Service reach the
 * inbound function: the sender's webhook in Twilio's WhatsApp Senders API
 * (messaging.twilio.com `GET /v2/Channels/Senders`, `webhook.callback_url`
 * and `callback_method`) is exactly the inbound URL with POST.
 */
export async function checkWhatsAppWebhook(urls: TwilioBaseUrls, c: TwilioCredentials, record: OperatorRecord): Promise<Check> {
  const auth = c.apiKeySid && c.apiKeySecret ? { username: c.apiKeySid, password: c.apiKeySecret } : { username: c.accountSid, password: c.authToken };
  const from = record.whatsappFrom!;
  const inboundUrl = record.inboundUrl;
  const name = `inbound webhook ${maskAddress(from)}`;
  let found: WhatsAppSender | undefined;
  let path: string | undefined = `/v2/Channels/Senders?Channel=whatsapp&PageSize=${PAGE_SIZE}`;
  for (let page = 0; path !== undefined && page < MAX_PAGES && !found; page++) {
    const answer: TwilioAnswer<SendersPage> = await twilioGet<SendersPage>(urls.messaging, path, auth);
    if (!answer.ok) return fail(name, `Twilio answered ${answer.status} to the WhatsApp senders list: ${answer.message}`, "check that the secret's credentials may read the account's WhatsApp senders (Twilio Console → Messaging → Senders → WhatsApp senders)");
    found = answer.body.senders.find((s) => s.sender_id === from);
    // Twilio's next page is an absolute URL on its messaging host: asked of the host in use (a test's fake).
    const next: string | null | undefined = answer.body.meta?.next_page_url;
    path = next ? `${new URL(next).pathname}${new URL(next).search}` : undefined;
  }
  if (!found) {
    if (from === SANDBOX) return skip(name, "the WhatsApp Sandbox's number: its webhook (\"When a message comes in\") is set in Twilio Console → Messaging → Try it out → WhatsApp Sandbox settings, not checked");
    return fail(name, `${maskAddress(from)} is not a WhatsApp sender of account ${c.accountSid}`, `set the construct's "whatsappFrom" to a WhatsApp sender of this account (Twilio Console → Messaging → Senders → WhatsApp senders), or put the credentials of the account that owns it in the secret`);
  }
  const fix =
    `set the sender's "Webhook URL for incoming messages" to ${inboundUrl}, HTTP POST (Twilio Console → Messaging → Senders → WhatsApp senders → ${from}), or: ` +
    `curl -X POST ${urls.messaging}/v2/Channels/Senders/${found.sid} -u "${c.accountSid}:$TWILIO_AUTH_TOKEN" -H "Content-Type: application/json" --data '{"webhook":{"callback_url":"${inboundUrl}","callback_method":"POST"}}'`;
  const url = found.webhook?.callback_url;
  if (url !== inboundUrl) return fail(name, url ? `posts to ${url}, not ${inboundUrl}` : 'has no inbound webhook: Twilio drops replies', fix);
  const method = found.webhook?.callback_method ?? 'POST';
  if (method.toUpperCase() !== 'POST') return fail(name, `calls ${inboundUrl} with ${method}, not POST`, fix);
  return pass(name, `${inboundUrl} (POST)`);
}
