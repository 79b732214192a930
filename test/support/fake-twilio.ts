import { randomBytes } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { listen, LocalServer, readBody } from './http';

/**
 * A loopback fake of Twilio's Messages API (2010-04-01), answering as Twilio
 * does, for the sender's tests, the local pipeline and the benchmarks.
 *
 * Routes (any AccountSid in the path, unless `accountSid` is given):
 * - `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (form-encoded):
 *   validates like Twilio (To; From or MessagingServiceSid; Body, MediaUrl or
 *   ContentSid; channel pairing; 1600-character body; ContentVariables JSON),
 *   then answers 201 with a message resource (`SM…`, or `MM…` with media;
 *   status `queued`, or `accepted` with a MessagingServiceSid; price null).
 * - `GET /2010-04-01/Accounts/{AccountSid}/Messages.json` with `To`, `From`,
 *   `DateSent`, `DateSent>`, `DateSent<`, `PageSize`, `Page`: Twilio's list
 *   page shape, newest first. A message not yet sent has no date_sent; the
 *   date filters then use its date_created (Twilio's list is the same in
 *   practice: a queued message shows up under the day it was created).
 * - `GET /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json`: one message, or 404 / 20404.
 * - The account's configuration, read-only (what `cdk-twilio-messaging verify`
 *   reads): `GET /2010-04-01/Accounts/{Sid}.json` (status `active` unless
 *   `setAccountStatus`), `GET .../IncomingPhoneNumbers.json` (`PhoneNumber`
 *   filter) and `.../IncomingPhoneNumbers/{PN…}.json` for the numbers of
 *   `addIncomingNumber`; and messaging.twilio.com's `GET /v1/Services/{MG…}`
 *   and `/v1/Services/{MG…}/PhoneNumbers` for `addMessagingService`, and its
 *   WhatsApp Senders list `GET /v2/Channels/Senders?Channel=whatsapp`
 *   (`PageSize`, `Page`; `next_page_url` absolute on messaging.twilio.com, as
 *   Twilio answers) for `addWhatsAppSender` (point both base URLs at this one
 *   server).
 *
 * Authentication: HTTP Basic. The user is recorded on every request; with
 * `credentials` configured, any other pair gets 401 / 20003 as Twilio answers.
 *
 * Behaviour is scriptable per request, checked in this order:
 * 1. the queue (`enqueue`, `burst429`, `fail500`, `dropNext`): the first queued
 *    answer whose `on` matches the request is used once;
 * 2. the fault injector (`setFaultInjector`), a function that may return an answer;
 * 3. the default answer (`setDefault`), normally `{}`: answer as Twilio does.
 *
 * A created message fires the `onMessageCreated` listeners (the local
 * pipeline uses them to send status callbacks) before the response is written.
 *
 * Sender pacing (`setPacing`, off by default): Twilio queues outbound messages
 * per sender and sends each in its turn, a number at a time (a US long code
 * about 1 message per second, toll-free 3, a short code 100; a Messaging
 * Service spreads over its pool). With pacing set, each created message gets
 * `departsAt`, the moment it leaves Twilio for the carrier: its sender's
 * earliest free number at or after now, which is then busy for one message's
 * interval. The status callbacks (twilio-callbacks.ts) follow it.
 */
export interface FakeTwilio extends LocalServer {
  /** Every request, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Created messages by SID (including `addMessage` ones). */
  readonly messages: Map<string, FakeMessage>;
  /** POST requests currently being answered. */
  readonly inFlight: number;
  /** The most POST requests that were in flight at once since start or `resetCounters`. */
  readonly maxInFlight: number;

  /** The POST /Messages.json requests only. */
  createRequests(): RecordedRequest[];
  /** The messages created for `to` (the address as sent), oldest first: their SIDs and the Body sent. */
  createdFor(to: string): Array<{ readonly sid: string; readonly body: string }>;
  /** Answers to use, in order, before the injector and default. */
  enqueue(...answers: FakeAnswer[]): void;
  /** The next `n` POSTs get 429 / 20429 ("Too Many Requests"). */
  burst429(n: number): void;
  /** The next `n` POSTs get 500 / 20500 ("Internal Server Error"). */
  fail500(n: number): void;
  /** The next `n` POSTs lose their connection: before the message exists, or after (outcome unknown to the client). */
  dropNext(n: number, when: 'before-create' | 'after-create'): void;
  /** The answer when nothing is queued and the injector returns nothing. */
  setDefault(answer: FakeAnswer): void;
  /** Called for every request without a queued answer; return an answer, or undefined for the default. */
  setFaultInjector(injector: FaultInjector | undefined): void;
  /** Only these Basic-auth pairs are accepted (undefined: any). */
  setCredentials(credentials: ReadonlyArray<{ username: string; password: string }> | undefined): void;
  /** Called with each created message; returns a function that unsubscribes. */
  onMessageCreated(listener: (message: FakeMessage) => void): () => void;
  /** Puts a message in the account as if it had been created earlier (lookups find it). */
  addMessage(message: Partial<FakeMessage> & { to: string }): FakeMessage;
  /** Moves a message's status (and error) as Twilio would; GETs then show it. */
  setStatus(sid: string, status: string, errorCode?: number): void;
  /** A number of the account with its messaging webhook (again for the same number: its new webhook); returns its `PN…` SID. */
  addIncomingNumber(number: FakeIncomingNumber): string;
  /** A Messaging Service of the account (`sid` MG…), with its inbound webhook and the numbers (E.164) in its pool. */
  addMessagingService(service: FakeMessagingService): void;
  /** A WhatsApp sender of the account (again for the same sender id: its new webhook); returns its `XE…` SID. */
  addWhatsAppSender(sender: FakeWhatsAppSender): string;
  /** What GET Accounts/{Sid}.json reports as the account's status (`active`, `suspended`, `closed`). */
  setAccountStatus(status: string): void;
  /**
   * Paces sending per sender (From, or MessagingServiceSid): messages leave
   * Twilio in turn at the sender's rate. `undefined` turns pacing off (no
   * `departsAt`). A new pacing starts with every sender's queue empty.
   */
  setPacing(pacing: SenderPacing | undefined): void;
  /** Clears requests, messages, queue, injector, default, pacing, and counters. Credentials, numbers and services stay. */
  reset(): void;
  /** Resets inFlight high-water mark. */
  resetCounters(): void;
}

export interface FakeIncomingNumber {
  readonly phoneNumber: string;
  readonly smsUrl: string | null;
  readonly smsMethod?: string;
  readonly smsApplicationSid?: string | null;
}

export interface FakeMessagingService {
  readonly sid: string;
  readonly friendlyName?: string;
  readonly inboundRequestUrl: string | null;
  readonly inboundMethod?: string;
  readonly useInboundWebhookOnNumber?: boolean;
  /** Numbers (E.164) of the sender pool: each must have been added with addIncomingNumber. */
  readonly phoneNumbers?: readonly string[];
}

/** A WhatsApp sender as the Senders API (messaging.twilio.com/v2/Channels/Senders) shows it. */
export interface FakeWhatsAppSender {
  /** `whatsapp:+1555…` */
  readonly senderId: string;
  /** The inbound messages' webhook (`webhook.callback_url`). */
  readonly callbackUrl: string | null;
  /** Default `POST`. */
  readonly callbackMethod?: string;
  /** Default `ONLINE`. */
  readonly status?: string;
}

/**
 * Messages per second one number sends, by sender type (US figures Twilio
 * publishes; a 10DLC long code's depends on its campaign, about 1 by default).
 */
export const SENDER_RATES = { longCode: 1, tollFree: 3, shortCode: 100 } as const;

/** Twilio's outbound queue per sender. */
export interface SenderPacing {
  /** Messages per second one number of the sender sends (SENDER_RATES). */
  readonly messagesPerSecond: number;
  /** Numbers the sender spreads its messages over (a Messaging Service's pool). Default 1. */
  readonly numbers?: number;
  /** Modelled time runs this many times faster than the clock (a compressed scenario). Default 1. */
  readonly timeScale?: number;
}

/** How the fake answers one request. Every field is optional; `{}` answers as Twilio does. */
export interface FakeAnswer {
  /** Which requests this (queued) answer applies to. Default `create` (POST Messages.json). */
  readonly on?: 'create' | 'read' | 'any';
  /**
   * Milliseconds to wait before answering. For a successful create, the
   * message is created first (Twilio's work is done), so a client that gives
   * up during the delay does not know that the message exists.
   */
  readonly delayMs?: number;
  /**
   * For a successful create: the message is created, and the 201 waits until
   * this settles. Orders a race by events, not by a delay a loaded machine
   * may outlast (a callback that must arrive before the sender hears 201).
   */
  readonly answerAfter?: Promise<unknown>;
  /**
   * Hold the answer until this many POSTs are in flight at once (or
   * `awaitMaxMs`, default 2000, has passed): lets a test see a concurrency
   * bound reached by count, however slow the machine.
   */
  readonly awaitInFlight?: number;
  readonly awaitMaxMs?: number;
  /** Answer with Twilio's error JSON: { code, message, more_info, status }. */
  readonly error?: { readonly status: number; readonly code: number; readonly message?: string };
  /** Destroy the socket without an answer: before creating the message, or after (it exists). */
  readonly drop?: 'before-create' | 'after-create';
  /**
   * Create the message, then answer with this error anyway: a 5xx from
   * Twilio's edge does not prove that no message was created.
   */
  readonly errorAfterCreate?: { readonly status: number; readonly code: number; readonly message?: string };
  /**
   * The body Twilio keeps differs from the one sent (a prefix, an appended
   * opt-out text, normalised characters): what lookups then see.
   */
  readonly storedBody?: (sent: string) => string;
  /**
   * The created message shows in lists and fetches only this many ms after
   * its creation: Twilio's edge may answer a 502/504 while its backend is
   * still creating the message, so an early lookup misses it.
   */
  readonly visibleAfterMs?: number;
  /** Overrides in the created message (e.g. `{ status: 'failed', price: '-0.0079' }`). */
  readonly message?: Partial<Pick<FakeMessage, 'status' | 'price' | 'priceUnit' | 'numSegments' | 'errorCode' | 'errorMessage'>>;
}

/** The request as the fault injector sees it: `index` counts requests from 0. */
export interface InjectorRequest {
  readonly index: number;
  readonly method: string;
  readonly path: string;
  readonly kind: 'create' | 'list' | 'fetch' | 'other';
  readonly params: ReadonlyArray<readonly [string, string]>;
}
export type FaultInjector = (request: InjectorRequest) => FakeAnswer | undefined;

export type RequestOutcome =
  | 'created'
  | 'error'
  | 'dropped-before-create'
  | 'dropped-after-create'
  | 'listed'
  | 'fetched'
  | 'unauthorized'
  | 'not-found';

export interface RecordedRequest {
  readonly method: string;
  /** The path without query string. */
  readonly path: string;
  /** Query string parameters (GET). */
  readonly query: ReadonlyArray<readonly [string, string]>;
  /** Form parameters in order, repeated names kept (MediaUrl). */
  readonly params: ReadonlyArray<readonly [string, string]>;
  /** The Basic-auth user (account SID or API key SID), undefined without auth. */
  readonly authUser?: string;
  /** Epoch ms when the request arrived. */
  readonly time: number;
  /** Epoch ms when it was answered or dropped. */
  endTime?: number;
  /** POSTs in flight when this one arrived, itself included. */
  readonly concurrent: number;
  outcome?: RequestOutcome;
  /** HTTP status sent (absent when dropped). */
  status?: number;
  /** SID of the message created or returned. */
  sid?: string;
  /** Twilio error code sent. */
  errorCode?: number;
}

/** A message the fake holds, with both the decoded fields and Twilio's JSON for it. */
export interface FakeMessage {
  sid: string;
  accountSid: string;
  to: string;
  /** The From param (null in Twilio's JSON until assigned when a Messaging Service sends). */
  from: string | null;
  messagingServiceSid: string | null;
  /** The Body param; for a ContentSid send, the rendered template (here: its variable values, space-separated). */
  body: string;
  mediaUrls: string[];
  contentSid: string | null;
  /** ContentVariables as sent (a JSON string), or null. */
  contentVariables: string | null;
  statusCallback: string | null;
  status: string;
  numSegments: string;
  price: string | null;
  priceUnit: string;
  errorCode: number | null;
  errorMessage: string | null;
  dateCreated: Date;
  dateUpdated: Date;
  dateSent: Date | null;
  /** The form params of the create request. */
  params: ReadonlyArray<readonly [string, string]>;
  /** With sender pacing (`setPacing`): epoch ms when it leaves Twilio's queue for the carrier. */
  departsAt?: number;
}

const API = '/2010-04-01/Accounts/';
const LIST = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/;
const FETCH = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\/([^/]+)\.json$/;
const ACCOUNT = /^\/2010-04-01\/Accounts\/([^/]+)\.json$/;
const NUMBERS = /^\/2010-04-01\/Accounts\/([^/]+)\/IncomingPhoneNumbers(?:\/([^/]+))?\.json$/;
const SERVICE = /^\/v1\/Services\/([^/]+)(\/PhoneNumbers)?$/;
const SENDERS = /^\/v2\/Channels\/Senders$/;
const E164 = /^\+[1-9]\d{6,14}$/;
/** Twilio's AlphaSender rule: up to 11 of A-Z a-z 0-9, space, + - _ &, at least one letter. */
const ALPHANUMERIC_SENDER_ID = /^(?=.*[A-Za-z])[A-Za-z0-9 +\-_&]{1,11}$/;

/** Twilio's date format (RFC 2822 with a numeric zone). */
export function rfc2822(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM7_EXTENDED = '^{}\\[~]|€\f';

/** Segments as Twilio counts them: GSM-7 (160, or 153 per part) or UCS-2 (70, or 67 per part). */
export function countSegments(body: string): number {
  let septets = 0;
  let gsm = true;
  for (const ch of body) {
    if (GSM7_BASIC.includes(ch)) septets += 1;
    else if (GSM7_EXTENDED.includes(ch)) septets += 2;
    else {
      gsm = false;
      break;
    }
  }
  if (gsm) return septets <= 160 ? 1 : Math.ceil(septets / 153);
  const units = body.length; // UTF-16 code units
  return units <= 70 ? 1 : Math.ceil(units / 67);
}

function twilioError(status: number, code: number, message: string) {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

const DEFAULT_MESSAGES: Record<number, string> = {
  20003: 'Authenticate',
  20404: 'The requested resource was not found',
  20429: 'Too Many Requests',
  20500: 'Internal Server Error',
  21211: "Invalid 'To' Phone Number",
  21408: 'Permission to send an SMS has not been enabled for the region indicated by the \'To\' number',
  21610: 'Attempt to send to unsubscribed recipient',
  21612: "The 'To' phone number is not currently reachable via SMS",
  21614: "'To' number is not a valid mobile number",
  21617: 'The concatenated message body exceeds the 1600 character limit',
  63016: 'Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template.',
};

/**
 * Twilio's message body for a ContentSid send is the template's text with the
 * variables substituted. The fake knows no template texts: it renders one
 * that holds just the values, in order, so a lookup can match on them.
 */
function renderTemplate(contentSid: string | null, variables: string | null): string {
  if (!contentSid) return '';
  try {
    const values = Object.values(JSON.parse(variables ?? '{}') as Record<string, unknown>).map(String);
    return values.length > 0 ? values.join(' ') : `[${contentSid}]`;
  } catch {
    return `[${contentSid}]`;
  }
}

function hex32(): string {
  return randomBytes(16).toString('hex');
}

export function messageJson(m: FakeMessage): Record<string, unknown> {
  const uri = `${API}${m.accountSid}/Messages/${m.sid}.json`;
  return {
    account_sid: m.accountSid,
    api_version: '2010-04-01',
    body: m.body,
    date_created: rfc2822(m.dateCreated),
    date_sent: m.dateSent ? rfc2822(m.dateSent) : null,
    date_updated: rfc2822(m.dateUpdated),
    direction: 'outbound-api',
    error_code: m.errorCode,
    error_message: m.errorMessage,
    from: m.from,
    messaging_service_sid: m.messagingServiceSid,
    num_media: String(m.mediaUrls.length),
    num_segments: m.numSegments,
    price: m.price,
    price_unit: m.priceUnit,
    sid: m.sid,
    status: m.status,
    subresource_uris: {
      media: `${API}${m.accountSid}/Messages/${m.sid}/Media.json`,
      feedback: `${API}${m.accountSid}/Messages/${m.sid}/Feedback.json`,
    },
    to: m.to,
    uri,
  };
}

function parseAuth(header: string | undefined): { username: string; password: string } | undefined {
  const m = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? { username: text, password: '' } : { username: text.slice(0, i), password: text.slice(i + 1) };
}

/** Parses a DateSent filter value: `YYYY-MM-DD` (whole day, UTC) or an ISO 8601 date-time. */
function parseDateFilter(value: string): { start: number; end: number } | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const start = Date.parse(`${value}T00:00:00Z`);
    return Number.isNaN(start) ? undefined : { start, end: start + 86_400_000 };
  }
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : { start: t, end: t + 1 };
}

/** Validates create params as Twilio does; returns the error to answer, if any. */
function validateCreate(params: Map<string, string[]>): { status: number; code: number; message: string } | undefined {
  const one = (name: string) => params.get(name)?.[0];
  const to = one('To');
  const from = one('From');
  const mss = one('MessagingServiceSid');
  const body = one('Body');
  const media = params.get('MediaUrl') ?? [];
  const contentSid = one('ContentSid');
  if (!to) return { status: 400, code: 21604, message: "A 'To' phone number is required." };
  if (!from && !mss) return { status: 400, code: 21603, message: "A 'From' phone number is required." };
  if (!body && media.length === 0 && !contentSid) return { status: 400, code: 21602, message: 'Message body is required.' };
  const toWhatsApp = to.startsWith('whatsapp:');
  const toNumber = toWhatsApp ? to.slice('whatsapp:'.length) : to;
  if (!E164.test(toNumber)) return { status: 400, code: 21211, message: `The 'To' number ${to} is not a valid phone number.` };
  if (from) {
    const fromWhatsApp = from.startsWith('whatsapp:');
    const sender = fromWhatsApp ? from.slice('whatsapp:'.length) : from;
    if (!E164.test(sender) && (fromWhatsApp || !ALPHANUMERIC_SENDER_ID.test(sender))) {
      return { status: 400, code: 21212, message: `The 'From' number ${from} is not a valid phone number, shortcode, or alphanumeric sender ID.` };
    }
    if (fromWhatsApp !== toWhatsApp) {
      return { status: 400, code: 21910, message: 'Invalid From and To pair. From and To should be of the same channel' };
    }
  }
  if (mss && !/^MG[0-9a-fA-F]{32}$/.test(mss)) return { status: 400, code: 21701, message: 'The Messaging Service Sid is invalid.' };
  // Twilio's 1,600 are characters (code points): an emoji counts once, though it takes two UTF-16 units.
  if (body && [...body].length > 1600) return { status: 400, code: 21617, message: DEFAULT_MESSAGES[21617] };
  if (media.length > 10) return { status: 400, code: 21623, message: 'Number of media files exceeds allowed limit' };
  for (const url of media) {
    if (!/^https?:\/\/[^\s]+$/.test(url)) return { status: 400, code: 21620, message: `Invalid media URL(s): ${url}` };
  }
  if (contentSid && !/^HX[0-9a-fA-F]{32}$/.test(contentSid)) return { status: 400, code: 21655, message: 'The ContentSid is Invalid.' };
  const vars = one('ContentVariables');
  if (vars !== undefined) {
    let ok = false;
    try {
      const parsed = JSON.parse(vars) as unknown;
      ok = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
    } catch {
      ok = false;
    }
    if (!ok) return { status: 400, code: 21656, message: 'The ContentVariables Parameter is invalid.' };
  }
  return undefined;
}

export interface FakeTwilioOptions {
  /** Only this account's paths are served (others: 404 / 20404). Default: any AC… */
  readonly accountSid?: string;
  /** Only these Basic-auth pairs are accepted. Default: any. */
  readonly credentials?: ReadonlyArray<{ username: string; password: string }>;
}

export async function startFakeTwilio(options: FakeTwilioOptions = {}): Promise<FakeTwilio> {
  const requests: RecordedRequest[] = [];
  const messages = new Map<string, FakeMessage>();
  /** Epoch ms before which a message (by SID) is not yet visible to reads (`visibleAfterMs`). */
  const visibleAt = new Map<string, number>();
  const visible = (m: FakeMessage) => (visibleAt.get(m.sid) ?? 0) <= Date.now();
  const listeners = new Set<(m: FakeMessage) => void>();
  let queue: FakeAnswer[] = [];
  let defaultAnswer: FakeAnswer = {};
  let injector: FaultInjector | undefined;
  let credentials = options.credentials;
  let inFlight = 0;
  let maxInFlight = 0;
  const numbers = new Map<string, FakeIncomingNumber & { sid: string }>();
  const services = new Map<string, FakeMessagingService>();
  const whatsappSenders = new Map<string, FakeWhatsAppSender & { sid: string }>();
  let accountStatus = 'active';
  let pacing: SenderPacing | undefined;
  /** Per sender: when each of its numbers is free to send the next message (epoch ms). */
  let senderQueues = new Map<string, number[]>();
  /** The moment a message created now leaves its sender's queue; books that number's slot. */
  function departure(sender: string, now: number): number {
    const p = pacing!;
    const slots = senderQueues.get(sender) ?? Array.from({ length: Math.max(1, p.numbers ?? 1) }, () => 0);
    senderQueues.set(sender, slots);
    let best = 0;
    for (let i = 1; i < slots.length; i++) if (slots[i] < slots[best]) best = i;
    const departsAt = Math.max(now, slots[best]);
    slots[best] = departsAt + 1000 / (p.messagesPerSecond * (p.timeScale ?? 1));
    return departsAt;
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const inFlightWaiters = new Set<() => void>();
  const notifyInFlight = () => {
    for (const w of [...inFlightWaiters]) w();
  };
  function awaitInFlight(n: number, maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (inFlight >= n) done();
      };
      const done = () => {
        clearTimeout(timer);
        inFlightWaiters.delete(check);
        resolve();
      };
      const timer = setTimeout(done, maxMs);
      inFlightWaiters.add(check);
      check();
    });
  }

  function pickAnswer(req: InjectorRequest): FakeAnswer {
    const wanted = req.kind === 'create' ? 'create' : 'read';
    const i = queue.findIndex((a) => (a.on ?? 'create') === 'any' || (a.on ?? 'create') === wanted);
    if (i >= 0) return queue.splice(i, 1)[0];
    return injector?.(req) ?? defaultAnswer;
  }

  function sendJson(res: ServerResponse, rec: RecordedRequest, status: number, json: unknown) {
    rec.status = status;
    rec.endTime = Date.now();
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'twilio-request-id': `RQ${hex32()}` });
    res.end(JSON.stringify(json));
  }

  function sendError(res: ServerResponse, rec: RecordedRequest, status: number, code: number, message?: string) {
    rec.outcome = status === 401 ? 'unauthorized' : status === 404 ? 'not-found' : 'error';
    rec.errorCode = code;
    sendJson(res, rec, status, twilioError(status, code, message ?? DEFAULT_MESSAGES[code] ?? `Error ${code}`));
  }

  function drop(req: IncomingMessage, res: ServerResponse, rec: RecordedRequest, outcome: RequestOutcome) {
    rec.outcome = outcome;
    rec.endTime = Date.now();
    res.socket?.destroy();
    req.socket.destroy();
  }

  function createMessage(accountSid: string, list: Array<[string, string]>, answer: FakeAnswer): FakeMessage {
    const params = new Map<string, string[]>();
    for (const [k, v] of list) params.set(k, [...(params.get(k) ?? []), v]);
    const one = (name: string) => params.get(name)?.[0] ?? null;
    const mediaUrls = params.get('MediaUrl') ?? [];
    const to = one('To')!;
    const sent = one('Body') ?? renderTemplate(one('ContentSid'), one('ContentVariables'));
    const body = answer.storedBody ? answer.storedBody(sent) : sent;
    const channelIsWhatsApp = to.startsWith('whatsapp:');
    const now = new Date(Date.now());
    const m: FakeMessage = {
      sid: `${mediaUrls.length > 0 ? 'MM' : 'SM'}${hex32()}`,
      accountSid,
      to,
      from: one('From'),
      messagingServiceSid: one('MessagingServiceSid'),
      body,
      mediaUrls,
      contentSid: one('ContentSid'),
      contentVariables: one('ContentVariables'),
      statusCallback: one('StatusCallback'),
      status: one('MessagingServiceSid') ? 'accepted' : 'queued',
      numSegments: mediaUrls.length > 0 || channelIsWhatsApp ? '1' : String(countSegments(body)),
      price: null,
      priceUnit: 'USD',
      errorCode: null,
      errorMessage: null,
      dateCreated: now,
      dateUpdated: now,
      dateSent: null,
      params: list,
      ...answer.message,
    };
    if (pacing) m.departsAt = departure(m.messagingServiceSid ?? m.from ?? '', now.getTime());
    messages.set(m.sid, m);
    if (answer.visibleAfterMs !== undefined) visibleAt.set(m.sid, now.getTime() + answer.visibleAfterMs);
    for (const l of listeners) {
      try {
        l(m);
      } catch {
        // a listener's failure is the listener's business, not the API's
      }
    }
    return m;
  }

  const numberJson = (accountSid: string, n: FakeIncomingNumber & { sid: string }) => ({
    account_sid: accountSid,
    sid: n.sid,
    phone_number: n.phoneNumber,
    friendly_name: n.phoneNumber,
    sms_url: n.smsUrl,
    sms_method: n.smsMethod ?? 'POST',
    sms_application_sid: n.smsApplicationSid ?? null,
    uri: `${API}${accountSid}/IncomingPhoneNumbers/${n.sid}.json`,
  });
  const ownAccount = (sid: string) => !options.accountSid || sid === options.accountSid;
  /** The read-only configuration routes; undefined for any other path. */
  function readConfiguration(path: string, query: URLSearchParams): { status: 200 | 404; body?: unknown } | undefined {
    const account = ACCOUNT.exec(path);
    if (account) {
      if (!ownAccount(account[1])) return { status: 404 };
      return { status: 200, body: { sid: account[1], friendly_name: 'Fake Twilio account', status: accountStatus, type: 'Full', uri: `${API}${account[1]}.json` } };
    }
    const number = NUMBERS.exec(path);
    if (number) {
      if (!ownAccount(number[1])) return { status: 404 };
      if (number[2]) {
        const n = numbers.get(number[2]);
        return n ? { status: 200, body: numberJson(number[1], n) } : { status: 404 };
      }
      const wanted = query.get('PhoneNumber');
      const list = [...numbers.values()].filter((n) => wanted === null || n.phoneNumber === wanted).map((n) => numberJson(number[1], n));
      return { status: 200, body: { incoming_phone_numbers: list, page: 0, page_size: 50, uri: path, next_page_uri: null } };
    }
    const service = SERVICE.exec(path);
    if (service) {
      const sv = services.get(service[1]);
      if (!sv) return { status: 404 };
      if (service[2]) {
        const pool = (sv.phoneNumbers ?? []).map((p) => [...numbers.values()].find((n) => n.phoneNumber === p)).filter((n) => n !== undefined);
        return { status: 200, body: { phone_numbers: pool.map((n) => ({ sid: n.sid, phone_number: n.phoneNumber, service_sid: sv.sid })), meta: { page: 0, page_size: 50, next_page_url: null } } };
      }
      return {
        status: 200,
        body: {
          sid: sv.sid,
          friendly_name: sv.friendlyName ?? 'Fake Messaging Service',
          inbound_request_url: sv.inboundRequestUrl,
          inbound_method: sv.inboundMethod ?? 'POST',
          use_inbound_webhook_on_number: sv.useInboundWebhookOnNumber ?? false,
        },
      };
    }
    if (SENDERS.test(path)) {
      const pageSize = Math.min(1000, Number(query.get('PageSize') ?? 50) || 50);
      const page = Number(query.get('Page') ?? 0) || 0;
      const all = query.get('Channel') === 'whatsapp' ? [...whatsappSenders.values()] : [];
      const senders = all.slice(page * pageSize, (page + 1) * pageSize).map((w) => ({
        sid: w.sid,
        status: w.status ?? 'ONLINE',
        sender_id: w.senderId,
        webhook: { callback_url: w.callbackUrl, callback_method: w.callbackMethod ?? 'POST', fallback_url: null, fallback_method: null, status_callback_url: null, status_callback_method: null },
        url: `https://messaging.twilio.com/v2/Channels/Senders/${w.sid}`,
      }));
      const pageUrl = (n: number) => `https://messaging.twilio.com/v2/Channels/Senders?Channel=whatsapp&PageSize=${pageSize}&Page=${n}`;
      const next = (page + 1) * pageSize < all.length ? pageUrl(page + 1) : null;
      return { status: 200, body: { senders, meta: { page, page_size: pageSize, first_page_url: pageUrl(0), previous_page_url: page > 0 ? pageUrl(page - 1) : null, url: pageUrl(page), next_page_url: next, key: 'senders' } } };
    }
    return undefined;
  }

  const server = await listen(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const raw = (await readBody(req)).toString('utf8');
    const params = [...new URLSearchParams(raw)] as Array<[string, string]>;
    const query = [...url.searchParams] as Array<[string, string]>;
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const listMatch = LIST.exec(path);
    const fetchMatch = FETCH.exec(path);
    const kind: InjectorRequest['kind'] = listMatch ? (method === 'POST' ? 'create' : 'list') : fetchMatch && method === 'GET' ? 'fetch' : 'other';
    const auth = parseAuth(req.headers.authorization);
    const isCreate = kind === 'create';
    if (isCreate) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      notifyInFlight();
    }
    const rec: RecordedRequest = { method, path, query, params, ...(auth ? { authUser: auth.username } : {}), time: Date.now(), concurrent: isCreate ? inFlight : 0 };
    const index = requests.length;
    requests.push(rec);
    try {
      if (!auth || (credentials && !credentials.some((c) => c.username === auth.username && c.password === auth.password))) {
        res.setHeader('www-authenticate', 'Basic realm="Twilio API"');
        return sendError(res, rec, 401, 20003);
      }
      if (kind === 'other' && method === 'GET') {
        const configuration = readConfiguration(path, url.searchParams);
        if (configuration) {
          rec.outcome = configuration.status === 200 ? 'fetched' : 'not-found';
          return configuration.status === 200 ? sendJson(res, rec, 200, configuration.body) : sendError(res, rec, 404, 20404, `The requested resource ${path} was not found`);
        }
      }
      const accountSid = (listMatch ?? fetchMatch)?.[1];
      if (kind === 'other' || !accountSid || (options.accountSid && accountSid !== options.accountSid)) {
        return sendError(res, rec, 404, 20404, `The requested resource ${path} was not found`);
      }
      const answer = pickAnswer({ index, method, path, kind, params: kind === 'create' ? params : query });
      if (answer.awaitInFlight !== undefined) await awaitInFlight(answer.awaitInFlight, answer.awaitMaxMs ?? 2_000);
      if (answer.drop === 'before-create') return drop(req, res, rec, 'dropped-before-create');
      if (answer.error) {
        if (answer.delayMs) await sleep(answer.delayMs);
        return sendError(res, rec, answer.error.status, answer.error.code, answer.error.message);
      }
      if (kind === 'create') {
        const map = new Map<string, string[]>();
        for (const [k, v] of params) map.set(k, [...(map.get(k) ?? []), v]);
        const invalid = validateCreate(map);
        if (invalid) return sendError(res, rec, invalid.status, invalid.code, invalid.message);
        const m = createMessage(accountSid, params, answer);
        rec.sid = m.sid;
        if (answer.drop === 'after-create') return drop(req, res, rec, 'dropped-after-create');
        if (answer.errorAfterCreate) {
          const e = answer.errorAfterCreate;
          return sendError(res, rec, e.status, e.code, e.message);
        }
        if (answer.delayMs) await sleep(answer.delayMs);
        if (answer.answerAfter) await answer.answerAfter.catch(() => undefined);
        rec.outcome = 'created';
        return sendJson(res, rec, 201, messageJson(m));
      }
      if (answer.delayMs) await sleep(answer.delayMs);
      if (kind === 'fetch') {
        const m = messages.get(fetchMatch![2]);
        if (!m || m.accountSid !== accountSid || !visible(m)) return sendError(res, rec, 404, 20404, `The requested resource ${path} was not found`);
        rec.outcome = 'fetched';
        rec.sid = m.sid;
        return sendJson(res, rec, 200, messageJson(m));
      }
      // list
      const q = new Map(query);
      const to = q.get('To');
      const from = q.get('From');
      const filters: Array<(t: number) => boolean> = [];
      for (const [name, test] of [
        ['DateSent', (t: number, r: { start: number; end: number }) => t >= r.start && t < r.end],
        ['DateSent>', (t: number, r: { start: number }) => t >= r.start],
        ['DateSent<', (t: number, r: { end: number }) => t < r.end],
      ] as const) {
        const value = q.get(name);
        if (value === undefined) continue;
        const range = parseDateFilter(value);
        if (!range) return sendError(res, rec, 400, 20001, `Invalid ${name}: ${value}`);
        filters.push((t) => test(t, range));
      }
      const pageSize = Math.min(1000, Math.max(1, Number(q.get('PageSize') ?? 50) || 50));
      const page = Math.max(0, Number(q.get('Page') ?? 0) || 0);
      const all = [...messages.values()]
        .filter((m) => m.accountSid === accountSid && visible(m))
        .filter((m) => to === undefined || m.to === to)
        .filter((m) => from === undefined || m.from === from)
        .filter((m) => filters.every((f) => f((m.dateSent ?? m.dateCreated).getTime())))
        .sort((a, b) => b.dateCreated.getTime() - a.dateCreated.getTime());
      const slice = all.slice(page * pageSize, (page + 1) * pageSize);
      const pageUri = (p: number) => {
        const u = new URLSearchParams(query.filter(([k]) => k !== 'Page' && k !== 'PageSize' && k !== 'PageToken'));
        u.set('PageSize', String(pageSize));
        u.set('Page', String(p));
        return `${path}?${u}`;
      };
      rec.outcome = 'listed';
      return sendJson(res, rec, 200, {
        messages: slice.map(messageJson),
        uri: pageUri(page),
        first_page_uri: pageUri(0),
        next_page_uri: (page + 1) * pageSize < all.length ? pageUri(page + 1) : null,
        previous_page_uri: page > 0 ? pageUri(page - 1) : null,
        page,
        page_size: pageSize,
        start: page * pageSize,
        end: page * pageSize + Math.max(0, slice.length - 1),
      });
    } finally {
      if (isCreate) inFlight--;
    }
  });

  const fake: FakeTwilio = {
    ...server,
    requests,
    messages,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    createRequests: () => requests.filter((r) => r.method === 'POST' && LIST.test(r.path)),
    createdFor: (to) =>
      requests
        .filter((r) => r.method === 'POST' && LIST.test(r.path) && r.outcome === 'created' && r.params.find(([k]) => k === 'To')?.[1] === to)
        .map((r) => ({ sid: r.sid!, body: r.params.find(([k]) => k === 'Body')?.[1] ?? '' })),
    enqueue: (...answers) => {
      queue.push(...answers);
    },
    burst429: (n) => {
      for (let i = 0; i < n; i++) queue.push({ error: { status: 429, code: 20429 } });
    },
    fail500: (n) => {
      for (let i = 0; i < n; i++) queue.push({ error: { status: 500, code: 20500 } });
    },
    dropNext: (n, when) => {
      for (let i = 0; i < n; i++) queue.push({ drop: when });
    },
    setDefault: (answer) => {
      defaultAnswer = answer;
    },
    setFaultInjector: (fn) => {
      injector = fn;
    },
    setCredentials: (c) => {
      credentials = c;
    },
    onMessageCreated: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    addMessage: (partial) => {
      const now = partial.dateCreated ?? new Date(Date.now());
      const mediaUrls = partial.mediaUrls ?? [];
      const m: FakeMessage = {
        sid: `${mediaUrls.length > 0 ? 'MM' : 'SM'}${hex32()}`,
        accountSid: options.accountSid ?? `AC${'0'.repeat(32)}`,
        from: null,
        messagingServiceSid: null,
        body: '',
        contentSid: null,
        contentVariables: null,
        statusCallback: null,
        status: 'queued',
        numSegments: '1',
        price: null,
        priceUnit: 'USD',
        errorCode: null,
        errorMessage: null,
        dateUpdated: now,
        dateSent: null,
        params: [],
        ...partial,
        mediaUrls,
        dateCreated: now,
      };
      messages.set(m.sid, m);
      return m;
    },
    setStatus: (sid, status, errorCode) => {
      const m = messages.get(sid);
      if (!m) throw new Error(`no message ${sid}`);
      m.status = status;
      m.dateUpdated = new Date(Date.now());
      if (status === 'sent' || status === 'delivered') m.dateSent = m.dateSent ?? m.dateUpdated;
      if (errorCode !== undefined) {
        m.errorCode = errorCode;
        m.errorMessage = DEFAULT_MESSAGES[errorCode] ?? null;
      }
    },
    addIncomingNumber: (n) => {
      const sid = [...numbers.values()].find((e) => e.phoneNumber === n.phoneNumber)?.sid ?? `PN${hex32()}`;
      numbers.set(sid, { ...n, sid });
      return sid;
    },
    addMessagingService: (service) => {
      services.set(service.sid, service);
    },
    addWhatsAppSender: (sender) => {
      const sid = [...whatsappSenders.values()].find((w) => w.senderId === sender.senderId)?.sid ?? `XE${hex32()}`;
      whatsappSenders.set(sid, { ...sender, sid });
      return sid;
    },
    setAccountStatus: (status) => {
      accountStatus = status;
    },
    setPacing: (p) => {
      if (p && !(p.messagesPerSecond > 0 && (p.numbers ?? 1) >= 1 && (p.timeScale ?? 1) > 0)) {
        throw new Error(`sender pacing ${JSON.stringify(p)}: messagesPerSecond and timeScale must be above 0, numbers at least 1`);
      }
      pacing = p;
      senderQueues = new Map();
    },
    reset: () => {
      requests.length = 0;
      messages.clear();
      visibleAt.clear();
      queue = [];
      injector = undefined;
      defaultAnswer = {};
      maxInFlight = inFlight;
      pacing = undefined;
      senderQueues = new Map();
    },
    resetCounters: () => {
      maxInFlight = inFlight;
    },
  };
  return fake;
}
