// Bundles each lambda/<name>/index.ts into assets/<name>/index.js: what the
// construct deploys with lambda.Code.fromAsset, so consumers need neither
// esbuild nor Docker. Also the `cdk-twilio-messaging` command (lib/cli/) into
// assets/cli/index.js, the package.json `bin`: its AWS SDK clients are bundled,
// so the package keeps no runtime dependencies. The benchmark bundles its reference handlers with the
// same settings (handlerBuildOptions), so sizes and load times compare fairly.
import { build } from 'esbuild';
import { copyFileSync, readdirSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trimSourceMap } from './trim-source-map.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The Lambda runtime the construct deploys (lambda.Runtime.NODEJS_24_X). */
export const HANDLER_TARGET = 'node24';

/** Whether a source map entry is our code (lambda/, lib/) rather than a dependency's. */
export const isOwnSource = (source) => !/(^|\/)node_modules\//.test(source);

/**
 * The map keeps our sources only. With NODE_OPTIONS=--enable-source-maps Node
 * reads and parses the map when it loads the bundle; the dependencies' mappings
 * were 90% of it (1.3 MB). Their frames print as index.js:line:column.
 */
const ownSourcesOnlyMap = {
  name: 'own-sources-only-map',
  setup(b) {
    b.onEnd((result) => {
      if (result.errors.length > 0) return;
      const file = `${b.initialOptions.outfile}.map`;
      writeFileSync(file, JSON.stringify(trimSourceMap(JSON.parse(readFileSync(file, 'utf8')), isOwnSource)));
    });
  },
};

/**
 * undici's HTTP parser is WebAssembly kept as base64 in two modules (SIMD and
 * plain, 140 KB), required when the first connection opens. As files beside
 * index.js they are read then, and not parsed with the bundle at every cold start.
 */
const LLHTTP_WASM = /^\.\.\/llhttp\/llhttp(_simd)?-wasm\.js$/;
const llhttpBesideBundle = {
  name: 'llhttp-beside-bundle',
  setup(b) {
    const copies = new Set();
    b.onResolve({ filter: LLHTTP_WASM }, (args) => {
      if (!/(^|\/)node_modules\/undici\//.test(args.importer)) return undefined;
      copies.add(join(args.resolveDir, args.path));
      return { path: `./${basename(args.path)}`, external: true };
    });
    b.onEnd((result) => {
      if (result.errors.length > 0) return;
      for (const from of copies) copyFileSync(from, join(dirname(b.initialOptions.outfile), basename(from)));
    });
  },
};

/**
 * The AWS SDK's default credential chain reads the environment first, which is
 * where Lambda puts a function's credentials; its other links (SSO, ini
 * profiles, credential_process, web identity, container and instance metadata)
 * are dynamic imports that only run when the environment has none. Bundled,
 * their modules (and the STS/SSO clients they carry, 140 KB) are parsed at
 * every cold start, and sharing the SDK's core modules with the rest of the
 * bundle, they make esbuild wrap those in lazy initializers. They go to a
 * second bundle beside index.js, loaded by the same dynamic imports.
 */
export const CREDENTIAL_CHAIN_FILE = 'credential-chain.js';
const CHAIN_LINK = /^@(aws-sdk|smithy)\/credential-provider-(sso|ini|process|web-identity|imds|http)$/;
const credentialChainBesideBundle = {
  name: 'credential-chain-beside-bundle',
  setup(b) {
    const links = new Set();
    let resolveDir;
    b.onResolve({ filter: CHAIN_LINK }, (args) => {
      if (args.kind !== 'dynamic-import' || !/(^|\/)node_modules\/@aws-sdk\/credential-provider-node\//.test(args.importer)) return undefined;
      links.add(args.path);
      resolveDir = args.resolveDir;
      return { path: `./${CREDENTIAL_CHAIN_FILE}`, external: true };
    });
    b.onEnd(async (result) => {
      if (result.errors.length > 0 || links.size === 0) return;
      const { plugins: _, metafile: __, entryPoints: ___, ...common } = b.initialOptions;
      await build({
        ...common,
        stdin: { contents: [...links].sort().map((l) => `export * from '${l}';`).join('\n'), resolveDir, loader: 'js', sourcefile: 'credential-chain.js' },
        outfile: join(dirname(b.initialOptions.outfile), CREDENTIAL_CHAIN_FILE),
        sourcemap: false,
        metafile: false,
      });
    });
  },
};

export function handlerBuildOptions(entry, outfile) {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: HANDLER_TARGET,
    // The AWS SDK's ES modules (its packages' "module"): esbuild hoists and
    // tree-shakes them. Their CommonJS builds load every module a package's
    // index re-exports (all of @smithy/core's protocols, say) at require time.
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
    plugins: [llhttpBesideBundle, credentialChainBesideBundle, ownSourcesOnlyMap],
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
