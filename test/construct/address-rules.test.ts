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
