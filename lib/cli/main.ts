import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { recipientProblem } from '../contract';
import { Check, skip } from './check';
import { checkSecret } from './check-secret';
import { checkTopic } from './check-topic';
import { checkCredentials, checkInboundWebhook } from './check-twilio';
import { checkWhatsAppWebhook } from './check-whatsapp';
import { Deployment, explicitDeployment, ExplicitNames, locateInStack } from './deployment';
import { CliError, EXIT } from './errors';
import { liveIncidents, renderIncidents } from './incidents';
import { findPage, renderPage } from './page-status';
import { sendTestPage } from './send-test';
import { StatusTable } from './table';
import { DEFAULT_TWILIO_URLS, TwilioBaseUrls } from './twilio';

export const HELP = `cdk-twilio-messaging: check and follow a TwilioMessaging deployment

usage:
  cdk-twilio-messaging verify --stack <name> [--construct <path>] [--send-test <recipient>] [--timeout <seconds>]
  cdk-twilio-messaging status <message SID | notification id | incident code | alarm name> --stack <name>
  cdk-twilio-messaging incidents --stack <name>

commands:
  verify      the secret is filled in and Twilio accepts its credentials (GET Accounts/{Sid}.json);
              the sending number's (or Messaging Service's) inbound webhook, and the WhatsApp
              sender's (Senders API) without a Messaging Service, is exactly the
              InboundUrl with POST; the topic policy and the topic's KMS key let CloudWatch
              publish. --send-test <recipient> also publishes a test page to that allowed
              recipient and follows it in the status table until Twilio reports it delivered
              (--timeout seconds, default 120). Every failed check prints its fix.
  status      the timeline of a page, read from the status table: an incident's events,
              its pages' status callbacks and the reply that acknowledged it; or a message's
              or a notification's recipients. Every recipient's fate, sends that never got a
              SID included (failed, unknown: with the error code and reason), from one Query
              of the table's byParent index.
  incidents   the live incidents (open or acknowledged, not resolved): who was paged, who
              acknowledged. One Query of the byParent index (the live pointers), never a Scan.

finding the deployment:
  --stack <name>         the CloudFormation stack holding the construct (its resources are read
                         from the construct's "cdk-twilio-messaging" metadata on the sender function)
  --construct <path>     which construct, when the stack holds several (e.g. MyStack/Alerts)
  --region <region>      the stack's region (default: AWS_REGION / the AWS profile's)
  or, without --stack:   --secret-arn, --topic-arn, --table, --inbound-url, --from and/or
                         --whatsapp-from, or --messaging-service-sid, --key-arn, --status-callback-url,
                         --recipient <address> (repeatable; the addresses status may look up)

output:
  --json                 one JSON document on stdout (errors too: {"error","fix","exitCode"})
  --help                 this text

Twilio endpoints (for tests): --twilio-api-url (default ${DEFAULT_TWILIO_URLS.api}, or
TWILIO_API_BASE_URL), --twilio-messaging-url (default ${DEFAULT_TWILIO_URLS.messaging}, or
TWILIO_MESSAGING_API_BASE_URL). AWS endpoints: the AWS SDK's AWS_ENDPOINT_URL_<SERVICE>.

exit codes:
  0  every check passed (status, incidents: found and shown)
  1  verify: a check failed (its fix is printed)
  2  the command line is wrong
  3  not found: the stack, the construct in it, a resource they name, or the page asked about
  4  no AWS credentials or region, or a permission below is missing
  5  AWS or Twilio could not be reached or failed: nothing was decided, run it again

AWS permissions: cloudformation:GetTemplate and cloudformation:DescribeStackResource (--stack);
verify: secretsmanager:GetSecretValue, sns:GetTopicAttributes, kms:GetKeyPolicy; --send-test:
sns:Publish with kms:GenerateDataKey* on the topic key, dynamodb:GetItem; status: dynamodb:GetItem,
dynamodb:BatchGetItem, dynamodb:Query on the table's index byParent; incidents: dynamodb:Query on
that index, dynamodb:BatchGetItem (the construct's grantReadStatus gives all of them).
`;

/** Where the tool writes, and what it knows of its terminal: tests pass their own. */
export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** stderr is a terminal: the test page's progress is redrawn in place. */
  readonly interactive: boolean;
  readonly env: NodeJS.ProcessEnv;
  /** Milliseconds between the test page's status reads (default 1000). */
  readonly pollMs?: number;
}

interface Clients {
  readonly cfn: () => CloudFormationClient;
  readonly db: () => DynamoDBClient;
  readonly secrets: () => SecretsManagerClient;
  readonly sns: () => SNSClient;
  readonly kms: () => KMSClient;
}

const OPTIONS = {
  stack: { type: 'string' },
  construct: { type: 'string' },
  region: { type: 'string' },
  'topic-arn': { type: 'string' },
  'inbound-topic-arn': { type: 'string' },
  'key-arn': { type: 'string' },
  'secret-arn': { type: 'string' },
  table: { type: 'string' },
  'inbound-url': { type: 'string' },
  'status-callback-url': { type: 'string' },
  from: { type: 'string' },
  'messaging-service-sid': { type: 'string' },
  'whatsapp-from': { type: 'string' },
  recipient: { type: 'string', multiple: true },
  'send-test': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'twilio-api-url': { type: 'string' },
  'twilio-messaging-url': { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>['values'];

/** Runs one command; resolves with the exit code. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  let json = argv.includes('--json');
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
    } catch (err) {
      throw new CliError((err as Error).message, EXIT.USAGE, 'see `cdk-twilio-messaging --help`');
    }
    const { values, positionals } = parsed;
    json = values.json === true;
    const [command, ...rest] = positionals;
    if (values.help || command === 'help') {
      io.stdout(HELP);
      return EXIT.OK;
    }
    if (command === undefined) throw new CliError('no command given', EXIT.USAGE, 'run `cdk-twilio-messaging verify --stack <name>`, or see `cdk-twilio-messaging --help`');
    const region = values.region;
    const config = region ? { region } : {};
    const lazy = <T>(make: () => T) => {
      let client: T | undefined;
      return () => (client ??= make());
    };
    const clients: Clients = {
      cfn: lazy(() => new CloudFormationClient(config)),
      db: lazy(() => new DynamoDBClient(config)),
      secrets: lazy(() => new SecretsManagerClient(config)),
      sns: lazy(() => new SNSClient(config)),
      kms: lazy(() => new KMSClient(config)),
    };
    switch (command) {
      case 'verify':
        noMore(command, rest);
        return await verify(values, clients, io, json);
      case 'status':
        if (rest.length !== 1) throw new CliError(`status takes one name (a message SID, notification id, incident code or alarm name), got ${rest.length}`, EXIT.USAGE, 'e.g. `cdk-twilio-messaging status SM0123… --stack MyStack`');
        return await status(rest[0], values, clients, io, json);
      case 'incidents':
        noMore(command, rest);
        return await incidents(values, clients, io, json);
      default:
        throw new CliError(`unknown command "${command}"`, EXIT.USAGE, 'the commands are verify, status and incidents (`cdk-twilio-messaging --help`)');
    }
  } catch (err) {
    const e = err instanceof CliError ? err : new CliError(`unexpected failure: ${(err as Error)?.stack ?? String(err)}`, EXIT.UNAVAILABLE, 'run the command again; if it keeps failing, report it with this output');
    if (json) io.stdout(`${JSON.stringify({ error: e.message, ...(e.fix ? { fix: e.fix } : {}), exitCode: e.exitCode })}\n`);
    else io.stderr(`cdk-twilio-messaging: ${e.message}\n${e.fix ? `  fix: ${e.fix}\n` : ''}`);
    return e.exitCode;
  }
}

function noMore(command: string, rest: readonly string[]): void {
  if (rest.length > 0) throw new CliError(`${command} takes no argument "${rest[0]}"`, EXIT.USAGE, 'see `cdk-twilio-messaging --help`');
}

function explicitNames(v: Values): ExplicitNames {
  return {
    ...(v['topic-arn'] ? { topicArn: v['topic-arn'] } : {}),
    ...(v['inbound-topic-arn'] ? { inboundTopicArn: v['inbound-topic-arn'] } : {}),
    ...(v['key-arn'] ? { keyArn: v['key-arn'] } : {}),
    ...(v['secret-arn'] ? { secretArn: v['secret-arn'] } : {}),
    ...(v.table ? { tableName: v.table } : {}),
    ...(v['inbound-url'] ? { inboundUrl: v['inbound-url'] } : {}),
    ...(v['status-callback-url'] ? { statusCallbackUrl: v['status-callback-url'] } : {}),
    ...(v.from ? { from: v.from } : {}),
    ...(v['messaging-service-sid'] ? { messagingServiceSid: v['messaging-service-sid'] } : {}),
    ...(v['whatsapp-from'] ? { whatsappFrom: v['whatsapp-from'] } : {}),
    ...(v.recipient ? { recipients: v.recipient } : {}),
  };
}

async function deployment(v: Values, clients: Clients, needed: ReadonlyArray<keyof ExplicitNames>): Promise<Deployment> {
  if (v.stack !== undefined) return locateInStack(clients.cfn(), v.stack, v.construct);
  if (v.construct !== undefined) throw new CliError('--construct needs --stack', EXIT.USAGE, 'pass --stack <name> too');
  return explicitDeployment(explicitNames(v), needed);
}

function twilioUrls(v: Values, env: NodeJS.ProcessEnv): TwilioBaseUrls {
  return {
    api: v['twilio-api-url'] ?? (env.TWILIO_API_BASE_URL || DEFAULT_TWILIO_URLS.api),
    messaging: v['twilio-messaging-url'] ?? (env.TWILIO_MESSAGING_API_BASE_URL || DEFAULT_TWILIO_URLS.messaging),
  };
}

const MARK = { pass: 'ok  ', fail: 'FAIL', skip: 'skip' } as const;

function printCheck(io: Io, c: Check): void {
  io.stdout(`  ${MARK[c.status]}  ${c.name}: ${c.detail}\n${c.fix ? `        fix: ${c.fix}\n` : ''}`);
}

async function verify(v: Values, clients: Clients, io: Io, json: boolean): Promise<number> {
  const recipient = v['send-test'];
  if (recipient !== undefined) {
    const problem = recipientProblem(recipient);
    if (problem) throw new CliError(`--send-test ${JSON.stringify(recipient)}: ${problem}`, EXIT.USAGE, 'name an allowed recipient, e.g. --send-test +15551234567');
  }
  const timeoutSeconds = v.timeout === undefined ? 120 : Number(v.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > 3600) throw new CliError(`--timeout ${JSON.stringify(v.timeout)} is not a number of seconds from 1 to 3600`, EXIT.USAGE, 'e.g. --timeout 300');
  const d = await deployment(v, clients, ['secretArn', 'topicArn', 'inboundUrl', ...(recipient ? (['tableName'] as const) : [])]);
  const r = d.record;
  if (!json) io.stdout(`cdk-twilio-messaging verify: ${d.source}\n`);
  const checks: Check[] = [];
  const add = (c: Check) => {
    checks.push(c);
    if (!json) printCheck(io, c);
  };
  const urls = twilioUrls(v, io.env);

  const secret = await checkSecret(clients.secrets(), r.secretArn);
  add(secret.check);
  let twilioOk = false;
  if (secret.credentials) {
    const credentials = await checkCredentials(urls, secret.credentials, r.secretArn);
    add(credentials);
    if (credentials.status === 'pass') {
      if (r.from || r.messagingServiceSid) for (const c of await checkInboundWebhook(urls, secret.credentials, r)) add(c);
      // With a Messaging Service its webhook (checked above) takes WhatsApp replies too.
      if (r.whatsappFrom && !r.messagingServiceSid) add(await checkWhatsAppWebhook(urls, secret.credentials, r));
      if (!r.from && !r.messagingServiceSid && !r.whatsappFrom) add(skip('inbound webhook', 'no --from, --whatsapp-from or --messaging-service-sid given: not checked'));
      twilioOk = true;
    } else add(skip('inbound webhook', 'not checked: Twilio refused the credentials'));
  } else {
    add(skip('credentials', 'not checked: the secret is not filled in'));
    add(skip('inbound webhook', 'not checked: the secret is not filled in'));
  }
  for (const c of await checkTopic(clients.sns(), clients.kms(), r.topicArn, r.encryptionKeyArn)) add(c);

  if (recipient !== undefined) {
    if (!twilioOk) add(skip(`test page`, 'not sent: the sender cannot send until the secret and credentials checks pass'));
    else {
      let last = '';
      const progress = (phase: string, seconds: number) => {
        if (json) return;
        if (io.interactive) io.stderr(`\r\x1b[2K  …     test page: ${phase} (${Math.round(seconds)} s)`);
        else if (phase !== last) io.stderr(`  …     test page: ${phase} (${Math.round(seconds)} s)\n`);
        last = phase;
      };
      const c = await sendTestPage(clients.sns(), clients.db(), r, { recipient, timeoutMs: timeoutSeconds * 1000, pollMs: io.pollMs ?? 1000, progress });
      if (io.interactive && !json) io.stderr('\r\x1b[2K');
      add(c);
    }
  }
  const failed = checks.filter((c) => c.status === 'fail').length;
  if (json) io.stdout(`${JSON.stringify({ command: 'verify', source: d.source, construct: r.construct, ok: failed === 0, checks }, null, 2)}\n`);
  else io.stdout(`\n${failed === 0 ? `verify: all ${checks.filter((c) => c.status === 'pass').length} checks passed` : `verify: ${failed} of ${checks.length} checks failed`}${checks.some((c) => c.status === 'skip') ? ` (${checks.filter((c) => c.status === 'skip').length} skipped)` : ''}\n`);
  return failed === 0 ? EXIT.OK : EXIT.CHECK_FAILED;
}

async function status(ref: string, v: Values, clients: Clients, io: Io, json: boolean): Promise<number> {
  const d = await deployment(v, clients, ['tableName']);
  const report = await findPage(new StatusTable(clients.db(), d.record.tableName), ref, d.record);
  if (json) io.stdout(`${JSON.stringify({ command: 'status', ref, ...report }, null, 2)}\n`);
  else io.stdout(`${renderPage(report).join('\n')}\n`);
  return EXIT.OK;
}

async function incidents(v: Values, clients: Clients, io: Io, json: boolean): Promise<number> {
  const d = await deployment(v, clients, ['tableName']);
  const live = await liveIncidents(new StatusTable(clients.db(), d.record.tableName));
  if (json) io.stdout(`${JSON.stringify({ command: 'incidents', incidents: live.map(({ page: _page, ...i }) => i) }, null, 2)}\n`);
  else io.stdout(`${renderIncidents(live, Date.now()).join('\n')}\n`);
  return EXIT.OK;
}
