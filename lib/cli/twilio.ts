import { CliError, EXIT } from './errors';

/** Where Twilio's APIs are; both overridable (TWILIO_API_BASE_URL, TWILIO_MESSAGING_API_BASE_URL, or flags) for tests. */
export interface TwilioBaseUrls {
  /** api.twilio.com: Accounts, IncomingPhoneNumbers. */
  readonly api: string;
  /** messaging.twilio.com: Messaging Services, WhatsApp senders. */
  readonly messaging: string;
}

export const DEFAULT_TWILIO_URLS: TwilioBaseUrls = { api: 'https://api.twilio.com', messaging: 'https://messaging.twilio.com' };

export interface BasicAuth {
  readonly username: string;
  readonly password: string;
}

/** Twilio's answer to one GET: the JSON, or its error (status, Twilio code). */
export type TwilioAnswer<T> = { readonly ok: true; readonly body: T } | { readonly ok: false; readonly status: number; readonly code?: number; readonly message: string };

const TIMEOUT_MS = 10_000;

/** One read-only GET to Twilio. Network failures throw (exit 5); Twilio's error answers are returned for the check to judge. */
export async function twilioGet<T>(base: string, path: string, auth: BasicAuth): Promise<TwilioAnswer<T>> {
  const url = `${base.replace(/\/+$/, '')}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`, accept: 'application/json' },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    throw new CliError(`Twilio could not be reached (${new URL(url).host}): ${(err as Error).message}`, EXIT.UNAVAILABLE, 'check the network path to Twilio (proxy, firewall) and run the command again');
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.ok && json !== undefined) return { ok: true, body: json as T };
  const e = (json ?? {}) as { code?: unknown; message?: unknown };
  if (res.status >= 500 || res.status === 429) {
    throw new CliError(`Twilio answered ${res.status} to GET ${path}${typeof e.message === 'string' ? `: ${e.message}` : ''}`, EXIT.UNAVAILABLE, 'Twilio is busy or failing: run the command again later (status.twilio.com)');
  }
  return { ok: false, status: res.status, ...(typeof e.code === 'number' ? { code: e.code } : {}), message: typeof e.message === 'string' ? e.message : text.slice(0, 200) };
}

export interface TwilioAccount {
  readonly sid: string;
  readonly friendly_name: string;
  readonly status: string;
}

export interface IncomingPhoneNumber {
  readonly sid: string;
  readonly phone_number: string;
  readonly sms_url: string | null;
  readonly sms_method: string | null;
  readonly sms_application_sid: string | null;
}

export interface MessagingService {
  readonly sid: string;
  readonly friendly_name: string;
  readonly inbound_request_url: string | null;
  readonly inbound_method: string | null;
  readonly use_inbound_webhook_on_number: boolean;
}

export interface ServicePhoneNumber {
  readonly sid: string;
  readonly phone_number: string;
}

/** A sender of messaging.twilio.com's WhatsApp Senders API (`GET /v2/Channels/Senders?Channel=whatsapp`), as far as verify reads it. */
export interface WhatsAppSender {
  /** `XE…` */
  readonly sid: string;
  /** `whatsapp:+1555…` */
  readonly sender_id: string;
  readonly status: string;
  /** The inbound messages' webhook: `callback_url` with `callback_method` (POST or PUT). */
  readonly webhook?: { readonly callback_url: string | null; readonly callback_method: string | null } | null;
}
