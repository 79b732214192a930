import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

// What `npm publish` would ship. Needs the build output (npm test builds first).
const root = path.join(__dirname, '..', '..');

interface PackEntry {
  readonly files: { readonly path: string }[];
}

let files: string[];

beforeAll(() => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  files = (JSON.parse(out) as PackEntry[])[0].files.map((f) => f.path).sort();
}, 60_000);

test('the package ships the compiled library with its declarations', () => {
  expect(files).toEqual(expect.arrayContaining(['lib/index.js', 'lib/index.d.ts', 'lib/twilio-messaging.js', 'lib/twilio-messaging.d.ts', 'package.json']));
});

test('the package ships every pre-bundled handler', () => {
  for (const name of ['sender', 'status-callback', 'inbound']) expect(files).toContain(`assets/${name}/index.js`);
});

test('the package ships the licence its package.json names: the full Apache License 2.0', () => {
  expect(files).toContain('LICENSE');
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { license: string };
  expect(pkg.license).toBe('Apache-2.0');
  const licence = fs.readFileSync(path.join(root, 'LICENSE'), 'utf8');
  expect(licence).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
  expect(licence).toContain('TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION');
  expect(licence).toContain('END OF TERMS AND CONDITIONS');
});

test('nothing of the tests, the handler sources, the example app, the jsii build or the TypeScript sources', () => {
  expect(files.filter((f) => /^(test|lambda|bin|scripts|\.ci|\.jsii-build)\//.test(f))).toEqual([]);
  expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
});
