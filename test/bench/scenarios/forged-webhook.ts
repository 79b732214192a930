/**
 * Forged webhooks (issue 9): CPU time to refuse a forged status callback of a
 * normal size and the 5.5 MB / 380,000-parameter one, before-style and now.
 *
 * - before-style: the gate as it was before the body limits (commit 876a606,
 *   reproduced below): the whole body parsed, then the signed text built and
 *   HMAC'd once per URL variant.
 * - now, gate: the shipped gate's functions (readForm, prepareSignature,
 *   verifyPreparedSignature) on the same bodies, the same scope as before-style.
 * - now, handler: the shipped assets/status-callback handler end to end (the
 *   credentials cached, logging and metrics included).
 *
 * CPU time is process.cpuUsage() (user + system) around each request: what
 * Lambda bills and throttles, not wall time, which the shared machine blurs.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { prepareSignature, urlVariants, verifyPreparedSignature } from '../../../lambda/webhook/twilio-signature';
import { FormParams, parseForm, readForm } from '../../../lambda/webhook/webhook-request';
import { twilioFormBody, twilioWebhookHeaders } from '../../support/twilio-sign';
import { captureLogs, scenarioMain } from '../support/child';
import { ACCOUNT_SID, AUTH_TOKEN, FROM, STATUS_CALLBACK_URL, lambdaContext, loadHandler, recipients, startBenchEnv } from '../support/local-env';
import { summarize, Summary } from '../support/stats';

const ASSETS = process.env.BENCH_ASSETS_DIR ?? join(__dirname, '..', '..', '..', 'assets');
const QUICK = process.env.BENCH_QUICK === '1';
/** Samples per variant; before-style on the flood takes seconds each, so it gets few. */
const SAMPLES = QUICK
  ? { normal: { before: 50, gate: 50, handler: 30 }, flood: { before: 1, gate: 10, handler: 5 } }
  : { normal: { before: 400, gate: 400, handler: 200 }, flood: { before: 3, gate: 50, handler: 30 } };

export interface ForgedSize {
  readonly name: 'normal' | 'flood';
  readonly bodyBytes: number;
  readonly params: number;
  readonly beforeCpuMs: Summary;
  readonly gateCpuMs: Summary;
  readonly handlerCpuMs: Summary;
  readonly handlerStatuses: Record<string, number>;
}

export interface ForgedWebhookResult {
  readonly sizes: readonly ForgedSize[];
}

// --- before-style: the previous gate's work, as it was -----------------------

function beforeSignedText(url: string, params: FormParams): string {
  const byName = new Map<string, Set<string>>();
  for (const [name, value] of params) {
    const values = byName.get(name);
    if (values) values.add(value);
    else byName.set(name, new Set([value]));
  }
  const parts = [url];
  for (const name of [...byName.keys()].sort()) {
    for (const value of [...byName.get(name)!].sort()) parts.push(name, value);
  }
  return parts.join('');
}

function beforeStyleGate(event: APIGatewayProxyEvent): boolean {
  const params = parseForm(event.body ?? '');
  const received = Buffer.from(event.headers['X-Twilio-Signature'] ?? '', 'utf8');
  let valid = false;
  for (const url of urlVariants(STATUS_CALLBACK_URL)) {
    const expected = Buffer.from(createHmac('sha1', AUTH_TOKEN).update(beforeSignedText(url, params), 'utf8').digest('base64'), 'utf8');
    if (expected.length === received.length && timingSafeEqual(expected, received)) valid = true;
  }
  return valid;
}

// --- now: the shipped gate's functions ----------------------------------------

function nowGate(event: APIGatewayProxyEvent): boolean {
  let params: FormParams;
  try {
    params = readForm(event);
  } catch {
    return false;
  }
  const signed = prepareSignature({ signature: event.headers['X-Twilio-Signature'], settings: undefined, url: STATUS_CALLBACK_URL, params });
  return verifyPreparedSignature(signed, { authToken: AUTH_TOKEN });
}

// --- the forgeries ------------------------------------------------------------

function forgedEvent(body: string, params: number): { event: APIGatewayProxyEvent; bodyBytes: number; params: number } {
  const u = new URL(STATUS_CALLBACK_URL);
  // A well-formed signature over the body, with the wrong token: what a forger can do.
  const signatureOf = twilioWebhookHeaders('not-the-auth-token', STATUS_CALLBACK_URL, [['MessageSid', 'forged']]);
  const headers: Record<string, string> = { ...signatureOf, Host: u.host, 'User-Agent': 'TwilioProxy/1.1', 'I-Twilio-Idempotency-Token': randomUUID() };
  const event = {
    resource: '/status',
    path: '/status',
    httpMethod: 'POST',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body,
    isBase64Encoded: false,
    requestContext: { identity: { sourceIp: '203.0.113.9' } } as unknown as APIGatewayProxyEvent['requestContext'],
  } as APIGatewayProxyEvent;
  return { event, bodyBytes: Buffer.byteLength(body), params };
}

function normalForgery() {
  const sid = `SM${'0'.repeat(31)}1`;
  const params: Array<[string, string]> = [
    ['SmsSid', sid], ['SmsStatus', 'delivered'], ['MessageStatus', 'delivered'], ['To', '+15550100001'], ['MessageSid', sid],
    ['AccountSid', ACCOUNT_SID], ['From', FROM], ['ApiVersion', '2010-04-01'], ['RawDlrDoneDate', '2611271500'],
  ];
  return forgedEvent(twilioFormBody(params), params.length);
}

/** The forgery of issue 9: 5.5 MB, 380,000 parameters. */
function floodForgery() {
  const parts = Array.from({ length: 380_000 }, (_, i) => `p${i.toString(36)}=${'v'.repeat(6)}`);
  const text = parts.join('&');
  return forgedEvent(`${text}&Body=${'x'.repeat(5_500_000 - text.length - 6)}`, parts.length + 1);
}

function cpuMs(work: () => void): number {
  const start = process.cpuUsage();
  work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

async function cpuMsAsync(work: () => Promise<void>): Promise<number> {
  const start = process.cpuUsage();
  await work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

scenarioMain(async (): Promise<ForgedWebhookResult> => {
  const env = await startBenchEnv({ from: FROM, defaultRecipients: recipients(1) });
  captureLogs();
  const handler = loadHandler(join(ASSETS, 'status-callback', 'index.js'));
  const sizes: ForgedSize[] = [];
  try {
    for (const [name, make] of [['normal', normalForgery], ['flood', floodForgery]] as const) {
      const forgery = make();
      const counts = SAMPLES[name];
      // Warm-up: the handler's first call reads the secret and loads its clients.
      await handler(forgery.event, lambdaContext('status-callback'));
      nowGate(forgery.event);
      const before: number[] = [];
      const gate: number[] = [];
      const handlerCpu: number[] = [];
      const statuses: Record<string, number> = {};
      // Interleaved rounds, so that drift in the machine's load touches every variant alike.
      const rounds = Math.max(counts.before, 1);
      for (let r = 0; r < rounds; r++) {
        if (r < counts.before) {
          let valid = true;
          before.push(cpuMs(() => (valid = beforeStyleGate(forgery.event))));
          if (valid) throw new Error('a forgery verified before-style');
        }
        for (let i = r; i < counts.gate; i += rounds) {
          let valid = true;
          gate.push(cpuMs(() => (valid = nowGate(forgery.event))));
          if (valid) throw new Error('a forgery verified');
        }
        for (let i = r; i < counts.handler; i += rounds) {
          handlerCpu.push(
            await cpuMsAsync(async () => {
              const res = (await handler(forgery.event, lambdaContext('status-callback'))) as { statusCode: number };
              statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
            }),
          );
        }
      }
      sizes.push({
        name,
        bodyBytes: forgery.bodyBytes,
        params: forgery.params,
        beforeCpuMs: summarize(before),
        gateCpuMs: summarize(gate),
        handlerCpuMs: summarize(handlerCpu),
        handlerStatuses: statuses,
      });
    }
  } finally {
    await env.close();
  }
  return { sizes };
});
