import { EXIT } from '../../lib/cli/errors';
import { NUMBERS, until } from '../pipeline/local-pipeline';
import { createStatusTable } from '../support/dynalite';
import { CliRig, STACK, startCliRig, UNDELIVERABLE } from './rig';

// `status` and `incidents` end to end: an incident paged, acknowledged by a
// signed reply and resolved by the local pipeline's handlers, read back by the
// CLI from the status table it found through the stack.
let rig: CliRig;
beforeAll(async () => {
  rig = await startCliRig();
}, 60_000);
afterAll(() => rig?.close());

const ALARM = 'db-1-cpu-high';
const rows = (out: string) => out.split('\n').filter((l) => /^ {2}\+ *\d+\.\d\d s {2}/.test(l)).map((l) => l.replace(/^ {2}\+ *\d+\.\d\d s {2}/, '').replace(/ +/g, ' ').trim());

test('an incident: its timeline by code while live, who acknowledged in `incidents`, then by alarm name once resolved', async () => {
  const { p } = rig;
  const openedBy = p.publishAlarm({ AlarmName: ALARM }, false);
  const page = await until('the page', () => p.sentTo(NUMBERS.onCallSms, ALARM)[0], 20_000);
  await until('the page delivered', async () => (await p.item(page.sid))?.status === 'delivered', 10_000);
  const code = /ACK ([A-Z0-9]+)$/.exec(page.body)![1];

  let live = await rig.run('incidents', '--stack', STACK);
  expect(live.stdout).toMatch(new RegExp(`^ {2}${code} +open +${ALARM}$`, 'm'));
  expect(live.stdout).toContain('paged +1555***1001');
  expect(live.stdout).toContain('not acknowledged');

  const answer = await p.reply(NUMBERS.onCallSms, `ACK ${code}`);
  expect(answer.status).toBe(200);

  const byCode = await rig.run('status', code, '--stack', STACK);
  expect(byCode.code).toBe(EXIT.OK);
  expect(byCode.stdout).toContain(`incident ${ALARM} · code ${code} · acknowledged · incident#${openedBy}`);
  // Oldest first; Twilio's callbacks come in their own order (and may beat the sender's record of the page).
  const timeline = rows(byCode.stdout);
  expect(timeline[0]).toBe(`opened code ${code}`);
  expect(timeline.slice(-2)).toEqual([`reply +1555***1001: "ACK ${code}"`, 'acknowledged by +1555***1001']);
  expect(timeline).toEqual(expect.arrayContaining(['paged stage 1 → +1555***1001 (SMS)', 'sent +1555***1001, status callback', 'delivered +1555***1001, status callback']));
  expect(byCode.stdout).toMatch(new RegExp(`^ +answered: ACK ${ALARM} \\(${code}\\)`, 'm'));

  live = await rig.run('incidents', '--stack', STACK, '--json');
  const [incident] = (JSON.parse(live.stdout) as { incidents: Array<{ code: string; state: string; acknowledgedBy: string; paged: string[] }> }).incidents;
  expect(incident).toMatchObject({ code, state: 'acknowledged', acknowledgedBy: NUMBERS.onCallSms, paged: [NUMBERS.onCallSms] });

  p.publishAlarm({ AlarmName: ALARM, NewStateValue: 'OK', OldStateValue: 'ALARM' }, false);
  await until('the incident resolved', async () => (await p.item(`incident#${openedBy}`))?.state === 'resolved', 20_000);
  await p.settle(20_000);

  // The code is released with the incident: the alarm name still finds it (by a Scan).
  const byName = await rig.run('status', ALARM, '--stack', STACK);
  expect(byName.stdout).toContain(`incident ${ALARM} · code ${code} · resolved`);
  expect(rows(byName.stdout).slice(-2)).toEqual([expect.stringMatching(/^resolved by notification [0-9a-f-]{36}$/), 'RESOLVED sent → +1555***1001']);
  // A message SID of one of its pages shows the same incident.
  const bySid = await rig.run('status', page.sid, '--stack', STACK);
  expect(bySid.stdout.split('\n')[0]).toBe(byName.stdout.split('\n')[0]);

  expect((await rig.run('incidents', '--stack', STACK)).stdout).toBe('no live incidents\n');
});

test('a notification: each recipient\'s claim and message, by the SNS MessageId', async () => {
  const { p } = rig;
  const id = p.publish({ body: 'disk 91% on db-1', to: [NUMBERS.backupSms] });
  await p.settle(20_000);
  const { code, stdout } = await rig.run('status', id, '--stack', STACK);
  expect(stdout.split('\n')[0]).toBe(`notification ${id}`);
  expect(stdout).toMatch(/^ {2}\+1555\*\*\*1003 +sent · SM[0-9a-f]{32} delivered$/m);
  expect(code).toBe(EXIT.OK);
  const sid = /(SM[0-9a-f]{32})/.exec(stdout)![1];
  const message = await rig.run('status', sid, '--stack', STACK);
  expect(message.stdout.split('\n')[0]).toBe(`message ${sid} · to +1555***1003 (SMS) · delivered`);
  const history = rows(message.stdout);
  expect(history[0]).toBe("queued +1555***1003, Twilio's answer to the sender");
  expect(history.slice(1).filter((r) => r.endsWith('status callback')).map((r) => r.split(' ')[0]).sort()).toEqual(expect.arrayContaining(['delivered', 'sent']));
});

test('a name nothing has: exit 3 with what names are understood', async () => {
  const { code, stderr } = await rig.run('status', 'no-such-alarm', '--stack', STACK);
  expect(stderr).toContain(`nothing in ${rig.p.tableName} is named "no-such-alarm"`);
  expect(stderr).toContain('fix: check "no-such-alarm"');
  expect(code).toBe(EXIT.NOT_FOUND);
});

test('without --stack: --table is enough, and its absence is a usage error', async () => {
  expect((await rig.run('incidents', '--table', rig.p.tableName)).code).toBe(EXIT.OK);
  const { code, stderr } = await rig.run('incidents');
  expect(stderr).toContain('without --stack this command needs --table');
  expect(code).toBe(EXIT.USAGE);
});

const STRANGER = '+447700900123';
const scans = () => rig.p.dynamo.calls.get('Scan') ?? 0;

test('every recipient\'s fate: a notification\'s refused recipient beside its sent and undelivered ones, found with no --recipient', async () => {
  const { p } = rig;
  const id = p.publish({ body: 'disk 91% on db-1', to: [NUMBERS.backupSms, UNDELIVERABLE, STRANGER] });
  await p.settle(20_000);
  const before = scans();
  const { code, stdout } = await rig.run('status', id, '--table', p.tableName);
  expect(code).toBe(EXIT.OK);
  expect(stdout).toMatch(/^ {2}\+1555\*\*\*1003 +sent · SM[0-9a-f]{32} delivered$/m);
  expect(stdout).toMatch(/^ {2}\+1555\*\*\*1007 +sent · SM[0-9a-f]{32} undelivered \(error 30003\)$/m);
  expect(stdout).toMatch(/^ {2}\+4477\*+0123 +failed: recipient not in the allowed recipients \(invalid-recipient\)$/m);
  expect(stdout).not.toContain(STRANGER);

  const json = JSON.parse((await rig.run('status', id, '--table', p.tableName, '--json')).stdout) as { kind: string; recipients: Array<Record<string, unknown>> };
  expect(json.kind).toBe('notification');
  expect(json.recipients).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ recipient: STRANGER, state: 'failed', errorCode: 'invalid-recipient', reason: 'recipient not in the allowed recipients' }),
      expect.objectContaining({ recipient: UNDELIVERABLE, state: 'sent', message: expect.objectContaining({ status: 'undelivered', errorCode: '30003' }) }),
    ]),
  );
  expect(json.recipients).toHaveLength(3);
  expect(scans()).toBe(before);
});

test('an incident\'s recipients, its opted-out one too; `incidents` and `status <incident key>` read no Scan', async () => {
  const { p } = rig;
  expect((await p.reply(NUMBERS.backupSms, 'STOP')).status).toBe(200);
  const before = scans();
  const opening = p.publish({ incidentKey: 'fate-disk-db-1', title: 'disk full on db-1', body: 'disk 99% on db-1', to: [NUMBERS.onCallSms, NUMBERS.backupSms] });
  const page = await until('the page', () => p.sentTo(NUMBERS.onCallSms, 'disk 99%')[0], 20_000);
  const code = /ACK ([A-Z0-9]+)$/.exec(page.body)![1];
  await p.settle(20_000);

  const live = await rig.run('incidents', '--stack', STACK, '--json');
  expect((JSON.parse(live.stdout) as { incidents: Array<{ code: string; title: string }> }).incidents).toEqual(expect.arrayContaining([expect.objectContaining({ code, title: 'disk full on db-1' })]));

  const byCode = await rig.run('status', code, '--stack', STACK);
  expect(byCode.code).toBe(EXIT.OK);
  expect(byCode.stdout).toMatch(/^ {2}\+ *\d+\.\d\d s {2}failed +\+1555\*\*\*1003: opted-out \(opted-out\)$/m);
  expect(byCode.stdout).toMatch(/^ {4}\+1555\*\*\*1001 +sent · SM[0-9a-f]{32} delivered · stage 1$/m);
  expect(byCode.stdout).toMatch(/^ {4}\+1555\*\*\*1003 +failed: opted-out \(opted-out\) · stage 1$/m);

  p.publish({ incidentKey: 'fate-disk-db-1', resolve: true });
  await until('the incident resolved', async () => (await p.item(`incident#${opening}`))?.state === 'resolved', 20_000);
  await p.settle(20_000);
  expect((await rig.run('incidents', '--stack', STACK)).stdout).not.toContain(code);
  const byKey = JSON.parse((await rig.run('status', 'fate-disk-db-1', '--stack', STACK, '--json')).stdout) as { kind: string; incident: { id: string; state: string }; recipients: Array<{ recipient: string; notificationId: string }> };
  expect(byKey.incident).toMatchObject({ id: `incident#${opening}`, state: 'resolved' });
  expect(byKey.recipients.filter((r) => r.notificationId === `incident#${opening}#resolved`).map((r) => r.recipient)).toEqual([NUMBERS.onCallSms]);
  expect(scans()).toBe(before);
  expect((await p.reply(NUMBERS.backupSms, 'START')).status).toBe(200);
});

test('a table without the byParent index: exit 3, and the fix names the upgrade', async () => {
  await createStatusTable(rig.p.dynamo.endpoint, 'status-before-byparent', { byParentIndex: false });
  for (const args of [['incidents'], ['status', 'some-notification']]) {
    const { code, stderr } = await rig.run(...args, '--table', 'status-before-byparent');
    expect(stderr).toContain('the status table status-before-byparent has no index byParent');
    expect(stderr).toContain('Upgrading a table (new indexes)');
    expect(code).toBe(EXIT.NOT_FOUND);
  }
});
