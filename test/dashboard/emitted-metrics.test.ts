import { ENV, METRIC, METRICS_NAMESPACE, PLACEHOLDER_SECRET, SERVICE_DIMENSION } from '../../lib/contract';
import { FakeTwilio, startFakeTwilio } from '../support/fake-twilio';
import { alarm, batch, context, rawRecord, snsRecord } from '../support/sender-rig';
import {
  ACCOUNT_SID,
  ApiHandler,
  captureOutput,
  CapturedOutput,
  getItem,
  goodSecret,
  INBOUND_URL,
  lambdaContext,
  loadHandler,
  loadWebhooks,
  OUR_NUMBER,
  SECRET_ARN,
  SenderHandler,
  sid,
  STATUS_URL,
  startWorld,
  TABLE_NAME,
  twilioEvent,
  WebhookWorld,
} from '../support/webhook-rig';
import { metricsOf, synthDashboards, SynthesizedDashboards } from './body';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { writeMessageRecord } from '../../lambda/shared/table/messages';
import { ALERTS_TOPIC_ARN, snsEnvelope, sqsRecord } from '../support/records';

/*
 * The dashboard's contract with the handlers: an operator's night (an alarm
 * pages, the page is delivered, the on-call ACKs, the alarm resolves; a page
 * Twilio refuses, an undelivered one, a forged callback, a placeholder
 * secret; a storm of texts to one address, held and sent as one digest)
 * through the real sender, status-callback and inbound entry points,
 * with the environment the construct synthesizes for them. Every metric the
 * dashboard graphs in TwilioMessaging must be one they wrote, with the same
 * namespace, name and dimensions.
 */

type ReconcilerHandler = (event: ScheduledEvent, context: Context) => Promise<unknown>;

const R1 = '+15551550001';
const R2 = '+15551550002';

let synthesized: SynthesizedDashboards;
let handlerEnv: Record<string, string>;
let world: WebhookWorld;
let twilio: FakeTwilio;
let sender: SenderHandler;
/** A sender with the default storm window (the one above has none: the night pages R1 repeatedly). */
let stormSender: SenderHandler;
let inbound: ApiHandler;
let statusCallback: ApiHandler;
let reconciler: ReconcilerHandler;
let out: CapturedOutput;

beforeAll(async () => {
  synthesized = synthDashboards({ Dashboard: {} });
  const [env] = Object.values(synthesized.template.findResources('AWS::Lambda::Function'))
    .map((f) => f.Properties.Environment?.Variables as Record<string, string> | undefined)
    .filter((e) => e?.POWERTOOLS_SERVICE_NAME !== undefined);
  handlerEnv = { POWERTOOLS_SERVICE_NAME: env!.POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE: env!.POWERTOOLS_METRICS_NAMESPACE };

  world = await startWorld();
  twilio = await startFakeTwilio({ accountSid: ACCOUNT_SID });
  Object.assign(process.env, handlerEnv);
  process.env[ENV.ALERT_QUEUE_URL] = world.sqs.queueUrl('alerts');
  process.env.TWILIO_API_BASE_URL = twilio.url;
  process.env[ENV.SENDER_CONFIG] = JSON.stringify({ from: OUR_NUMBER, defaultRecipients: [R1], claimLeaseSeconds: 60, storm: { windowSeconds: 0 } });
  ({ sender, inbound, statusCallback } = await loadWebhooks());
  process.env[ENV.SENDER_CONFIG] = JSON.stringify({ from: OUR_NUMBER, defaultRecipients: [R1], allowedRecipients: [R1, R2], claimLeaseSeconds: 60 });
  stormSender = await loadHandler<SenderHandler>('../../lambda/sender');
  process.env[ENV.RECONCILE_AFTER_SECONDS] = '300';
  reconciler = await loadHandler<ReconcilerHandler>('../../lambda/reconciler/index');
}, 180_000);

afterAll(async () => {
  for (const name of [ENV.ALERT_QUEUE_URL, ENV.SENDER_CONFIG, ENV.RECONCILE_AFTER_SECONDS, 'TWILIO_API_BASE_URL', 'POWERTOOLS_SERVICE_NAME']) delete process.env[name];
  await Promise.all([world.close(), twilio.close()]);
});

beforeEach(() => {
  out = captureOutput();
});

afterEach(() => {
  out.restore();
});

function statusParams(messageSid: string, status: string, errorCode?: string): Array<[string, string]> {
  return Object.entries({ MessageSid: messageSid, MessageStatus: status, To: R1, From: OUR_NUMBER, AccountSid: ACCOUNT_SID, ApiVersion: '2010-04-01', ...(errorCode ? { ErrorCode: errorCode } : {}) });
}

let replies = 0xd00000;
function replyParams(body: string): Array<[string, string]> {
  const messageSid = sid('SM', replies++);
  return Object.entries({ MessageSid: messageSid, SmsSid: messageSid, SmsStatus: 'received', Body: body, From: R1, To: OUR_NUMBER, NumMedia: '0', AccountSid: ACCOUNT_SID, ApiVersion: '2010-04-01' });
}

const postStatus = (params: Array<[string, string]>, token?: string) => statusCallback(twilioEvent('/status', STATUS_URL, params, token ? { token } : {}), lambdaContext('status-callback'));
const postReply = (params: Array<[string, string]>) => inbound(twilioEvent('/inbound', INBOUND_URL, params), lambdaContext('inbound'));
const created = () => twilio.createRequests().filter((r) => r.outcome === 'created');

/** `Namespace Name {dimension=value,...}` */
const key = (namespace: string, name: string, dimensions: Readonly<Record<string, string>>) =>
  `${namespace} ${name} {${Object.entries(dimensions)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}}`;

interface EmfDirective {
  readonly Namespace: string;
  readonly Dimensions: string[][];
  readonly Metrics: Array<{ Name: string; Unit?: string }>;
}

/** What the handlers wrote: one key per metric of each EMF record, and the records' directives. */
function emitted(): { keys: Set<string>; directives: EmfDirective[]; records: Array<Record<string, unknown>> } {
  const records = out.records().filter((r) => r._aws !== undefined);
  const directives = records.flatMap((r) => (r._aws as { CloudWatchMetrics: EmfDirective[] }).CloudWatchMetrics);
  const keys = new Set(
    records.flatMap((r) =>
      (r._aws as { CloudWatchMetrics: EmfDirective[] }).CloudWatchMetrics.flatMap((d) =>
        d.Metrics.map((m) => key(d.Namespace, m.Name, Object.fromEntries(d.Dimensions.flat().map((dim) => [dim, String(r[dim])])))),
      ),
    ),
  );
  return { keys, directives, records };
}

test('every TwilioMessaging metric the dashboard graphs is one the handlers emit, with its namespace, name and dimensions', async () => {
  // An alarm published a minute ago (a busy queue) pages R1: MessagesSent, IncidentsOpened.
  const name = 'contract-db-cpu';
  const alarmArn = `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${name}`;
  const envelope = { ...JSON.parse(snsEnvelope(ALERTS_TOPIC_ARN, JSON.stringify(alarm({ AlarmName: name, AlarmArn: alarmArn })), 'sns-contract-open')), Timestamp: new Date(Date.now() - 60_000).toISOString() };
  expect((await sender(batch(sqsRecord(JSON.stringify(envelope))), context())).batchItemFailures).toEqual([]);
  const [page] = created();
  const incident = await getItem(world.table, 'incident#sns-contract-open');
  expect(incident).toMatchObject({ state: 'open' });

  // The page is delivered (MessagesDelivered, DeliveryLatency) and acknowledged (IncidentsAcknowledged, TimeToAcknowledge).
  expect((await postStatus(statusParams(page.sid!, 'delivered'))).statusCode).toBe(200);
  expect((await postReply(replyParams(`ACK ${String(incident!.code)}`))).statusCode).toBe(200);
  expect(await getItem(world.table, 'incident#sns-contract-open')).toMatchObject({ state: 'acknowledged' });

  // The alarm's OK resolves it: IncidentsResolved.
  const ok = alarm({ AlarmName: name, AlarmArn: alarmArn, NewStateValue: 'OK', OldStateValue: 'ALARM' });
  expect((await sender(batch(snsRecord(JSON.stringify(ok), 'sns-contract-ok')), context())).batchItemFailures).toEqual([]);

  // A text Twilio refuses for good (21211 invalid To): MessagesFailed. A page that ends undelivered: MessagesUndelivered.
  twilio.enqueue({ error: { status: 400, code: 21211 } });
  expect((await sender(batch(snsRecord('doomed', 'sns-contract-doomed')), context())).batchItemFailures).toEqual([]);
  expect((await postStatus(statusParams(sid('SM', 0xd10000), 'undelivered', '30003'))).statusCode).toBe(200);

  // A forged callback: CallbackRejected. A placeholder secret: ConfigurationErrors.
  expect((await postStatus(statusParams(sid('SM', 0xd10001), 'delivered'), 'not-the-auth-token')).statusCode).toBe(403);
  world.secrets.setSecret(SECRET_ARN, JSON.stringify(PLACEHOLDER_SECRET));
  try {
    expect((await postStatus(statusParams(sid('SM', 0xd10002), 'delivered'))).statusCode).toBe(500);
  } finally {
    world.secrets.setSecret(SECRET_ARN, goodSecret);
  }

  // The reconciler: a message whose delivered callback never came (StatusesReconciled), one Twilio does not know (StatusNeverFinal).
  const sixMinutesAgo = Date.now() - 6 * 60_000;
  const missed = twilio.addMessage({ to: R1, status: 'delivered' });
  for (const messageSid of [missed.sid, sid('SM', 0xd10003)]) {
    await writeMessageRecord(world.table, TABLE_NAME, { sid: messageSid, status: 'queued', to: R1, from: OUR_NUMBER, channel: 'sms', notificationId: `n-${messageSid}`, bodyPreview: 'disk full', acceptedAt: sixMinutesAgo }, sixMinutesAgo);
  }
  await reconciler({ id: 'contract-run' } as ScheduledEvent, lambdaContext('reconciler'));
  expect(await getItem(world.table, missed.sid)).toMatchObject({ status: 'delivered' });

  // A storm: four texts to R2 in its window, the first sent at once, three held (TextsHeld); the window's timer sends them as one digest (DigestsSent, TextsDigested).
  const storm = [1, 2, 3, 4].map((i) => snsRecord(JSON.stringify({ body: `queue ${i} backed up`, to: [R2] }), `sns-contract-storm-${i}`));
  for (const record of storm) expect((await stormSender(batch(record), context())).batchItemFailures).toEqual([]);
  const [digestTimer] = world.sqs.sent.filter((m) => m.body.includes('"timer":"digest"') && m.body.includes(R2));
  const realNow = Date.now.bind(Date);
  const dueAt = (JSON.parse(digestTimer.body) as { dueAt: number }).dueAt;
  const clock = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + Math.max(0, dueAt + 5 - realNow()));
  try {
    expect((await stormSender(batch(rawRecord(digestTimer.body)), context())).batchItemFailures).toEqual([]);
  } finally {
    clock.mockRestore();
  }
  expect(created().filter((r) => r.params.some(([k, v]) => k === 'To' && v === R2))).toHaveLength(2);

  const { keys, directives, records } = emitted();
  // The page's delivery latency runs from the publish, a minute before the sender saw it; Twilio's part is the rest.
  const latency = (metric: string) => records.filter((r) => r[metric] !== undefined).map((r) => Number(r[metric]));
  expect(latency(METRIC.DELIVERY_LATENCY)).toEqual([expect.any(Number)]);
  expect(latency(METRIC.DELIVERY_LATENCY)[0]).toBeGreaterThanOrEqual(60_000);
  expect(latency(METRIC.TWILIO_DELIVERY_LATENCY)[0]).toBeLessThan(60_000);
  // Every record: the construct's namespace and the one dimension, with the construct's value.
  expect(new Set(directives.map((d) => `${d.Namespace} ${JSON.stringify(d.Dimensions)}`))).toEqual(new Set([`${METRICS_NAMESPACE} [["${SERVICE_DIMENSION}"]]`]));
  expect(new Set(records.map((r) => r[SERVICE_DIMENSION]))).toEqual(new Set([synthesized.messaging.serviceName]));
  expect(handlerEnv.POWERTOOLS_METRICS_NAMESPACE).toBe(METRICS_NAMESPACE);

  const graphed = metricsOf(synthesized.bodies.Dashboard).filter((m) => m.namespace === METRICS_NAMESPACE);
  const graphedKeys = [...new Set(graphed.map((m) => key(m.namespace!, m.metricName!, m.dimensions)))].sort();
  expect(graphedKeys.filter((k) => !keys.has(k))).toEqual([]);
  // The night above emits each of them: the check covers the whole dashboard, not a part of it.
  expect(graphedKeys.map((k) => k.split(' ')[1]).sort()).toEqual(
    [
      METRIC.MESSAGES_SENT,
      METRIC.MESSAGES_DELIVERED,
      METRIC.MESSAGES_UNDELIVERED,
      METRIC.MESSAGES_FAILED,
      METRIC.DELIVERY_LATENCY,
      METRIC.TWILIO_DELIVERY_LATENCY,
      METRIC.STATUSES_RECONCILED,
      METRIC.STATUS_NEVER_FINAL,
      METRIC.CALLBACK_REJECTED,
      METRIC.CONFIGURATION_ERRORS,
      METRIC.INCIDENTS_OPENED,
      METRIC.INCIDENTS_ACKNOWLEDGED,
      METRIC.INCIDENTS_RESOLVED,
      METRIC.TIME_TO_ACKNOWLEDGE,
      METRIC.TEXTS_HELD,
      METRIC.DIGESTS_SENT,
      METRIC.TEXTS_DIGESTED,
    ].sort(),
  );
});
