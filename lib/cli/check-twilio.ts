import type { TwilioCredentials } from '../../lambda/shared/credentials';
import { maskAddress } from '../../lambda/shared/mask';
import { isPhoneNumber } from '../contract';
import type { OperatorRecord } from '../private/operator-record';
import { Check, fail, pass, skip } from './check';
import { BasicAuth, IncomingPhoneNumber, MessagingService, ServicePhoneNumber, TwilioAccount, twilioGet, TwilioBaseUrls } from './twilio';

const CONSOLE_TOKENS = 'the Twilio Console, Account → API keys & tokens';

/**
 * Twilio accepts the credentials: a read of the account (GET Accounts/{Sid}.json)
 * with what the sender's REST calls use, and, when that is an API key, again
 * with the auth token, which the webhooks verify signatures with.
 */
export async function checkCredentials(urls: TwilioBaseUrls, c: TwilioCredentials, secretArn: string): Promise<Check> {
  const path = `/2010-04-01/Accounts/${c.accountSid}.json`;
  const logins: Array<{ what: string; auth: BasicAuth }> = [
    ...(c.apiKeySid && c.apiKeySecret ? [{ what: `API key ${c.apiKeySid}`, auth: { username: c.apiKeySid, password: c.apiKeySecret } }] : []),
    { what: 'the auth token', auth: { username: c.accountSid, password: c.authToken } },
  ];
  let account: TwilioAccount | undefined;
  for (const { what, auth } of logins) {
    const answer = await twilioGet<TwilioAccount>(urls.api, path, auth);
    if (!answer.ok) {
      const field = what === 'the auth token' ? '"authToken"' : '"apiKeySid" / "apiKeySecret"';
      const why = answer.status === 401 ? `Twilio refuses ${what} (401, error ${answer.code ?? 20003})` : answer.status === 404 ? `Twilio has no account ${c.accountSid} for ${what} (404)` : `Twilio answered ${answer.status} to ${what}: ${answer.message}`;
      const signs = what === 'the auth token' ? '; the auth token must be the account\'s primary one: Twilio signs webhooks with it' : '';
      return fail('credentials', why, `put the right ${field} of account ${c.accountSid} from ${CONSOLE_TOKENS} into the secret: aws secretsmanager put-secret-value --secret-id ${secretArn} --secret-string '{...}' (keep the other fields${signs})`);
    }
    account = answer.body;
  }
  if (account && account.status !== 'active') {
    return fail('credentials', `account ${c.accountSid} is ${account.status}`, `reactivate the account in the Twilio Console (a ${account.status} account sends nothing), or put another account's credentials in the secret`);
  }
  return pass('credentials', `Twilio accepts ${logins.map((l) => l.what).join(' and ')} (account "${account?.friendly_name ?? ''}", ${account?.status ?? '?'})`);
}

const numberFix = (urls: TwilioBaseUrls, accountSid: string, pn: string, inboundUrl: string) =>
  `set the number's "A message comes in" to Webhook ${inboundUrl}, HTTP POST (Twilio Console → Phone Numbers → Active numbers), or: ` +
  `curl -X POST ${urls.api}/2010-04-01/Accounts/${accountSid}/IncomingPhoneNumbers/${pn}.json -u "${accountSid}:$TWILIO_AUTH_TOKEN" --data-urlencode "SmsUrl=${inboundUrl}" -d SmsMethod=POST -d SmsApplicationSid=`;

/** A number's messaging webhook is exactly the inbound URL with POST (and no TwiML app in its place). */
function judgeNumber(urls: TwilioBaseUrls, accountSid: string, n: IncomingPhoneNumber, inboundUrl: string): Check {
  const name = `inbound webhook ${maskAddress(n.phone_number)}`;
  const fix = numberFix(urls, accountSid, n.sid, inboundUrl);
  if (n.sms_application_sid) return fail(name, `messages go to TwiML app ${n.sms_application_sid}, not to a webhook URL`, fix);
  if (n.sms_url !== inboundUrl) return fail(name, n.sms_url ? `posts to ${n.sms_url}, not ${inboundUrl}` : 'has no messaging webhook', fix);
  if ((n.sms_method ?? 'POST').toUpperCase() !== 'POST') return fail(name, `calls ${inboundUrl} with ${n.sms_method}, not POST`, fix);
  return pass(name, `${inboundUrl} (POST)`);
}

/**
 * Replies reach the inbound function: the sending number's webhook
 * (IncomingPhoneNumbers), or the Messaging Service's (messaging.twilio.com)
 * unless the service defers to its numbers' own.
 */
export async function checkInboundWebhook(urls: TwilioBaseUrls, c: TwilioCredentials, record: OperatorRecord): Promise<Check[]> {
  const auth = c.apiKeySid && c.apiKeySecret ? { username: c.apiKeySid, password: c.apiKeySecret } : { username: c.accountSid, password: c.authToken };
  const inboundUrl = record.inboundUrl;
  if (record.messagingServiceSid) {
    const sid = record.messagingServiceSid;
    const name = `inbound webhook ${sid}`;
    const answer = await twilioGet<MessagingService>(urls.messaging, `/v1/Services/${sid}`, auth);
    if (!answer.ok) {
      return [fail(name, answer.status === 404 ? `account ${c.accountSid} has no Messaging Service ${sid}` : `Twilio answered ${answer.status}: ${answer.message}`, `check messagingServiceSid (Twilio Console → Messaging → Services) and that the secret's account owns it`)];
    }
    const service = answer.body;
    if (service.use_inbound_webhook_on_number) {
      const numbers = await twilioGet<{ phone_numbers: ServicePhoneNumber[] }>(urls.messaging, `/v1/Services/${sid}/PhoneNumbers?PageSize=50`, auth);
      if (!numbers.ok) return [fail(name, `its numbers could not be read: ${numbers.status} ${numbers.message}`, 'check that the secret\'s credentials may read the Messaging Service')];
      if (numbers.body.phone_numbers.length === 0) return [fail(name, 'defers to its numbers\' webhooks but has no numbers', `add a number to the service's sender pool, or set its Integration to "Send a webhook" ${inboundUrl} (POST)`)];
      const checks: Check[] = [];
      for (const pn of numbers.body.phone_numbers) {
        const one = await twilioGet<IncomingPhoneNumber>(urls.api, `/2010-04-01/Accounts/${c.accountSid}/IncomingPhoneNumbers/${pn.sid}.json`, auth);
        checks.push(one.ok ? judgeNumber(urls, c.accountSid, one.body, inboundUrl) : fail(`inbound webhook ${maskAddress(pn.phone_number)}`, `Twilio answered ${one.status}: ${one.message}`, 'check that the number belongs to the secret\'s account'));
      }
      return checks;
    }
    const fix =
      `set the service's Integration → Incoming Messages to "Send a webhook" ${inboundUrl}, HTTP POST (Twilio Console → Messaging → Services → ${service.friendly_name}), or: ` +
      `curl -X POST ${urls.messaging}/v1/Services/${sid} -u "${c.accountSid}:$TWILIO_AUTH_TOKEN" --data-urlencode "InboundRequestUrl=${inboundUrl}" -d InboundMethod=POST`;
    if (service.inbound_request_url !== inboundUrl) return [fail(name, service.inbound_request_url ? `posts to ${service.inbound_request_url}, not ${inboundUrl}` : 'has no inbound webhook: Twilio drops replies', fix)];
    if ((service.inbound_method ?? 'POST').toUpperCase() !== 'POST') return [fail(name, `calls ${inboundUrl} with ${service.inbound_method}, not POST`, fix)];
    return [pass(name, `${inboundUrl} (POST)`)];
  }
  const from = record.from;
  if (!from || !isPhoneNumber(from)) return [skip('inbound webhook', `the sender ${from ?? '(none)'} is an alphanumeric sender ID: it cannot receive replies`)];
  const name = `inbound webhook ${maskAddress(from)}`;
  const answer = await twilioGet<{ incoming_phone_numbers: IncomingPhoneNumber[] }>(urls.api, `/2010-04-01/Accounts/${c.accountSid}/IncomingPhoneNumbers.json?PhoneNumber=${encodeURIComponent(from)}`, auth);
  if (!answer.ok) return [fail(name, `Twilio answered ${answer.status}: ${answer.message}`, 'check that the secret\'s credentials may read the account\'s phone numbers')];
  const number = answer.body.incoming_phone_numbers.find((n) => n.phone_number === from);
  if (!number) {
    return [fail(name, `${maskAddress(from)} is not a number of account ${c.accountSid}`, `set the construct's "from" to a number of this account (Twilio Console → Phone Numbers → Active numbers), or put the credentials of the account that owns it in the secret`)];
  }
  return [judgeNumber(urls, c.accountSid, number, inboundUrl)];
}
