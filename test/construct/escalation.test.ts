import { App, Duration, Lazy, Stack, Token } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { EscalationPolicy, EscalationStage, TwilioMessaging, TwilioMessagingProps } from '../../lib';
import { MINIMAL, environmentOf, synth } from './helpers';

// The escalation prop: validated at synth, written to SENDER_CONFIG.escalation
// (afterSeconds, repeats, repeatAfterSeconds), its recipients added to the allowed ones.
const senderConfig = (template: Template) => JSON.parse(environmentOf(template, 'AlertsSender').SENDER_CONFIG as string);

const A = '+15005550001'; // MINIMAL's default recipient
const B = '+15005550002';
const C = '+15005550003';
const W = 'whatsapp:+15005550004';

function construct(props: Partial<TwilioMessagingProps>): void {
  new TwilioMessaging(new Stack(new App(), 'TestStack'), 'Alerts', { ...MINIMAL, ...props } as TwilioMessagingProps);
}
const stages = (...list: EscalationStage[]): Partial<TwilioMessagingProps> => ({ escalation: { stages: list } });
/** n distinct addresses +1500555<2000+i>. */
const numbers = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `+1500555${2000 + from + i}`);

describe('SENDER_CONFIG.escalation', () => {
  test('two stages with repeats: afterSeconds, repeats and repeatAfterSeconds, in the contract shape', () => {
    const { template } = synth({
      escalation: {
        stages: [{ recipients: [A] }, { recipients: [B, C], after: Duration.minutes(10) }],
        repeats: 2,
        repeatAfter: Duration.minutes(15),
      },
    });
    expect(senderConfig(template).escalation).toEqual({
      stages: [
        { recipients: [A], afterSeconds: 0 },
        { recipients: [B, C], afterSeconds: 600 },
      ],
      repeats: 2,
      repeatAfterSeconds: 900,
    });
  });

  test('defaults: stage 0 at 0 s, no repeats, repeatAfterSeconds 300; an explicit zero after is the same', () => {
    const { template } = synth(stages({ recipients: [A], after: Duration.seconds(0) }));
    expect(senderConfig(template).escalation).toEqual({ stages: [{ recipients: [A], afterSeconds: 0 }], repeats: 0, repeatAfterSeconds: 300 });
  });

  test('no escalation prop: no escalation key (the sender pages the default recipients, no repeats), allowedRecipients untouched', () => {
    const config = senderConfig(synth().template);
    expect(config).not.toHaveProperty('escalation');
    expect(config).not.toHaveProperty('allowedRecipients');
  });
});

describe('escalation recipients are allowed recipients', () => {
  test('without allowedRecipients: the escalation recipients that are not default recipients, each once', () => {
    const { template } = synth(stages({ recipients: [A, B] }, { recipients: [C, B], after: Duration.minutes(5) }));
    expect(senderConfig(template).allowedRecipients).toEqual([B, C]);
  });

  test('with allowedRecipients: added after the given ones, those already there not repeated', () => {
    const { template } = synth({ allowedRecipients: [A, C], ...stages({ recipients: [B] }, { recipients: [C], after: Duration.minutes(5) }) });
    expect(senderConfig(template).allowedRecipients).toEqual([A, C, B]);
  });

  test('escalation only among the default recipients: nothing to add, no allowedRecipients key', () => {
    const { template } = synth({ defaultRecipients: [A, B], ...stages({ recipients: [A] }, { recipients: [B], after: Duration.minutes(5) }) });
    expect(senderConfig(template)).not.toHaveProperty('allowedRecipients');
  });

  test('a WhatsApp stage with whatsappFrom set', () => {
    const { template } = synth({ whatsappFrom: 'whatsapp:+15005550006', ...stages({ recipients: [W] }) });
    expect(senderConfig(template).escalation.stages).toEqual([{ recipients: [W], afterSeconds: 0 }]);
    expect(senderConfig(template).allowedRecipients).toEqual([W]);
  });
});

describe('synth refuses an escalation it cannot page by, naming the value and the fix', () => {
  const token = Lazy.string({ produce: () => B });
  test.each<[string, Partial<TwilioMessagingProps>, RegExp]>([
    ['no stages', { escalation: { stages: [] } }, /escalation\.stages is empty: give at least one stage .*or leave escalation out/],
    ['six stages', { escalation: { stages: numbers(6).map((r, i) => ({ recipients: [r], after: Duration.minutes(i) })) } }, /escalation\.stages has 6 stages; at most 5/],
    ['a stage without recipients', stages({ recipients: [A] }, { recipients: [], after: Duration.minutes(5) }), /escalation\.stages\[1\]\.recipients is empty: each stage pages at least one address/],
    ['eleven recipients in a stage', stages({ recipients: numbers(11) }), /escalation\.stages\[0\]\.recipients has 11 addresses; at most 10 per stage/],
    ['21 addresses over all stages', stages({ recipients: numbers(10) }, { recipients: numbers(10, 10), after: Duration.minutes(5) }, { recipients: [A], after: Duration.minutes(10) }), /escalation names 21 addresses over its stages; at most 20 \(SENDER_CONFIG must fit Lambda's 4 KB of environment\)/],
    ['a recipient not E.164', stages({ recipients: [A, '555-0100'] }), /escalation\.stages\[0\]\.recipients has "555-0100", which is neither an E\.164 number .* nor whatsapp:\+<E\.164>/],
    ['a malformed WhatsApp recipient', stages({ recipients: ['whatsapp:15005550004'] }), /escalation\.stages\[0\]\.recipients has "whatsapp:15005550004"/],
    ['a recipient twice in one stage', stages({ recipients: [B, B] }), /escalation\.stages\[0\]\.recipients has "\+15005550002" twice; name each address once per stage/],
    ['a WhatsApp recipient without whatsappFrom', stages({ recipients: [W] }), /escalation\.stages\[0\]\.recipients has "whatsapp:\+15005550004", a WhatsApp address, but whatsappFrom is not set/],
    ['stage 0 later than the opening', stages({ recipients: [A], after: Duration.minutes(1) }), /escalation\.stages\[0\]\.after is 60 seconds; the first stage is paged when the incident opens: leave its after out \(or 0\)/],
    ['a later stage without after', stages({ recipients: [A] }, { recipients: [B] }), /escalation\.stages\[1\]\.after is not set; every stage after the first needs one, greater than stage 0's \(0 seconds\)/],
    ['a later stage at 0', stages({ recipients: [A] }, { recipients: [B], after: Duration.seconds(0) }), /escalation\.stages\[1\]\.after is 0 seconds, not after stage 0's 0 seconds; each stage's after must be greater than the one before/],
    ['afters not increasing', stages({ recipients: [A] }, { recipients: [B], after: Duration.minutes(10) }, { recipients: [C], after: Duration.minutes(5) }), /escalation\.stages\[2\]\.after is 300 seconds, not after stage 1's 600 seconds/],
    ['afters equal', stages({ recipients: [A] }, { recipients: [B], after: Duration.minutes(10) }, { recipients: [C], after: Duration.seconds(600) }), /escalation\.stages\[2\]\.after is 600 seconds, not after stage 1's 600 seconds/],
    ['after in fractions of a second', stages({ recipients: [A] }, { recipients: [B], after: Duration.millis(1500) }), /escalation\.stages\[1\]\.after is 1\.5 seconds; give whole seconds/],
    ['after beyond a day', stages({ recipients: [A] }, { recipients: [B], after: Duration.hours(25) }), /escalation\.stages\[1\]\.after is 90000 seconds; at most 86400 \(24 hours\)/],
    ['repeats 11', { escalation: { stages: [{ recipients: [A] }], repeats: 11 } }, /escalation\.repeats is 11; it must be an integer from 0 to 10/],
    ['repeats fractional', { escalation: { stages: [{ recipients: [A] }], repeats: 1.5 } }, /escalation\.repeats is 1\.5; it must be an integer from 0 to 10/],
    ['repeats negative', { escalation: { stages: [{ recipients: [A] }], repeats: -1 } }, /escalation\.repeats is -1/],
    ['repeatAfter under a minute', { escalation: { stages: [{ recipients: [A] }], repeats: 1, repeatAfter: Duration.seconds(30) } }, /escalation\.repeatAfter is 30 seconds; it must be from 60 to 86400 seconds/],
    ['repeatAfter beyond a day', { escalation: { stages: [{ recipients: [A] }], repeats: 1, repeatAfter: Duration.days(2) } }, /escalation\.repeatAfter is 172800 seconds/],
    ['repeatAfter in fractions of a second', { escalation: { stages: [{ recipients: [A] }], repeats: 1, repeatAfter: Duration.millis(90500) } }, /escalation\.repeatAfter is 90\.5 seconds; give whole seconds/],
    ['a token recipient', stages({ recipients: [token] }), /escalation\.stages\[0\]\.recipients\[0\] is a token .*give the value itself/],
    ['a token list of recipients', stages({ recipients: Lazy.list({ produce: () => [B] }) }), /escalation\.stages\[0\]\.recipients is a token/],
    ['a token after', stages({ recipients: [A] }, { recipients: [B], after: Duration.seconds(Token.asNumber(Lazy.number({ produce: () => 60 }))) }), /escalation\.stages\[1\]\.after is a token/],
    ['a token repeats', { escalation: { stages: [{ recipients: [A] }], repeats: Token.asNumber(Lazy.number({ produce: () => 1 })) } }, /escalation\.repeats is a token/],
    ['a token allowedRecipients list', { allowedRecipients: Lazy.list({ produce: () => [A] }), ...stages({ recipients: [B] }) }, /allowedRecipients is a token list .* with escalation, give it as a list of addresses/],
  ])('%s', (_name, props, message) => {
    expect(() => construct(props)).toThrow(message);
  });

  test('errors carry the construct name', () => {
    expect(() => construct({ escalation: { stages: [] } })).toThrow(/^TwilioMessaging: escalation/);
  });
});

test('the largest escalation keeps SENDER_CONFIG small: 20 of the longest addresses, all new to the allowed list, in under 2 KB', () => {
  const longest = (i: number) => `whatsapp:+1${String(i).padStart(14, '0')}`;
  const { template } = synth({
    whatsappFrom: 'whatsapp:+15005550006',
    escalation: {
      stages: [0, 1, 2, 3, 4].map((k) => ({ recipients: [0, 1, 2, 3].map((j) => longest(k * 4 + j)), ...(k > 0 ? { after: Duration.hours(k * 4) } : {}) })),
      repeats: 10,
      repeatAfter: Duration.hours(24),
    },
  });
  const config = environmentOf(template, 'AlertsSender').SENDER_CONFIG as string;
  expect(JSON.parse(config).allowedRecipients).toHaveLength(20);
  expect(Buffer.byteLength(config)).toBeLessThan(2048);
});

describe('valid edge values pass', () => {
  test.each<[string, EscalationPolicy, Partial<TwilioMessagingProps>?]>([
    ['5 stages of up to 10, 20 addresses in all, the same address in two stages', {
      stages: [
        { recipients: numbers(10) },
        { recipients: numbers(7, 10), after: Duration.seconds(1) },
        { recipients: [A], after: Duration.minutes(5) },
        { recipients: [B], after: Duration.minutes(10) },
        { recipients: [numbers(1)[0]], after: Duration.hours(24) },
      ],
    }],
    ['repeats 10 every minute', { stages: [{ recipients: [A] }], repeats: 10, repeatAfter: Duration.seconds(60) }],
    ['repeats 0 with a repeatAfter at the day bound', { stages: [{ recipients: [A] }], repeats: 0, repeatAfter: Duration.hours(24) }],
    ['with a token default recipient', { stages: [{ recipients: [B] }] }, { defaultRecipients: [Lazy.string({ produce: () => A })] }],
  ])('%s', (_name, escalation, extra = {}) => {
    expect(() => construct({ escalation, ...extra })).not.toThrow();
  });
});
