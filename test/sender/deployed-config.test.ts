import { Lazy } from 'aws-cdk-lib';
import { METRIC, SenderConfig } from '../../lib/contract';
import { TwilioMessagingProps } from '../../lib';
import { environmentOf, MINIMAL, synth } from '../construct/helpers';
import { alarm, batch, captureStdout, context, FROM, Handler, loadHandler, metricSum, Rig, snsRecord, startRig } from '../support/sender-rig';
import type { RecordedRequest } from '../support/fake-twilio';

/*
 * From the construct's props to the deployed sender: SENDER_CONFIG as synth
 * wrote it drives the real handler. A token in from, whatsappFrom or the
 * recipients passes synth unchecked; the value it resolves to is checked at
 * cold start, where a bad one is a configuration error that keeps the records.
 */

const R1 = MINIMAL.defaultRecipients[0];
const MG = 'MG' + 'b'.repeat(32);

/** SENDER_CONFIG as the deployed function gets it (Lazy tokens resolve at synth, like a parameter at deploy). */
function deployedConfig(props: Partial<TwilioMessagingProps>): SenderConfig {
  const { SENDER_CONFIG } = environmentOf(synth(props).template, 'AlertsSender');
  return JSON.parse(SENDER_CONFIG as string) as SenderConfig;
}
// Each synth takes seconds on a busy machine: the configurations are made once, before the tests.
const SYNTH_TIMEOUT_MS = 180_000;
const token = (value: string) => Lazy.string({ produce: () => value });

/** A fresh execution environment of the sender with this SENDER_CONFIG. */
async function coldStart(config: SenderConfig): Promise<Handler> {
  const saved = process.env.SENDER_CONFIG;
  process.env.SENDER_CONFIG = JSON.stringify(config);
  try {
    return await loadHandler();
  } finally {
    process.env.SENDER_CONFIG = saved;
  }
}

const param = (r: RecordedRequest, name: string) => r.params.filter(([k]) => k === name).map(([, v]) => v);

let rig: Rig;
let fixedConfig: SenderConfig;
beforeAll(async () => {
  rig = await startRig({ from: FROM, defaultRecipients: [R1] });
  fixedConfig = deployedConfig({});
}, SYNTH_TIMEOUT_MS);
afterAll(() => rig.close());
// Each case sends the same alarm: each starts with no live incident, so its ALARM pages.
beforeEach(async () => {
  rig.twilio.reset();
  await rig.forgetIncidents();
});

describe('a token that resolves to a bad value: refused at cold start, records kept, the log names the setting and the masked value', () => {
  const cases: Array<[string, Partial<TwilioMessagingProps>, RegExp, string | undefined]> = [
    ['from resolving to a Messaging Service SID', { from: token(MG) }, /^SENDER_CONFIG\.from is "MGb{32}" \(34 characters\), which is a Messaging Service SID, not a sender: give it as messagingServiceSid/, undefined],
    ['from resolving to a number without +', { from: token('5559870000') }, /^SENDER_CONFIG\.from is "555\*\*\*000" \(10 characters\), which is not an E.164 number \(no leading \+\)/, '5559870000'],
    ['from resolving to a sender ID Twilio refuses', { from: token('ACME.OPS') }, /^SENDER_CONFIG\.from is "ACME\.OPS" \(8 characters\), which is not an alphanumeric sender ID \(characters Twilio refuses: "\."\)/, undefined],
    [
      'whatsappFrom resolving to a number without the channel',
      { whatsappFrom: token('+15559870001') },
      /^SENDER_CONFIG\.whatsappFrom is "\+1555\*\*\*0001" \(12 characters\), which is a phone number without the channel: write it as whatsapp:\+<E\.164>/,
      '5559870001',
    ],
    [
      'a default recipient resolving to a number without +',
      { defaultRecipients: [R1, token('15559870002')] },
      /^SENDER_CONFIG\.defaultRecipients\[1\] is "1555\*\*\*0002" \(11 characters\), which is not an E\.164 number \(no leading \+\).*fix the construct's defaultRecipients/,
      '5559870002',
    ],
    [
      'a recipient list token holding a bad address',
      { defaultRecipients: Lazy.list({ produce: () => [R1] }), allowedRecipients: Lazy.list({ produce: () => [R1, 'whatsapp:5559870003'] }) },
      /^SENDER_CONFIG\.allowedRecipients\[1\] is "whatsapp:555\*\*\*003" \(19 characters\), which is a WhatsApp address whose number is not E\.164/,
      '5559870003',
    ],
  ];
  const configs = new Map<string, SenderConfig>();
  beforeAll(() => cases.forEach(([name, props]) => configs.set(name, deployedConfig(props))), SYNTH_TIMEOUT_MS);

  test.each(cases)('%s', async (name, _props, reason, hidden) => {
    const handler = await coldStart(configs.get(name)!);
    const records = [snsRecord(JSON.stringify(alarm())), snsRecord('disk full on db-1')];
    const first = await captureStdout(() => handler(batch(...records), context()));
    const second = await captureStdout(() => handler(batch(snsRecord('two')), context()));

    expect(first.result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.map((r) => r.messageId));
    expect(second.result.batchItemFailures).toHaveLength(1);
    expect(rig.twilio.requests).toHaveLength(0);
    const errors = [...first.logs, ...second.logs].filter((l) => l.level === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/sender configuration error/);
    expect(errors[0].reason).toMatch(reason);
    if (hidden) expect(JSON.stringify([...first.logs, ...second.logs])).not.toContain(hidden);
    expect(metricSum(first.metrics, METRIC.CONFIGURATION_ERRORS)).toBe(1);

    // Fixed and deployed again: the kept records are redriven and sent.
    const fixed = await coldStart(fixedConfig);
    const redriven = await fixed(batch(...records), context());
    expect(redriven.batchItemFailures).toEqual([]);
    expect(rig.twilio.createRequests().map((r) => param(r, 'To')[0])).toEqual([R1, R1]);
  });
});

test('an alphanumeric sender ID with & and a space reaches Twilio as From exactly', async () => {
  const handler = await coldStart(deployedConfig({ from: 'R&D OPS' }));
  const out = await handler(batch(snsRecord(JSON.stringify(alarm()))), context());
  expect(out.batchItemFailures).toEqual([]);
  const [sent] = rig.twilio.createRequests();
  expect(param(sent, 'From')).toEqual(['R&D OPS']);
  expect(await rig.item(sent.sid!)).toMatchObject({ status: 'queued', from: 'R&D OPS' });
});

test('WhatsApp through a Messaging Service, without whatsappFrom: synth accepts it and the sender sends it with MessagingServiceSid', async () => {
  const WA = 'whatsapp:+15551230009';
  const handler = await coldStart(deployedConfig({ from: undefined, messagingServiceSid: MG, defaultRecipients: [R1, WA] }));
  const out = await handler(batch(snsRecord('db-1 down')), context());
  expect(out.batchItemFailures).toEqual([]);
  const [wa] = rig.twilio.createRequests().filter((r) => param(r, 'To')[0] === WA);
  expect(param(wa, 'MessagingServiceSid')).toEqual([MG]);
  expect(param(wa, 'From')).toEqual([]);
  expect(await rig.item(wa.sid!)).toMatchObject({ status: 'accepted', channel: 'whatsapp' });
});
