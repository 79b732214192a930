import { App, Duration, Lazy, Stack, Token } from 'aws-cdk-lib';
import { Vpc } from 'aws-cdk-lib/aws-ec2';
import { TwilioMessaging, TwilioMessagingProps } from '../../lib';
import { handlerCode } from '../../lib/handler-code';
import { MINIMAL, environmentOf, synth } from './helpers';

function construct(props: Partial<TwilioMessagingProps>, base: Partial<TwilioMessagingProps> = MINIMAL): void {
  const stack = new Stack(new App(), 'TestStack');
  new TwilioMessaging(stack, 'Alerts', { ...base, ...props } as TwilioMessagingProps);
}

const HEX32 = '0123456789abcdef0123456789ABCDEF';

describe('synth-time errors name the bad value', () => {
  test.each<[string, Partial<TwilioMessagingProps>, Partial<TwilioMessagingProps> | undefined, RegExp]>([
    ['neither from nor messagingServiceSid', {}, { defaultRecipients: ['+15005550001'] }, /exactly one of from .* and messagingServiceSid .*neither/],
    ['both from and messagingServiceSid', { messagingServiceSid: `MG${HEX32}` }, undefined, /exactly one of from \("\+15005550006"\) and messagingServiceSid \("MG0123/],
    ['from without +', { from: '5005550006' }, undefined, /from is "5005550006", which is not an E.164 number \(no leading \+\): write \+ then the country code/],
    ['from with a leading zero', { from: '+05005550006' }, undefined, /from is "\+05005550006", which is not an E.164 number \(a leading zero\)/],
    ['from too long', { from: '+1234567890123456' }, undefined, /from is "\+1234567890123456", which is not an E.164 number \(16 digits\)/],
    ['from written with spaces', { from: '+1 500 555 0006' }, undefined, /from is "\+1 500 555 0006", which is not an E.164 number \(characters other than digits\)/],
    ['from an over-long sender ID', { from: 'AcmeAlerting1' }, undefined, /from is "AcmeAlerting1", which is not an alphanumeric sender ID \(13 characters, at most 11\): use 1 to 11 letters, digits, spaces or \+ - _ &/],
    ['from a sender ID with a character Twilio refuses', { from: 'ACME.OPS' }, undefined, /from is "ACME.OPS", which is not an alphanumeric sender ID \(characters Twilio refuses: "\."\)/],
    ['from a sender ID with a non-ASCII letter', { from: 'ÄLARM' }, undefined, /from is "ÄLARM", which is not an alphanumeric sender ID \(characters Twilio refuses: "Ä"\)/],
    ['from empty', { from: '' }, undefined, /from is "", which is empty: give a Twilio number in E.164 .* or an alphanumeric sender ID/],
    ['from a sender ID without a letter', { from: '&_&' }, undefined, /from is "&_&", which is not an alphanumeric sender ID \(no letter\)/],
    ['from a Messaging Service SID', { from: `MG${HEX32}` }, undefined, /from is "MG0123456789abcdef0123456789ABCDEF", which is a Messaging Service SID, not a sender: give it as messagingServiceSid and leave from out/],
    ['from a WhatsApp address', { from: 'whatsapp:+15005550006' }, undefined, /from is "whatsapp:\+15005550006", which is a WhatsApp address: give it as whatsappFrom/],
    ['messagingServiceSid malformed', { messagingServiceSid: 'MG123' }, { defaultRecipients: ['+15005550001'] }, /messagingServiceSid is "MG123", which is not MG followed by 32 hex digits/],
    ['messagingServiceSid with a wrong prefix', { messagingServiceSid: `PN${HEX32}` }, { defaultRecipients: ['+15005550001'] }, /messagingServiceSid is "PN0123/],
    ['a default recipient not E.164', { defaultRecipients: ['+15005550001', '555-0100'] }, undefined, /defaultRecipients has "555-0100", which is not an E.164 number \(no leading \+; characters other than digits\)/],
    ['an allowed recipient not E.164', { allowedRecipients: ['+15005550001', 'whatsapp:15005550009'] }, undefined, /allowedRecipients has "whatsapp:15005550009", which is a WhatsApp address whose number is not E.164 \(no leading \+\): write whatsapp: then \+ then the country code/],
    ['a recipient that is no number', { defaultRecipients: ['on-call'] }, undefined, /defaultRecipients has "on-call", which is neither an E.164 number \(e.g. \+15551234567\) nor whatsapp:\+<E.164>/],
    ['no default recipient', { defaultRecipients: [] }, undefined, /defaultRecipients is empty: CloudWatch alarms and plain-text messages need at least one recipient/],
    ['no default recipient, even with allowed recipients', { defaultRecipients: [], allowedRecipients: ['+15005550001'] }, undefined, /defaultRecipients is empty/],
    ['a default recipient outside allowedRecipients', { defaultRecipients: ['+15005550001', '+15005550002'], allowedRecipients: ['+15005550001'] }, undefined, /defaultRecipients "\+15005550002" not in allowedRecipients/],
    ['whatsappFrom without the channel', { whatsappFrom: '+15005550006' }, undefined, /whatsappFrom is "\+15005550006", which is a phone number without the channel: write it as whatsapp:\+<E.164>/],
    ['whatsappFrom with a number not E.164', { whatsappFrom: 'whatsapp:15005550006' }, undefined, /whatsappFrom is "whatsapp:15005550006", which is a WhatsApp address whose number is not E.164 \(no leading \+\): write whatsapp: then \+ then the country code/],
    ['whatsappFrom a Messaging Service SID', { whatsappFrom: `MG${HEX32}` }, undefined, /whatsappFrom is "MG0123.*", which is a Messaging Service SID: to send WhatsApp through a Messaging Service, give it as messagingServiceSid/],
    ['whatsappFrom neither', { whatsappFrom: 'ops' }, undefined, /whatsappFrom is "ops", which is not whatsapp:\+<E.164>/],
    [
      'a WhatsApp default recipient without whatsappFrom or a Messaging Service',
      { defaultRecipients: ['whatsapp:+15005550001'] },
      undefined,
      /recipient "whatsapp:\+15005550001" is a WhatsApp address, but neither whatsappFrom nor messagingServiceSid is set: set whatsappFrom \(whatsapp:\+<E.164>\), or send through a Messaging Service/,
    ],
    ['a WhatsApp allowed recipient without whatsappFrom', { allowedRecipients: ['+15005550001', 'whatsapp:+15005550003'] }, undefined, /recipient "whatsapp:\+15005550003" is a WhatsApp address/],
    ['whatsappContentSid malformed', { whatsappContentSid: 'HXnothex' }, undefined, /whatsappContentSid is "HXnothex", which is not HX followed by 32 hex digits/],
    ['senderBatchSize 0', { senderBatchSize: 0 }, undefined, /senderBatchSize is 0; it must be an integer from 1 to 10/],
    ['senderBatchSize 11', { senderBatchSize: 11 }, undefined, /senderBatchSize is 11/],
    ['senderMaxConcurrency 1 (SQS minimum is 2)', { senderMaxConcurrency: 1 }, undefined, /senderMaxConcurrency is 1; it must be an integer from 2 to 1000/],
    ['senderMaxConcurrency 1001', { senderMaxConcurrency: 1001 }, undefined, /senderMaxConcurrency is 1001/],
    ['sendConcurrency 0', { sendConcurrency: 0 }, undefined, /sendConcurrency is 0/],
    ['sendConcurrency fractional', { sendConcurrency: 2.5 }, undefined, /sendConcurrency is 2.5/],
    ['maxReceiveCount 0', { maxReceiveCount: 0 }, undefined, /maxReceiveCount is 0/],
    ['statusRetentionDays 0', { statusRetentionDays: 0 }, undefined, /statusRetentionDays is 0/],
    ['apiThrottlingRateLimit 0', { apiThrottlingRateLimit: 0 }, undefined, /apiThrottlingRateLimit is 0/],
    ['apiThrottlingBurstLimit 0', { apiThrottlingBurstLimit: 0 }, undefined, /apiThrottlingBurstLimit is 0/],
    ['senderTimeout 5 s', { senderTimeout: Duration.seconds(5) }, undefined, /senderTimeout is 5 seconds; it must be from 10 to 300 seconds/],
    ['senderTimeout 10 min', { senderTimeout: Duration.minutes(10) }, undefined, /senderTimeout is 600 seconds/],
    ['secretCacheTtl 2 h', { secretCacheTtl: Duration.hours(2) }, undefined, /secretCacheTtl is 7200 seconds; it must be from 0 to 3600/],
    ['publicCallbackBaseUrl over http', { publicCallbackBaseUrl: 'http://hooks.example.com' }, undefined, /publicCallbackBaseUrl is "http:\/\/hooks.example.com"; Twilio webhooks must use https/],
    ['publicCallbackBaseUrl not a URL', { publicCallbackBaseUrl: 'hooks.example.com' }, undefined, /publicCallbackBaseUrl is "hooks.example.com", which is not a URL/],
    ['publicCallbackBaseUrl with an underscore', { publicCallbackBaseUrl: 'https://hooks.example.com/twilio_hooks' }, undefined, /"https:\/\/hooks.example.com\/twilio_hooks"; Twilio rejects callback URLs that contain an underscore/],
    ['publicCallbackBaseUrl with a query', { publicCallbackBaseUrl: 'https://hooks.example.com/?a=1' }, undefined, /must not carry a query/],
  ])('%s', (_name, props, base, message) => {
    expect(() => construct(props, base)).toThrow(message);
  });

  test('vpcSubnets without vpc', () => {
    expect(() => construct({ vpcSubnets: { subnetGroupName: 'private' } })).toThrow(/vpcSubnets is given without vpc/);
  });

  test('errors carry the construct name so they are recognisable in a large app', () => {
    expect(() => construct({ from: '+1-555' })).toThrow(/^TwilioMessaging: /);
  });
});

describe('valid edge values pass', () => {
  test.each<[string, Partial<TwilioMessagingProps>, Partial<TwilioMessagingProps> | undefined]>([
    ['an alphanumeric sender ID as from', { from: 'Acme Ops' }, undefined],
    ...['ACME-OPS', 'R&D OPS', 'OPS_UK', '+ALERTS', 'A', 'ABCDEFGHIJK', 'Ops 24x7'].map((from): [string, Partial<TwilioMessagingProps>, undefined] => [
      `the sender ID ${from} (letters, digits, spaces and + - _ &, at most 11)`,
      { from },
      undefined,
    ]),
    [
      'WhatsApp recipients through a Messaging Service, without whatsappFrom',
      { from: undefined, messagingServiceSid: `MG${HEX32}`, defaultRecipients: ['+15005550001', 'whatsapp:+15005550002'], allowedRecipients: ['+15005550001', 'whatsapp:+15005550002', 'whatsapp:+15005550003'] },
      undefined,
    ],
    ['a messaging service instead of from', { messagingServiceSid: `MG${HEX32}` }, { defaultRecipients: ['+15005550001'] }],
    ['WhatsApp recipients with whatsappFrom and a template', { whatsappFrom: 'whatsapp:+15005550006', whatsappContentSid: `HX${HEX32}`, defaultRecipients: ['+15005550001', 'whatsapp:+15005550001'] }, undefined],
    ['range bounds', { senderBatchSize: 1, senderMaxConcurrency: 2, sendConcurrency: 100, senderTimeout: Duration.seconds(10), secretCacheTtl: Duration.seconds(0), maxReceiveCount: 100 }, undefined],
    ['upper range bounds', { senderBatchSize: 10, senderMaxConcurrency: 1000, senderTimeout: Duration.minutes(5), secretCacheTtl: Duration.hours(1) }, undefined],
  ])('%s', (_name, props, base) => {
    expect(() => construct(props, base)).not.toThrow();
  });

  test('unresolved tokens are left for deploy time (the sender validates them at cold start)', () => {
    const fromToken = Lazy.string({ produce: () => '+15005550006' });
    const recipientToken = Lazy.string({ produce: () => '+15005550001' });
    const listToken = Lazy.list({ produce: () => ['+15005550001'] });
    const batchToken = Token.asNumber(Lazy.number({ produce: () => 5 }));
    expect(() => construct({ from: fromToken, defaultRecipients: [recipientToken] })).not.toThrow();
    expect(() => construct({ whatsappFrom: Lazy.string({ produce: () => 'whatsapp:+15005550006' }), defaultRecipients: [Lazy.string({ produce: () => 'whatsapp:+15005550001' })] })).not.toThrow();
    expect(() => construct({ defaultRecipients: listToken })).not.toThrow();
    expect(() => construct({ senderBatchSize: batchToken })).not.toThrow();
    expect(() => construct({ publicCallbackBaseUrl: Lazy.string({ produce: () => 'https://x.example.com' }) })).not.toThrow();
    expect(() => construct({ allowedRecipients: [recipientToken], defaultRecipients: ['+15005550001'] })).not.toThrow();
  });

  test('a token recipient reaches SENDER_CONFIG resolved', () => {
    const { template } = synth({ defaultRecipients: [Lazy.string({ produce: () => '+15005550009' })] });
    expect(JSON.parse(environmentOf(template, 'AlertsSender').SENDER_CONFIG as string).defaultRecipients).toEqual(['+15005550009']);
  });

  test('a VPC with explicit subnets is accepted', () => {
    expect(() =>
      synth({}, (stack) => {
        const vpc = new Vpc(stack, 'Vpc');
        return { vpc, vpcSubnets: { subnets: vpc.privateSubnets } };
      }),
    ).not.toThrow();
  });
});

describe('handler bundles', () => {
  test('a missing bundle fails with a pointer to npm run build', () => {
    expect(() => handlerCode('sender', '/nonexistent/assets')).toThrow(
      /the "sender" handler bundle is missing \(\/nonexistent\/assets\/sender\/index\.js\)\. Run `npm run build`/,
    );
  });

  test('the built bundles are found', () => {
    for (const name of ['sender', 'status-callback', 'inbound']) expect(() => handlerCode(name)).not.toThrow();
  });
});
