import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// What a consumer gets: `npx cdk-twilio-messaging` runs the bundle the package's `bin`
// names (npm pack ships it), with nothing to install beside it. Needs the build output.
const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; dependencies?: Record<string, string> };

test('the package ships the command its bin names, and no runtime dependency', () => {
  expect(pkg.bin).toEqual({ 'cdk-twilio-messaging': 'assets/cli/index.js' });
  expect(pkg.dependencies ?? {}).toEqual({});
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  const files = (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);
  expect(files).toContain('assets/cli/index.js');
  expect(files.filter((f) => f.startsWith('lib/cli/'))).toEqual([]);
}, 60_000);

test('the bundle is an executable node script that answers --help and exits with the documented codes', () => {
  const bundle = join(root, pkg.bin['cdk-twilio-messaging']);
  expect(readFileSync(bundle, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  const help = spawnSync(process.execPath, [bundle, '--help'], { encoding: 'utf8' });
  expect(help.stdout).toContain('exit codes:');
  expect(help.status).toBe(0);
  // A usage error, from a bundle that loads nothing else: exit 2 and the fix, no SDK warning.
  const usage = spawnSync(process.execPath, [bundle, 'verify'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  expect(usage.stderr).toBe('cdk-twilio-messaging: without --stack this command needs --secret-arn, --topic-arn, --inbound-url\n  fix: pass --stack <name> (the tool reads the rest from the stack), or --secret-arn, --topic-arn, --inbound-url\n');
  expect(usage.status).toBe(2);
});
