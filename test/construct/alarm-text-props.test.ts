import { CfnParameter, Lazy, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { TwilioMessagingProps } from '../../lib';
import { loadSettings } from '../../lambda/sender/config';
import { environmentOf, render, synth } from './helpers';

// alarmTextSegments and accountAlias are written into SENDER_CONFIG for the
// sender's alarm rendering; both are checked at synth, tokens at cold start.

const senderConfigOf = (template: Template) => environmentOf(template, 'AlertsSender').SENDER_CONFIG;

describe('synth refuses them with the value and the fix', () => {
  test.each<[string, Partial<TwilioMessagingProps>, RegExp]>([
    ['alarmTextSegments 0', { alarmTextSegments: 0 }, /alarmTextSegments is 0; it must be an integer from 1 to 10/],
    ['alarmTextSegments 11', { alarmTextSegments: 11 }, /alarmTextSegments is 11; it must be an integer from 1 to 10/],
    ['alarmTextSegments fractional', { alarmTextSegments: 1.5 }, /alarmTextSegments is 1.5; it must be an integer from 1 to 10/],
    ['accountAlias empty', { accountAlias: '' }, /accountAlias is "", which is empty: leave accountAlias out to show the account id/],
    ['accountAlias of 33 characters', { accountAlias: 'p'.repeat(33) }, /accountAlias is "p{33}", which is 33 characters, at most 32: shorten it/],
    ['accountAlias with a newline', { accountAlias: 'prod\npayments' }, /accountAlias is "prod\\npayments", which is not printable: it holds U\+000A \(a control, format or separator character\): remove it/],
    ['accountAlias with a bidi override', { accountAlias: 'prod\u202Epay' }, /accountAlias is "prod\\u202Epay", which is not printable: it holds U\+202E/],
    ['accountAlias with a line separator', { accountAlias: 'prod\u2028pay' }, /which is not printable: it holds U\+2028/],
    ['accountAlias only spaces', { accountAlias: '   ' }, /accountAlias is " {3}", which is only spaces: give a name, or leave accountAlias out/],
  ])('%s', (_name, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });
});

test('not given: SENDER_CONFIG carries neither (the sender renders one segment and the account id)', () => {
  const { template } = synth();
  const config = JSON.parse(senderConfigOf(template) as string);
  expect(config).not.toHaveProperty('alarmTextSegments');
  expect(config).not.toHaveProperty('accountAlias');
  const settings = loadSettings({ SENDER_CONFIG: senderConfigOf(template) as string, STATUS_TABLE_NAME: 'status' });
  expect(settings.alarmTextSegments).toBe(1);
  expect(settings.accountAlias).toBeUndefined();
});

test('given: both reach SENDER_CONFIG as written, bounds included', () => {
  for (const [alarmTextSegments, accountAlias] of [
    [3, 'prod-payments'],
    [1, 'p'.repeat(32)],
    [10, '本番 👩‍💻'],
  ] as const) {
    const { template } = synth({ alarmTextSegments, accountAlias });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { SENDER_CONFIG: Match.serializedJson(Match.objectLike({ alarmTextSegments, accountAlias })) } },
    });
  }
});

test('tokens pass synth and land in SENDER_CONFIG as references that deploy to valid JSON', () => {
  const { template } = synth({}, (stack) => ({
    alarmTextSegments: new CfnParameter(stack, 'Segments', { type: 'Number' }).valueAsNumber,
    accountAlias: new CfnParameter(stack, 'Alias').valueAsString,
  }));
  const config = senderConfigOf(template);
  expect(typeof config).not.toBe('string');
  // What CloudFormation makes of the Fn::Join with the parameters' values:
  const deployed = render(config).replace('${Segments}', '4').replace('${Alias}', 'prod eu');
  const settings = loadSettings({ SENDER_CONFIG: deployed, STATUS_TABLE_NAME: 'status' });
  expect(settings.alarmTextSegments).toBe(4);
  expect(settings.accountAlias).toBe('prod eu');
});

test('a Lazy value is resolved at synth into SENDER_CONFIG', () => {
  const { template } = synth({
    alarmTextSegments: Token.asNumber(Lazy.number({ produce: () => 2 })),
    accountAlias: Lazy.string({ produce: () => 'staging' }),
  });
  expect(JSON.parse(senderConfigOf(template) as string)).toMatchObject({ alarmTextSegments: 2, accountAlias: 'staging' });
});
