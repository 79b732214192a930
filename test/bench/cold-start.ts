import { spawn, spawnSync } from 'node:child_process';
import { deflateRawSync } from 'node:zlib';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { summarize, Summary } from './support/stats';

/** A bundled handler whose size and load time we measure. */
export interface Variant {
  readonly name: string;
  /** Directory holding index.js (what lambda.Code.fromAsset zips). */
  readonly dir: string;
}

export interface ColdStartFigure {
  readonly name: string;
  readonly rawBytes: number;
  readonly zippedBytes: number;
  /** How the zip size was computed: the `zip` CLI, or per-file deflate as an approximation. */
  readonly zipMethod: string;
  readonly load: Summary;
  /** Load times in round order (round i of every variant ran back to back). */
  readonly samples: readonly number[];
  /** Largest packages in the bundle, by bytes of output they contribute. */
  readonly topInputs?: readonly { readonly pkg: string; readonly bytes: number }[];
}

/** Environment a handler expects at module scope: valid, but pointing nowhere. */
export const LOAD_ENV: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST',
  AWS_SECRET_ACCESS_KEY: 'local-test-secret',
  TWILIO_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio-AbCdEf',
  STATUS_TABLE_NAME: 'status',
  STATUS_CALLBACK_URL: 'https://example.execute-api.us-east-1.amazonaws.com/prod/status',
  INBOUND_URL: 'https://example.execute-api.us-east-1.amazonaws.com/prod/inbound',
  INBOUND_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:inbound',
  SENDER_CONFIG: JSON.stringify({ from: '+15005550001', defaultRecipients: ['+15005550006'] }),
  // As the construct deploys the sender: the alert queue set, so the default storm window is on.
  ALERT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/alerts',
  POWERTOOLS_SERVICE_NAME: 'bench',
  // The Lambda runtime (Node 24) prints no such notice; this machine's Node 20 would.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  POWERTOOLS_METRICS_NAMESPACE: 'TwilioMessaging',
};

/**
 * Bundles the reference handlers, and the sender again for its metafile, into
 * `outDir` with scripts/bundle.mjs's exact settings.
 */
export async function buildVariants(root: string, outDir: string, assetsDir: string): Promise<{ variants: Variant[]; metafiles: Map<string, unknown> }> {
  const bundleModule = pathToFileURL(join(root, 'scripts', 'bundle.mjs')).href;
  const { handlerBuildOptions } = (await import(bundleModule)) as { handlerBuildOptions: (entry: string, outfile: string) => object };
  const { build } = await import('esbuild');
  const metafiles = new Map<string, unknown>();
  const entries: [string, string][] = [
    ['sender (ours, undici)', join(root, 'lambda', 'sender', 'index.ts')],
    ['reference: twilio SDK', join(root, 'test', 'bench', 'reference', 'twilio-sdk-handler.ts')],
    ['floor: one fetch() POST', join(root, 'test', 'bench', 'reference', 'fetch-floor-handler.ts')],
    ['reference: bare calls', join(root, 'test', 'bench', 'reference', 'bare-calls-handler.ts')],
  ];
  const variants: Variant[] = [];
  for (const [name, entry] of entries) {
    const dir = join(outDir, 'bundles', name.replace(/[^a-z0-9]+/gi, '-').replace(/-+$/, '').toLowerCase());
    rmSync(dir, { recursive: true, force: true });
    const result = (await build(handlerBuildOptions(entry, join(dir, 'index.js')) as never)) as { metafile?: unknown };
    metafiles.set(name, result.metafile);
    // Sizes and load times of the sender come from the shipped asset, not this rebuild.
    variants.push({ name, dir: name.startsWith('sender') ? join(assetsDir, 'sender') : dir });
  }
  for (const name of ['status-callback', 'inbound']) {
    if (!existsSync(join(assetsDir, name, 'index.js'))) continue;
    // Rebuilt only for its metafile (what is in the bundle); the shipped asset is what is measured.
    const result = (await build(handlerBuildOptions(join(root, 'lambda', name, 'index.ts'), join(outDir, 'bundles', name, 'index.js')) as never)) as { metafile?: unknown };
    metafiles.set(name, result.metafile);
    variants.push({ name, dir: join(assetsDir, name) });
  }
  return { variants, metafiles };
}

/** Bytes each package contributes to a bundle's output, largest first. */
export function topInputs(metafile: unknown, count = 6): { pkg: string; bytes: number }[] {
  const outputs = (metafile as { outputs?: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> })?.outputs ?? {};
  const byPkg = new Map<string, number>();
  for (const [file, out] of Object.entries(outputs)) {
    if (file.endsWith('.map')) continue;
    for (const [input, { bytesInOutput }] of Object.entries(out.inputs)) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const pkg = m ? m[1] : '(project code)';
      byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + bytesInOutput);
    }
  }
  return [...byPkg.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([pkg, bytes]) => ({ pkg, bytes }));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? filesUnder(join(dir, d.name)) : [join(dir, d.name)]));
}

const hasZipCli = spawnSync('zip', ['-v'], { stdio: 'ignore' }).status === 0;

/** The size of the asset directory zipped as CDK uploads it (whole directory, index.js and its source map). */
export function zippedSize(dir: string, scratch: string): { bytes: number; method: string } {
  if (hasZipCli) {
    mkdirSync(scratch, { recursive: true });
    const out = join(scratch, `${Math.random().toString(36).slice(2)}.zip`);
    const r = spawnSync('zip', ['-q', '-r', '-X', '-9', out, '.'], { cwd: dir });
    if (r.status === 0) {
      const bytes = statSync(out).size;
      rmSync(out);
      return { bytes, method: 'zip -9 of the asset directory' };
    }
  }
  // Approximation: raw deflate of each file plus zip's per-entry headers (~100 B).
  const bytes = filesUnder(dir).reduce((sum, f) => sum + deflateRawSync(readFileSync(f), { level: 9 }).length + 100 + 2 * relative(dir, f).length, 22);
  return { bytes, method: 'per-file deflateRaw level 9 + headers (approximation; no zip CLI)' };
}

const LOAD_SCRIPT = `
const t0 = process.hrtime.bigint();
const m = require(process.env.BENCH_MODULE);
const t1 = process.hrtime.bigint();
if (typeof m.handler !== 'function') throw new Error('no handler export');
process.stdout.write(String(Number(t1 - t0) / 1e6));
`;

/** require() time of a module in a fresh Node process (NODE_OPTIONS=--enable-source-maps), in milliseconds. */
function loadOnce(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', LOAD_SCRIPT], {
      // As the construct deploys the functions: Node reads the bundle's source map when it loads it.
      env: { PATH: process.env.PATH ?? '', ...LOAD_ENV, NODE_OPTIONS: '--enable-source-maps', BENCH_MODULE: file },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) => {
      const ms = Number(out);
      if (code === 0 && Number.isFinite(ms)) resolve(ms);
      else reject(new Error(`loading ${file} failed (exit ${code}): ${err.slice(-1500)}`));
    });
  });
}

/**
 * Load times, interleaved: round i runs the variants in an order rotated by i,
 * so a burst of load from the other sessions on this machine hits all of them
 * alike. The first `warmup` rounds (page cache, CPU frequency) are discarded.
 */
export async function measureLoadTimes(variants: readonly Variant[], rounds: number, warmup: number): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let round = 0; round < rounds + warmup; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(round + k) % variants.length];
      const ms = await loadOnce(join(v.dir, 'index.js'));
      if (round >= warmup) samples.get(v.name)!.push(ms);
    }
  }
  return samples;
}

export async function coldStart(root: string, outDir: string, assetsDir: string, rounds: number, warmup: number): Promise<ColdStartFigure[]> {
  const { variants, metafiles } = await buildVariants(root, outDir, assetsDir);
  const samples = await measureLoadTimes(variants, rounds, warmup);
  return variants.map((v) => {
    const zip = zippedSize(v.dir, join(outDir, 'zips'));
    const meta = metafiles.get(v.name);
    return {
      name: v.name,
      rawBytes: statSync(join(v.dir, 'index.js')).size,
      zippedBytes: zip.bytes,
      zipMethod: zip.method,
      load: summarize(samples.get(v.name)!),
      samples: samples.get(v.name)!,
      ...(meta ? { topInputs: topInputs(meta) } : {}),
    };
  });
}
