import { spawn, spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/*
 * What scripts/bundle.mjs does beyond bundling: the source map keeps our
 * sources only (stack traces of our code still map, a dependency's frames
 * stay index.js:line:column), undici's HTTP parser and the AWS SDK's
 * credential chain past the environment are files beside index.js, loaded
 * when first needed. Run on the built assets (`npm run build`).
 */
const ROOT = resolve(__dirname, '..', '..');
const SENDER = join(ROOT, 'assets', 'sender');

/** Bundles `contents` (a lambda/ module) as scripts/bundle.mjs bundles a handler (an ES module script: in its own node). */
function bundleFixture(contents: string, outfile: string): void {
  const script = `
    import { build } from 'esbuild';
    import { handlerBuildOptions } from ${JSON.stringify(pathToFileURL(join(ROOT, 'scripts', 'bundle.mjs')).href)};
    const { entryPoints, ...options } = handlerBuildOptions('', ${JSON.stringify(outfile)});
    await build({ ...options, stdin: { contents: ${JSON.stringify(contents)}, resolveDir: ${JSON.stringify(join(ROOT, 'lambda'))}, sourcefile: 'fixture.ts', loader: 'ts' } });
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`bundling the fixture failed: ${r.stderr}`);
}

/**
 * Runs `script` in a fresh `node` as the construct deploys it
 * (NODE_OPTIONS=--enable-source-maps); resolves to its stdout. Not spawnSync:
 * the fake endpoint it calls runs in this process.
 */
function runNode(script: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['-e', script], {
      env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: '--enable-source-maps', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(killer);
      if (code === 0) resolvePromise(out);
      else reject(new Error(`node exited ${code}: ${err}`));
    });
  });
}

const firstFrame = (stack: string) => stack.split('\n').find((l) => l.trimStart().startsWith('at ')) ?? '';

let scratch: string;
beforeAll(() => {
  if (!existsSync(join(SENDER, 'index.js'))) throw new Error('assets/sender/index.js is missing: run `npm run build` first');
  scratch = mkdtempSync(join(tmpdir(), 'handler-bundles-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test("the sender's source map holds only our sources, and an error thrown in the handler maps to lambda/sender/index.ts", async () => {
  const map = JSON.parse(readFileSync(join(SENDER, 'index.js.map'), 'utf8')) as { sources: string[] };
  expect(map.sources).toContain('../../lambda/sender/index.ts');
  expect(map.sources.filter((s) => s.includes('node_modules'))).toEqual([]);
  // No SENDER_CONFIG: the handler refuses its configuration and reads event.Records, which throws for no event.
  const out = await runNode(
    `require(${JSON.stringify(join(SENDER, 'index.js'))}).handler(undefined, undefined).then(() => console.log('resolved'), (e) => console.log(e.stack));`,
    { AWS_REGION: 'us-east-1', POWERTOOLS_METRICS_NAMESPACE: 'T', POWERTOOLS_SERVICE_NAME: 't' },
  );
  expect(out).toContain('TypeError');
  expect(firstFrame(out)).toContain(`${join(ROOT, 'lambda', 'sender', 'index.ts')}:`);
});

test("a dependency's frame stays unmapped (index.js), not lent to the nearest line of ours; our frames below it map", async () => {
  const outfile = join(scratch, 'fixture', 'index.js');
  // lib/contract.ts (ours) is bundled just before @smithy/core's parse-utils:
  // without an end to its last mapping, that module's frames would be
  // reported as lines of contract.ts.
  const contents = [
    "export { ENV } from '../lib/contract';",
    "import { expectNumber } from '@smithy/core/serde';",
    'export function ours(): never {',
    "  throw new Error('ours');",
    '}',
    'export function theirs(): unknown {',
    "  return expectNumber('not a number');",
    '}',
  ].join('\n');
  bundleFixture(contents, outfile);
  const map = JSON.parse(readFileSync(`${outfile}.map`, 'utf8')) as { sources: string[] };
  expect(map.sources.map((f) => f.replace(/^(\.\.\/)+/, ''))).toEqual(expect.arrayContaining([expect.stringMatching(/lib\/contract\.ts$/), expect.stringMatching(/fixture\.ts$/)]));
  expect(map.sources.filter((f) => f.includes('node_modules'))).toEqual([]);
  const out = JSON.parse(
    await runNode(`const m = require(${JSON.stringify(outfile)}); const s = (f) => { try { f(); } catch (e) { return e.stack; } }; console.log(JSON.stringify({ ours: s(m.ours), theirs: s(m.theirs) }));`),
  ) as { ours: string; theirs: string };
  expect(firstFrame(out.ours)).toMatch(/fixture\.ts:4:\d+\)$/);
  // expectNumber throws: that frame is the bundle's, its caller's is ours.
  expect(out.theirs).toContain('Expected number, got string');
  const [dependency, caller] = out.theirs.split('\n').filter((l) => l.trimStart().startsWith('at '));
  expect(dependency).toContain(`${outfile}:`);
  expect(dependency).not.toMatch(/fixture\.ts|contract\.ts/);
  expect(caller).toMatch(/fixture\.ts:7:\d+\)$/);
});

describe('the credential chain beside the bundle', () => {
  let server: Server;
  let url: string;
  const authorizations: string[] = [];
  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      authorizations.push(String(req.headers.authorization ?? ''));
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ __type: 'ResourceNotFoundException', message: 'no such secret' }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  test("the sender signs with a profile's keys when the environment has none (loaded from credential-chain.js through the handler)", async () => {
    expect(readFileSync(join(SENDER, 'index.js'), 'utf8')).toContain('import("./credential-chain.js")');
    const credentials = join(scratch, 'credentials');
    writeFileSync(credentials, '[default]\naws_access_key_id = AKIDFROMPROFILE\naws_secret_access_key = profile-secret\n');
    writeFileSync(join(scratch, 'config'), '');
    const event = { Records: [{ messageId: 'm1', receiptHandle: 'r', body: JSON.stringify({ Type: 'Notification', MessageId: 'n1', Message: 'hello' }), attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, eventSource: 'aws:sqs' }] };
    const out = await runNode(
      `require(${JSON.stringify(join(SENDER, 'index.js'))}).handler(${JSON.stringify(event)}, undefined).then((r) => console.log(JSON.stringify(r)), (e) => console.log(e.stack));`,
      {
        AWS_REGION: 'us-east-1',
        AWS_SHARED_CREDENTIALS_FILE: credentials,
        AWS_CONFIG_FILE: join(scratch, 'config'),
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: url,
        AWS_MAX_ATTEMPTS: '1',
        TWILIO_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio-AbCdEf',
        STATUS_TABLE_NAME: 'status',
        STATUS_CALLBACK_URL: 'https://example.com/status',
        SENDER_CONFIG: JSON.stringify({ from: '+15005550001', defaultRecipients: ['+15005550006'] }),
        POWERTOOLS_METRICS_NAMESPACE: 'T',
        POWERTOOLS_SERVICE_NAME: 't',
      },
    );
    // The secret could not be read: the record is handed back, and the request was signed with the profile's key.
    expect(out).toContain('"batchItemFailures":[{"itemIdentifier":"m1"}]');
    expect(authorizations.some((a) => a.includes('Credential=AKIDFROMPROFILE/'))).toBe(true);
  });
});
