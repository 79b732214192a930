/**
 * `npm run demo`: the whole pipeline on this machine, no AWS account and no
 * Twilio account. An incident escalated until someone answers (stage 1 paged,
 * nobody answers, stage 2 paged, `ACK <code>` from stage 2, the repeat not
 * sent, OK, RESOLVED to both), its timeline as read back from the status
 * table; then a threshold alarm, an EventBridge event and an alarm with a
 * Japanese name as the phones get them: the text exactly as sent, its
 * encoding and segments. Exits non-zero (DEMO FAILED) when something did not
 * happen as it should.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SenderEscalation } from '../../lib/contract';
import { maskAddress } from '../../lambda/shared/mask';
import type { FakeMessage } from '../support/fake-twilio';
import { ecsTaskStoppedEvent, japaneseAlarm, percentileAlarm } from './demo-notifications';
import { formatTally, LocalPipeline, NUMBERS, startLocalPipeline, twilioText, until } from './local-pipeline';
import { describeEncoding, smsEncoding } from './phone-view';

const FIRST = NUMBERS.onCallSms;
const SECOND = NUMBERS.backupSms;
/** Seconds, so that the demo is quick; a deployment's `escalation` prop counts minutes. */
const ESCALATION: SenderEscalation = {
  stages: [
    { recipients: [FIRST], afterSeconds: 0 },
    { recipients: [SECOND], afterSeconds: 2 },
  ],
  repeats: 1,
  repeatAfterSeconds: 2,
};
const ALARM = 'db-1-cpu-high';

type TimelineEvent = { at: string; event: string; by?: string; stage?: number; detail?: string };
type HistoryEntry = { status: string; at: string; source: string; errorCode?: string };
/** Rows at the same millisecond, in the order they happen. */
const RANK: Readonly<Record<string, number>> = { 'ALARM published': 0, opened: 1, escalated: 2, paged: 3, delivered: 4, reply: 5, acknowledged: 6, 'repeat timer due': 7, 'OK published': 8, resolved: 9, 'RESOLVED sent': 10 };

interface Row {
  readonly at: number;
  readonly step: string;
  readonly note: string;
  readonly more?: readonly string[];
}

const seconds = (from: number, at: number) => `+${((at - from) / 1000).toFixed(2).padStart(6)} s`;
const channelOf = (to: string) => (to.startsWith('whatsapp:') ? 'WhatsApp' : 'SMS');
const quote = (text: string, indent: string) => text.split('\n').map((line) => `${indent}│ ${line}`);
const codeOf = (m: FakeMessage | undefined) => (m ? /ACK ([A-Z0-9]{1,6})$/.exec(twilioText(m))?.[1] : undefined);

/** The TwiML answer's one line. */
const twimlLine = (body: string) => /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? '(no message)';

export interface DemoResult {
  readonly problems: string[];
  readonly recentLogs: string[];
}

/**
 * A report line with what changes from run to run made alike: numbers
 * (timings, dates, durations), incident codes, incident ids, and the spaces
 * that pad numbers to a width.
 */
export function comparable(line: string): string {
  return line
    .replace(/incident#[0-9a-f-]+…/g, 'incident#…')
    .replace(/\b(ACK|code) [A-Z0-9]{1,6}\b/g, '$1 <code>')
    .replace(/\(([A-Z0-9]{1,6})\)/g, '(<code>)')
    .replace(/\d+/g, '0')
    .replace(/ +/g, ' ')
    .trimEnd();
}

const README = join(__dirname, '..', '..', 'README.md');
const SAMPLE_START = 'cdk-twilio-messaging local demo';

/** The README's sample output: the fenced block that starts like the report. */
export function readmeSample(readme: string = readFileSync(README, 'utf8')): string[] | undefined {
  const blocks = readme.split(/^```.*$/m).filter((_, i) => i % 2 === 1);
  const block = blocks.find((b) => b.trimStart().startsWith(SAMPLE_START));
  return block?.replace(/^\n/, '').replace(/\n$/, '').split('\n');
}

/** Where the README's sample and this run's report differ (beyond what varies), or undefined. */
export function sampleDifference(sample: readonly string[] | undefined, report: readonly string[]): string | undefined {
  if (!sample) return `README.md has no sample output (a fenced block starting "${SAMPLE_START}")`;
  const a = sample.map(comparable);
  const b = report.map(comparable);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `README.md's sample output differs from this run at its line ${i + 1}:\n    README: ${sample[i] ?? '(ends)'}\n    demo:   ${report[i] ?? '(ends)'}\n  paste this run's output into README.md ("Try it without AWS")`;
  }
  return undefined;
}

/** Runs the demo, writing its report through `write`; resolves with what went wrong (nothing, when it passed). */
export async function runDemo(out: (text: string) => void): Promise<DemoResult> {
  const report: string[] = [];
  const write = (text: string) => {
    report.push(text);
    out(text);
  };
  const started = Date.now();
  write('cdk-twilio-messaging local demo: no AWS account, no Twilio account\n');
  write('  SNS → SQS → sender → (fake) Twilio → signed callbacks → API Gateway → status-callback / inbound → DynamoDB\n\n');
  const problems: string[] = [];
  const p = await startLocalPipeline({
    seed: 2026,
    logLevel: 'WARN',
    senderConfig: { allowedRecipients: [SECOND] },
    callbacks: { delayMs: [20, 120] },
  });
  try {
    // The phones' part runs first, under the default plan (one stage, no timers); the incident then under the escalation.
    const phones = await phonesPart(p, problems);
    const incident = await incidentPart(p, problems);
    write(incident.join('\n') + '\n\n');
    write(phones.join('\n') + '\n\n');

    const tally = await p.tally();
    for (const o of tally.outcomes) if (o.outcome !== 'sent' && o.outcome !== 'failed') problems.push(`${o.label ?? o.notificationId} to ${maskAddress(o.recipient)}: ${o.outcome}`);
    if (tally.duplicates > 0 || tally.unrecorded > 0) problems.push(`${tally.duplicates} duplicate(s), ${tally.unrecorded} unrecorded Twilio message(s)`);
    const items = await p.scanTable();
    for (const [sid, fate] of p.callbacks.fates) {
      const m = items.find((i) => i.id === sid);
      if (m?.status !== fate.final) problems.push(`${sid}: status ${String(m?.status ?? 'missing')}, Twilio reported ${fate.final}`);
    }
    if (p.leaks.length > 0) problems.push(`${p.leaks.length} log line(s) showed a secret or an unmasked number`);
    // EMF lines come through the workers' stdout, which may trail their results: wait for the last callbacks' counts.
    const delivered = items.filter((i) => i.kind === 'message' && (i.status === 'delivered' || i.status === 'read')).length;
    await until('the metrics of the last callbacks', () => (p.metrics.get('MessagesDelivered') ?? 0) >= delivered, 3000).catch(() => undefined);

    write(`tally: ${formatTally(tally)}\n`);
    // Counts only: latencies and the time to acknowledge differ from run to run.
    write(`metrics: ${[...p.metrics].filter(([k]) => !k.endsWith('Latency') && k !== 'TimeToAcknowledge').sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
    write(`done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    const difference = sampleDifference(readmeSample(), report.join('').replace(/\n$/, '').split('\n'));
    if (difference) problems.push(difference);
    return { problems, recentLogs: [...p.recentLogs] };
  } finally {
    await p.close();
  }
}

/** The incident: publish, wait for each stage as a person would, reply, resolve; its timeline and texts. */
async function incidentPart(p: LocalPipeline, problems: string[]): Promise<string[]> {
  await p.reconfigureSender({ escalation: ESCALATION });
  await p.sender.warm();
  const t0 = Date.now();
  const id = p.publishAlarm({ AlarmName: ALARM }, false);
  const incidentId = `incident#${id}`;
  const pages = (to: string) => p.sentTo(to, ALARM);
  await until('the stage 1 page', () => pages(FIRST).length > 0, 15_000);
  // Nobody answers stage 1.
  const secondPage = await until('the stage 2 page', () => pages(SECOND)[0], 15_000);
  const code = codeOf(secondPage);
  // The second person reads the page on the phone, then answers.
  await until('the stage 2 page delivered', async () => (await p.item(secondPage.sid))?.status === 'delivered', 10_000);
  const reply = `ACK ${code}`;
  const replyAt = Date.now();
  const answer = await p.reply(SECOND, reply);
  // The repeat's timer is on the queue already: settling lets it fire, and find the incident acknowledged.
  await p.settle(30_000);
  const okAt = Date.now();
  p.publishAlarm(
    {
      AlarmName: ALARM,
      NewStateValue: 'OK',
      OldStateValue: 'ALARM',
      NewStateReason: 'Threshold Crossed: 1 out of the last 1 datapoints [41.7 (27/11/26 15:50:00)] was not greater than the threshold (90.0) (minimum 1 datapoint for ALARM -> OK transition).',
    },
    false,
  );
  await p.settle(30_000);

  // Every text of the incident in the tally: stage 1 under the ALARM's id, stage 2 and RESOLVED under ids derived from the incident.
  p.track({ notificationId: id, recipients: [FIRST], label: 'stage 1', mustBeSent: true });
  p.track({ notificationId: `${incidentId}#stage#1`, recipients: [SECOND], label: 'stage 2', mustBeSent: true });
  p.track({ notificationId: `${incidentId}#resolved`, recipients: [FIRST, SECOND], label: 'RESOLVED', mustBeSent: true });
  const incident = await p.item(incidentId);
  const messages = (await p.scanTable()).filter((i) => i.kind === 'message' && i.incidentId === incidentId);
  const timers = p.sqs.sent.filter((m) => m.body.includes(incidentId)).map((m) => JSON.parse(m.body) as { timer: string; dueAt: number; stage?: number; repeat?: number });
  const repeatTimer = timers.find((t) => t.timer === 'repeat');
  const stale = await until('the stale timer counted', () => (p.metrics.get('TimersStale') ?? 0) >= 1, 3000).catch(() => false);

  // What must have happened.
  const expectedAnswer = `ACK ${ALARM} (${code}): escalation stopped`;
  const resolvedText = `RESOLVED ${ALARM} after 1 min`;
  const firstPage = pages(FIRST)[0];
  for (const to of [FIRST, SECOND]) {
    const texts = pages(to).map(twilioText);
    if (texts.length !== 2 || texts[0] !== twilioText(firstPage) || texts[1] !== resolvedText) problems.push(`${maskAddress(to)} got ${texts.length} text(s), not its page and "${resolvedText}"`);
  }
  if (secondPage.dateCreated.getTime() < Date.parse(String(incident?.openedAt)) + ESCALATION.stages[1].afterSeconds * 1000) problems.push('stage 2 was paged before its time');
  if (answer.status !== 200 || answer.body !== `<?xml version="1.0" encoding="UTF-8"?><Response><Message>${expectedAnswer}</Message></Response>`) {
    problems.push(`the ACK was answered ${answer.status} ${answer.body}`);
  }
  if (incident?.state !== 'resolved' || incident.acknowledgedBy !== SECOND || incident.stage !== 1 || incident.pageRepeats !== 0) {
    problems.push(`the incident ended ${JSON.stringify({ state: incident?.state, stage: incident?.stage, pageRepeats: incident?.pageRepeats, acknowledged: incident?.acknowledgedBy !== undefined })}`);
  }
  if (!repeatTimer || repeatTimer.dueAt >= okAt) problems.push('the repeat\'s timer was not due before the OK: the demo did not wait past it');
  if (!stale) problems.push('no timer was counted stale: the repeat timer did not fire');

  const rows: Row[] = [{ at: t0, step: 'ALARM published', note: 'CloudWatch → alert topic → alert queue → sender' }];
  for (const e of (incident?.timeline ?? []) as TimelineEvent[]) {
    const at = Date.parse(e.at);
    const who = e.by ? maskAddress(e.by) : '';
    if (e.event === 'opened') rows.push({ at, step: 'opened', note: `code ${code}` });
    else if (e.event === 'paged') rows.push({ at, step: 'paged', note: `stage ${(e.stage ?? 0) + 1} → ${who} (${channelOf(e.by ?? '')})` });
    else if (e.event === 'escalated') rows.push({ at, step: 'escalated', note: e.detail === 'unreachable' ? `stage ${(e.stage ?? 0) + 1} at once: nobody of the stage before can be reached` : `stage ${(e.stage ?? 0) + 1}: nobody acknowledged in ${ESCALATION.stages[e.stage ?? 0]?.afterSeconds ?? '?'} s` });
    else if (e.event === 'acknowledged') rows.push({ at, step: 'acknowledged', note: `by ${who}` });
    else if (e.event === 'resolved') rows.push({ at, step: 'resolved', note: 'by the OK' });
    else rows.push({ at, step: e.event, note: [who, e.detail].filter(Boolean).join(' ') });
  }
  const resolvedPages = messages.filter((m) => m.notificationId === `${incidentId}#resolved`).sort((a, b) => String(a.to).localeCompare(String(b.to)));
  if (resolvedPages.length > 0) {
    rows.push({ at: Math.min(...resolvedPages.map((m) => Date.parse(String(m.acceptedAt)))), step: 'RESOLVED sent', note: `→ ${resolvedPages.map((m) => maskAddress(String(m.to))).join(', ')}` });
  }
  for (const m of messages) {
    const to = String(m.to);
    if (m.notificationId === `${incidentId}#resolved`) continue;
    const last = [...((m.history ?? []) as HistoryEntry[])].filter((h) => h.source !== 'api').sort((a, b) => Date.parse(a.at) - Date.parse(b.at)).at(-1);
    if (last) rows.push({ at: Date.parse(last.at), step: last.status, note: `${maskAddress(to)}, status callback${last.errorCode ? `, error ${last.errorCode}` : ''}` });
  }
  rows.push({ at: replyAt, step: 'reply', note: `${maskAddress(SECOND)}: "${reply}" (signed inbound webhook)`, more: [`answered: ${twimlLine(answer.body)}`] });
  if (repeatTimer) rows.push({ at: repeatTimer.dueAt, step: 'repeat timer due', note: 'nothing sent: the incident is acknowledged' });
  rows.push({ at: okAt, step: 'OK published', note: 'CloudWatch → alert topic → alert queue → sender' });
  rows.sort((a, b) => a.at - b.at || (RANK[a.step] ?? 5) - (RANK[b.step] ?? 5));

  const lines = [
    '1. An incident, escalated until someone answers',
    `   stage 1: ${maskAddress(FIRST)} at once · stage 2: ${maskAddress(SECOND)} after ${ESCALATION.stages[1].afterSeconds} s · ${ESCALATION.repeats} repeat ${ESCALATION.repeatAfterSeconds} s later`,
    '   (seconds here; a deployment counts minutes)',
    '',
    `   incident ${ALARM} · code ${code} · ${incidentId.slice(0, 17)}…`,
  ];
  for (const r of rows) {
    const head = `   ${seconds(t0, r.at)}  ${r.step.padEnd(17)} `;
    lines.push(`${head}${r.note}`);
    for (const more of r.more ?? []) lines.push(`${' '.repeat(head.length)}${more}`);
  }
  lines.push('', '   what the phones got:');
  const shown = new Map<string, string>();
  for (const to of [FIRST, SECOND]) {
    lines.push(`   ${maskAddress(to)} (${channelOf(to)})`);
    for (const m of pages(to)) {
      const text = twilioText(m);
      lines.push(`     ${seconds(t0, m.dateCreated.getTime())}  ${describeEncoding(smsEncoding(text))}`);
      const same = shown.get(text);
      if (same) lines.push(`       │ (the same text as ${same}'s)`);
      else {
        lines.push(...quote(text, '       '));
        shown.set(text, maskAddress(to));
      }
    }
  }
  return lines;
}

interface PhoneEntry {
  readonly what: string;
  readonly id: string;
}

/** A threshold alarm, an EventBridge event and a Japanese alarm name, to the default recipients, as the phones get them. */
async function phonesPart(p: LocalPipeline, problems: string[]): Promise<string[]> {
  const now = new Date();
  const entries: PhoneEntry[] = [
    { what: 'threshold alarm api-p99-latency-eu-west-1 (p99 > 2 s, 3 of 3 datapoints)', id: p.publishAlarm(percentileAlarm(now)) },
    { what: 'EventBridge event: ECS task stopped (service checkout-web, exit 137)', id: p.publish(ecsTaskStoppedEvent(now)) },
    // Tracked without a marker: whether the name survives in the text is what this entry shows.
    { what: 'alarm named in Japanese: データベースCPU高負荷-東京', id: p.publishAlarm(japaneseAlarm(now), { recipients: p.senderConfig.defaultRecipients, label: 'Japanese alarm', mustBeSent: true }) },
  ];
  await p.settle(30_000);
  const items = await p.scanTable();
  const lines = ['2. What the phones show', `   sent to the default recipients ${p.senderConfig.defaultRecipients.map(maskAddress).join(' and ')}: the text exactly as sent`];
  for (const e of entries) {
    lines.push('', `   ${e.what}`);
    const refused = items.find((i) => i.id === `failed#${e.id}`);
    const claims = items.filter((i) => i.kind === 'claim' && i.notificationId === e.id).sort((a, b) => channelOf(String(a.recipient)).localeCompare(channelOf(String(b.recipient))));
    // The event's recipients are known only now (an alarm is tracked when published).
    if (!p.tracked.some((t) => t.notificationId === e.id)) p.track({ notificationId: e.id, recipients: claims.map((c) => String(c.recipient)), label: e.what });
    if (refused) {
      lines.push(`     not paged: refused, ${String(refused.reason)}`);
      continue;
    }
    let smsText: string | undefined;
    for (const c of claims) {
      const to = String(c.recipient);
      const message = typeof c.messageSid === 'string' ? p.twilio.messages.get(c.messageSid) : undefined;
      if (c.state !== 'sent' || !message) {
        lines.push(`     ${channelOf(to)} → ${maskAddress(to)}: ${String(c.state)} ${String(c.reason ?? '')}`.trimEnd());
        problems.push(`${e.what} to ${maskAddress(to)}: ${String(c.state)}`);
        continue;
      }
      const text = twilioText(message);
      if (channelOf(to) === 'SMS') {
        const encoding = smsEncoding(text);
        lines.push(`     SMS → ${maskAddress(to)}  ${describeEncoding(encoding)}`, ...quote(text, '       '));
        smsText = text;
        const recorded = items.find((i) => i.id === message.sid)?.segments;
        if (Number(recorded) !== encoding.segments) problems.push(`${e.what}: Twilio counted ${String(recorded)} segment(s), the text has ${encoding.segments}`);
      } else if (text === smsText) lines.push(`     WhatsApp → ${maskAddress(to)}  the same text, one message`);
      else lines.push(`     WhatsApp → ${maskAddress(to)}  ${[...text].length} characters, one message`, ...quote(text, '       '));
    }
  }
  return lines;
}

if (require.main === module) {
  runDemo((text) => process.stdout.write(text)).then(
    ({ problems, recentLogs }) => {
      if (problems.length > 0) {
        process.stderr.write(`\nDEMO FAILED:\n  ${problems.join('\n  ')}\n\nlast handler logs:\n  ${recentLogs.slice(-30).join('\n  ')}\n`);
        process.exit(1);
      }
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`demo failed: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
