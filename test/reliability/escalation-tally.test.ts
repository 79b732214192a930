import type { FakeMessage } from '../support/fake-twilio';
import { ESC, EscalationRun, escalationTally, repeatDueMs, stepIds } from './escalations';

// The account the reliability suite gives of its escalations, on hand-made tables: each rule finds what it is for.

const T0 = Date.parse('2026-11-27T15:00:00.000Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const STAGES = [[ESC.first], [...ESC.second], [ESC.third]];
const EVERYONE = STAGES.flat();

function run(kind: EscalationRun['kind'], extra: Partial<EscalationRun> = {}): EscalationRun {
  return { kind, name: 'rel-esc-Rescx1z', notificationId: 'n-1', incidentId: 'incident#n-1', ...extra };
}

let sid = 0;
/** The table and Twilio's messages of an incident that paged `stages` (0-based) and `repeats`, then resolved. */
function world(r: EscalationRun, opts: { stages: number[]; repeats?: number; incident?: Record<string, unknown>; extraMessages?: string[]; dropClaim?: string }) {
  const ids = stepIds(r);
  const items: Array<Record<string, unknown>> = [];
  const messages: FakeMessage[] = [];
  const paged = opts.stages.flatMap((k) => STAGES[k]);
  const text = (to: string, body: string) => messages.push({ sid: `SM${sid++}`, to, params: [['Body', body]] } as unknown as FakeMessage);
  const claim = (id: string, to: string, body: string) => {
    if (`${id}|${to}` === opts.dropClaim) return;
    items.push({ id: `claim#${id}#${to}`, kind: 'claim', notificationId: id, recipient: to, state: 'sent', createdAt: iso(0) });
    text(to, body);
  };
  for (const k of opts.stages) for (const to of STAGES[k]) claim(ids.stages[k], to, `ALARM ${r.name} ACK 7K`);
  for (let n = 0; n < (opts.repeats ?? 0); n++) for (const to of paged) claim(ids.repeats[n], to, `ALARM ${r.name} ACK 7K`);
  for (const to of paged) claim(ids.resolved, to, `RESOLVED ${r.name} after 1 min`);
  for (const to of opts.extraMessages ?? []) text(to, `ALARM ${r.name} ACK 7K`);
  items.push({ id: r.incidentId, kind: 'incident', code: '7K', state: 'resolved', openedAt: iso(0), resolvedAt: iso(repeatDueMs(1) + 2000), stage: Math.max(...opts.stages), paged: new Set(paged), ...opts.incident });
  return { items, messages };
}

const confirmation = (r: EscalationRun) => ({ status: 200, body: `<?xml version="1.0" encoding="UTF-8"?><Response><Message>ACK ${r.name} (7K): escalation stopped</Message></Response>` });

test('an unanswered incident paged at every stage and repeated, then resolved to everyone: nothing to report', () => {
  const r = run('unanswered');
  const { items, messages } = world(r, { stages: [0, 1, 2], repeats: 1 });
  const t = escalationTally([r], items, messages);
  expect(t.problems).toEqual([]);
  expect(t).toMatchObject({ incidents: 1, pages: 4 + 4, escalations: 2, repeats: 1, resolvedTexts: 4, duplicates: 0, skipped: 0, timersLost: 0, pagedAfterAck: 0, wrongAcks: 0, unresolved: 0, lost: 0 });
});

test('a second Twilio message for one page is a duplicate; a text recorded sent without its Twilio message is lost', () => {
  const r = run('unanswered');
  const twice = world(r, { stages: [0, 1, 2], repeats: 1, extraMessages: [ESC.third] });
  expect(escalationTally([r], twice.items, twice.messages)).toMatchObject({ duplicates: 1 });
  const ghost = world(r, { stages: [0, 1, 2], repeats: 1 });
  const messages = ghost.messages.filter((m) => !(m.to === ESC.first && (m.params[0][1] as string).startsWith('RESOLVED')));
  expect(escalationTally([r], ghost.items, messages)).toMatchObject({ lost: 1, duplicates: 0 });
});

test('a stage left out below a paged one, a stage paged to part of its addresses, a repeat before the last stage: skipped', () => {
  const r = run('unanswered');
  const gap = world(r, { stages: [0, 2] });
  expect(escalationTally([r], gap.items, gap.messages).problems).toContain('rel-esc-Rescx1z (unanswered): stage 2 skipped below stage 3');
  const partial = world(r, { stages: [0, 1, 2], repeats: 1, dropClaim: `${stepIds(r).stages[1]}|${ESC.second[1]}` });
  expect(escalationTally([r], partial.items, partial.messages).skipped).toBeGreaterThanOrEqual(1);
  const early = world(r, { stages: [0, 1], repeats: 1, incident: { stage: 1 } });
  expect(escalationTally([r], early.items, early.messages).problems).toContain('rel-esc-Rescx1z (unanswered): a repeat before the last stage');
  const misrecorded = world(r, { stages: [0, 1, 2], repeats: 1, incident: { stage: 1 } });
  expect(escalationTally([r], misrecorded.items, misrecorded.messages).skipped).toBe(1);
});

test('a run that waited in vain, a timer left in the DLQ: timers lost; how late the latest step came is measured', () => {
  const r = run('unanswered');
  const late = world(r, { stages: [0, 1, 2], repeats: 1 });
  // Stage 3 is due 4 s after the opening; its claims were taken 7.5 s after that.
  for (const c of late.items.filter((i) => i.notificationId === stepIds(r).stages[2])) c.createdAt = iso(4000 + 7500);
  expect(escalationTally([r], late.items, late.messages)).toMatchObject({ timersLost: 0, latestStepMs: 7500 });
  const waited = run('unanswered', { waitedOut: 'waited 45000 ms for the repeat' });
  const fine = world(waited, { stages: [0, 1, 2], repeats: 1 });
  expect(escalationTally([waited], fine.items, fine.messages).timersLost).toBe(1);
  expect(escalationTally([waited], fine.items, fine.messages, ['{"kind":"timer","timer":"repeat"}']).timersLost).toBe(2);
});

test('after an ACK at stage 1, stage 2 (due later) must not be paged; the ACK must be answered with its confirmation', () => {
  const r = run('ack at stage 1', { ackFrom: ESC.first });
  r.answer = confirmation(r);
  const acked = { acknowledgedAt: iso(300), acknowledgedBy: ESC.first };
  const good = world(r, { stages: [0], incident: acked });
  expect(escalationTally([r], good.items, good.messages).problems).toEqual([]);
  const leaked = world(r, { stages: [0, 1], incident: { ...acked, stage: 1 } });
  expect(escalationTally([r], leaked.items, leaked.messages)).toMatchObject({ pagedAfterAck: 1 });
  // A stage that came late and was due before the ACK was rightly paged.
  const late = world(r, { stages: [0, 1], incident: { ...acked, acknowledgedAt: iso(2500), stage: 1 } });
  expect(escalationTally([r], late.items, late.messages).pagedAfterAck).toBe(0);
  const wrong = { ...r, answer: { status: 200, body: '<?xml version="1.0" encoding="UTF-8"?><Response><Message>no open incident 7K</Message></Response>' } };
  expect(escalationTally([wrong], good.items, good.messages).wrongAcks).toBe(1);
  expect(escalationTally([r], world(r, { stages: [0], incident: { ...acked, acknowledgedBy: ESC.third } }).items, good.messages).wrongAcks).toBe(1);
});

test('an ACK that lands while a stage is being paged may stop the rest of it and its record (counted, allowed); without an ACK that is a skipped stage', () => {
  const r = run('ack at stage 2', { ackFrom: ESC.second[0] });
  r.answer = confirmation(r);
  const acked = { acknowledgedAt: iso(2300), acknowledgedBy: ESC.second[0] };
  const part = world(r, { stages: [0, 1], incident: { ...acked, stage: 0 }, dropClaim: `${stepIds(r).stages[1]}|${ESC.second[1]}` });
  expect(escalationTally([r], part.items, part.messages)).toMatchObject({ cutShort: 2, skipped: 0, problems: [] });
  const unanswered = run('unanswered');
  const stopped = world(unanswered, { stages: [0, 1], incident: { stage: 0, resolvedAt: iso(2500) }, dropClaim: `${stepIds(unanswered).stages[1]}|${ESC.second[1]}` });
  expect(escalationTally([unanswered], stopped.items, stopped.messages)).toMatchObject({ cutShort: 0, skipped: 2 });
  // A stage recorded that was never paged is never allowed.
  const claimed = world(r, { stages: [0], incident: { ...acked, stage: 1 } });
  expect(escalationTally([r], claimed.items, claimed.messages).skipped).toBe(1);
});

test('an incident left open, or an address it paged without RESOLVED: unresolved', () => {
  const r = run('unanswered');
  const open = world(r, { stages: [0, 1, 2], repeats: 1, incident: { state: 'open' } });
  expect(escalationTally([r], open.items, open.messages).unresolved).toBe(1);
  const partial = world(r, { stages: [0, 1, 2], repeats: 1, dropClaim: `${stepIds(r).resolved}|${EVERYONE[3]}` });
  expect(escalationTally([r], partial.items, partial.messages).unresolved).toBe(1);
  expect(escalationTally([r], [], []).unresolved).toBe(1);
});
