/**
 * The README's "Check your setup" samples: the commands it shows, run against
 * the local fakes (rig.ts). `npx tsx test/cli/readme-sample.ts` prints them
 * to paste; readme-sample.test.ts checks that the README still shows what
 * they print.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NUMBERS, until } from '../pipeline/local-pipeline';
import { CliRig, STACK, startCliRig } from './rig';

/** The WhatsApp sender of the sample without --stack. */
const WHATSAPP_SENDER = 'whatsapp:+15550101200';

export interface Samples {
  /** Fenced blocks, in the README's order: a good setup, two broken ones, a WhatsApp sender's webhook, status and incidents. */
  readonly blocks: readonly string[];
}

/** A command as the README shows it, its stdout after it; stderr too when it has more than the progress a terminal redraws in place. */
async function shown(rig: CliRig, args: string[]): Promise<string> {
  const { stdout, stderr } = await rig.run(...args);
  const errors = stderr.split('\n').filter((l) => l !== '' && !l.includes('test page: '));
  return [`$ npx cdk-twilio-messaging ${args.join(' ')}`, stdout.trimEnd(), ...errors].join('\n');
}

export async function runSamples(): Promise<Samples> {
  const rig = await startCliRig();
  try {
    const good = await shown(rig, ['verify', '--stack', STACK, '--send-test', NUMBERS.backupSms]);
    rig.p.setSecret('placeholder');
    const placeholder = await shown(rig, ['verify', '--stack', STACK]);
    rig.p.setSecret('real');
    rig.p.twilio.addIncomingNumber({ phoneNumber: NUMBERS.smsFrom, smsUrl: 'https://old-app.example.com/sms', smsMethod: 'POST' });
    const webhook = await shown(rig, ['verify', '--stack', STACK]);
    rig.p.twilio.addIncomingNumber({ phoneNumber: NUMBERS.smsFrom, smsUrl: rig.record.inboundUrl, smsMethod: 'POST' });
    // A WhatsApp sender registered without a webhook, checked with the names given (no --stack).
    rig.p.twilio.addWhatsAppSender({ senderId: WHATSAPP_SENDER, callbackUrl: null });
    const whatsapp = await shown(rig, ['verify', '--secret-arn', rig.p.secretArn, '--topic-arn', rig.p.topicArn, '--key-arn', rig.record.encryptionKeyArn, '--inbound-url', rig.record.inboundUrl, '--whatsapp-from', WHATSAPP_SENDER]);

    rig.p.publishAlarm({ AlarmName: 'db-1-cpu-high' }, false);
    const page = await until('the page', () => rig.p.sentTo(NUMBERS.onCallSms, 'db-1-cpu-high')[0], 20_000);
    await until('the page delivered', async () => (await rig.p.item(page.sid))?.status === 'delivered', 10_000);
    const code = /ACK ([A-Z0-9]+)$/.exec(page.body)![1];
    const before = await shown(rig, ['incidents', '--stack', STACK]);
    await rig.p.reply(NUMBERS.onCallSms, `ACK ${code}`);
    await rig.p.settle(10_000);
    const status = await shown(rig, ['status', code, '--stack', STACK]);
    const after = await shown(rig, ['incidents', '--stack', STACK]);
    return { blocks: [good, `${placeholder}\n\n${webhook}`, whatsapp, `${before}\n\n${status}\n\n${after}`] };
  } finally {
    await rig.close();
  }
}

const README = join(__dirname, '..', '..', 'README.md');

/** The fenced blocks of the README's "Check your setup" that show commands. */
export function readmeBlocks(readme: string = readFileSync(README, 'utf8')): string[] {
  const section = readme.slice(readme.indexOf('## Check your setup'), readme.indexOf('\n## ', readme.indexOf('## Check your setup') + 1));
  return section
    .split(/^```.*$/m)
    .filter((_, i) => i % 2 === 1)
    .map((b) => b.replace(/^\n/, '').replace(/\n$/, ''))
    .filter((b) => b.startsWith('$ npx cdk-twilio-messaging'));
}

/**
 * A line with what differs from run to run made alike: ids, SIDs, keys, the
 * API id, ports, the incident code, times and the padding around numbers.
 */
export function comparable(line: string): string {
  return line
    .replace(/\b(SM|MM|PN|AC|SK|XE)[0-9a-f]{32}\b/g, '$1…')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
    .replace(/https:\/\/[0-9a-z]{10}\.execute-api\./g, 'https://<api>.execute-api.')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>')
    .replace(/\b(code|ACK|status) [A-Z0-9]{1,4}\b/g, '$1 <code>')
    .replace(/\(([A-Z0-9]{1,4})\)/g, '(<code>)')
    .replace(/^( {2})[A-Z0-9]{1,4}( +)(open|acknowledged)/, '$1<code>$2$3')
    .replace(/\d+/g, '0')
    .replace(/ +/g, ' ')
    .trimEnd();
}

if (require.main === module) {
  runSamples().then(
    ({ blocks }) => {
      for (const b of blocks) process.stdout.write(`\`\`\`\n${b}\n\`\`\`\n\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
