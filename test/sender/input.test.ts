import { METRIC } from '../../lib/contract';
import { segmentCount } from '../../lambda/sender/encoding';
import { parseNotification } from '../../lambda/sender/parse-notification';
import {
  InvalidNotificationError,
  MAX_CONTENT_VARIABLE_CHARS,
  MAX_CONTENT_VARIABLES,
  MAX_ENVELOPE_BYTES,
  MAX_RECIPIENTS,
  MAX_REFUSED_RECIPIENTS,
} from '../../lambda/sender/validate';
import type { RecordedRequest } from '../support/fake-twilio';
import { alarm, batch, captureStdout, context, FROM, metricSum, snsRecord, useSenderRig, WHATSAPP_FROM } from '../support/sender-rig';
import { createPrng } from '../support/prng';

/*
 * The sender's input side under hostile or broken input: alarm JSON with
 * wrong-typed fields, envelopes over the caps, the allow-list for WhatsApp
 * addresses, and Twilio's 1,600-character limit at its edge.
 */

const R1 = '+15551230001';
const R2 = '+15551230002';
const R3 = '+15551230003';
const WA4 = 'whatsapp:+15551230004';
const R5 = '+15551230005';
const CONTENT_SID = 'HX' + 'c'.repeat(32);

// Each test's alarm is a new occurrence: the previous test's incident for the same alarm must not make it a repeat.
const rig = useSenderRig({ from: FROM, whatsappFrom: WHATSAPP_FROM, defaultRecipients: [R1, R2], allowedRecipients: [R3, WA4, R5], claimLeaseSeconds: 60 }, { forgetIncidents: true });

const param = (r: RecordedRequest, name: string) => r.params.filter(([k]) => k === name).map(([, v]) => v);
const created = () => rig.twilio.createRequests().filter((r) => r.outcome === 'created');
const createdTo = (to: string) => created().filter((r) => param(r, 'To')[0] === to);
const bodiesTo = (to: string) => createdTo(to).map((r) => param(r, 'Body')[0]);
let seq = 0;
const snsId = (prefix: string) => `${prefix}-${++seq}`;

/**
 * Runs one notification through the handler and checks that it was refused
 * whole: one failed item, once, nothing sent, nothing retried. Returns the
 * reason and the DynamoDB calls of the first delivery.
 */
async function expectRefusedOnce(message: string, reason: RegExp): Promise<{ reason: string; calls: Record<string, number> }> {
  const id = snsId('refused');
  const record = snsRecord(message, id);
  rig.ddb.resetCalls();
  const first = await captureStdout(() => rig.handler(batch(record), context()));
  const calls = Object.fromEntries(rig.ddb.calls);
  expect(first.result.batchItemFailures).toEqual([]);
  expect(rig.twilio.requests).toHaveLength(0);
  const item = await rig.item(`failed#${id}`);
  expect(item).toMatchObject({ kind: 'notification', reason: expect.stringMatching(reason) });
  expect(metricSum(first.metrics, METRIC.MESSAGES_FAILED)).toBe(1);
  const again = await captureStdout(() => rig.handler(batch(record), context()));
  expect(again.result.batchItemFailures).toEqual([]);
  expect(metricSum(again.metrics, METRIC.MESSAGES_FAILED)).toBe(0);
  expect(rig.twilio.requests).toHaveLength(0);
  return { reason: item!.reason as string, calls };
}

describe('alarm JSON with a wrong type where a string belongs: paged with what can be read', () => {
  // The reason is no CloudWatch sentence here: the rule comes from Trigger, the reason's words follow as they are.
  const RULE = 'CPUUtilization avg (> 90), 1/1 datapoints';
  const WHERE = 'db-1 us-east-1 123456789012 27 Nov 15:41 UTC';
  const DESCRIPTION = 'CPU above 90% on db-1';
  test.each([
    ['NewStateReason a number', { NewStateReason: 95.2 }, ['ALARM HighCPU-db-1', RULE, '95.2', WHERE, DESCRIPTION]],
    ['NewStateReason an object', { NewStateReason: { text: 'x' } }, ['ALARM HighCPU-db-1', RULE, WHERE, DESCRIPTION]],
    ['AlarmArn a number (the region comes from Region)', { AlarmArn: 7, Region: 'eu-west-1', NewStateReason: 'r' }, ['ALARM HighCPU-db-1', RULE, 'r', 'db-1 eu-west-1 123456789012 27 Nov 15:41 UTC', DESCRIPTION]],
    ['AlarmArn an array', { AlarmArn: ['arn'], Region: 'eu-west-1', NewStateReason: 'r' }, ['ALARM HighCPU-db-1', RULE, 'r', 'db-1 eu-west-1 123456789012 27 Nov 15:41 UTC', DESCRIPTION]],
    ['AlarmName an object (the name comes from the ARN)', { AlarmName: { n: 1 }, NewStateReason: 'r' }, ['ALARM HighCPU-db-1', RULE, 'r', WHERE, DESCRIPTION]],
    ['AlarmName a number', { AlarmName: 404, AlarmArn: null, Region: null, NewStateReason: null }, ['ALARM 404', RULE, 'db-1 123456789012 27 Nov 15:41 UTC', DESCRIPTION]],
    ['NewStateValue null', { NewStateValue: null, NewStateReason: 'r' }, ['STATE? HighCPU-db-1', RULE, 'r', WHERE, DESCRIPTION]],
    ['StateChangeTime a number', { StateChangeTime: 1764258102, NewStateReason: 'r' }, ['ALARM HighCPU-db-1', RULE, 'r', 'db-1 us-east-1 123456789012 1764258102', DESCRIPTION]],
    ['AWSAccountId a number', { AWSAccountId: 123456789012, NewStateReason: 'r' }, ['ALARM HighCPU-db-1', RULE, 'r', WHERE, DESCRIPTION]],
    ['Region an object, no ARN', { AlarmArn: undefined, Region: { name: 'x' }, NewStateReason: 'r' }, ['ALARM HighCPU-db-1', RULE, 'r', 'db-1 123456789012 27 Nov 15:41 UTC', DESCRIPTION]],
    ['Trigger null and AlarmRule a number (composite)', { Trigger: null, AlarmRule: 5, NewStateReason: 'child fired' }, ['ALARM HighCPU-db-1', 'child fired', 'us-east-1 123456789012 27 Nov 15:41 UTC', DESCRIPTION, 'rule: 5']],
  ])('%s: sent to every default recipient, nothing retried', async (_name, overrides, lines) => {
    const { result, logs } = await captureStdout(() => rig.handler(batch(snsRecord(JSON.stringify(alarm(overrides)))), context()));
    expect(result.batchItemFailures).toEqual([]);
    expect(logs.filter((l) => l.level === 'ERROR')).toEqual([]);
    for (const to of [R1, R2]) {
      const [body] = bodiesTo(to);
      // An ALARM opens an incident: its page ends with the code to acknowledge it by. Another state is sent as it is.
      const hint = / ACK [A-Z0-9]{1,6}$/;
      if (lines[0].startsWith('ALARM ')) expect(body).toMatch(hint);
      else expect(body).not.toMatch(hint);
      expect(body.replace(hint, '').split('\n')).toEqual(lines);
      expect(segmentCount(body)).toBe(1);
    }
  });

  test('an alarm that nothing names (AlarmName and AlarmArn unreadable) is recorded once as never sendable, not retried', async () => {
    await expectRefusedOnce(JSON.stringify(alarm({ AlarmName: { a: 1 }, AlarmArn: null })), /"AlarmName" and "AlarmArn" hold no readable text/);
  });
});

/** Values a publisher could put where a string belongs: other JSON types, and strings built to hurt (long, control characters, emoji, lone surrogates). */
const WRONG: readonly unknown[] = [
  0,
  -1.5,
  1e308,
  123456789012,
  true,
  false,
  null,
  {},
  { AlarmName: 'nested', toString: 'x' },
  [],
  ['a', 1, null],
  [[[[]]]],
  '',
  '   ',
  '\n\t\r',
  'x'.repeat(10_000),
  '🚨'.repeat(500),
  'line1\nline2\u2028\u0000\u001b[31m',
  '\ud800 lone surrogate',
  'arn:aws:cloudwatch:us-east-1:123456789012:alarm:',
  '2026-13-45T99:99:99.000+9999',
];

/** Every field of a CloudWatch alarm notification, Trigger's included, as a path. */
function fieldPaths(obj: Record<string, unknown>, prefix: string[] = []): string[][] {
  return Object.entries(obj).flatMap(([k, v]) => {
    const path = [...prefix, k];
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? [path, ...fieldPaths(v as Record<string, unknown>, path)] : [path];
  });
}

function withValue(base: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(base);
  let at: Record<string, unknown> = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
  at[path[path.length - 1]] = value;
  return copy;
}

/** An alarm with a few random fields replaced by random wrong values (up to six at once). */
function randomAlarm(next: () => number): Record<string, unknown> {
  const paths = fieldPaths(alarm());
  let out = alarm();
  const n = 1 + Math.floor(next() * 6);
  for (let i = 0; i < n; i++) {
    const path = paths[Math.floor(next() * paths.length)];
    try {
      out = withValue(out, path, WRONG[Math.floor(next() * WRONG.length)]);
    } catch {
      // A parent replaced earlier by a non-object: the field is gone already.
    }
  }
  return out;
}

/** What an alarm may come to: a text in one segment (GSM-7 or UCS-2) or a refusal that is recorded, never an exception of another kind. */
function expectSendableOrRefused(json: Record<string, unknown>, allowUnicode: boolean): 'sent' | 'refused' {
  let text: string;
  try {
    const n = parseNotification(JSON.stringify(json), { allowUnicode, alarmTextSegments: 1 });
    expect(n.kind).toBe('alarm');
    text = (n as { text: string }).text;
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidNotificationError);
    return 'refused';
  }
  expect(text.trim()).not.toBe('');
  expect(segmentCount(text)).toBe(1);
  return 'sent';
}

describe('alarm fuzz (seeded): every field replaced by each wrong type renders within one segment or is refused, never throws', () => {
  const paths = fieldPaths(alarm());

  test('each field × each wrong value, GSM-7 and Unicode', () => {
    const outcomes = { sent: 0, refused: 0 };
    for (const path of paths) {
      for (const value of WRONG) {
        for (const allowUnicode of [false, true]) outcomes[expectSendableOrRefused(withValue(alarm(), path, value), allowUnicode)]++;
      }
    }
    expect(outcomes.sent + outcomes.refused).toBe(paths.length * WRONG.length * 2);
    // Replacing one field never leaves an alarm unnamed: the ARN names it when AlarmName cannot, and the reverse.
    expect(outcomes.refused).toBe(0);
  });

  test('2,000 alarms with up to six fields replaced at once', () => {
    const next = createPrng(9).next;
    const outcomes = { sent: 0, refused: 0 };
    for (let i = 0; i < 2_000; i++) outcomes[expectSendableOrRefused(randomAlarm(next), next() < 0.5)]++;
    expect(outcomes.sent).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });

  test('through the handler: a batch of fuzzed alarms retries nothing; each is paged, recorded as refused, or noted on the live incident of its alarm', async () => {
    const next = createPrng(17).next;
    const alarms = Array.from({ length: 25 }, () => randomAlarm(next));
    const records = alarms.map((a) => snsRecord(JSON.stringify(a), snsId('fuzz')));
    const out = await rig.handler(batch(...records), context());
    expect(out.batchItemFailures).toEqual([]);
    const refused = alarms.map((a) => expectSendableOrRefused(a, false) === 'refused');
    let noted = 0;
    for (const [i, record] of records.entries()) {
      const id = JSON.parse(record.body).MessageId as string;
      const failed = await rig.item(`failed#${id}`);
      if (refused[i]) expect(failed).toMatchObject({ kind: 'notification' });
      else {
        expect(failed).toBeUndefined();
        // Most fuzzed alarms keep the same ARN: after the first ALARM opened its incident, the others page nobody and say so.
        const notice = await rig.item(`notice#${id}`);
        if (notice) {
          noted++;
          expect(notice).toMatchObject({ outcome: expect.stringMatching(/^(repeat-alarm|state-change)$/), incidentId: expect.stringMatching(/^incident#fuzz-/) });
          expect(await rig.item(notice.incidentId)).toMatchObject({ kind: 'incident', state: 'open' });
          for (const to of [R1, R2]) expect(await rig.item(`claim#${id}#${to}`)).toBeUndefined();
        } else for (const to of [R1, R2]) expect(await rig.item(`claim#${id}#${to}`)).toMatchObject({ state: 'sent' });
      }
    }
    expect(noted).toBeGreaterThan(0);
    expect(created()).toHaveLength(2 * (refused.filter((r) => !r).length - noted));
    for (const r of created()) expect(segmentCount(param(r, 'Body')[0])).toBe(1);
  });
});

describe('envelope fuzz (seeded): every field replaced by each wrong type is accepted or refused with a reason, never throws', () => {
  const envelope = () => ({ body: 'Disk 91% on db-1', to: [R5, WA4], mediaUrls: ['https://example.com/graph.png'], contentSid: CONTENT_SID, contentVariables: { 1: 'db-1' } });
  const allowed = new Set([R1, R2, R3, WA4, R5]);

  function expectAcceptedOrRefused(json: Record<string, unknown>): 'accepted' | 'refused' {
    try {
      const n = parseNotification(JSON.stringify(json), { allowUnicode: false, alarmTextSegments: 1 }, allowed);
      expect(['envelope', 'alarm', 'event', 'json', 'text']).toContain(n.kind);
      return 'accepted';
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidNotificationError);
      expect((err as Error).message).not.toBe('');
      return 'refused';
    }
  }

  test('each field × each wrong value, then 2,000 envelopes with several fields replaced', () => {
    const outcomes = { accepted: 0, refused: 0 };
    for (const path of fieldPaths(envelope())) for (const value of WRONG) outcomes[expectAcceptedOrRefused(withValue(envelope(), path, value))]++;
    const next = createPrng(23).next;
    const paths = fieldPaths(envelope());
    for (let i = 0; i < 2_000; i++) {
      let e: Record<string, unknown> = envelope();
      for (let k = 1 + Math.floor(next() * 4); k > 0; k--) {
        try {
          e = withValue(e, paths[Math.floor(next() * paths.length)], WRONG[Math.floor(next() * WRONG.length)]);
        } catch {
          // A parent replaced earlier by a non-object.
        }
      }
      outcomes[expectAcceptedOrRefused(e)]++;
    }
    expect(outcomes.accepted).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });
});

describe('envelope caps: refused once, cheaply, before any per-recipient write', () => {
  const strangers = (n: number) => Array.from({ length: n }, (_, i) => `+4477009${String(i).padStart(5, '0')}`);

  test(`2,000 disallowed numbers: one failed item (one DynamoDB write), naming the limit of ${MAX_RECIPIENTS}`, async () => {
    const { reason, calls } = await expectRefusedOnce(JSON.stringify({ body: 'hi', to: strangers(2_000) }), new RegExp(`"to" lists 2000 addresses; at most ${MAX_RECIPIENTS}`));
    expect(calls).toEqual({ PutItem: 1 });
    expect(reason).not.toMatch(/\+44/);
  });

  test(`more than ${MAX_REFUSED_RECIPIENTS} recipients outside the allowed list: refused whole with one write, even the allowed one is not texted`, async () => {
    const n = MAX_REFUSED_RECIPIENTS + 1;
    const { calls } = await expectRefusedOnce(JSON.stringify({ body: 'hi', to: [R5, ...strangers(n)] }), new RegExp(`"to" names ${n} recipients outside the allowed recipients; at most ${MAX_REFUSED_RECIPIENTS}`));
    expect(calls).toEqual({ PutItem: 1 });
  });

  test(`exactly ${MAX_REFUSED_RECIPIENTS} outside the allowed list: each recorded as a failed claim, the allowed recipient is sent`, async () => {
    const id = snsId('ten-strangers');
    const list = strangers(MAX_REFUSED_RECIPIENTS);
    const out = await rig.handler(batch(snsRecord(JSON.stringify({ body: 'hi', to: [R5, ...list] }), id)), context());
    expect(out.batchItemFailures).toEqual([]);
    expect(created().map((r) => param(r, 'To')[0])).toEqual([R5]);
    for (const s of list) expect(await rig.item(`claim#${id}#${s}`)).toMatchObject({ state: 'failed', reason: 'recipient not in the allowed recipients' });
    expect(await rig.item(`failed#${id}`)).toBeUndefined();
  });

  test(`contentVariables with more than ${MAX_CONTENT_VARIABLES} keys: refused`, async () => {
    const vars = Object.fromEntries(Array.from({ length: MAX_CONTENT_VARIABLES + 1 }, (_, i) => [String(i + 1), 'v']));
    await expectRefusedOnce(JSON.stringify({ contentSid: CONTENT_SID, contentVariables: vars, to: R5 }), new RegExp(`"contentVariables" has ${MAX_CONTENT_VARIABLES + 1} keys; at most ${MAX_CONTENT_VARIABLES}`));
  });

  test(`a contentVariables value over ${MAX_CONTENT_VARIABLE_CHARS} characters: refused, the value not quoted`, async () => {
    const { reason } = await expectRefusedOnce(
      JSON.stringify({ contentSid: CONTENT_SID, contentVariables: { '+15551230005': 'z'.repeat(MAX_CONTENT_VARIABLE_CHARS + 1) }, to: R5 }),
      new RegExp(`a "contentVariables" value is ${MAX_CONTENT_VARIABLE_CHARS + 1} characters; at most ${MAX_CONTENT_VARIABLE_CHARS}`),
    );
    expect(reason).not.toContain('zzz');
    expect(reason).not.toContain(R5);
  });

  test(`${MAX_CONTENT_VARIABLES} keys, one of ${MAX_CONTENT_VARIABLE_CHARS} characters (emoji count once): sent as they are`, async () => {
    const vars = Object.fromEntries(Array.from({ length: MAX_CONTENT_VARIABLES }, (_, i) => [String(i + 1), i === 0 ? '🚨'.repeat(MAX_CONTENT_VARIABLE_CHARS) : `v${i}`]));
    const out = await rig.handler(batch(snsRecord(JSON.stringify({ contentSid: CONTENT_SID, contentVariables: vars, to: R5 }))), context());
    expect(out.batchItemFailures).toEqual([]);
    const [req] = createdTo(R5);
    expect(JSON.parse(param(req, 'ContentVariables')[0])).toEqual(vars);
  });

  test(`an envelope over ${MAX_ENVELOPE_BYTES} bytes: refused with its size`, async () => {
    const message = JSON.stringify({ body: 'hi', to: R5, padding: 'x'.repeat(MAX_ENVELOPE_BYTES) });
    await expectRefusedOnce(message, new RegExp(`the envelope is ${Buffer.byteLength(message)} bytes; at most ${MAX_ENVELOPE_BYTES}`));
  });

  test('WhatsApp template variables with a newline, a tab or four spaces go flattened to WhatsApp, as they are to SMS', async () => {
    const vars = { 1: 'db-1\nCPU 95%', 2: 'a\tb', 3: 'wide    gap' };
    const out = await rig.handler(batch(snsRecord(JSON.stringify({ contentSid: CONTENT_SID, contentVariables: vars, to: [WA4, R5] }))), context());
    expect(out.batchItemFailures).toEqual([]);
    expect(JSON.parse(param(createdTo(WA4)[0], 'ContentVariables')[0])).toEqual({ 1: 'db-1 - CPU 95%', 2: 'a - b', 3: 'wide   gap' });
    expect(JSON.parse(param(createdTo(R5)[0], 'ContentVariables')[0])).toEqual(vars);
  });
});

describe('the allow-list holds for WhatsApp addresses', () => {
  test.each([
    ['a WhatsApp address nobody allowed', 'whatsapp:+15559990000'],
    ['the WhatsApp address of an allowed SMS number', `whatsapp:${R3}`],
    ['the WhatsApp address of a default recipient', `whatsapp:${R1}`],
  ])('%s: recorded as failed, not texted; the allowed ones in the same envelope are sent', async (_name, address) => {
    const id = snsId('wa-allow');
    const out = await rig.handler(batch(snsRecord(JSON.stringify({ body: 'hi', to: [address, WA4] }), id)), context());
    expect(out.batchItemFailures).toEqual([]);
    expect(created().map((r) => param(r, 'To')[0])).toEqual([WA4]);
    expect(await rig.item(`claim#${id}#${address}`)).toMatchObject({ state: 'failed', reason: 'recipient not in the allowed recipients' });
  });
});

describe("Twilio's 1,600-character limit, counted in characters (code points), not UTF-16 units", () => {
  const emoji = '🚨'; // one character, two UTF-16 units
  const bodies: Array<[string, string]> = [
    ['1,600 ASCII characters', 'x'.repeat(1600)],
    ['1,600 emoji (3,200 UTF-16 units)', emoji.repeat(1600)],
    ['1,599 letters and one emoji', 'a'.repeat(1599) + emoji],
  ];

  test.each(bodies)('envelope body of %s: sent whole', async (_name, body) => {
    expect([...body]).toHaveLength(1600);
    const out = await rig.handler(batch(snsRecord(JSON.stringify({ body, to: R5 }))), context());
    expect(out.batchItemFailures).toEqual([]);
    expect(bodiesTo(R5)).toEqual([body]);
  });

  test.each(bodies)('plain text of %s: sent whole to the default recipients', async (_name, body) => {
    const out = await rig.handler(batch(snsRecord(body)), context());
    expect(out.batchItemFailures).toEqual([]);
    expect(bodiesTo(R1)).toEqual([body]);
    expect(bodiesTo(R2)).toEqual([body]);
  });

  test.each([
    ['an envelope body of 1,601 emoji', JSON.stringify({ body: emoji.repeat(1601), to: R5 }), /"body" is longer than 1600 characters/],
    ['an envelope body of 1,600 letters and one emoji', JSON.stringify({ body: 'a'.repeat(1600) + emoji, to: R5 }), /"body" is longer than 1600 characters/],
  ])('%s: refused once', async (_name, message, reason) => {
    await expectRefusedOnce(message, reason);
  });

  test.each([
    ['1,601 emoji', emoji.repeat(1601), emoji.repeat(1599) + '\u2026'],
    ['2,000 letters in words', 'disk full on db-1 '.repeat(112).trim(), `${'disk full on db-1 '.repeat(88)}disk full on...`],
  ])('plain text of %s: paged, cut at its end to 1,600 characters (not refused)', async (_name, message, expected) => {
    const out = await rig.handler(batch(snsRecord(message)), context());
    expect(out.batchItemFailures).toEqual([]);
    const body = bodiesTo(R1)[0];
    expect(body === expected).toBe(true);
    expect([...body].length).toBeLessThanOrEqual(1600);
  });
});
