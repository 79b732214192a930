import { loadSettings } from '../../lambda/sender/config';
import { environmentOf, synth } from './helpers';

// The construct checks addresses at synth and the sender checks SENDER_CONFIG at
// cold start: a value synth accepts must never be refused by the deployed sender,
// and both follow E.164 (+, 7 to 15 digits, no leading zero).
const SAMPLES: Array<[string, boolean]> = [
  ['+15551234567', true],
  ['+1234567', true],
  ['+123456789012345', true],
  ['whatsapp:+15551234567', true],
  ['+1234', false],
  ['+123456', false],
  ['+1234567890123456', false],
  ['+05551234567', false],
  ['15551234567', false],
  ['whatsapp:+1234', false],
  ['whatsapp:15551234567', false],
];

test.each(SAMPLES)('recipient %s: synth accepts = %s, and the sender accepts what synth does', (recipient, valid) => {
  let synthesized: ReturnType<typeof synth> | undefined;
  try {
    synthesized = synth({ whatsappFrom: 'whatsapp:+15005550006', defaultRecipients: [recipient] });
  } catch (err) {
    expect((err as Error).message).toContain(recipient);
  }
  expect(synthesized !== undefined).toBe(valid);
  if (synthesized) {
    // The other variables are CloudFormation references until deploy; SENDER_CONFIG is plain JSON.
    const { SENDER_CONFIG } = environmentOf(synthesized.template, 'AlertsSender');
    expect(typeof SENDER_CONFIG).toBe('string');
    expect(loadSettings({ SENDER_CONFIG: SENDER_CONFIG as string, STATUS_TABLE_NAME: 'status' }).defaultRecipients).toEqual([recipient]);
  }
});

// The same for the senders and the alarm-text settings: each sample is either
// refused by both (synth naming the value, the sender naming the setting) or
// accepted by synth and then by the sender, from the SENDER_CONFIG synth wrote.
const MG = 'MG0123456789abcdef0123456789abcdef';
const refusedBySender = (config: Record<string, unknown>) => () =>
  loadSettings({ SENDER_CONFIG: JSON.stringify({ defaultRecipients: ['+15005550001'], ...config }), STATUS_TABLE_NAME: 'status' });

describe.each<[string, Array<[unknown, boolean]>, (value: any) => Record<string, unknown>]>([
  [
    'from',
    [
      ['ACME-OPS', true],
      ['R&D OPS', true],
      ['OPS_UK', true],
      ['+ALERTS', true],
      ['ABCDEFGHIJK', true],
      ['+15005550006', true],
      ['ABCDEFGHIJKL', false],
      ['ACME.OPS', false],
      ['ÄLARM', false],
      ['12345', false],
      ['+-_&', false],
      [MG, false],
      ['whatsapp:+15005550006', false],
      ['5005550006', false],
    ],
    (from) => ({ from }),
  ],
  [
    'whatsappFrom',
    [
      ['whatsapp:+15005550006', true],
      ['+15005550006', false],
      ['whatsapp:5005550006', false],
      [MG, false],
    ],
    (whatsappFrom) => ({ from: '+15005550006', whatsappFrom }),
  ],
  [
    'alarmTextSegments',
    [
      [1, true],
      [10, true],
      [0, false],
      [11, false],
      [2.5, false],
    ],
    (alarmTextSegments) => ({ from: '+15005550006', alarmTextSegments }),
  ],
  [
    'accountAlias',
    [
      ['prod-payments', true],
      ['本番アカウント', true],
      ['👩‍💻 ops', true],
      ['p'.repeat(32), true],
      ['p'.repeat(33), false],
      ['', false],
      ['   ', false],
      ['prod\tpay', false],
    ],
    (accountAlias) => ({ from: '+15005550006', accountAlias }),
  ],
])('%s: synth and the sender agree', (key, samples, props) => {
  test.each(samples)(`${key} %p: accepted = %p by both`, (value, valid) => {
    if (!valid) {
      expect(() => synth(props(value))).toThrow(`${key} is ${typeof value === 'string' ? JSON.stringify(value) : value}`);
      expect(refusedBySender(props(value))).toThrow(`SENDER_CONFIG.${key} `);
      return;
    }
    const { SENDER_CONFIG } = environmentOf(synth(props(value)).template, 'AlertsSender');
    const settings = loadSettings({ SENDER_CONFIG: SENDER_CONFIG as string, STATUS_TABLE_NAME: 'status' });
    expect(settings[key as 'from' | 'whatsappFrom' | 'alarmTextSegments' | 'accountAlias']).toEqual(value);
  });
});
