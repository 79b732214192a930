import { ENV } from '../../lib/contract';
import { FakeTwilio, startFakeTwilio } from '../support/fake-twilio';
import type { SentSqsMessage } from '../support/fake-sqs';
import { ACCOUNT_SID, ApiHandler, captureOutput, CapturedOutput, getItem, INBOUND_URL, lambdaContext, loadWebhooks, SenderHandler, sid, STATUS_URL, startWorld, twilioEvent, WebhookWorld } from '../support/webhook-rig';
import { DynamoProxy, startDynamoProxy } from '../support/dynamo-proxy';
import { alarm, batch, context, rawRecord, snsRecord } from '../support/sender-rig';

/*
 * The sender and the two webhooks on one table, through their real
 * handlers: what a webhook writes (an acknowledgement, an unreachable
 * address, an opt-out) and the timer it sends are read by the sender as the
 * sender's own; a page the sender sent is what the webhooks find.
 */

const R1 = '+15551330001';
const R2 = '+15551330002';
const OUR_NUMBER = '+15557650000';
const ALERT_QUEUE = 'alerts';
const ESCALATION = { stages: [{ recipients: [R1], afterSeconds: 0 }, { recipients: [R2], afterSeconds: 600 }], repeats: 1, repeatAfterSeconds: 300 };

let world: WebhookWorld;
let twilio: FakeTwilio;
/** In front of dynalite for every handler: holds chosen calls. */
let proxy: DynamoProxy;
let sender: SenderHandler;
let inbound: ApiHandler;
let statusCallback: ApiHandler;
let out: CapturedOutput;
let serial = 0;

beforeAll(async () => {
  world = await startWorld();
  twilio = await startFakeTwilio({ accountSid: ACCOUNT_SID });
  proxy = await startDynamoProxy(world.dynamo.backendEndpoint);
  process.env[ENV.ALERT_QUEUE_URL] = world.sqs.queueUrl(ALERT_QUEUE);
  process.env.TWILIO_API_BASE_URL = twilio.url;
  process.env[ENV.SENDER_CONFIG] = JSON.stringify({ from: OUR_NUMBER, defaultRecipients: [R1], claimLeaseSeconds: 60, escalation: ESCALATION, storm: { windowSeconds: 0 } });
  // Every handler's DynamoDB calls go through the proxy (the SDK reads this variable when it sends).
  process.env.AWS_ENDPOINT_URL_DYNAMODB = proxy.url;
  ({ sender, inbound, statusCallback } = await loadWebhooks());
});

afterAll(async () => {
  delete process.env[ENV.ALERT_QUEUE_URL];
  delete process.env[ENV.SENDER_CONFIG];
  delete process.env.TWILIO_API_BASE_URL;
  await Promise.all([world.close(), twilio.close(), proxy.close()]);
});

beforeEach(() => {
  out = captureOutput();
  twilio.reset();
  proxy.setRule(undefined);
  world.sqs.sent.length = 0;
});

afterEach(() => {
  out.restore();
});

/** Messages the sender created for `to`: their SIDs and bodies. */
const pagesTo = (to: string) => twilio.createdFor(to);
const alertQueueMessages = (): SentSqsMessage[] => world.sqs.sent.filter((m) => m.queueUrl === world.sqs.queueUrl(ALERT_QUEUE));
/** Hands an alert-queue message to the sender as SQS would deliver it. */
const deliverToSender = (m: SentSqsMessage) => sender(batch(rawRecord(m.body, m.messageId)), context());

async function openIncident(prefix: string): Promise<{ name: string; incidentId: string; code: string }> {
  const name = `${prefix}-${++serial}`;
  const snsId = `sns-${name}`;
  const arn = `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${name}`;
  expect((await sender(batch(snsRecord(JSON.stringify(alarm({ AlarmName: name, AlarmArn: arn })), snsId)), context())).batchItemFailures).toEqual([]);
  const incidentId = `incident#${snsId}`;
  const incident = await getItem(world.table, incidentId);
  expect(incident).toMatchObject({ state: 'open', stage: 0 });
  return { name, incidentId, code: String(incident!.code) };
}

function statusCallbackParams(messageSid: string, to: string, status: string, errorCode: string): Array<[string, string]> {
  return Object.entries({ SmsSid: messageSid, SmsStatus: status, MessageStatus: status, To: to, MessageSid: messageSid, AccountSid: ACCOUNT_SID, From: OUR_NUMBER, ApiVersion: '2010-04-01', ErrorCode: errorCode });
}

function replyParams(from: string, body: string): Array<[string, string]> {
  const messageSid = sid('SM', 0xc00000 + ++serial);
  return Object.entries({ SmsMessageSid: messageSid, NumMedia: '0', SmsSid: messageSid, SmsStatus: 'received', Body: body, To: OUR_NUMBER, NumSegments: '1', MessageSid: messageSid, AccountSid: ACCOUNT_SID, From: from, ApiVersion: '2010-04-01' });
}

const postStatus = (params: Array<[string, string]>) => statusCallback(twilioEvent('/status', STATUS_URL, params), lambdaContext('status-callback'));
const postReply = (params: Array<[string, string]>) => inbound(twilioEvent('/inbound', INBOUND_URL, params), lambdaContext('inbound'));

describe('a webhook\'s escalate timer (reason unreachable) reaches the sender', () => {
  test('stage 0\'s only page ends undelivered: the status callback\'s timer makes the sender page stage 1 at once', async () => {
    const { incidentId, code } = await openIncident('undelivered');
    const [page] = pagesTo(R1);
    world.sqs.sent.length = 0;
    expect((await postStatus(statusCallbackParams(page.sid, R1, 'undelivered', '30003'))).statusCode).toBe(200);
    const [timer] = alertQueueMessages();
    expect(JSON.parse(timer.body)).toMatchObject({ kind: 'timer', timer: 'escalate', incidentId, reason: 'unreachable' });

    expect((await deliverToSender(timer)).batchItemFailures).toEqual([]);
    expect(pagesTo(R2).map((p) => p.body)).toEqual([expect.stringMatching(new RegExp(` ACK ${code}$`))]);
    expect(await getItem(world.table, incidentId)).toMatchObject({ stage: 1, unreachable: new Set([R1]) });
  });

  test('the paged address opts out (STOP): inbound\'s timer makes the sender page stage 1 at once', async () => {
    const { incidentId } = await openIncident('stop');
    world.sqs.sent.length = 0;
    expect((await postReply(replyParams(R1, 'STOP'))).statusCode).toBe(200);
    const [timer] = alertQueueMessages();
    expect(JSON.parse(timer.body)).toMatchObject({ incidentId, reason: 'unreachable' });
    expect((await deliverToSender(timer)).batchItemFailures).toEqual([]);
    expect(pagesTo(R2)).toHaveLength(1);
    expect(await getItem(world.table, incidentId)).toMatchObject({ stage: 1, unreachable: new Set([R1]) });
    // Opted back in for the other tests.
    await postReply(replyParams(R1, 'START'));
  });
});

describe('an acknowledgement (inbound) stops the sender\'s escalation', () => {
  test('ACK <code> from stage 0: stage 1\'s timer at its time pages nobody, and the incident stays acknowledged', async () => {
    const { incidentId, code } = await openIncident('ack');
    const [stage1] = alertQueueMessages();
    expect(JSON.parse(stage1.body)).toMatchObject({ timer: 'escalate', stage: 1 });
    expect((await postReply(replyParams(R1, `ack ${code.toLowerCase()}`))).body).toContain(`(${code}): escalation stopped`);

    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => now + 600_000);
    try {
      expect((await deliverToSender(stage1)).batchItemFailures).toEqual([]);
    } finally {
      clock.mockRestore();
    }
    expect(pagesTo(R2)).toEqual([]);
    expect(await getItem(world.table, incidentId)).toMatchObject({ state: 'acknowledged', acknowledgedBy: R1, stage: 0 });
  });
});

describe('the timeline, written by the sender and a webhook at once', () => {
  const repeatAlarm = (name: string, snsId: string) =>
    sender(batch(snsRecord(JSON.stringify(alarm({ AlarmName: name, AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${name}` })), snsId)), context());

  /**
   * Holds the sender's next call on the incident item after its first
   * UpdateItem of it (whatever that call is); resolves `held` once it holds.
   */
  function holdAfterFirstUpdate(incidentId: string): { held: Promise<void>; release: () => void } {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    let signal!: () => void;
    const held = new Promise<void>((r) => (signal = r));
    let armed = false;
    let done = false;
    proxy.setRule((target, input) => {
      if (done || input.Key?.id?.S !== incidentId) return 'pass';
      if (!armed) {
        armed = target === 'UpdateItem';
        return 'pass';
      }
      done = true;
      signal();
      return { hold };
    });
    return { held, release };
  }

  test('a full timeline: an ACK written while two sender writes are half done keeps every event, and the count of dropped ones adds up', async () => {
    const { name, incidentId } = await openIncident('full');
    // opened, paged, then 28 repeats: a full timeline.
    for (let i = 0; i < 28; i++) await repeatAlarm(name, `sns-${name}-repeat-${i}`);
    expect(((await getItem(world.table, incidentId))!.timeline as unknown[]).length).toBe(30);

    // Sender A: a repeat ALARM, held between its writes of the incident.
    const a = holdAfterFirstUpdate(incidentId);
    const senderA = repeatAlarm(name, `sns-${name}-a`);
    await a.held;
    // The ACK lands meanwhile.
    expect((await postReply(replyParams(R1, 'ACK'))).body).toContain('escalation stopped');
    // Sender B: another repeat, held the same way.
    const b = holdAfterFirstUpdate(incidentId);
    const senderB = repeatAlarm(name, `sns-${name}-b`);
    await b.held;
    a.release();
    expect((await senderA).batchItemFailures).toEqual([]);
    b.release();
    expect((await senderB).batchItemFailures).toEqual([]);

    const item = (await getItem(world.table, incidentId)) as { timeline: Array<Record<string, unknown>>; timelineDropped: number; alarmRepeats: number; state: string };
    expect(item).toMatchObject({ state: 'acknowledged', alarmRepeats: 30 });
    expect(item.timeline).toHaveLength(30);
    expect(item.timeline.filter((e) => e.event === 'acknowledged')).toEqual([expect.objectContaining({ by: R1 })]);
    const details = item.timeline.map((e) => e.detail);
    expect(details).toEqual(expect.arrayContaining([`sns-${name}-a`, `sns-${name}-b`]));
    // opened, paged, 30 repeats and the ACK: 33 events, 30 kept.
    expect(item.timelineDropped).toBe(3);
  });

  test('a full timeline and the sender writing it all the while: the ACK still lands at once (it never waits for a quiet moment)', async () => {
    const { name, incidentId, code } = await openIncident('busy');
    for (let i = 0; i < 28; i++) await repeatAlarm(name, `sns-${name}-repeat-${i}`);
    // Before each write of the acknowledgement reaches DynamoDB, a sender invocation records another repeat.
    let repeats = 0;
    proxy.setRule((target, input) => {
      const acknowledging = target === 'UpdateItem' && input.Key?.id?.S === incidentId && JSON.stringify(input.ExpressionAttributeValues).includes('"acknowledged"');
      if (!acknowledging || repeats >= 6) return 'pass';
      return { hold: repeatAlarm(name, `sns-${name}-busy-${++repeats}`) };
    });
    const answer = await postReply(replyParams(R1, `ACK ${code}`));
    proxy.setRule(undefined);
    expect(answer.body).toContain(`(${code}): escalation stopped`);
    const item = (await getItem(world.table, incidentId)) as { timeline: Array<Record<string, unknown>>; timelineDropped: number; alarmRepeats: number; state: string };
    expect(item).toMatchObject({ state: 'acknowledged', acknowledgedBy: R1, alarmRepeats: 28 + repeats });
    expect(item.timeline).toHaveLength(30);
    expect(item.timeline.filter((e) => e.event === 'acknowledged')).toHaveLength(1);
    // opened, paged, the repeats and the ACK, 30 of them kept.
    expect(item.timelineDropped).toBe(2 + 28 + repeats + 1 - 30);
  });
});
