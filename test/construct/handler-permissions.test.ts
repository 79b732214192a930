import * as fs from 'fs';
import * as path from 'path';
import { TABLE } from '../../lib/contract';
import { claimId } from '../../lambda/shared/table-items';
import { codeId, pointerId } from '../../lambda/sender/incidents/items';
import { actionsOfRole, environmentOf, synth } from './helpers';

// Cross-check between the handlers' code and the construct's grants: every AWS API
// call a handler makes must be allowed by its role, or it fails only once deployed.
const { template } = synth();
const root = path.join(__dirname, '..', '..', 'lambda');

/** Shared modules that only the webhook functions import. */
const WEBHOOK_SHARED = ['shared/webhook-backlog.ts', 'shared/incident-items.ts', 'shared/incident-update.ts', 'shared/incident-unreachable.ts', 'shared/incident-timer.ts'];

/** IAM actions implied by the AWS SDK commands a handler's own modules (lambda/<name>/, and for a webhook WEBHOOK_SHARED) send. */
function actionsUsedBy(handler: string): string[] {
  const actions = new Set<string>();
  // Subfolders too (lambda/sender/incidents/).
  const files = (fs.readdirSync(path.join(root, handler), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => path.join(handler, f));
  if (handler !== 'sender') files.push(...WEBHOOK_SHARED);
  for (const file of files) {
    const source = fs.readFileSync(path.join(root, file), 'utf8');
    for (const [, command] of source.matchAll(/new (\w+)Command\(/g)) {
      if (command === 'Publish') actions.add('sns:Publish');
      else if (command === 'SendMessage') actions.add('sqs:SendMessage');
      else actions.add(`dynamodb:${command}`);
    }
  }
  return [...actions].sort();
}

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
    for (const dir of [handler, 'shared']) {
      for (const file of fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith('.ts'))) {
        if (handler === 'sender' && WEBHOOK_SHARED.includes(`${dir}/${file}`)) continue;
        const source = fs.readFileSync(path.join(root, dir, file), 'utf8');
        for (const [, name] of source.matchAll(/\benv\[ENV\.(\w+)\]/g)) names.add(name);
      }
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
