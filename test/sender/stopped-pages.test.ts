import type { SQSEvent } from 'aws-lambda';
import { childrenOf, readFates } from '../../lambda/shared/table/fates';
import { useHandlersRig } from '../support/handlers-rig';
import { getItem, TABLE_NAME } from '../support/webhook-rig';
import { batch, context, rawRecord, snsRecord } from '../support/sender-rig';

/*
 * A page whose delivery was interrupted (a 5xx and no time left to look it
 * up: the claim stays pending, the record comes again) and whose incident
 * stopped paging before the record came back: acknowledged by reply, or
 * resolved by its OK. The redelivery settles the claimed send and sends
 * nothing new: Twilio's log decides (a message it has is recorded sent, the
 * phone has the page; none, the claim is recorded failed `page-stopped`).
 * Before, the stopped incident ended the record with the claim pending
 * forever: a page whose fate nobody knew. Through the real sender and
 * inbound handlers on one table; the handlers' clock (Date.now) is moved by
 * the test past the claim's lease.
 */

const OUR_NUMBER = '+15557660000';
const LEASE_SECONDS = 60;
/** Stage 1 of every incident, 600 s after opening (stage 0 is each envelope's `to`). */
const NEXT_STAGE = '+15551460900';
const ADDRESSES = Array.from({ length: 10 }, (_, i) => `+1555146${String(i).padStart(4, '0')}`);
/** Too little time for a lookup after a 5xx: the sender gives the claim back pending and the record comes again. */
const SHORT_INVOCATION_MS = 4_000;

const { world, twilio, out, sender, advance, freshAddress, incidentItem, claimOf, reply: postReply } = useHandlersRig({
  senderConfig: {
    from: OUR_NUMBER,
    defaultRecipients: [ADDRESSES[0]],
    allowedRecipients: [...ADDRESSES, NEXT_STAGE],
    claimLeaseSeconds: LEASE_SECONDS,
    escalation: { stages: [{ recipients: [ADDRESSES[0]], afterSeconds: 0 }, { recipients: [NEXT_STAGE], afterSeconds: 600 }], repeats: 0, repeatAfterSeconds: 300 },
    storm: { windowSeconds: 0 },
  },
  handlers: ['sender', 'inbound'],
  addresses: ADDRESSES,
});
let serial = 0;

const pastTheLease = () => advance((LEASE_SECONDS + 5) * 1000);

/** How Twilio answers the interrupted POST: a 5xx that hid a created message, or one that created nothing. */
const INTERRUPTIONS = {
  'had reached Twilio': { errorAfterCreate: { status: 500, code: 20500 } },
  'had not reached Twilio': { error: { status: 500, code: 20500 } },
} as const;
type Interruption = keyof typeof INTERRUPTIONS;

/** The record's delivery meets the interruption: the sender puts the record back on the queue for a lookup later, its claim pending. */
async function interrupted(interruption: Interruption, record: SQSEvent['Records'][number]): Promise<void> {
  twilio.enqueue(INTERRUPTIONS[interruption]);
  world.sqs.sent.length = 0;
  expect((await sender(batch(record), context(SHORT_INVOCATION_MS))).batchItemFailures).toEqual([]);
  expect(world.sqs.sent.filter((m) => m.body === record.body)).toHaveLength(1);
  expect(out.logs().map((l) => l.message)).toContain('a 5xx may hide a created message and no time is left to look it up: deferred to a lookup');
}

/** An incident of its own address, its stage 0 paged; its escalate timer (stage 1) on the alert queue. */
async function openedAndPaged() {
  const to = freshAddress();
  const key = `sp-${++serial}`;
  const snsId = `sns-${key}`;
  const incidentId = `incident#${snsId}`;
  expect((await sender(batch(snsRecord(JSON.stringify({ incidentKey: key, title: key, body: `${key} is down`, to: [to] }), snsId)), context())).batchItemFailures).toEqual([]);
  const [timer] = world.sqs.sent.filter((m) => JSON.parse(m.body).incidentId === incidentId);
  return { to, key, snsId, incidentId, timer };
}

/** Stops the incident the way the test says: `ACK <code>` from the address it paged, or the envelope's resolve. */
async function stop(how: 'acknowledged' | 'resolved', incidentId: string, key: string, pagedAddress: string): Promise<void> {
  if (how === 'acknowledged') {
    const code = String((await incidentItem(incidentId)).code);
    expect((await postReply(pagedAddress, `ACK ${code}`)).body).toContain('escalation stopped');
  } else {
    expect((await sender(batch(snsRecord(JSON.stringify({ incidentKey: key, resolve: true, body: `${key} is fine` }), `sns-ok-${key}`)), context())).batchItemFailures).toEqual([]);
  }
  expect(await incidentItem(incidentId)).toMatchObject({ state: how });
}

/** The claim's outcome as Twilio's log decides it: sent with the message it has, or failed `page-stopped` with none. */
async function expectSettled(interruption: Interruption, notificationId: string, to: string, incidentId: string, pageText: string): Promise<void> {
  const claim = await claimOf(notificationId, to);
  const pages = [...twilio.messages.values()].filter((m) => m.to === to && m.body?.includes(pageText));
  if (interruption === 'had reached Twilio') {
    expect(pages).toHaveLength(1);
    expect(claim).toMatchObject({ state: 'sent', messageSid: pages[0].sid });
    expect(await getItem(world.table, pages[0].sid)).toMatchObject({ notificationId, to, incidentId });
  } else {
    expect(pages).toEqual([]);
    expect(claim).toMatchObject({ state: 'failed', status: 'failed', errorCode: 'page-stopped', parentId: incidentId, reason: expect.stringContaining('acknowledged or resolved before this page reached Twilio') });
    // Its fate is under its incident, where `status <code>` and byParent look.
    const fates = await readFates(world.table, TABLE_NAME, await childrenOf(world.table, TABLE_NAME, incidentId));
    expect(fates).toContainEqual(expect.objectContaining({ kind: 'claim', to, status: 'failed', errorCode: 'page-stopped' }));
  }
}

describe.each(Object.keys(INTERRUPTIONS) as Interruption[])('an interrupted page that %s, its incident stopped before the record came back', (interruption) => {
  test.each(['acknowledged', 'resolved'] as const)('stage 0, %s: the redelivered alarm settles the claim and sends nothing', async (how) => {
    const to = freshAddress();
    const key = `sp-${++serial}`;
    const snsId = `sns-${key}`;
    const incidentId = `incident#${snsId}`;
    const opening = snsRecord(JSON.stringify({ incidentKey: key, title: key, body: `${key} is down`, to: [to] }), snsId);
    await interrupted(interruption, opening);
    expect(await claimOf(snsId, to)).toMatchObject({ state: 'pending' });

    await stop(how, incidentId, key, to);
    pastTheLease();
    const postsBefore = twilio.createRequests().length;
    expect((await sender(batch(opening), context())).batchItemFailures).toEqual([]);

    await expectSettled(interruption, snsId, to, incidentId, `${key} is down`);
    // The redelivery only asked Twilio's log: no POST of the page (a RESOLVED to the address is the resolve's own text).
    expect(twilio.createRequests().slice(postsBefore).filter((r) => r.params.some(([k, v]) => k === 'Body' && v.includes(`${key} is down`)))).toEqual([]);
    expect(out.logs().filter((l) => l.message === 'interrupted page not sent: its incident stopped paging' || l.message === 'interrupted page had reached Twilio before its incident stopped paging: recorded')).toHaveLength(1);
  });

  test('stage 1, acknowledged by stage 0: the redelivered escalate timer settles its claim and sends nothing', async () => {
    const { to, key, incidentId, timer } = await openedAndPaged();
    expect(JSON.parse(timer.body)).toMatchObject({ kind: 'timer', timer: 'escalate', stage: 1 });
    advance(601_000);

    const fired = rawRecord(timer.body, timer.messageId);
    await interrupted(interruption, fired);
    const stageId = `${incidentId}#stage#1`;
    expect(await claimOf(stageId, NEXT_STAGE)).toMatchObject({ state: 'pending' });

    await stop('acknowledged', incidentId, key, to);
    pastTheLease();
    const postsBefore = twilio.createRequests().length;
    expect((await sender(batch(fired), context())).batchItemFailures).toEqual([]);

    await expectSettled(interruption, stageId, NEXT_STAGE, incidentId, `${key} is down`);
    expect(twilio.createRequests().slice(postsBefore)).toEqual([]);
    // The stage was not recorded paged: the acknowledgement stopped it.
    const incident = await incidentItem(incidentId);
    expect(incident).toMatchObject({ state: 'acknowledged', stage: 0 });
    expect(incident.timeline.filter((e) => e.event === 'escalated')).toEqual([]);
  });
});

test('a stopped incident whose pages were all sent and whose later steps never began: its timer sends nothing, asks Twilio nothing and logs no delivery', async () => {
  const { to, key, snsId, incidentId, timer } = await openedAndPaged();
  await stop('acknowledged', incidentId, key, to);
  advance(601_000);
  const requestsBefore = twilio.requests.length;
  const logsBefore = out.logs().length;
  expect((await sender(batch(rawRecord(timer.body, timer.messageId)), context())).batchItemFailures).toEqual([]);
  expect(twilio.requests.slice(requestsBefore)).toEqual([]);
  expect(await claimOf(`${incidentId}#stage#1`, NEXT_STAGE)).toBeUndefined();
  expect(await claimOf(snsId, to)).toMatchObject({ state: 'sent' });
  expect(out.logs().slice(logsBefore).filter((l) => l.message === 'notification processed')).toEqual([]);
});
