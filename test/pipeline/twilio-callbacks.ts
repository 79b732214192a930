import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { FakeMessage, FakeTwilio } from '../support/fake-twilio';
import { twilioFormBody, twilioWebhookHeaders, TwilioParams } from '../support/twilio-sign';
import { Semaphore } from '../../lambda/sender/semaphore';
import { statusRank } from '../../lambda/shared/status';
import { createPrng, Prng } from '../support/prng';

/**
 * Twilio's side of the webhooks: after the fake Twilio creates a message, the
 * driver posts its status callbacks to the message's StatusCallback URL as
 * Twilio does (form-encoded, signed with the auth token, an idempotency token
 * per event), in the order Twilio would, or not (delays, duplicates,
 * reordering, a callback that beats the sender's own write). It also posts
 * inbound messages.
 *
 * Every post follows Twilio's default webhook connection policy (its
 * "connection overrides" left unset: rc=1, retry on connection failure only,
 * 15 s in all): an answer, whatever its status, is final, so a 4xx or 5xx
 * loses the event; only a connection that failed before an answer came
 * (refused, reset, timed out) is tried once more, with the same idempotency
 * token. A kinder policy here would hide a webhook that counts on retries.
 */
export interface MessageFate {
  /** The last status: delivered (read for WhatsApp when `read`), undelivered or failed. */
  readonly final: 'delivered' | 'read' | 'undelivered' | 'failed';
  /** Twilio error code for undelivered / failed (30003 Unreachable, 30008 Unknown error, ...). */
  readonly errorCode?: number;
}

export interface CallbackDriverOptions {
  readonly accountSid: string;
  /** The account's primary auth token (Twilio signs with it). A function: read at each post. */
  readonly authToken: string | (() => string);
  readonly random?: Prng;
  /** What happens to a message. Default: `defaultFate` (number ending in 7 undelivered, 8 failed; WhatsApp read). */
  readonly fate?: (message: FakeMessage) => MessageFate;
  /**
   * Delay before each callback, in ms: [min, max]. Default [2, 20]. With
   * sender pacing (a message with `departsAt`), only the `queued`/`accepted`
   * callbacks use it; the later ones follow the message's departure (`carrier`).
   */
  readonly delayMs?: readonly [number, number];
  /** Carrier timing of a paced message (one with `departsAt`). Default CARRIER_LATENCY_MS. */
  readonly carrier?: CarrierLatency;
  /** Probability that an event is posted twice (same idempotency token). Default 0. */
  readonly duplicateProbability?: number;
  /** Probability that a message's callbacks are posted in a shuffled order. Default 0. */
  readonly reorderProbability?: number;
  /** Probability that a message's first callback is posted at once, before the API answer reaches the sender. Default 0. */
  readonly earlyProbability?: number;
  /** Pause before Twilio's one retry of a failed connection, ms. Default 50. */
  readonly retryDelayMs?: number;
  /** How long Twilio waits for an answer to one attempt (connection override `rt`). Default 15 000 ms. */
  readonly readTimeoutMs?: number;
  /** Twilio's total time for an event, its retry included (connection override `tt`). Default 15 000 ms. */
  readonly totalTimeoutMs?: number;
  /** Keep every posted callback in `posts` (default true; the benchmark turns it off). */
  readonly record?: boolean;
  /**
   * Most callback requests in flight at once (default 64). Twilio queues its
   * webhook events and dispatches them; an event waiting for a slot has not
   * been sent, so none of its timeouts runs. In AWS the webhook functions scale
   * with the requests; this machine cannot, and without the bound its own
   * backlog (every handler and fake shares one process) would time events out
   * that API Gateway and Lambda would answer in milliseconds.
   */
  readonly maxInFlight?: number;
  /**
   * Awaited before a message's callbacks are scheduled (its delays count from
   * then): e.g. until the sender has recorded the message, for a test of what
   * a callback does to a recorded page. A rejection posts them anyway.
   */
  readonly before?: (message: FakeMessage) => Promise<unknown>;
}

/**
 * When a paced message's later statuses happen, in ms ranges [min, max]
 * (uniform, from the seeded random source): `sent` after it leaves Twilio's
 * queue, the phone receiving it after it leaves, and the carrier's delivery
 * receipt (`delivered`, `undelivered`) after that. A `failed` message fails
 * when it would have been sent.
 */
export interface CarrierLatency {
  readonly sentMs: readonly [number, number];
  readonly handsetMs: readonly [number, number];
  readonly receiptMs: readonly [number, number];
}

/** US SMS as Twilio reports it: `sent` within a few hundred ms, on the phone in 1–3 s, the receipt within a second more. */
export const CARRIER_LATENCY_MS: CarrierLatency = { sentMs: [100, 400], handsetMs: [1000, 3000], receiptMs: [200, 1000] };

/** A carrier timing `scale` times faster (a compressed scenario clock). */
export function scaleLatency(latency: CarrierLatency, scale: number): CarrierLatency {
  const s = (r: readonly [number, number]) => [r[0] / scale, r[1] / scale] as const;
  return { sentMs: s(latency.sentMs), handsetMs: s(latency.handsetMs), receiptMs: s(latency.receiptMs) };
}

export interface CallbackPost {
  readonly sid: string;
  readonly status: string;
  readonly token: string;
  readonly attempt: number;
  /** HTTP status, or 0 when the connection failed (refused, reset, or no answer in time). */
  readonly answer: number;
  /** Epoch ms: when the attempt was sent. */
  readonly at: number;
  /** Why no answer came (answer 0): Twilio's read timeout passed, or the connection failed (refused, reset). */
  readonly failure?: 'timeout' | 'connection';
  /** How long the attempt took, ms. */
  readonly ms: number;
}

/**
 * Twilio's default webhook connection settings: one retry (`rc`), for a
 * connection failure only; 15 s to answer (`rt`) and 15 s in all (`tt`), so
 * by default an attempt that timed out leaves no time for the retry.
 */
export const TWILIO_WEBHOOK_RETRIES = 1;
export const TWILIO_WEBHOOK_READ_TIMEOUT_MS = 15_000;
export const TWILIO_WEBHOOK_TOTAL_TIMEOUT_MS = 15_000;

/** Timing of Twilio's webhook posts (its connection overrides `rt` and `tt`, and a pause before the retry). */
export interface TwilioPostTiming {
  readonly retryDelayMs?: number;
  readonly readTimeoutMs?: number;
  readonly totalTimeoutMs?: number;
}

export interface CallbackDriver {
  /** The fate decided for each message, by SID. */
  readonly fates: Map<string, MessageFate & { channel: 'sms' | 'whatsapp' }>;
  /** Paced messages the phone receives (delivered or read): epoch ms when it does, by SID. */
  readonly receivedAt: Map<string, number>;
  readonly posts: CallbackPost[];
  /**
   * Events lost for good, each with its last attempt: answered with anything
   * but a 2xx (Twilio never retries an answer), or no answer after the retry.
   */
  readonly abandoned: CallbackPost[];
  /** Callbacks scheduled or in flight. */
  readonly pending: number;
  /** Resolves when no callback is scheduled or in flight. */
  settled(timeoutMs?: number): Promise<void>;
  /** Stops listening for new messages and cancels scheduled callbacks. */
  stop(): void;
}

export const TWILIO_USER_AGENT = 'TwilioProxy/1.1';

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export interface PostAnswer {
  /** HTTP status, 0 when the connection failed or no answer came within the timeout. */
  readonly status: number;
  /** Why the status is 0: the timeout passed, or the connection failed. */
  readonly failure?: 'timeout' | 'connection';
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

/**
 * Posts a form to a URL once; resolves with the HTTP status and body (status 0
 * when the connection failed or `timeoutMs` passed). The timeout runs from the
 * moment the request has a connection: a wait for a free socket in this
 * process's pool is no time the server took.
 */
export function postForm(url: string, body: string, headers: Record<string, string>, timeoutMs?: number): Promise<PostAnswer> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (answer: PostAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(answer);
    };
    const failed = (failure: 'timeout' | 'connection' = 'connection') => finish({ status: 0, failure, body: '', headers: {} });
    const req = request(url, { method: 'POST', agent, headers: { 'User-Agent': TWILIO_USER_AGENT, ...headers, 'Content-Length': String(Buffer.byteLength(body)) } });
    let timer: NodeJS.Timeout | undefined;
    if (timeoutMs !== undefined) {
      req.once('socket', () => {
        if (settled) return;
        timer = setTimeout(() => {
          failed('timeout');
          req.destroy();
        }, timeoutMs);
      });
    }
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', () => failed());
      res.on('aborted', () => failed());
    });
    req.on('error', () => failed());
    req.end(body);
  });
}

/** What Twilio's default policy does after an attempt: retry only a connection failure, and only while retries and time remain. */
export function twilioRetries(answer: number, attempt: number, msLeft: number): boolean {
  return answer === 0 && attempt <= TWILIO_WEBHOOK_RETRIES && msLeft > 0;
}

/**
 * Posts as Twilio posts a webhook under its default connection policy: one
 * try, and one more only when the connection failed before an answer.
 * Resolves with every attempt's answer, the last one deciding.
 */
export async function postAsTwilio(url: string, body: string, headers: Record<string, string>, timing: TwilioPostTiming = {}): Promise<PostAnswer & { readonly attempts: readonly number[] }> {
  const retryDelayMs = timing.retryDelayMs ?? 50;
  const until = Date.now() + (timing.totalTimeoutMs ?? TWILIO_WEBHOOK_TOTAL_TIMEOUT_MS);
  const attempts: number[] = [];
  for (let attempt = 1; ; attempt++) {
    const answer = await postForm(url, body, headers, attemptTimeout(timing, until));
    attempts.push(answer.status);
    if (!twilioRetries(answer.status, attempt, until - Date.now() - retryDelayMs)) return { ...answer, attempts };
    await new Promise((r) => setTimeout(r, retryDelayMs));
  }
}

function attemptTimeout(timing: TwilioPostTiming, until: number): number {
  return Math.max(1, Math.min(timing.readTimeoutMs ?? TWILIO_WEBHOOK_READ_TIMEOUT_MS, until - Date.now()));
}

/** A signed Twilio webhook post (X-Twilio-Signature over `url` and `params`), posted once. */
export function postSigned(url: string, params: TwilioParams, authToken: string, extraHeaders: Record<string, string> = {}, timeoutMs?: number) {
  return postForm(url, twilioFormBody(params), { ...twilioWebhookHeaders(authToken, url, params), ...extraHeaders }, timeoutMs);
}

/** Recipients ending in 7 are unreachable (30003), in 8 fail (30008); WhatsApp messages end read. */
export function defaultFate(message: FakeMessage): MessageFate {
  const to = message.to;
  if (to.endsWith('7')) return { final: 'undelivered', errorCode: 30003 };
  if (to.endsWith('8')) return { final: 'failed', errorCode: 30008 };
  return { final: to.startsWith('whatsapp:') ? 'read' : 'delivered' };
}

const CHANNEL_MESSAGES: Record<number, string> = {
  30003: 'Unreachable destination handset',
  30008: 'Unknown error',
  30005: 'Unknown destination handset',
  30006: 'Landline or unreachable carrier',
};

/** The statuses Twilio reports for a message meeting `fate`, in order. */
export function statusSequence(first: string, fate: MessageFate): string[] {
  const start = first === 'accepted' ? ['accepted', 'queued'] : ['queued'];
  if (fate.final === 'failed') return [...start, 'failed'];
  if (fate.final === 'undelivered') return [...start, 'sent', 'undelivered'];
  if (fate.final === 'read') return [...start, 'sent', 'delivered', 'read'];
  return [...start, 'sent', 'delivered'];
}

function rawDlrDoneDate(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(date.getUTCFullYear() % 100)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}${p(date.getUTCHours())}${p(date.getUTCMinutes())}`;
}

/** The parameters of one status callback, as Twilio posts them. */
export function statusCallbackParams(message: FakeMessage, status: string, fate: MessageFate): Array<[string, string]> {
  const whatsapp = message.to.startsWith('whatsapp:');
  const params: Array<[string, string]> = [];
  if (fate.errorCode !== undefined && (status === 'failed' || status === 'undelivered')) params.push(['ErrorCode', String(fate.errorCode)]);
  params.push(['SmsSid', message.sid], ['SmsStatus', status], ['MessageStatus', status], ['To', message.to]);
  if (message.messagingServiceSid) params.push(['MessagingServiceSid', message.messagingServiceSid]);
  params.push(['MessageSid', message.sid], ['AccountSid', message.accountSid]);
  params.push(['From', message.from ?? (whatsapp ? 'whatsapp:+15550000000' : '+15550000000')]);
  params.push(['ApiVersion', '2010-04-01']);
  if (whatsapp) params.push(['ChannelPrefix', 'whatsapp'], ['ChannelInstallSid', 'XE' + '0'.repeat(32)], ['ChannelToAddress', message.to.slice('whatsapp:'.length)]);
  if (fate.errorCode !== undefined && (status === 'failed' || status === 'undelivered')) {
    params.push(['ChannelStatusMessage', CHANNEL_MESSAGES[fate.errorCode] ?? 'Message delivery failed']);
  }
  if (!whatsapp && (status === 'delivered' || status === 'undelivered')) params.push(['RawDlrDoneDate', rawDlrDoneDate(new Date())]);
  return params;
}

export function startCallbackDriver(twilio: FakeTwilio, options: CallbackDriverOptions): CallbackDriver {
  const random = options.random ?? createPrng(2);
  const [minDelay, maxDelay] = options.delayMs ?? [2, 20];
  const retryDelayMs = options.retryDelayMs ?? 50;
  const totalTimeoutMs = options.totalTimeoutMs ?? TWILIO_WEBHOOK_TOTAL_TIMEOUT_MS;
  const timing: TwilioPostTiming = { retryDelayMs, totalTimeoutMs, ...(options.readTimeoutMs !== undefined ? { readTimeoutMs: options.readTimeoutMs } : {}) };
  const record = options.record ?? true;
  const dispatch = new Semaphore(options.maxInFlight ?? 64);
  const fates: CallbackDriver['fates'] = new Map();
  const receivedAt = new Map<string, number>();
  const carrier = options.carrier ?? CARRIER_LATENCY_MS;
  const within = (r: readonly [number, number]) => r[0] + random.next() * (r[1] - r[0]);
  const posts: CallbackPost[] = [];
  const abandoned: CallbackPost[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const waiters: Array<() => void> = [];
  let pending = 0;
  let stopped = false;

  const token = () => (typeof options.authToken === 'function' ? options.authToken() : options.authToken);
  const done = () => {
    pending--;
    if (pending === 0) while (waiters.length > 0) waiters.shift()!();
  };
  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  /** One attempt; Twilio's total time for the event (`until`) starts when its first attempt is sent. */
  async function deliver(message: FakeMessage, status: string, fate: MessageFate, idempotencyToken: string, until?: number, attempt = 1): Promise<void> {
    const url = message.statusCallback!;
    const params = statusCallbackParams(message, status, fate);
    let started = 0;
    let deadline = 0;
    const res = await dispatch.run(() => {
      started = Date.now();
      deadline = until ?? started + totalTimeoutMs;
      return postSigned(url, params, token(), { 'I-Twilio-Idempotency-Token': idempotencyToken }, attemptTimeout(timing, deadline));
    });
    const post: CallbackPost = { sid: message.sid, status, token: idempotencyToken, attempt, answer: res.status, at: started, ms: Date.now() - started, ...(res.failure ? { failure: res.failure } : {}) };
    if (record) posts.push(post);
    if (res.status >= 200 && res.status < 300) return;
    if (stopped) return;
    if (twilioRetries(res.status, attempt, deadline - Date.now() - retryDelayMs)) {
      pending++;
      later(retryDelayMs, () => void deliver(message, status, fate, idempotencyToken, deadline, attempt + 1).finally(done));
    } else abandoned.push(post);
  }

  function schedule(message: FakeMessage, status: string, fate: MessageFate, delay: number) {
    const idempotencyToken = `${message.accountSid}-${randomBytes(16).toString('hex')}`;
    const copies = random.chance(options.duplicateProbability ?? 0) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      pending++;
      later(delay + i * random.int(minDelay, maxDelay), () => {
        // Twilio's own view moves too, so the API's GETs agree with the callbacks; only forward:
        // reordered callbacks arrive out of order, the message's status at Twilio does not go back.
        const current = twilio.messages.get(message.sid)?.status ?? '';
        if (i === 0 && statusRank(status) >= statusRank(current)) twilio.setStatus(message.sid, status, status === 'failed' || status === 'undelivered' ? fate.errorCode : undefined);
        void deliver(message, status, fate, idempotencyToken).finally(done);
      });
    }
  }

  const unsubscribe = twilio.onMessageCreated((message) => {
    if (stopped || !message.statusCallback) return;
    if (!options.before) return scheduleAll(message);
    pending++;
    void options
      .before(message)
      .catch(() => undefined)
      .then(() => {
        if (!stopped) scheduleAll(message);
      })
      .finally(done);
  });

  function randomDelays(count: number): number[] {
    const delays: number[] = [];
    let at = 0;
    for (let i = 0; i < count; i++) {
      at += random.int(minDelay, maxDelay);
      delays.push(at);
    }
    return delays;
  }

  /** queued/accepted as Twilio takes the message; the rest after its turn in the sender's queue and the carrier's latency. */
  function pacedDelays(message: FakeMessage, departsAt: number, statuses: readonly string[]): number[] {
    const now = Date.now();
    const departs = Math.max(0, departsAt - now);
    let early = 0;
    const earlyDelays = statuses.filter((s) => s === 'accepted' || s === 'queued').map(() => (early += random.int(minDelay, maxDelay)));
    // Never before the message was queued (a compressed clock can make the carrier faster than Twilio's own callbacks).
    const sent = Math.max(early + 1, departs + within(carrier.sentMs));
    const handset = Math.max(sent, departs + within(carrier.handsetMs));
    const receipt = handset + within(carrier.receiptMs);
    let next = 0;
    return statuses.map((status) => {
      if (status === 'accepted' || status === 'queued') return earlyDelays[next++];
      if (status === 'sent' || status === 'failed') return sent;
      if (status === 'delivered' || status === 'read') receivedAt.set(message.sid, now + handset);
      if (status === 'read') return receipt + within(carrier.handsetMs);
      return receipt;
    });
  }

  function scheduleAll(message: FakeMessage) {
    const fate = (options.fate ?? defaultFate)(message);
    const whatsapp = message.to.startsWith('whatsapp:');
    fates.set(message.sid, { ...fate, channel: whatsapp ? 'whatsapp' : 'sms' });
    const statuses = statusSequence(message.status, fate);
    const delays = message.departsAt !== undefined ? pacedDelays(message, message.departsAt, statuses) : randomDelays(statuses.length);
    if (random.chance(options.reorderProbability ?? 0)) random.shuffle(delays);
    if (random.chance(options.earlyProbability ?? 0)) delays[0] = 0;
    statuses.forEach((status, i) => schedule(message, status, fate, delays[i]));
  }

  return {
    fates,
    receivedAt,
    posts,
    abandoned,
    get pending() {
      return pending;
    },
    settled(timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        if (pending === 0) return resolve();
        const timer = setTimeout(() => reject(new Error(`status callbacks not settled after ${timeoutMs} ms: ${pending} pending`)), timeoutMs);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    stop() {
      stopped = true;
      unsubscribe();
      for (const timer of timers) clearTimeout(timer);
      pending -= timers.size;
      timers.clear();
      if (pending <= 0) {
        pending = 0;
        while (waiters.length > 0) waiters.shift()!();
      }
    },
  };
}

/** An inbound message as Twilio posts it to the number's messaging webhook. */
export interface InboundMessageInput {
  readonly accountSid: string;
  readonly from: string;
  readonly to: string;
  readonly body: string;
  readonly mediaUrls?: readonly string[];
  /** Default: a fresh SM… SID. */
  readonly messageSid?: string;
}

export function inboundParams(input: InboundMessageInput): Array<[string, string]> {
  const sid = input.messageSid ?? `SM${randomBytes(16).toString('hex')}`;
  const whatsapp = input.from.startsWith('whatsapp:');
  const media = input.mediaUrls ?? [];
  const params: Array<[string, string]> = [
    ['ToCountry', 'US'],
    ['ToState', 'CA'],
    ['SmsMessageSid', sid],
    ['NumMedia', String(media.length)],
    ['ToCity', ''],
    ['FromZip', ''],
    ['SmsSid', sid],
    ['FromState', 'CA'],
    ['SmsStatus', 'received'],
    ['FromCity', ''],
    ['Body', input.body],
    ['FromCountry', 'US'],
    ['To', input.to],
    ['ToZip', ''],
    ['NumSegments', '1'],
    ['MessageSid', sid],
    ['AccountSid', input.accountSid],
    ['From', input.from],
    ['ApiVersion', '2010-04-01'],
  ];
  media.forEach((url, i) => params.push([`MediaUrl${i}`, url], [`MediaContentType${i}`, 'image/jpeg']));
  if (whatsapp) params.push(['ProfileName', 'On-call'], ['WaId', input.from.replace(/^whatsapp:\+/, '')]);
  return params;
}

/** Posts a signed inbound message to `url` (the INBOUND_URL) as Twilio does: retried once only if the connection failed. */
export function sendInbound(url: string, authToken: string, input: InboundMessageInput, timing: TwilioPostTiming = {}) {
  const params = inboundParams(input);
  return postAsTwilio(url, twilioFormBody(params), twilioWebhookHeaders(authToken, url, params), timing);
}
