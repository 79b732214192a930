import { loadSettings } from '../../lambda/sender/config';
import { segmentCount } from '../../lambda/sender/encoding';
import { codeCandidates, COMMAND_WORDS, isValidCode } from '../../lambda/sender/incidents/codes';
import { commandOf, dueStep, nextTimer, pageNotification } from '../../lambda/sender/incidents/decide';
import type { EscalationPlan } from '../../lambda/sender/incidents/escalation';
import type { Incident } from '../../lambda/shared/incidents/items';
import { duration, resolvedText } from '../../lambda/sender/incidents/texts';
import { delaySecondsUntil, readTimer } from '../../lambda/shared/incidents/timers';
import { buildMessage } from '../../lambda/sender/message-params';
import { parseNotification } from '../../lambda/sender/parse-notification';
import { bodyLength } from '../../lambda/sender/validate';
import { alarm } from '../support/sender-rig';

/* The incident modules' pure parts: configuration, texts, codes, and what is due when. */

const R1 = '+15551290001';
const R2 = '+15551290002';

describe('SENDER_CONFIG.escalation', () => {
  const env = (escalation: unknown, extra: Record<string, string> = { ALERT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/alerts' }) => ({
    STATUS_TABLE_NAME: 't',
    SENDER_CONFIG: JSON.stringify({ from: '+15550000000', defaultRecipients: [R1], escalation }),
    ...extra,
  });

  test('absent: one stage of the default recipients, no repeats, no queue needed', () => {
    const s = loadSettings({ STATUS_TABLE_NAME: 't', SENDER_CONFIG: JSON.stringify({ from: '+15550000000', defaultRecipients: [R1] }) });
    expect(s.escalation).toEqual({ stages: [{ recipients: [R1], afterSeconds: 0 }], repeats: 0, repeatAfterSeconds: 300 });
  });

  test('escalation recipients are allowed recipients', () => {
    const s = loadSettings(env({ stages: [{ recipients: [R1], afterSeconds: 0 }, { recipients: [R2], afterSeconds: 60 }] }));
    expect(s.allowed.has(R2)).toBe(true);
    expect(s.escalation.stages.map((x) => x.afterSeconds)).toEqual([0, 60]);
  });

  test.each([
    ['not an object', 'x', /escalation must be an object/],
    ['no stages', { stages: [] }, /stages must be an array of 1 to 20/],
    ['a stage 0 that waits', { stages: [{ recipients: [R1], afterSeconds: 5 }] }, /stages\[0\]\.afterSeconds must be 0/],
    ['delays that do not increase', { stages: [{ recipients: [R1], afterSeconds: 0 }, { recipients: [R2], afterSeconds: 0 }] }, /stages\[1\]\.afterSeconds must be greater than stage 0's \(0\)/],
    ['a stage 1 without afterSeconds', { stages: [{ recipients: [R1] }, { recipients: [R2] }] }, /stages\[1\]\.afterSeconds must be an integer number of seconds/],
    ['a recipient that is no address', { stages: [{ recipients: ['5551290001'], afterSeconds: 0 }] }, /stages\[0\]\.recipients\[0\] is not an E\.164/],
    ['an empty stage', { stages: [{ recipients: [], afterSeconds: 0 }] }, /stages\[0\]\.recipients must be a non-empty array/],
    ['negative repeats', { stages: [{ recipients: [R1], afterSeconds: 0 }], repeats: -1 }, /repeats must be an integer from 0 to 100/],
    ['a zero repeat interval', { stages: [{ recipients: [R1], afterSeconds: 0 }], repeats: 1, repeatAfterSeconds: 0 }, /repeatAfterSeconds must be an integer number of seconds from 1/],
  ])('%s is refused, naming the field', (_name, escalation, reason) => {
    expect(() => loadSettings(env(escalation))).toThrow(reason);
  });

  test('later stages or repeats without ALERT_QUEUE_URL: refused, naming the variable', () => {
    expect(() => loadSettings(env({ stages: [{ recipients: [R1], afterSeconds: 0 }], repeats: 1 }, {}))).toThrow(/need timers: set ALERT_QUEUE_URL/);
    // One stage and no repeats needs no timer.
    expect(loadSettings(env({ stages: [{ recipients: [R2], afterSeconds: 0 }] }, {})).escalation.stages[0].recipients).toEqual([R2]);
  });
});

describe('texts', () => {
  const settings = loadSettings({ STATUS_TABLE_NAME: 't', SENDER_CONFIG: JSON.stringify({ from: '+15550000000', defaultRecipients: [R1] }) });
  const render = { allowUnicode: false, alarmTextSegments: 1 };
  const bodyOf = (page: ReturnType<typeof pageNotification>) => buildMessage(page, R1, settings).body!;

  test('an alarm page ends with the whole hint and stays one segment, whatever the alarm\'s reason holds', () => {
    for (const reason of ['short', 'x'.repeat(400), '{'.repeat(200)]) {
      const cmd = commandOf(parseNotification(JSON.stringify(alarm({ NewStateReason: reason })), render));
      const body = bodyOf(pageNotification((cmd as Extract<typeof cmd, { action: 'open' }>).page, 'AB3K'));
      expect(body.endsWith(' ACK AB3K')).toBe(true);
      // GSM-7 escape characters take two septets: the budget is septets, not characters.
      expect(segmentCount(body)).toBe(1);
    }
  });

  test('an envelope body keeps Twilio\'s 1,600 characters with the hint (emoji count once); media alone is sent with the hint as its text', () => {
    const envelope = (body?: string) => commandOf(parseNotification(JSON.stringify({ incidentKey: 'k', ...(body !== undefined ? { body } : { mediaUrls: ['https://example.com/g.png'] }) }), render));
    const page = (body?: string) => (envelope(body) as Extract<ReturnType<typeof commandOf>, { action: 'open' }>).page;
    expect(bodyOf(pageNotification(page('Disk 97%'), 'Q4'))).toBe('Disk 97% ACK Q4');
    const long = bodyOf(pageNotification(page('😀'.repeat(1600)), 'Q4'));
    expect(bodyLength(long)).toBeLessThanOrEqual(1600);
    expect(long.endsWith(' ACK Q4')).toBe(true);
    expect(bodyOf(pageNotification(page(), 'Q4'))).toBe('ACK Q4');
  });

  test('RESOLVED: name and duration to the nearest minute, hours past 60, folded to GSM-7', () => {
    expect(duration(20_000)).toBe('1 min');
    expect(duration(14 * 60_000 + 10_000)).toBe('14 min');
    expect(duration(125 * 60_000)).toBe('2 h 5 min');
    expect(resolvedText('db-1 “cpu”  high', '2026-11-27T15:00:00.000Z', '2026-11-27T15:14:00.000Z', false)).toBe('RESOLVED db-1 "cpu" high after 14 min');
  });
});

describe('codes', () => {
  test('short first, from the incident id alone, never a command word, never an ambiguous character', () => {
    const a = codeCandidates('incident#sns-1');
    expect(codeCandidates('incident#sns-1')).toEqual(a);
    expect(a[0]).toHaveLength(2);
    expect(a.length).toBeGreaterThanOrEqual(12);
    expect(new Set(a.slice(0, 4).map((c) => c.length))).toEqual(new Set([2]));
    const bad: string[] = [];
    for (let i = 0; i < 2_000; i++) for (const c of codeCandidates(`incident#n-${i}`)) if (!isValidCode(c) || /[01OIL]/.test(c) || COMMAND_WORDS.has(c)) bad.push(c);
    expect(bad).toEqual([]);
  });
});

describe('what is due', () => {
  const plan: EscalationPlan = { stages: [{ recipients: [R1], afterSeconds: 0 }, { recipients: [R2], afterSeconds: 600 }], repeats: 3, repeatAfterSeconds: 300 };
  const opened = Date.parse('2026-11-27T15:00:00.000Z');
  const incident = (over: Partial<Incident> = {}): Incident => ({
    id: 'incident#n',
    incidentKey: 'k',
    state: 'open',
    code: 'AB',
    title: 't',
    openedAt: new Date(opened).toISOString(),
    openedBy: 'n',
    stage: 0,
    paged: [R1],
    unreachable: [],
    alarmRepeats: 0,
    pageRepeats: 0,
    page: '{}',
    timelineLength: 0,
    ...over,
  });

  test('a stage at its time and not a millisecond before, unless its predecessor is all unreachable', () => {
    expect(dueStep(incident(), plan, opened + 599_999)).toBeUndefined();
    expect(dueStep(incident(), plan, opened + 600_000)).toEqual({ kind: 'stage', stage: 1, shortcut: false });
    expect(dueStep(incident({ unreachable: [R1] }), plan, opened + 1)).toEqual({ kind: 'stage', stage: 1, shortcut: true });
    expect(dueStep(incident({ state: 'acknowledged' }), plan, opened + 10_000_000)).toBeUndefined();
  });

  test('repeats after the last stage; repeats missed while a timer was late collapse into one', () => {
    expect(dueStep(incident({ stage: 1 }), plan, opened + 899_999)).toBeUndefined();
    expect(dueStep(incident({ stage: 1 }), plan, opened + 900_000)).toEqual({ kind: 'repeat', repeat: 1 });
    expect(dueStep(incident({ stage: 1 }), plan, opened + 1_500_000)).toEqual({ kind: 'repeat', repeat: 3 });
    expect(dueStep(incident({ stage: 1, pageRepeats: 3 }), plan, opened + 10_000_000)).toBeUndefined();
    expect(nextTimer(incident({ stage: 1, pageRepeats: 1 }), plan)).toEqual({ kind: 'timer', timer: 'repeat', incidentId: 'incident#n', repeat: 2, dueAt: opened + 1_200_000 });
    expect(nextTimer(incident({ stage: 1, pageRepeats: 3 }), plan)).toBeUndefined();
  });

  test('timer delays: whole seconds rounded up (never early), at most 900', () => {
    expect(delaySecondsUntil(10_001, 0)).toBe(11);
    expect(delaySecondsUntil(5_000_000, 0)).toBe(900);
    expect(delaySecondsUntil(0, 1_000)).toBe(0);
    expect(() => readTimer({ kind: 'timer', timer: 'escalate', incidentId: 'incident#x', dueAt: 'soon' })).toThrow(/"dueAt" must be epoch milliseconds/);
  });

  test('what a notification asks: ALARM opens, OK resolves, another state is a note; an envelope opens or resolves by incidentKey', () => {
    const parse = (json: unknown) => commandOf(parseNotification(JSON.stringify(json), { allowUnicode: false, alarmTextSegments: 1 }));
    const arn = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:HighCPU-db-1';
    expect(parse(alarm())).toMatchObject({ action: 'open', incidentKey: arn, title: 'HighCPU-db-1', page: { kind: 'alarm' } });
    expect(parse(alarm({ NewStateValue: 'OK' }))).toEqual({ action: 'resolve', incidentKey: arn });
    expect(parse(alarm({ NewStateValue: 'INSUFFICIENT_DATA' }))).toEqual({ action: 'note', incidentKey: arn, state: 'INSUFFICIENT_DATA' });
    // Without an ARN: region and name.
    expect(parse(alarm({ AlarmArn: null }))).toMatchObject({ incidentKey: 'alarm:US East (N. Virginia):HighCPU-db-1' });
    expect(parse({ incidentKey: 'app', title: 'Queue stuck' })).toMatchObject({ action: 'open', title: 'Queue stuck', page: { kind: 'envelope', body: 'Queue stuck' } });
    expect(parse({ incidentKey: 'app', resolve: true })).toEqual({ action: 'resolve', incidentKey: 'app' });
    expect(parse({ body: 'no incident', title: 'ignored without incidentKey' })).toBeUndefined();
    expect(() => parse({ incidentKey: 'x'.repeat(257), body: 'b' })).toThrow(/"incidentKey" must be a string of 1 to 256 characters/);
    expect(() => parse({ incidentKey: 'k', title: 't'.repeat(101) })).toThrow(/"title" must be a string of 1 to 100 characters/);
  });
});
