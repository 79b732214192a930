// Compiles the public API (lib/) with jsii and writes API.md with jsii-docgen.
//
// jsii runs on a copy of the sources in .jsii-build/, not in place: jsii emits
// lib/*.js with its own transforms and rewrites tsconfig.json, while the package
// ships what `npm run build` (tsc) emits. The copy holds the assembly (.jsii) for
// jsii-pacmak; API.md is the only file this script writes in the repository.
//
//   npm run jsii               compile, then write API.md
//   npm run jsii -- --check    compile, then fail if API.md is not what docgen writes
//
// jsii 6 needs Node 22 or later; CI runs this under Node 24 (.ci/run).
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, '.jsii-build');
const apiDoc = join(root, 'API.md');
const check = process.argv.includes('--check');

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  console.error(
    `jsii: jsii 6 needs Node 22 or later, and this is Node ${process.versions.node}. ` +
      'Run it with a newer node first on PATH (.ci/run shows how to get Node 24 without installing it).',
  );
  process.exit(2);
}

/** The TypeScript sources of lib/, without tsc's emitted .js/.d.ts beside them. */
function librarySources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return librarySources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work);
for (const file of ['package.json', 'README.md', 'LICENSE', 'tsconfig.jsii.json']) cpSync(join(root, file), join(work, file));
for (const source of librarySources(join(root, 'lib'))) {
  const target = join(work, relative(root, source));
  mkdirSync(dirname(target), { recursive: true });
  cpSync(source, target);
}
// jsii-docgen finds the dependencies' assemblies only in the package's own node_modules.
symlinkSync(join(root, 'node_modules'), join(work, 'node_modules'), 'dir');

function run(bin, args) {
  execFileSync(process.execPath, [join(root, 'node_modules', bin), ...args], { cwd: work, stdio: 'inherit' });
}

try {
  run('jsii/bin/jsii', []);
  run('jsii-docgen/bin/jsii-docgen', ['--output', 'API.md']);
} catch {
  console.error('jsii: compilation or documentation failed (see the diagnostics above)');
  process.exit(1);
}

const generated = readFileSync(join(work, 'API.md'), 'utf8');
if (!check) {
  writeFileSync(apiDoc, generated);
  console.log(`jsii: compiled lib/ (assembly in ${relative(root, work)}/.jsii) and wrote API.md`);
  process.exit(0);
}

const committed = existsSync(apiDoc) ? readFileSync(apiDoc, 'utf8') : undefined;
if (committed === generated) {
  console.log('jsii: compiled lib/; API.md is current');
  process.exit(0);
}
const want = generated.split('\n');
const have = committed?.split('\n') ?? [];
const differs = want.findIndex((text, i) => text !== have[i]);
const line = differs === -1 ? want.length : differs;
console.error(
  committed === undefined
    ? 'jsii: API.md is missing.'
    : `jsii: API.md does not match the public API in lib/ (first difference at line ${line + 1}:\n` +
        `  API.md:    ${JSON.stringify(have[line] ?? '<end of file>')}\n  generated: ${JSON.stringify(want[line] ?? '<end of file>')}).`,
);
console.error('Run `npm run jsii` under Node 22 or later and commit API.md.');
process.exit(1);
