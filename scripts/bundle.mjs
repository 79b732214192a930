// Bundles each lambda/<name>/index.ts into assets/<name>/index.js: what the
// construct deploys with lambda.Code.fromAsset, so consumers need neither
// esbuild nor Docker. Also the `cdk-twilio-messaging` command (lib/cli/) into
// assets/cli/index.js, the package.json `bin`: its AWS SDK clients are bundled,
// so the package keeps no runtime dependencies. The benchmark bundles its reference handlers with the
// same settings (handlerBuildOptions), so sizes and load times compare fairly.
import { build } from 'esbuild';
import { readdirSync, existsSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The Lambda runtime the construct deploys (lambda.Runtime.NODEJS_24_X). */
export const HANDLER_TARGET = 'node24';

export function handlerBuildOptions(entry, outfile) {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: HANDLER_TARGET,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  };
}

/** The command-line tool runs on the consumer's Node (engines: >= 20), not Lambda's. */
export const CLI_TARGET = 'node20';

export function cliBuildOptions(outfile) {
  return {
    entryPoints: [join(root, 'lib', 'cli', 'index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: CLI_TARGET,
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    // The bundle is the executable npm links as `cdk-twilio-messaging`.
    banner: { js: '#!/usr/bin/env node' },
  };
}

export function handlerNames() {
  const dir = join(root, 'lambda');
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'index.ts')))
    .map((d) => d.name)
    .sort();
}

async function main() {
  // `node scripts/bundle.mjs sender` rebuilds one handler; no argument, all of them.
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const names = wanted.length > 0 ? wanted : [...handlerNames(), 'cli'];
  for (const name of names) rmSync(join(root, 'assets', name), { recursive: true, force: true });
  await Promise.all(
    names.map((name) => {
      const outfile = join(root, 'assets', name, 'index.js');
      return build(name === 'cli' ? cliBuildOptions(outfile) : handlerBuildOptions(join(root, 'lambda', name, 'index.ts'), outfile));
    }),
  );
  if (!process.argv.includes('--quiet')) {
    process.stderr.write(`bundled ${names.length} into assets/: ${names.join(', ')}\n`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
