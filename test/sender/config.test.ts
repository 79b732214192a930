import { loadSettings, SenderConfigError } from '../../lambda/sender/config';

// SENDER_CONFIG as the sender reads it at cold start. Its errors are logged:
// they name the setting, quote the value with its numbers masked, give its
// length and what is wrong, and say where the fix goes.

const MG = 'MG' + 'a'.repeat(32);
const env = (config: Record<string, unknown>) => ({ STATUS_TABLE_NAME: 't', SENDER_CONFIG: JSON.stringify({ defaultRecipients: ['+15551230001'], ...config }) });
const errorOf = (config: Record<string, unknown>): string => {
  try {
    loadSettings(env(config));
  } catch (err) {
    expect(err).toBeInstanceOf(SenderConfigError);
    return (err as Error).message;
  }
  throw new Error(`accepted: ${JSON.stringify(config)}`);
};

test('sender IDs Twilio allows are accepted; the alarm-text settings default to one segment and no alias', () => {
  for (const from of ['ACME-OPS', 'R&D OPS', 'OPS_UK', '+ALERTS', 'ABCDEFGHIJK']) expect(loadSettings(env({ from })).from).toBe(from);
  const s = loadSettings(env({ from: 'ACME-OPS' }));
  expect(s.alarmTextSegments).toBe(1);
  expect(s.accountAlias).toBeUndefined();
  expect(loadSettings(env({ from: 'ACME-OPS', alarmTextSegments: 10, accountAlias: 'prod-payments' }))).toMatchObject({ alarmTextSegments: 10, accountAlias: 'prod-payments' });
});

test('WhatsApp through a Messaging Service: accepted without whatsappFrom', () => {
  const s = loadSettings(env({ messagingServiceSid: MG, defaultRecipients: ['whatsapp:+15551230001'] }));
  expect(s.messagingServiceSid).toBe(MG);
  expect(s.whatsappFrom).toBeUndefined();
});

test.each<[string, Record<string, unknown>, RegExp]>([
  ['from a Messaging Service SID', { from: MG }, /^SENDER_CONFIG\.from is "MGa{32}" \(34 characters\), which is a Messaging Service SID, not a sender: give it as messagingServiceSid and leave from out; fix the construct's from/],
  ['from a WhatsApp address', { from: 'whatsapp:+15550000000' }, /^SENDER_CONFIG\.from is "whatsapp:\+1555\*\*\*0000" \(21 characters\), which is a WhatsApp address: give it as whatsappFrom/],
  ['from a sender ID of 12 characters', { from: 'ACME-OPS-EU1' }, /^SENDER_CONFIG\.from is "ACME-OPS-EU1" \(12 characters\), which is not an alphanumeric sender ID \(12 characters, at most 11\)/],
  ['from a sender ID with a dot', { from: 'ACME.OPS' }, /SENDER_CONFIG\.from is "ACME\.OPS" \(8 characters\), which is not an alphanumeric sender ID \(characters Twilio refuses: "\."\)/],
  ['from a sender ID without a letter', { from: '+-_&' }, /SENDER_CONFIG\.from is "\+-_&" \(4 characters\), which is not an alphanumeric sender ID \(no letter\)/],
  ['from a number without +', { from: '5550000000' }, /^SENDER_CONFIG\.from is "555\*\*\*000" \(10 characters\), which is not an E.164 number \(no leading \+\): write \+ then the country code/],
  ['from a number of 16 digits', { from: '+1555000000012345' }, /^SENDER_CONFIG\.from is "\+1555\*\*\*2345" \(17 characters\), which is not an E.164 number \(16 digits\)/],
  ['from not a string', { from: 15550000000 }, /^SENDER_CONFIG\.from must be a non-empty string; it is a number; fix the construct's from/],
  ['from empty', { from: '' }, /^SENDER_CONFIG\.from must be a non-empty string; it is empty/],
  ['whatsappFrom without the channel', { whatsappFrom: '+15550000001' }, /^SENDER_CONFIG\.whatsappFrom is "\+1555\*\*\*0001" \(12 characters\), which is a phone number without the channel: write it as whatsapp:\+<E.164> .*; fix the construct's whatsappFrom/],
  ['whatsappFrom a Messaging Service SID', { from: '+15550000000', whatsappFrom: MG }, /^SENDER_CONFIG\.whatsappFrom is "MGa{32}" \(34 characters\), which is a Messaging Service SID: to send WhatsApp through a Messaging Service, give it as messagingServiceSid/],
  ['whatsappFrom with a number not E.164', { whatsappFrom: 'whatsapp:5550000001' }, /SENDER_CONFIG\.whatsappFrom is "whatsapp:555\*\*\*001" \(19 characters\), which is a WhatsApp address whose number is not E.164 \(no leading \+\)/],
  ['messagingServiceSid malformed', { messagingServiceSid: 'MG123' }, /^SENDER_CONFIG\.messagingServiceSid is "MG123" \(5 characters\), which is not MG followed by 32 hex digits; fix the construct's messagingServiceSid/],
  ['whatsappContentSid malformed', { from: '+15550000000', whatsappContentSid: 'HX1' }, /^SENDER_CONFIG\.whatsappContentSid is "HX1" \(3 characters\), which is not HX followed by 32 hex digits/],
  ['a default recipient without +', { from: '+15550000000', defaultRecipients: ['+15551230001', '15551230002'] }, /^SENDER_CONFIG\.defaultRecipients\[1\] is "1555\*\*\*0002" \(11 characters\), which is not an E.164 number \(no leading \+\): .*; fix the construct's defaultRecipients /],
  ['an allowed recipient that is no number', { from: '+15550000000', allowedRecipients: ['on-call'] }, /^SENDER_CONFIG\.allowedRecipients\[0\] is "on-call" \(7 characters\), which is neither an E.164 number .* nor whatsapp:\+<E.164>; fix the construct's allowedRecipients /],
  ['a recipient that is not a string', { from: '+15550000000', defaultRecipients: [15551230001] }, /^SENDER_CONFIG\.defaultRecipients\[0\] is a number, not an address/],
  ['alarmTextSegments 0', { from: '+15550000000', alarmTextSegments: 0 }, /^SENDER_CONFIG\.alarmTextSegments must be an integer from 1 to 10; it is 0$/],
  ['alarmTextSegments 11', { from: '+15550000000', alarmTextSegments: 11 }, /alarmTextSegments must be an integer from 1 to 10; it is 11/],
  ['alarmTextSegments as text (a token quoted by mistake)', { from: '+15550000000', alarmTextSegments: '3' }, /alarmTextSegments must be an integer from 1 to 10; it is "3"/],
  ['accountAlias of 33 characters', { from: '+15550000000', accountAlias: 'p'.repeat(33) }, /^SENDER_CONFIG\.accountAlias is "p{33}" \(33 characters\), which is 33 characters, at most 32: shorten it/],
  ['accountAlias with a newline', { from: '+15550000000', accountAlias: 'prod\npay' }, /^SENDER_CONFIG\.accountAlias is "prod\\npay" \(8 characters\), which is not printable: it holds U\+000A/],
  ['accountAlias with a bidi override, quoted escaped', { from: '+15550000000', accountAlias: 'prod\u202Epay' }, /^SENDER_CONFIG\.accountAlias is "prod\\u202Epay" \(8 characters\), which is not printable: it holds U\+202E/],
  ['accountAlias only spaces', { from: '+15550000000', accountAlias: '  ' }, /accountAlias is " {2}" \(2 characters\), which is only spaces/],
  ['accountAlias empty', { from: '+15550000000', accountAlias: '' }, /^SENDER_CONFIG\.accountAlias must be a non-empty string; it is empty/],
])('%s is refused, naming the setting and the value’s shape', (_name, config, message) => {
  expect(errorOf(config)).toMatch(message);
});

test('a refused value is quoted with every number masked and cut to 40 characters', () => {
  const long = 'ACME +15559876543 ' + 'x'.repeat(100);
  const message = errorOf({ from: long });
  expect(message).not.toContain('5559876543');
  expect(message).toContain('"ACME +1555***6543 xxxxxxxxxxxxxxxxxxxxxx…" (118 characters)');
  expect(message).not.toContain('x'.repeat(23));
  // A number across the cut is masked before the value is cut.
  expect(errorOf({ from: 'x'.repeat(35) + '+15559876543' })).toContain(`"${'x'.repeat(35)}+1555…" (47 characters)`);
});
