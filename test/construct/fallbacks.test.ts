import { App, Lazy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TwilioMessaging, TwilioMessagingProps } from '../../lib';
import { loadSettings } from '../../lambda/sender/config';
import { MINIMAL, environmentOf, synth } from './helpers';

// The fallbacks prop: validated at synth, written to SENDER_CONFIG.fallbacks as given,
// and read back by the sender as the same map.
const senderConfig = (template: Template) => JSON.parse(environmentOf(template, 'AlertsSender').SENDER_CONFIG as string);

const A = '+15005550001'; // MINIMAL's default recipient
const B = '+15005550002';
const WA = 'whatsapp:+15005550001';

function construct(props: Partial<TwilioMessagingProps>): void {
  new TwilioMessaging(new Stack(new App(), 'TestStack'), 'Alerts', { ...MINIMAL, ...props } as TwilioMessagingProps);
}

describe('SENDER_CONFIG.fallbacks', () => {
  test('an SMS number\'s WhatsApp address: written as given, and the sender reads the same map', () => {
    const { template } = synth({ whatsappFrom: 'whatsapp:+15005550006', allowedRecipients: [A, WA], fallbacks: { [A]: WA } });
    const config = senderConfig(template);
    expect(config.fallbacks).toEqual({ [A]: WA });
    const settings = loadSettings({ STATUS_TABLE_NAME: 'table', SENDER_CONFIG: JSON.stringify(config) });
    expect([...settings.escalation.fallbacks!]).toEqual([[A, WA]]);
  });

  test('a fallback among the escalation recipients is allowed without allowedRecipients', () => {
    const { template } = synth({ escalation: { stages: [{ recipients: [A, B] }] }, fallbacks: { [A]: B } });
    expect(senderConfig(template).fallbacks).toEqual({ [A]: B });
  });

  test('no fallbacks prop (or an empty map): no fallbacks key', () => {
    expect(senderConfig(synth().template)).not.toHaveProperty('fallbacks');
    expect(senderConfig(synth({ fallbacks: {} }).template)).not.toHaveProperty('fallbacks');
  });

  test.each<[string, Partial<TwilioMessagingProps>, RegExp]>([
    ['a key that is no address', { allowedRecipients: [A, B], fallbacks: { '5550001': B } }, /fallbacks has the key "5550001", which is neither an E\.164 number .* nor whatsapp:\+<E\.164>/],
    ['a fallback that is no address', { fallbacks: { [A]: 'whatsapp:5550001' } }, /fallbacks\["\+15005550001"\] is "whatsapp:5550001", which is neither an E\.164 number/],
    ['the address itself', { fallbacks: { [A]: A } }, /fallbacks\["\+15005550001"\] is the address itself; give another address \(e\.g\. its WhatsApp address "whatsapp:\+15005550001"\)/],
    ['a key the construct never pages', { allowedRecipients: [A, WA], whatsappFrom: 'whatsapp:+15005550006', fallbacks: { [B]: WA } }, /fallbacks has the key "\+15005550002", which the construct never pages; name a default, allowed or escalation recipient/],
    ['a fallback that is not allowed', { fallbacks: { [A]: B } }, /fallbacks\["\+15005550001"\] is "\+15005550002", which is not an allowed recipient; add it to allowedRecipients/],
    ['a WhatsApp fallback without a WhatsApp sender', { allowedRecipients: [A, WA], fallbacks: { [A]: WA } }, // Refused already as an allowed recipient, which every fallback must be.
      /"whatsapp:\+15005550001" is a WhatsApp address, but neither whatsappFrom nor messagingServiceSid is set: set whatsappFrom/],
    [
      'a chain',
      { allowedRecipients: [A, B, WA], whatsappFrom: 'whatsapp:+15005550006', fallbacks: { [A]: B, [B]: WA } },
      /fallbacks\["\+15005550001"\] is "\+15005550002", which has a fallback of its own \("whatsapp:\+15005550001"\); fallbacks do not chain/,
    ],
    ['a cycle', { allowedRecipients: [A, B], fallbacks: { [A]: B, [B]: A } }, /which has a fallback of its own/],
    [
      'more than 10 entries',
      { allowedRecipients: [A, ...Array.from({ length: 22 }, (_, i) => `+1500555${3000 + i}`)], fallbacks: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`+1500555${3000 + i}`, `+1500555${3011 + i}`])) },
      /fallbacks has 11 entries; at most 10 \(SENDER_CONFIG must fit Lambda's 4 KB of environment\)/,
    ],
  ])('%s is refused at synth, naming the value and the fix', (_name, props, message) => {
    expect(() => construct(props)).toThrow(message);
  });

  test('a token is refused at synth', () => {
    expect(() => construct({ allowedRecipients: [A, B], fallbacks: { [A]: Lazy.string({ produce: () => B }) } })).toThrow(/fallbacks\["\+15005550001"\] is a token/);
  });
});

describe('the sender refuses a bad SENDER_CONFIG.fallbacks at cold start (a hand-written one), masking the addresses', () => {
  const load = (fallbacks: unknown, extra: Record<string, unknown> = {}) => () =>
    loadSettings({ STATUS_TABLE_NAME: 'table', SENDER_CONFIG: JSON.stringify({ from: '+15005550006', defaultRecipients: [A], fallbacks, ...extra }) });
  test.each<[string, unknown, RegExp]>([
    ['not an object', ['+15005550002'], /SENDER_CONFIG\.fallbacks must be an object/],
    ['a bad key', { 'not-a-number': B }, /SENDER_CONFIG\.fallbacks\["no\*\*\*"\]: the key is not an E\.164/],
    ['a bad fallback', { [A]: 42 }, /SENDER_CONFIG\.fallbacks\["\+1500\*\*\*0001"\] must be an E\.164/],
    ['the address itself', { [A]: A }, /is the address itself/],
    ['a chain', { [A]: B, [B]: '+15005550003' }, /SENDER_CONFIG\.fallbacks\["\+1500\*\*\*0001"\] is \+1500\*\*\*0002, which has a fallback of its own: fallbacks do not chain/],
    ['a WhatsApp fallback without a WhatsApp sender', { [A]: WA }, /SENDER_CONFIG\.fallbacks\["\+1500\*\*\*0001"\] is whatsapp:\+1500\*\*\*0001, a WhatsApp address, but neither whatsappFrom nor messagingServiceSid is set/],
  ])('%s', (_name, fallbacks, message) => {
    expect(load(fallbacks)).toThrow(message);
    try {
      load(fallbacks)();
    } catch (err) {
      expect((err as Error).message).not.toContain('5005550001');
    }
  });

  test('a fallback is an allowed recipient of the sender even when SENDER_CONFIG does not list it', () => {
    const settings = load({ [A]: B })();
    expect(settings.allowed.has(B)).toBe(true);
  });
});
