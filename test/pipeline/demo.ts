/**
 * `npm run demo`: the whole pipeline on this machine, no AWS account and no
 * Twilio account. Publishes a CloudWatch alarm and a JSON envelope, lets the
 * (fake) Twilio deliver them and post signed status callbacks, replies ACK
 * from the on-call phone, then prints each message's timeline as read back
 * from the status table. Exits non-zero when something did not arrive.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { maskAddress } from '../../lambda/shared/mask';
import { formatTally, LocalPipeline, NUMBERS, startLocalPipeline } from './local-pipeline';

const UNDELIVERABLE = '+15550101007'; // the fake network reports numbers ending in 7 unreachable (30003)

type Item = Record<string, unknown> & { history?: Array<{ status: string; at: string; source: string; errorCode?: string }> };

const ms = (from: number, at: string | undefined) => (at ? `+${String(Date.parse(at) - from).padStart(5)} ms` : '        ');
const channelOf = (to: string) => (to.startsWith('whatsapp:') ? 'WhatsApp' : 'SMS');

/** `phoneText`: what the (simulated) phone shows, from Twilio's side; the table keeps only a preview. */
function timeline(message: Item, claim: Item | undefined, t0: number, phoneText: string | undefined): string[] {
  const lines: string[] = [];
  const to = String(message.to);
  const what = message.alarmName ? `alarm ${message.alarmName}` : 'envelope';
  lines.push(`${String(message.id).slice(0, 10)}…  ${channelOf(to).padEnd(8)} → ${maskAddress(to).padEnd(22)} ${what}`);
  for (const line of (phoneText || String(message.bodyPreview ?? '')).split('\n')) lines.push(`    │ ${line}`);
  const rows: Array<[string | undefined, string, string]> = [];
  if (claim) rows.push([String(claim.createdAt), 'claimed', `send claim taken (attempt ${claim.attempts ?? 1})`]);
  rows.push([String(message.acceptedAt ?? message.createdAt), 'accepted by Twilio', `${message.segments ?? '?'} segment(s)`]);
  const history = [...(message.history ?? [])].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  for (const h of history) {
    rows.push([h.at, h.status, h.source === 'api' ? 'API answer' : `status callback${h.errorCode ? `, error ${h.errorCode}` : ''}`]);
  }
  if (message.acknowledgedAt) rows.push([String(message.acknowledgedAt), 'acknowledged', `ACK from ${maskAddress(String(message.acknowledgedBy ?? ''))}`]);
  for (const [at, step, note] of rows) lines.push(`    ${ms(t0, at)}  ${step.padEnd(19)} ${note}`);
  lines.push(`    final: ${message.status}${message.errorCode ? ` (error ${message.errorCode})` : ''}`);
  return lines;
}

async function main(): Promise<number> {
  const started = Date.now();
  process.stdout.write('cdk-twilio-messaging local demo: no AWS account, no Twilio account\n');
  process.stdout.write('  SNS → SQS → sender → (fake) Twilio → signed callbacks → API Gateway → status-callback → DynamoDB\n\n');
  let pipeline: LocalPipeline | undefined;
  try {
    pipeline = await startLocalPipeline({
      seed: 2026,
      logLevel: 'WARN',
      senderConfig: { allowedRecipients: [NUMBERS.backupSms, UNDELIVERABLE] },
      callbacks: { delayMs: [20, 120] },
    });
    const p = pipeline;
    const t0 = Date.now();
    const alarmId = p.publishAlarm({ AlarmName: 'db-1-cpu-high' });
    const envelope = { body: 'Disk 91% on db-1: cleanup job started', to: [NUMBERS.backupSms, UNDELIVERABLE, NUMBERS.onCallWhatsapp] };
    const envelopeId = p.publish(envelope, { recipients: envelope.to, marker: 'Disk 91% on db-1' });
    process.stdout.write(`published  CloudWatch alarm "db-1-cpu-high" (ALARM)  → ${p.senderConfig.defaultRecipients.map(maskAddress).join(', ')}\n`);
    process.stdout.write(`published  JSON envelope "${envelope.body}"  → ${envelope.to.map(maskAddress).join(', ')}\n`);
    await p.settle(30_000);

    const ack = await p.reply(NUMBERS.onCallSms, 'ACK');
    process.stdout.write(`replied    ACK from ${maskAddress(NUMBERS.onCallSms)} → inbound webhook answered ${ack.status}\n\n`);

    const items = (await p.scanTable()) as Item[];
    const claims = new Map(items.filter((i) => i.kind === 'claim').map((c) => [String(c.messageSid), c]));
    const messages = items.filter((i) => i.kind === 'message' && i.direction !== 'inbound');
    const order = (m: Item) => (m.notificationId === alarmId ? 0 : 1);
    messages.sort((a, b) => order(a) - order(b) || String(a.to).localeCompare(String(b.to)));
    for (const m of messages) process.stdout.write(`${timeline(m, claims.get(String(m.id)), t0, p.twilio.messages.get(String(m.id))?.body).join('\n')}\n\n`);
    for (const i of items.filter((x) => x.direction === 'inbound')) {
      process.stdout.write(`${String(i.id).slice(0, 10)}…  inbound  ← ${maskAddress(String(i.from))}  "${i.body}"  ${ms(t0, String(i.receivedAt))}\n`);
    }
    const published = p.sns.published.length;
    process.stdout.write(`inbound topic: ${published} event(s) published for subscribers\n\n`);

    // What must have happened: every recipient's message recorded with the status Twilio reported last, and the ACK.
    const tally = await p.tally();
    const problems: string[] = [];
    for (const o of tally.outcomes) if (o.outcome !== 'sent') problems.push(`${maskAddress(o.recipient)}: ${o.outcome}`);
    for (const [sid, fate] of p.callbacks.fates) {
      const m = items.find((i) => i.id === sid);
      if (m?.status !== fate.final) problems.push(`${sid}: status ${m?.status ?? 'missing'}, Twilio reported ${fate.final}`);
    }
    const alarmToSms = messages.find((m) => m.notificationId === alarmId && m.to === NUMBERS.onCallSms);
    if (!alarmToSms?.acknowledgedAt) problems.push('the alarm was not marked acknowledged');
    if (ack.status !== 200) problems.push(`the inbound webhook answered ${ack.status}`);
    if (!envelopeId) problems.push('the envelope was not published');
    if (p.leaks.length > 0) problems.push(`${p.leaks.length} log line(s) showed a secret or an unmasked number`);

    process.stdout.write(`tally: ${formatTally(tally)}\n`);
    process.stdout.write(`metrics: ${[...p.metrics].map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
    process.stdout.write(`done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    if (problems.length > 0) {
      process.stderr.write(`\nDEMO FAILED:\n  ${problems.join('\n  ')}\n\nlast handler logs:\n  ${p.recentLogs.slice(-30).join('\n  ')}\n`);
      return 1;
    }
    return 0;
  } finally {
    await pipeline?.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
