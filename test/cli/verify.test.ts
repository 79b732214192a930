import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TwilioMessaging } from '../../lib';
import { PLACEHOLDER_SECRET } from '../../lib/contract';
import { EXIT } from '../../lib/cli/errors';
import { NUMBERS } from '../pipeline/local-pipeline';
import { CfnTemplate } from '../support/fake-cloudformation';
import { CliRig, CONSTRUCT_PROPS, STACK, startCliRig, UNDELIVERABLE } from './rig';

// `cdk-twilio-messaging verify` end to end: the real construct's template in a
// fake CloudFormation, the local pipeline's handlers, fakes for Twilio, Secrets
// Manager, SNS, KMS and DynamoDB.
let rig: CliRig;
/** Numbers whose status callbacks Twilio holds back (a page that is never confirmed). */
const silent = new Set<string>();

beforeAll(async () => {
  rig = await startCliRig({ callbacks: { before: (m) => (silent.has(m.to) ? new Promise(() => undefined) : Promise.resolve()) } });
}, 60_000);
afterAll(() => rig?.close());
afterEach(() => {
  rig.p.setSecret('real');
  rig.p.twilio.addIncomingNumber({ phoneNumber: NUMBERS.smsFrom, smsUrl: rig.record.inboundUrl, smsMethod: 'POST' });
  rig.kms.setKeyPolicy(rig.record.encryptionKeyArn, rig.keyPolicy);
  rig.cfn.deny(undefined);
});

const line = (out: string, name: string) => out.split('\n').find((l) => l.includes(` ${name}`)) ?? '';
const fixAfter = (out: string, name: string) => {
  const lines = out.split('\n');
  const i = lines.findIndex((l) => l.includes(`FAIL  ${name}`));
  return i >= 0 && lines[i + 1]?.trim().startsWith('fix:') ? lines[i + 1].trim() : '';
};

test('a good setup passes every check, the test page delivered, exit 0', async () => {
  const { code, stdout, stderr } = await rig.run('verify', '--stack', STACK, '--send-test', NUMBERS.backupSms);
  expect(stdout).toContain(`verify: stack ${STACK}, construct ${STACK}/Alerts`);
  const passed = stdout.split('\n').filter((l) => l.startsWith('  ok    ')).map((l) => l.slice(8, l.indexOf(':')));
  // With what went wrong in view when something did.
  expect({ passed, errors: stderr.split('\n').filter((l) => l !== '' && !l.includes('test page: ')) }).toEqual({ passed: ['secret', 'credentials', 'inbound webhook +1555***0100', 'topic policy', 'topic key', 'test page +1555***1003'], errors: [] });
  expect(line(stdout, 'inbound webhook')).toContain(`${rig.record.inboundUrl} (POST)`);
  expect(line(stdout, 'test page')).toMatch(/delivered: message SM[0-9a-f]{32}/);
  // The progress shown while it waited, one line per phase (stderr is not a terminal here).
  expect(stderr).toContain('test page: published; waiting for the sender');
  expect(stderr).toContain('test page: Twilio: delivered');
  expect(stdout).toContain('verify: all 6 checks passed');
  expect(code).toBe(EXIT.OK);
  // The page went through the sender to Twilio, to that recipient only.
  expect(rig.p.sentTo(NUMBERS.backupSms, 'cdk-twilio-messaging verify: test page')).toHaveLength(1);
});

test('--json: one document with every check', async () => {
  const { code, stdout } = await rig.run('verify', '--stack', STACK, '--json');
  const report = JSON.parse(stdout) as { ok: boolean; construct: string; checks: Array<{ name: string; status: string }> };
  expect(report.ok).toBe(true);
  expect(report.construct).toBe(`${STACK}/Alerts`);
  expect(report.checks.map((c) => `${c.name}:${c.status}`)).toEqual(['secret:pass', 'credentials:pass', 'inbound webhook +1555***0100:pass', 'topic policy:pass', 'topic key:pass']);
  expect(code).toBe(0);
});

test('the placeholder secret fails with the put-secret-value that fills it in, exit 1', async () => {
  rig.p.setSecret(JSON.stringify(PLACEHOLDER_SECRET));
  const { code, stdout } = await rig.run('verify', '--stack', STACK);
  expect(line(stdout, 'secret')).toContain("FAIL  secret: the secret still holds the construct's placeholder");
  expect(fixAfter(stdout, 'secret')).toContain(`fix: aws secretsmanager put-secret-value --secret-id ${rig.p.secretArn} --secret-string '{"accountSid":"AC…","authToken":"…"}'`);
  expect(line(stdout, 'credentials')).toContain('skip  credentials: not checked: the secret is not filled in');
  expect(code).toBe(EXIT.CHECK_FAILED);
});

test('a malformed secret fails naming the field at fault, with the same fix', async () => {
  rig.p.setSecret(JSON.stringify({ accountSid: 'AC12', authToken: 'x' }));
  const { code, stdout } = await rig.run('verify', '--stack', STACK);
  expect(line(stdout, 'secret')).toContain('FAIL  secret: the secret has no valid "accountSid" (AC followed by 32 hex digits)');
  expect(fixAfter(stdout, 'secret')).toContain(`put-secret-value --secret-id ${rig.p.secretArn}`);
  expect(code).toBe(EXIT.CHECK_FAILED);
});

test('credentials Twilio refuses fail with which field to put right, exit 1', async () => {
  rig.p.setSecret('not-yet-promoted');
  const { code, stdout } = await rig.run('verify', '--stack', STACK);
  expect(line(stdout, 'credentials')).toContain('FAIL  credentials: Twilio refuses the auth token (401, error 20003)');
  expect(fixAfter(stdout, 'credentials')).toContain(`put the right "authToken" of account ${rig.p.accountSid}`);
  expect(fixAfter(stdout, 'credentials')).toContain(`--secret-id ${rig.p.secretArn}`);
  expect(line(stdout, 'inbound webhook')).toContain('skip');
  expect(code).toBe(EXIT.CHECK_FAILED);
});

test('a wrong webhook URL fails with the exact update of the number, exit 1', async () => {
  rig.p.twilio.addIncomingNumber({ phoneNumber: NUMBERS.smsFrom, smsUrl: 'https://old-app.example.com/sms', smsMethod: 'POST' });
  const { code, stdout } = await rig.run('verify', '--stack', STACK);
  expect(line(stdout, 'inbound webhook')).toContain(`FAIL  inbound webhook +1555***0100: posts to https://old-app.example.com/sms, not ${rig.record.inboundUrl}`);
  expect(fixAfter(stdout, 'inbound webhook')).toContain(
    `curl -X POST ${rig.p.twilio.url}/2010-04-01/Accounts/${rig.p.accountSid}/IncomingPhoneNumbers/${rig.numberSid}.json -u "${rig.p.accountSid}:$TWILIO_AUTH_TOKEN" --data-urlencode "SmsUrl=${rig.record.inboundUrl}" -d SmsMethod=POST`,
  );
  expect(code).toBe(EXIT.CHECK_FAILED);
});

test('the right URL called with GET fails too', async () => {
  rig.p.twilio.addIncomingNumber({ phoneNumber: NUMBERS.smsFrom, smsUrl: rig.record.inboundUrl, smsMethod: 'GET' });
  const { code, stdout } = await rig.run('verify', '--stack', STACK);
  expect(line(stdout, 'inbound webhook')).toContain(`calls ${rig.record.inboundUrl} with GET, not POST`);
  expect(code).toBe(EXIT.CHECK_FAILED);
});

test('a test page Twilio reports undelivered fails with what the error means and what to do', async () => {
  const { code, stdout } = await rig.run('verify', '--stack', STACK, '--send-test', UNDELIVERABLE);
  expect(line(stdout, 'test page')).toMatch(/FAIL {2}test page \+1555\*\*\*1007: Twilio reports undelivered \(error 30003: the handset is unreachable \(off, out of coverage\)\): message SM/);
  expect(fixAfter(stdout, 'test page')).toBe('fix: switch the phone on and in coverage, then send the test again');
  expect(code).toBe(EXIT.CHECK_FAILED);
});

test('a test page no status callback confirms fails at the timeout, naming the callback URL and the auth token', async () => {
  silent.add(NUMBERS.onCallSms);
  try {
    const { code, stdout } = await rig.run('verify', '--stack', STACK, '--send-test', NUMBERS.onCallSms, '--timeout', '2');
    expect(line(stdout, 'test page')).toMatch(/FAIL {2}test page \+1555\*\*\*1001: after 2 s Twilio's last reported status is queued: message SM[0-9a-f]{32} was not delivered in time/);
    expect(fixAfter(stdout, 'test page')).toContain(`no status callback came: check that ${rig.record.statusCallbackUrl} is reachable`);
    expect(code).toBe(EXIT.CHECK_FAILED);
  } finally {
    silent.delete(NUMBERS.onCallSms);
  }
});

test('a recipient the construct does not allow is refused before anything is published', async () => {
  const published = rig.p.sns.published.length;
  const { code, stdout } = await rig.run('verify', '--stack', STACK, '--send-test', '+15550109999');
  expect(line(stdout, 'test page')).toContain('FAIL  test page +1555***9999: +1555***9999 is not an allowed recipient of TwilioMessagingExample/Alerts');
  expect(fixAfter(stdout, 'test page')).toContain("add it to the construct's allowedRecipients");
  expect(rig.p.sns.published.length).toBe(published);
  expect(code).toBe(EXIT.CHECK_FAILED);
});

test('a key policy without CloudWatch fails with the statement to add', async () => {
  const policy = JSON.parse(rig.keyPolicy) as { Statement: Array<{ Sid?: string }> };
  rig.kms.setKeyPolicy(rig.record.encryptionKeyArn, JSON.stringify({ ...policy, Statement: policy.Statement.filter((s) => s.Sid !== 'AllowCloudWatchAlarmsToUseTheKey') }));
  const { code, stdout } = await rig.run('verify', '--stack', STACK);
  expect(line(stdout, 'topic key')).toContain(`FAIL  topic key: the key policy of ${rig.record.encryptionKeyArn} does not let cloudwatch.amazonaws.com kms:Decrypt or kms:GenerateDataKey*`);
  expect(fixAfter(stdout, 'topic key')).toContain('"Principal":{"Service":"cloudwatch.amazonaws.com"},"Action":["kms:Decrypt","kms:GenerateDataKey*"]');
  expect(code).toBe(EXIT.CHECK_FAILED);
});

test('a stack that does not exist: exit 3 with where to look', async () => {
  const { code, stderr } = await rig.run('verify', '--stack', 'NoSuchStack');
  expect(stderr).toContain('stack "NoSuchStack" does not exist in this account and region');
  expect(stderr).toContain('fix: check the stack name');
  expect(code).toBe(EXIT.NOT_FOUND);
});

test('no permission to read the stack: exit 4 naming the IAM action', async () => {
  rig.cfn.deny('GetTemplate');
  const { code, stdout } = await rig.run('verify', '--stack', STACK, '--json');
  const error = JSON.parse(stdout) as { error: string; fix: string; exitCode: number };
  expect(error.error).toContain('AWS refused cloudformation:GetTemplate');
  expect(error.fix).toContain('allow cloudformation:GetTemplate');
  expect(error.exitCode).toBe(EXIT.ACCESS);
  expect(code).toBe(EXIT.ACCESS);
});

test('no AWS credentials: exit 4 with how to give them', async () => {
  const saved = { ...process.env };
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE', 'AWS_SESSION_TOKEN']) delete process.env[k];
  Object.assign(process.env, { AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials', AWS_CONFIG_FILE: '/nonexistent/config' });
  try {
    const { code, stderr } = await rig.run('verify', '--stack', STACK);
    expect(stderr).toContain('no AWS credentials while reading the template of stack "TwilioMessagingExample"');
    expect(stderr).toContain('fix: give the tool credentials as the AWS CLI takes them');
    expect(code).toBe(EXIT.ACCESS);
  } finally {
    process.env = saved;
  }
});

test('usage errors: exit 2', async () => {
  expect((await rig.run('frobnicate')).code).toBe(EXIT.USAGE);
  expect((await rig.run('verify', '--stack', STACK, '--send-test', '555-0100')).stderr).toContain('--send-test "555-0100": not an E.164 number');
  expect((await rig.run('verify', '--stacks', STACK)).code).toBe(EXIT.USAGE);
  const { code, stderr } = await rig.run('verify');
  expect(stderr).toContain('without --stack this command needs --secret-arn, --topic-arn, --inbound-url');
  expect(code).toBe(EXIT.USAGE);
});

test('--help documents the exit codes', async () => {
  const { code, stdout } = await rig.run('--help');
  for (const [n, what] of Object.entries({ 0: 'every check passed', 1: 'a check failed', 2: 'the command line is wrong', 3: 'not found', 4: 'no AWS credentials', 5: 'could not be reached' })) expect(stdout).toMatch(new RegExp(`^ {2}${n} {2}.*${what}`, 'm'));
  expect(code).toBe(0);
});

test('without --stack, a Messaging Service: its inbound webhook is read from the messaging host and must be the InboundUrl', async () => {
  const sid = `MG${'c'.repeat(32)}`;
  const args = ['verify', '--secret-arn', rig.p.secretArn, '--topic-arn', rig.p.topicArn, '--inbound-url', rig.record.inboundUrl, '--messaging-service-sid', sid];
  rig.p.twilio.addMessagingService({ sid, friendlyName: 'On-call pages', inboundRequestUrl: 'https://old-app.example.com/sms' });
  const wrong = await rig.run(...args);
  expect(line(wrong.stdout, 'inbound webhook')).toContain(`FAIL  inbound webhook ${sid}: posts to https://old-app.example.com/sms, not ${rig.record.inboundUrl}`);
  expect(fixAfter(wrong.stdout, 'inbound webhook')).toContain(`curl -X POST ${rig.p.twilio.url}/v1/Services/${sid} -u "${rig.p.accountSid}:$TWILIO_AUTH_TOKEN" --data-urlencode "InboundRequestUrl=${rig.record.inboundUrl}" -d InboundMethod=POST`);
  expect(wrong.code).toBe(EXIT.CHECK_FAILED);
  expect(rig.p.twilio.requests.some((r) => r.method === 'GET' && r.path === `/v1/Services/${sid}`)).toBe(true);

  rig.p.twilio.addMessagingService({ sid, inboundRequestUrl: rig.record.inboundUrl });
  const right = await rig.run(...args);
  expect(line(right.stdout, 'inbound webhook')).toContain(`ok    inbound webhook ${sid}: ${rig.record.inboundUrl} (POST)`);
  expect(right.stdout).toContain('verify: the names given on the command line');
  expect(right.code).toBe(EXIT.OK);

  // A service that defers to its numbers' own webhooks: each number of its pool is checked.
  rig.p.twilio.addMessagingService({ sid, inboundRequestUrl: null, useInboundWebhookOnNumber: true, phoneNumbers: [NUMBERS.smsFrom] });
  rig.p.twilio.addIncomingNumber({ phoneNumber: NUMBERS.smsFrom, smsUrl: null });
  const pooled = await rig.run(...args);
  expect(line(pooled.stdout, 'inbound webhook')).toContain('FAIL  inbound webhook +1555***0100: has no messaging webhook');
  expect(pooled.code).toBe(EXIT.CHECK_FAILED);
});

test('on a terminal the test page\'s progress is one line redrawn in place, cleared at the end', async () => {
  const { code, stderr } = await rig.runInteractive('verify', '--stack', STACK, '--send-test', NUMBERS.backupSms);
  expect(stderr).not.toContain('\n');
  const frames = stderr.split('\r\x1b[2K').filter((f) => f !== '');
  expect(frames[0]).toMatch(/^ {2}… {5}test page: published; waiting for the sender \(\d+ s\)$/);
  expect(frames.at(-1)).toMatch(/^ {2}… {5}test page: Twilio: delivered \(\d+ s\)$/);
  expect(stderr.endsWith('\r\x1b[2K')).toBe(true);
  expect(code).toBe(EXIT.OK);
});

test('a suspended account fails the credentials check', async () => {
  rig.p.twilio.setAccountStatus('suspended');
  try {
    const { code, stdout } = await rig.run('verify', '--stack', STACK);
    expect(line(stdout, 'credentials')).toContain(`FAIL  credentials: account ${rig.p.accountSid} is suspended`);
    expect(fixAfter(stdout, 'credentials')).toContain('reactivate the account in the Twilio Console');
    expect(code).toBe(EXIT.CHECK_FAILED);
  } finally {
    rig.p.twilio.setAccountStatus('active');
  }
});

test('a number whose messages go to a TwiML app fails: the app answers instead of the webhook', async () => {
  rig.p.twilio.addIncomingNumber({ phoneNumber: NUMBERS.smsFrom, smsUrl: rig.record.inboundUrl, smsApplicationSid: `AP${'d'.repeat(32)}` });
  const { code, stdout } = await rig.run('verify', '--stack', STACK);
  expect(line(stdout, 'inbound webhook')).toContain(`messages go to TwiML app AP${'d'.repeat(32)}, not to a webhook URL`);
  expect(fixAfter(stdout, 'inbound webhook')).toContain('-d SmsApplicationSid=');
  expect(code).toBe(EXIT.CHECK_FAILED);
});

test('a topic policy without CloudWatch, and a topic under the AWS-managed key, fail with their fixes', async () => {
  const attributes = { Policy: JSON.stringify({ Version: '2012-10-17', Statement: [] }), KmsMasterKeyId: 'alias/aws/sns' };
  rig.p.sns.setTopicAttributes(rig.p.topicArn, attributes);
  try {
    const { code, stdout } = await rig.run('verify', '--stack', STACK);
    expect(line(stdout, 'topic policy')).toContain(`FAIL  topic policy: no statement lets cloudwatch.amazonaws.com sns:Publish to ${rig.p.topicArn}`);
    expect(fixAfter(stdout, 'topic policy')).toContain(`aws sns set-topic-attributes --topic-arn ${rig.p.topicArn} --attribute-name Policy`);
    expect(line(stdout, 'topic key')).toContain('the AWS-managed key alias/aws/sns, which CloudWatch cannot use');
    expect(code).toBe(EXIT.CHECK_FAILED);
  } finally {
    const topic = rig.template.Resources[rig.deployed.logicalIds('AWS::SNS::Topic').find((id) => id.startsWith('AlertsTopic'))!];
    const policy = Object.values(rig.template.Resources).find((r) => r.Type === 'AWS::SNS::TopicPolicy' && JSON.stringify(r.Properties?.Topics).includes('AlertsTopic'))!;
    rig.p.sns.setTopicAttributes(rig.p.topicArn, { Policy: JSON.stringify(rig.deployed.resolve(policy.Properties!.PolicyDocument)), KmsMasterKeyId: String(rig.deployed.resolve(topic.Properties!.KmsMasterKeyId)) });
  }
});

test('a stack with two constructs: which one must be named, and --construct names it', async () => {
  const app = new App();
  const stack = new Stack(app, 'TwoPagers');
  new TwilioMessaging(stack, 'Payments', CONSTRUCT_PROPS);
  new TwilioMessaging(stack, 'Search', CONSTRUCT_PROPS);
  rig.cfn.deploy('TwoPagers', Template.fromStack(stack).toJSON() as CfnTemplate, { refs: {} });
  const ambiguous = await rig.run('incidents', '--stack', 'TwoPagers');
  expect(ambiguous.stderr).toContain('stack "TwoPagers" holds 2 TwilioMessaging constructs: TwoPagers/Payments, TwoPagers/Search');
  expect(ambiguous.stderr).toContain('fix: pass --construct with one of: TwoPagers/Payments, TwoPagers/Search');
  expect(ambiguous.code).toBe(EXIT.USAGE);
  const wrong = await rig.run('incidents', '--stack', 'TwoPagers', '--construct', 'TwoPagers/Billing');
  expect(wrong.code).toBe(EXIT.NOT_FOUND);
  // The named one's table is read: a made-up one here, which the fake DynamoDB does not have.
  const named = await rig.run('incidents', '--stack', 'TwoPagers', '--construct', 'TwoPagers/Search', '--json');
  expect(JSON.parse(named.stdout)).toMatchObject({ error: expect.stringMatching(/^not found while querying the index byParent of the status table SearchTable[0-9A-F]{8}-/), exitCode: EXIT.NOT_FOUND });
  expect(named.code).toBe(EXIT.NOT_FOUND);
});

describe('a WhatsApp sender without a Messaging Service: its webhook in the WhatsApp Senders API must be the InboundUrl', () => {
  const WHATSAPP = 'whatsapp:+15550101200';
  const explicit = () => ['verify', '--secret-arn', rig.p.secretArn, '--topic-arn', rig.p.topicArn, '--inbound-url', rig.record.inboundUrl, '--whatsapp-from', WHATSAPP];
  const name = 'inbound webhook whatsapp:+1555***1200';

  test('a wrong URL fails with the exact update of the sender; the right one passes', async () => {
    const sid = rig.p.twilio.addWhatsAppSender({ senderId: WHATSAPP, callbackUrl: 'https://old-app.example.com/whatsapp' });
    const wrong = await rig.run(...explicit());
    expect(line(wrong.stdout, name)).toContain(`FAIL  ${name}: posts to https://old-app.example.com/whatsapp, not ${rig.record.inboundUrl}`);
    expect(fixAfter(wrong.stdout, name)).toBe(
      `fix: set the sender's "Webhook URL for incoming messages" to ${rig.record.inboundUrl}, HTTP POST (Twilio Console → Messaging → Senders → WhatsApp senders → ${WHATSAPP}), or: ` +
        `curl -X POST ${rig.p.twilio.url}/v2/Channels/Senders/${sid} -u "${rig.p.accountSid}:$TWILIO_AUTH_TOKEN" -H "Content-Type: application/json" --data '{"webhook":{"callback_url":"${rig.record.inboundUrl}","callback_method":"POST"}}'`,
    );
    expect(wrong.code).toBe(EXIT.CHECK_FAILED);
    expect(rig.p.twilio.requests.some((r) => r.method === 'GET' && r.path === '/v2/Channels/Senders' && r.query.some(([k, v]) => k === 'Channel' && v === 'whatsapp'))).toBe(true);

    rig.p.twilio.addWhatsAppSender({ senderId: WHATSAPP, callbackUrl: rig.record.inboundUrl });
    const right = await rig.run(...explicit());
    expect(line(right.stdout, name)).toContain(`ok    ${name}: ${rig.record.inboundUrl} (POST)`);
    expect(right.code).toBe(EXIT.OK);
  });

  test('no webhook, and the right URL called with PUT, fail with the same fix', async () => {
    rig.p.twilio.addWhatsAppSender({ senderId: WHATSAPP, callbackUrl: null });
    const none = await rig.run(...explicit());
    expect(line(none.stdout, name)).toContain(`FAIL  ${name}: has no inbound webhook: Twilio drops replies`);
    expect(fixAfter(none.stdout, name)).toContain(`"callback_url":"${rig.record.inboundUrl}","callback_method":"POST"`);
    rig.p.twilio.addWhatsAppSender({ senderId: WHATSAPP, callbackUrl: rig.record.inboundUrl, callbackMethod: 'PUT' });
    const put = await rig.run(...explicit());
    expect(line(put.stdout, name)).toContain(`FAIL  ${name}: calls ${rig.record.inboundUrl} with PUT, not POST`);
    expect(put.code).toBe(EXIT.CHECK_FAILED);
  });

  test('a sender the account does not have fails naming whatsappFrom; one on a later page of the list is found', async () => {
    const stranger = 'whatsapp:+15550109999';
    const missing = await rig.run('verify', '--secret-arn', rig.p.secretArn, '--topic-arn', rig.p.topicArn, '--inbound-url', rig.record.inboundUrl, '--whatsapp-from', stranger);
    expect(line(missing.stdout, 'inbound webhook whatsapp:')).toContain(`FAIL  inbound webhook whatsapp:+1555***9999: whatsapp:+1555***9999 is not a WhatsApp sender of account ${rig.p.accountSid}`);
    expect(fixAfter(missing.stdout, 'inbound webhook whatsapp:')).toContain('set the construct\'s "whatsappFrom" to a WhatsApp sender of this account');
    expect(missing.code).toBe(EXIT.CHECK_FAILED);

    // A thousand senders listed before it: the second page of Twilio's list holds it.
    for (let i = 0; i < 1000; i++) rig.p.twilio.addWhatsAppSender({ senderId: `whatsapp:+1555020${String(i).padStart(4, '0')}`, callbackUrl: null });
    rig.p.twilio.addWhatsAppSender({ senderId: stranger, callbackUrl: rig.record.inboundUrl });
    const paged = await rig.run('verify', '--secret-arn', rig.p.secretArn, '--topic-arn', rig.p.topicArn, '--inbound-url', rig.record.inboundUrl, '--whatsapp-from', stranger);
    expect(line(paged.stdout, 'inbound webhook whatsapp:')).toContain(`ok    inbound webhook whatsapp:+1555***9999: ${rig.record.inboundUrl} (POST)`);
    expect(rig.p.twilio.requests.filter((r) => r.path === '/v2/Channels/Senders' && r.query.some(([k, v]) => k === 'Page' && v === '1'))).toHaveLength(1);
  });

  test('from the stack: a construct with an SMS number and a WhatsApp sender has both webhooks checked', async () => {
    const app = new App();
    const stack = new Stack(app, 'BothChannels');
    new TwilioMessaging(stack, 'Alerts', { ...CONSTRUCT_PROPS, whatsappFrom: WHATSAPP });
    const template = Template.fromStack(stack).toJSON() as CfnTemplate;
    // Deployed onto the rig's secret and topic, as the rig's own stack is.
    const idOf = (type: string, prefix: string) => Object.keys(template.Resources).find((id) => template.Resources[id].Type === type && id.startsWith(prefix))!;
    rig.cfn.deploy('BothChannels', template, { refs: { [idOf('AWS::SecretsManager::Secret', 'AlertsSecret')]: rig.p.secretArn, [idOf('AWS::SNS::Topic', 'AlertsTopic')]: rig.p.topicArn } });
    rig.p.twilio.addWhatsAppSender({ senderId: WHATSAPP, callbackUrl: 'https://old-app.example.com/whatsapp' });
    const { code, stdout } = await rig.run('verify', '--stack', 'BothChannels', '--json');
    const report = JSON.parse(stdout) as { checks: Array<{ name: string; status: string; detail: string }> };
    // The number still points at the rig's own stack (another API): each webhook judged against this stack's InboundUrl.
    expect(report.checks.filter((c) => c.name.startsWith('inbound webhook')).map((c) => `${c.name}:${c.status}`)).toEqual(['inbound webhook +1555***0100:fail', `${name}:fail`]);
    expect(report.checks.find((c) => c.name === name)!.detail).toMatch(/^posts to https:\/\/old-app\.example\.com\/whatsapp, not https:\/\//);
    expect(code).toBe(EXIT.CHECK_FAILED);
  });
});
