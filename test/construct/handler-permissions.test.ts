import * as fs from 'fs';
import * as path from 'path';
import { TABLE } from '../../lib/contract';
import { claimId } from '../../lambda/shared/table/items';
import { codeId, pointerId } from '../../lambda/shared/incidents/keys';
import { actionsOfRole, environmentOf, synth } from './helpers';

// Cross-check between the handlers' code and the construct's grants: every AWS API
// call a handler makes must be allowed by its role, or it fails only once deployed.
const { template } = synth();
const root = path.join(__dirname, '..', '..', 'lambda');

/**
 * The modules a handler's bundle holds: lambda/<name>/index.ts and every
 * module under lambda/ it imports, transitively (static and dynamic relative
 * imports; lib/contract.ts holds no AWS call). Paths relative to lambda/.
 */
function modulesOf(handler: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = fs.readFileSync(path.join(root, file), 'utf8');
    for (const [, spec] of source.matchAll(/(?:from |import\()'(\.{1,2}\/[^']+)'/g)) {
      const target = path.normalize(path.join(path.dirname(file), spec));
      if (target.startsWith('..')) continue;
      visit(fs.existsSync(path.join(root, `${target}.ts`)) ? `${target}.ts` : path.join(target, 'index.ts'));
    }
  };
  visit(path.join(handler, 'index.ts'));
  return [...seen].sort();
}

/** IAM actions implied by the AWS SDK commands the modules of a handler's bundle send. */
function actionsUsedBy(handler: string): string[] {
  const actions = new Set<string>();
  for (const file of modulesOf(handler)) {
    const source = fs.readFileSync(path.join(root, file), 'utf8');
    for (const [, command] of source.matchAll(/new (\w+)Command\(/g)) {
      if (command === 'Publish') actions.add('sns:Publish');
      else if (command === 'SendMessage') actions.add('sqs:SendMessage');
      else actions.add(`dynamodb:${command}`);
    }
  }
  return [...actions].sort();
}

test('the modules the cross-checks read are the handlers\' own: the webhooks hold none of the sender\'s, the sender none of the webhooks\'', () => {
  expect(modulesOf('sender')).toEqual(expect.arrayContaining(['sender/send.ts', 'sender/incidents/flow.ts', 'shared/incidents/store.ts', 'shared/incidents/update.ts']));
  for (const webhook of ['status-callback', 'inbound']) {
    expect(modulesOf(webhook)).toEqual(expect.arrayContaining([`${webhook}/index.ts`, 'shared/incidents/update.ts', 'shared/incidents/unreachable.ts', 'webhook/webhook-backlog.ts']));
    expect(modulesOf(webhook).filter((m) => m.startsWith('sender/') || m === 'shared/incidents/store.ts')).toEqual([]);
  }
  expect(modulesOf('sender').filter((m) => /^(inbound|status-callback|webhook)\/|^shared\/incidents\/unreachable/.test(m))).toEqual([]);
});

test.each([
  ['sender', 'AlertsSenderRole'],
  ['status-callback', 'AlertsStatusCallbackRole'],
  ['inbound', 'AlertsInboundRole'],
])('%s: every AWS call in its code is granted', (handler, role) => {
  const granted = actionsOfRole(template, role);
  const used = actionsUsedBy(handler);
  expect(used.filter((a) => !granted.includes(a))).toEqual([]);
  // The credentials loader (lambda/shared/credentials.ts) reads the secret in every handler.
  expect(granted).toContain('secretsmanager:GetSecretValue');
});

test('the sender\'s DeleteItem condition matches the claim ids the sender writes', () => {
  expect(claimId('n-1', '+15005550001').startsWith(TABLE.CLAIM_ID_PREFIX)).toBe(true);
});

test('the sender\'s DeleteItem condition matches the incident pointer and code ids the sender deletes', () => {
  expect(pointerId('arn:aws:cloudwatch:us-east-1:123456789012:alarm:a').startsWith(TABLE.INCIDENT_KEY_ID_PREFIX)).toBe(true);
  expect(codeId('7K').startsWith(TABLE.INCIDENT_CODE_ID_PREFIX)).toBe(true);
});

test('every environment variable the handlers read is set by the construct', () => {
  const envRead = (handler: string): string[] => {
    const names = new Set<string>();
    for (const file of modulesOf(handler)) {
      const source = fs.readFileSync(path.join(root, file), 'utf8');
      for (const [, name] of source.matchAll(/\benv\[ENV\.(\w+)\]/g)) names.add(name);
    }
    return [...names];
  };
  const optional = new Set(['TWILIO_API_BASE_URL']);
  for (const [handler, prefix] of [
    ['sender', 'AlertsSender'],
    ['status-callback', 'AlertsStatusCallback'],
    ['inbound', 'AlertsInbound'],
  ]) {
    const set = Object.keys(environmentOf(template, prefix));
    expect(envRead(handler)).toEqual(expect.arrayContaining(['TWILIO_SECRET_ARN', 'STATUS_TABLE_NAME']));
    const missing = envRead(handler).filter((name) => !optional.has(name) && !set.includes(name));
    expect({ handler, missing }).toEqual({ handler, missing: [] });
  }
});
