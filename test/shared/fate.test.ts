import { TABLE } from '../../lib/contract';
import { incidentKeyParentId, LIVE_INCIDENTS_PARENT } from '../../lambda/shared/incidents/items';
import { statusRank } from '../../lambda/shared/status';
import { childrenOf, firstChild, readFate } from '../../lambda/shared/table/fates';
import { alarm, batch, captureStdout, context, FROM, rawRecord, snsRecord, TABLE_NAME, useSenderRig } from '../support/sender-rig';

// One fate model, through the sender's real entry point: every (notification,
// recipient) outcome is an item filed under its parent in the byParent index,
// the sends that never got a SID included, and one Query returns them all.
const R1 = '+15551230001';
const R2 = '+15551230002';
const R3 = '+15551230003';
const R5 = '+15551230005';

const rig = useSenderRig({ from: FROM, defaultRecipients: [R1, R2], allowedRecipients: [R3, R5], claimLeaseSeconds: 60 }, { forgetIncidents: true });

const children = (parentId: string) => childrenOf(rig.db, TABLE_NAME, parentId);

test('a notification: the message Twilio accepted and each send that got no SID, in one byParent Query, oldest first', async () => {
  const stranger = '+447700900123';
  rig.twilio.setFaultInjector((r) => (r.kind === 'create' && r.params.some(([k, v]) => k === 'To' && v === R3) ? { error: { status: 400, code: 21211 } } : undefined));
  const { result, logs } = await captureStdout(() => rig.handler(batch(snsRecord(JSON.stringify({ body: 'disk 91% on db-1', to: [R5, R3, stranger, '555-1234'] }), 'sns-fate-1')), context()));
  expect(result.batchItemFailures).toEqual([]);

  const items = await children('notification#sns-fate-1');
  const fates = items.map(readFate);
  const sid = rig.twilio.createRequests().find((r) => r.outcome === 'created')!.sid!;
  expect(fates).toHaveLength(4);
  expect(fates).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ id: sid, kind: 'message', sid, status: 'queued', to: R5, parentId: 'notification#sns-fate-1', notificationId: 'sns-fate-1' }),
      expect.objectContaining({ id: `claim#sns-fate-1#${R3}`, kind: 'claim', status: 'failed', errorCode: '21211', to: R3, parentId: 'notification#sns-fate-1', reason: expect.any(String) }),
      expect.objectContaining({ id: `claim#sns-fate-1#${stranger}`, kind: 'claim', status: 'failed', errorCode: 'invalid-recipient', to: stranger, reason: 'recipient not in the allowed recipients' }),
      expect.objectContaining({ id: 'claim#sns-fate-1#invalid:555-1234', kind: 'claim', status: 'failed', errorCode: 'invalid-recipient', to: '555-1234' }),
    ]),
  );
  // Sorted by createdAt, and each carries the index's keys.
  const created = items.map((i) => i.createdAt.S!);
  expect(created).toEqual([...created].sort());
  for (const f of fates) expect(f!.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  // The claim that was sent is not a second item for R5: its message item is its fate.
  expect(await rig.item(`claim#sns-fate-1#${R5}`)).toMatchObject({ state: 'sent', messageSid: sid });
  expect((await rig.item(`claim#sns-fate-1#${R5}`))!.parentId).toBeUndefined();
  // Unmasked in the table, masked in the logs.
  expect(logs.join('\n')).not.toContain(R3);
  expect(logs.join('\n')).not.toContain(stranger);
});

test('a send left unknown after its lookups failed is a fate item ranked below queued', async () => {
  const createdAt = new Date(Date.now() - 120_000).toISOString();
  await rig.put({ id: `claim#sns-fate-unknown#${R5}`, kind: 'claim', notificationId: 'sns-fate-unknown', recipient: R5, state: 'pending', leaseUntil: Date.now() - 1_000, attempts: 1, createdAt, updatedAt: createdAt, expiresAt: Math.floor(Date.now() / 1000) + 86_400 });
  rig.twilio.setFaultInjector((r) => (r.kind === 'list' ? { error: { status: 500, code: 20500 } } : undefined));
  const record = snsRecord(JSON.stringify({ body: 'disk 91% on db-1', to: R5 }), 'sns-fate-unknown');
  for (let receive = 0; receive < 3; receive++) await rig.handler(batch(record), context());

  const [fate, ...more] = (await children('notification#sns-fate-unknown')).map(readFate);
  expect(more).toEqual([]);
  expect(fate).toMatchObject({ id: `claim#sns-fate-unknown#${R5}`, kind: 'claim', status: 'unknown', errorCode: 'outcome-unknown', to: R5, createdAt, reason: expect.stringMatching(/^Twilio lookup failed 3 times/) });
  expect(await rig.item(`claim#sns-fate-unknown#${R5}`)).toMatchObject({ state: 'unknown', statusRank: 0 });
  expect(statusRank('unknown')).toBeLessThan(statusRank('queued'));
});

test('an incident: its pages, its opted-out recipient and its RESOLVED text under its id; the live pointer while it is live', async () => {
  await rig.put({ id: `optout#${R2}`, kind: 'opt-out', optedOut: true, word: 'STOP', updatedAt: new Date().toISOString() });
  try {
    const fired = alarm({ AlarmName: 'fate-db-2' });
    expect((await rig.handler(batch(snsRecord(JSON.stringify(fired), 'sns-fate-open')), context())).batchItemFailures).toEqual([]);
    const incidentId = 'incident#sns-fate-open';
    const incident = (await rig.item(incidentId))!;

    let fates = (await children(incidentId)).map(readFate);
    expect(fates).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'message', to: R1, parentId: incidentId, incidentId, notificationId: 'sns-fate-open' }),
        expect.objectContaining({ kind: 'claim', status: 'failed', errorCode: 'opted-out', to: R2, parentId: incidentId }),
      ]),
    );
    expect(fates).toHaveLength(2);
    // Nothing of it is filed under its opening notification: its pages belong to the incident.
    expect(await children('notification#sns-fate-open')).toEqual([]);
    // The live incidents and the key's occurrences.
    const live = await children(LIVE_INCIDENTS_PARENT);
    expect(live.map((p) => p.incidentId?.S)).toContain(incidentId);
    expect((await firstChild(rig.db, TABLE_NAME, incidentKeyParentId(incident.incidentKey), { newestFirst: true }))?.id.S).toBe(incidentId);

    const ok = alarm({ AlarmName: 'fate-db-2', NewStateValue: 'OK', OldStateValue: 'ALARM' });
    expect((await rig.handler(batch(snsRecord(JSON.stringify(ok), 'sns-fate-ok')), context())).batchItemFailures).toEqual([]);
    fates = (await children(incidentId)).map(readFate);
    expect(fates.filter((f) => f?.notificationId === `${incidentId}#resolved`)).toEqual([expect.objectContaining({ kind: 'message', to: R1, parentId: incidentId })]);
    expect((await children(LIVE_INCIDENTS_PARENT)).map((p) => p.incidentId?.S)).not.toContain(incidentId);
    // What the OK itself did: its notice, under its own notification.
    expect(await children('notification#sns-fate-ok')).toEqual([expect.objectContaining({ id: { S: 'notice#sns-fate-ok' }, outcome: { S: 'resolve' }, incidentId: { S: incidentId } })]);
  } finally {
    await rig.put({ id: `optout#${R2}`, kind: 'opt-out', optedOut: false, word: 'START', updatedAt: new Date().toISOString() });
  }
});

test('a notification that can never be sent, and a timer that can never fire, are filed under their ids as failed, with their codes', async () => {
  await rig.handler(batch(snsRecord('   ', 'sns-fate-empty')), context());
  const items = await children('notification#sns-fate-empty');
  expect(items.map(readFate)).toEqual([expect.objectContaining({ id: 'failed#sns-fate-empty', kind: 'notification', status: 'failed', errorCode: 'invalid-notification', reason: expect.stringMatching(/empty/) })]);
  expect(items[0][TABLE.PARENT_ATTRIBUTE]).toEqual({ S: 'notification#sns-fate-empty' });

  await rig.handler(batch(rawRecord(JSON.stringify({ kind: 'timer', timer: 'escalate', incidentId: 'claim#x', dueAt: 0 }), 'sqs-fate-timer')), context());
  expect((await children('notification#sqs-fate-timer')).map(readFate)).toEqual([expect.objectContaining({ id: 'failed#sqs-fate-timer', status: 'failed', errorCode: 'invalid-timer' })]);
});

test('the byParent read pages through every item, in createdAt order either way; other kinds filed beside fates read as none', async () => {
  const parentId = 'notification#sns-fate-pages';
  const at = (s: number) => new Date(Date.UTC(2026, 11, 2, 6, 0, s)).toISOString();
  for (let i = 0; i < 5; i++) await rig.put({ id: `claim#sns-fate-pages#+1555123000${i}`, kind: 'claim', state: 'failed', status: 'failed', errorCode: 'invalid-recipient', reason: 'r', to: `+1555123000${i}`, parentId, createdAt: at(i) });
  await rig.put({ id: 'notice#sns-fate-pages', kind: 'notification', outcome: 'repeat-alarm', parentId, createdAt: at(9) });

  const oldestFirst = await childrenOf(rig.db, TABLE_NAME, parentId, { pageSize: 2 });
  expect(oldestFirst.map((i) => i.createdAt.S)).toEqual([0, 1, 2, 3, 4, 9].map(at));
  const newestFirst = await childrenOf(rig.db, TABLE_NAME, parentId, { pageSize: 2, newestFirst: true });
  expect(newestFirst.map((i) => i.id.S)).toEqual(oldestFirst.map((i) => i.id.S).reverse());
  expect((await firstChild(rig.db, TABLE_NAME, parentId, { newestFirst: true }))?.id.S).toBe('notice#sns-fate-pages');
  expect(oldestFirst.map(readFate).filter((f) => f !== undefined)).toHaveLength(5);
  expect(readFate(oldestFirst[5])).toBeUndefined();
});
