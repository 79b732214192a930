import type { Agent as AgentType, Dispatcher } from 'undici';
import { ENV } from '../../lib/contract';
import type { TwilioCredentials } from './credentials';
import { classifyHttpError, classifyNetworkError, TwilioApiError } from './twilio-errors';

/*
 * A small client for Twilio's Messages API over undici's keep-alive Agent:
 * the transport and the reads of the message log, for every handler that asks
 * Twilio (the sender's lookups today). The sender's create path, with its
 * retries, is lambda/sender/create-message.ts.
 *
 * Only undici's Agent is loaded (not its fetch, WebSocket, cache, ...): the
 * whole package costs about twice the load time, and cold starts matter. The
 * request goes through the Agent's low-level dispatch so that we learn when
 * the request bytes have been written (onRequestSent): a failure before that
 * point is safely retried, a failure after it is an unknown outcome.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Agent = require('undici/lib/dispatcher/agent') as typeof AgentType;

/** Connecting to Twilio takes tens of ms; a connect that lasts seconds will not succeed in time. */
const CONNECT_TIMEOUT_MS = 3_000;
/** Upper bound for one attempt: headers and body, well under any sensible function timeout. */
const MAX_ATTEMPT_MS = 10_000;
/** An attempt with less time than this left is not started: it would likely end as a timeout, i.e. an unknown outcome. */
export const MIN_ATTEMPT_MS = 1_500;

/**
 * Lambda freezes the process between invocations; a kept-alive socket that
 * Twilio closed meanwhile still looks open on thaw, and a POST written to it
 * fails after leaving: an unknown outcome. So connections idle longer than
 * this are not reused: the pool is replaced and the next request connects afresh.
 */
const MAX_IDLE_MS = 15_000;

const newAgent = () =>
  new Agent({
    connect: { timeout: CONNECT_TIMEOUT_MS },
    keepAliveTimeout: MAX_IDLE_MS,
    keepAliveMaxTimeout: MAX_IDLE_MS,
  });
let agent = newAgent();
let lastActivity = 0;

function freshAgent(now: number): AgentType {
  if (lastActivity !== 0 && now - lastActivity > MAX_IDLE_MS) {
    const stale = agent;
    agent = newAgent();
    stale.destroy().catch(() => undefined);
  }
  lastActivity = now;
  return agent;
}

export const DEFAULT_API_BASE_URL = 'https://api.twilio.com';

/** Resolved once per execution environment (tests point it at a local fake). */
const API_BASE_URL = (process.env[ENV.TWILIO_API_BASE_URL] || DEFAULT_API_BASE_URL).replace(/\/+$/, '');

/** The code of the error thrown when no attempt could start in time: no request went out, so it tells nothing about Twilio. */
export const NO_TIME_LEFT = 'NO_TIME_LEFT';

export function noTimeLeft(leftMs: number): TwilioApiError {
  return new TwilioApiError(`not enough time left for a Twilio request (${Math.max(0, Math.round(leftMs))} ms, ${MIN_ATTEMPT_MS} needed)`, 'transient', undefined, NO_TIME_LEFT);
}

/** The error says that no request was made for lack of time (not that one failed). */
export function isNoTimeLeft(err: unknown): boolean {
  return err instanceof TwilioApiError && err.code === NO_TIME_LEFT;
}

/** Twilio's message resource, as far as the sender reads it. */
export interface TwilioMessage {
  readonly sid: string;
  readonly status: string;
  readonly to: string;
  readonly from: string | null;
  readonly body: string | null;
  readonly num_segments: string | null;
  readonly num_media?: string | null;
  readonly price: string | null;
  readonly price_unit: string | null;
  readonly date_created: string | null;
  readonly messaging_service_sid: string | null;
  readonly direction?: string;
  readonly error_code?: number | null;
}

export interface ListPage {
  readonly messages: TwilioMessage[];
  readonly next_page_uri: string | null;
}

/** Basic auth with the API key when the secret has one (Twilio's advice), else the account SID and auth token. */
export function authorizationHeader(credentials: TwilioCredentials): string {
  const user = credentials.apiKeySid ?? credentials.accountSid;
  const password = credentials.apiKeySid ? credentials.apiKeySecret ?? '' : credentials.authToken;
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * One HTTP exchange that ends by `deadline` (epoch ms). Rejects with a
 * TwilioApiError from classifyNetworkError for network failures.
 */
export function exchange(method: 'GET' | 'POST', path: string, authorization: string, body: string | undefined, deadline: number): Promise<RawResponse> {
  const left = deadline - Date.now();
  // A request with a timeout of a few ms says nothing about Twilio: it is not made.
  if (left < MIN_ATTEMPT_MS) return Promise.reject(noTimeLeft(left));
  const url = new URL(API_BASE_URL + path);
  const timeout = Math.min(MAX_ATTEMPT_MS, left);
  return new Promise<RawResponse>((resolve, reject) => {
    let requestSent = false;
    let settled = false;
    let abort: ((err: Error) => void) | undefined;
    let status = 0;
    let headers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(classifyNetworkError(err, requestSent));
    };
    // Our own deadline over connect, queueing, headers and body together.
    const timer = setTimeout(() => {
      const err = Object.assign(new Error(`no answer from Twilio within ${timeout} ms`), { code: 'DEADLINE_EXCEEDED' });
      abort?.(err);
      fail(err);
    }, timeout);
    const handler: Dispatcher.DispatchHandler = {
      onConnect(abortRequest: (err?: Error) => void) {
        abort = abortRequest;
        if (settled) abortRequest(new Error('deadline passed before the connection was ready'));
      },
      onRequestSent() {
        requestSent = true;
      },
      onHeaders(statusCode: number, rawHeaders: Buffer[]) {
        status = statusCode;
        headers = {};
        for (let i = 0; i + 1 < rawHeaders.length; i += 2) headers[rawHeaders[i].toString().toLowerCase()] = rawHeaders[i + 1].toString();
        return true;
      },
      onData(chunk: Buffer) {
        chunks.push(chunk);
        return true;
      },
      onComplete() {
        lastActivity = Date.now();
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status, headers, body: Buffer.concat(chunks).toString('utf8') });
      },
      onError: fail,
    } as unknown as Dispatcher.DispatchHandler;
    freshAgent(Date.now()).dispatch(
      {
        origin: url.origin,
        path: url.pathname + url.search,
        method,
        headers: {
          authorization,
          accept: 'application/json',
          'user-agent': 'cdk-twilio-messaging',
          ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        body,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      },
      handler,
    );
  });
}

export function parseJson<T>(res: RawResponse): T {
  try {
    return JSON.parse(res.body) as T;
  } catch {
    throw new TwilioApiError(`Twilio answered ${res.status} with a body that is not JSON`, 'unknown', res.status, 'INVALID_RESPONSE');
  }
}

/**
 * Reads of one page per lookup: a read changes nothing, so a refused or broken
 * one is asked again at once. Without this, one 5xx on a GET was a doubt on
 * the claim, and three such doubts left a page that never reached Twilio
 * `unknown`, never sent.
 */
export const PAGE_READ_ATTEMPTS = 3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const PAGE_READ_BACKOFF_MS = 100;

/**
 * GET one page of Messages.json (a path with query, e.g. a next_page_uri),
 * read again up to PAGE_READ_ATTEMPTS times on a transient failure while time
 * remains. Any failure is retryable: reads change nothing.
 */
export async function getMessagePage(credentials: TwilioCredentials, pathWithQuery: string, deadline: number): Promise<ListPage> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readMessagePage(credentials, pathWithQuery, deadline);
    } catch (err) {
      const again = attempt < PAGE_READ_ATTEMPTS && err instanceof TwilioApiError && err.failureClass === 'transient' && !isNoTimeLeft(err);
      if (!again) throw err;
      await sleep(Math.floor(Math.random() * PAGE_READ_BACKOFF_MS * attempt));
    }
  }
}

async function readMessagePage(credentials: TwilioCredentials, pathWithQuery: string, deadline: number): Promise<ListPage> {
  let res: RawResponse;
  try {
    res = await exchange('GET', pathWithQuery, authorizationHeader(credentials), undefined, deadline);
  } catch (err) {
    throw err instanceof TwilioApiError ? new TwilioApiError(err.message, 'transient', err.httpStatus, err.code) : err;
  }
  if (res.status !== 200) throw classifyHttpError(res.status, res.body);
  const page = parseJson<Partial<ListPage>>(res);
  return { messages: Array.isArray(page.messages) ? page.messages : [], next_page_uri: page.next_page_uri ?? null };
}

/**
 * GET Messages/{Sid}.json once: the message as Twilio has it now. Rejects with
 * TwilioApiError: a 404 (Twilio's 20404) when the account has no such message;
 * any network failure is `transient` (a read changes nothing, so it may be asked again).
 */
export async function fetchMessage(credentials: TwilioCredentials, sid: string, deadline: number): Promise<TwilioMessage> {
  let res: RawResponse;
  try {
    res = await exchange('GET', `/2010-04-01/Accounts/${credentials.accountSid}/Messages/${encodeURIComponent(sid)}.json`, authorizationHeader(credentials), undefined, deadline);
  } catch (err) {
    throw err instanceof TwilioApiError ? new TwilioApiError(err.message, 'transient', err.httpStatus, err.code) : err;
  }
  if (res.status !== 200) throw classifyHttpError(res.status, res.body);
  return parseJson<TwilioMessage>(res);
}

/** The first page of Messages.json filtered by `query` (To, From, DateSent>, PageSize...). */
export function listMessages(credentials: TwilioCredentials, query: Readonly<Record<string, string>>, deadline: number): Promise<ListPage> {
  return getMessagePage(credentials, `/2010-04-01/Accounts/${credentials.accountSid}/Messages.json?${new URLSearchParams(query as Record<string, string>)}`, deadline);
}

