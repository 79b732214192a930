import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLambdaFunction, InvocationError, LambdaFunction } from './lambda-runtime';

// A stand-in for a built asset: module state, env, slow and failing paths.
const HANDLER = `
let invocations = 0;
const loadedAt = Date.now();
console.log(JSON.stringify({ level: 'INFO', message: 'cold start' }));
exports.handler = async (event, context) => {
  invocations++;
  if (event.throw) throw new TypeError('boom');
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  return { invocations, loadedAt, region: process.env.AWS_REGION, marker: process.env.MARKER, remaining: context.getRemainingTimeInMillis(), fn: context.functionName, requestId: context.awsRequestId };
};
`;

let dir: string;
let fn: LambdaFunction | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lambda-runtime-'));
  writeFileSync(join(dir, 'index.js'), HANDLER);
});
afterEach(async () => {
  await fn?.close();
  fn = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Result = { invocations: number; loadedAt: number; region: string; marker: string; remaining: number; fn: string; requestId: string };

test('an environment gets its own env, keeps module state while warm, and sees a context with the remaining time', async () => {
  const logs: string[] = [];
  fn = createLambdaFunction({ name: 'sender', assetPath: join(dir, 'index.js'), env: { AWS_REGION: 'eu-west-1', MARKER: 'm1' }, timeoutMs: 5000, concurrency: 1, onLog: (l) => logs.push(l) });
  const a = await fn.invoke<Result>({});
  const b = await fn.invoke<Result>({});
  expect(a).toMatchObject({ invocations: 1, region: 'eu-west-1', marker: 'm1', fn: 'sender' });
  expect(b.invocations).toBe(2);
  expect(b.loadedAt).toBe(a.loadedAt);
  expect(a.remaining).toBeGreaterThan(0);
  expect(a.remaining).toBeLessThanOrEqual(5000);
  expect(a.requestId).not.toBe(b.requestId);
  expect(process.env.MARKER).toBeUndefined();
  expect(fn.stats).toMatchObject({ invocations: 2, coldStarts: 1 });
  await new Promise((r) => setTimeout(r, 20));
  expect(logs).toContain('{"level":"INFO","message":"cold start"}');
});

test('a handler error rejects with its message; the environment stays warm', async () => {
  fn = createLambdaFunction({ name: 'f', assetPath: join(dir, 'index.js'), env: {}, concurrency: 1 });
  await expect(fn.invoke({ throw: true })).rejects.toMatchObject({ failure: 'error', message: 'boom', errorName: 'TypeError' });
  expect((await fn.invoke<Result>({})).invocations).toBe(2);
  expect(fn.stats).toMatchObject({ errors: 1, coldStarts: 1 });
});

test('an invocation past the timeout is killed with its environment; the next one starts cold', async () => {
  fn = createLambdaFunction({ name: 'f', assetPath: join(dir, 'index.js'), env: {}, timeoutMs: 100, concurrency: 1 });
  const err = await fn.invoke({ sleepMs: 10_000 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InvocationError);
  expect(err).toMatchObject({ failure: 'timeout' });
  // The new environment's cold start must not eat the 100 ms (a busy machine takes longer to load a module).
  await fn.warm();
  expect((await fn.invoke<Result>({})).invocations).toBe(1);
  expect(fn.stats).toMatchObject({ timeouts: 1, coldStarts: 2 });
});

test('crashRunning kills only the environments with an invocation in flight', async () => {
  fn = createLambdaFunction({ name: 'f', assetPath: join(dir, 'index.js'), env: {}, concurrency: 2 });
  await fn.invoke({}); // one warm, idle environment
  const slow = fn.invoke({ sleepMs: 10_000 }).catch((e: unknown) => e);
  while (fn.running === 0) await new Promise((r) => setTimeout(r, 5));
  expect(await fn.crashRunning()).toBe(1);
  expect(await slow).toMatchObject({ failure: 'crash' });
  const after = await fn.invoke<Result>({});
  expect(fn.stats.crashes).toBe(1);
  expect(after.invocations).toBeGreaterThanOrEqual(1);
});

test('concurrency bounds the environments; extra invocations wait', async () => {
  fn = createLambdaFunction({ name: 'f', assetPath: join(dir, 'index.js'), env: {}, concurrency: 2 });
  const results = await Promise.all([1, 2, 3, 4, 5].map(() => fn!.invoke<Result>({ sleepMs: 30 })));
  expect(results).toHaveLength(5);
  expect(fn.stats.coldStarts).toBe(2);
  expect(fn.stats.maxConcurrent).toBe(2);
});

test('a missing asset is a clear error telling to build', () => {
  expect(() => createLambdaFunction({ name: 'f', assetPath: join(dir, 'nope.js'), env: {} })).toThrow(/npm run build/);
});

test('warm starts environments ahead (provisioned concurrency): later invocations start no more', async () => {
  fn = createLambdaFunction({ name: 'f', assetPath: join(dir, 'index.js'), env: {}, concurrency: 2 });
  await fn.warm();
  expect(fn.stats.coldStarts).toBe(2);
  await Promise.all([fn.invoke({ sleepMs: 20 }), fn.invoke({ sleepMs: 20 })]);
  expect(fn.stats.coldStarts).toBe(2);
});

test('reconfigure: a running invocation ends under the old configuration, every later one runs in a new environment with the new one', async () => {
  fn = createLambdaFunction({ name: 'f', assetPath: join(dir, 'index.js'), env: { MARKER: 'old' }, concurrency: 2 });
  await fn.warm();
  const running = fn.invoke<Result>({ sleepMs: 300 });
  while (fn.running === 0) await new Promise((r) => setTimeout(r, 5));
  await fn.reconfigure({ MARKER: 'new' });
  expect(fn.env).toEqual({ MARKER: 'new' });
  const [during, old] = await Promise.all([fn.invoke<Result>({}), running]);
  expect(old.marker).toBe('old');
  expect(during).toMatchObject({ marker: 'new', invocations: 1 });
  const after = await Promise.all([fn.invoke<Result>({ sleepMs: 50 }), fn.invoke<Result>({ sleepMs: 50 })]);
  expect(after.map((r) => r.marker)).toEqual(['new', 'new']);
  expect(after.every((r) => r.loadedAt !== old.loadedAt)).toBe(true);
  expect(fn.stats).toMatchObject({ errors: 0, crashes: 0, timeouts: 0 });

  // A lower concurrency: one environment serves everything, in turn.
  await fn.reconfigure({ MARKER: 'one' }, { concurrency: 1 });
  const single = await Promise.all([fn.invoke<Result>({ sleepMs: 20 }), fn.invoke<Result>({ sleepMs: 20 }), fn.invoke<Result>({})]);
  expect(single.map((r) => [r.marker, r.invocations]).sort()).toEqual([['one', 1], ['one', 2], ['one', 3]]);
});

test('a controllable clock runs Date.now() and new Date() ahead for one invocation; the time budget stays real', async () => {
  const clockFile = join(dir, 'clock.js');
  writeFileSync(clockFile, `exports.handler = async (event, context) => ({ now: Date.now(), date: new Date().getTime(), parsed: new Date(0).getTime(), remaining: context.getRemainingTimeInMillis() });`);
  fn = createLambdaFunction({ name: 'reconciler', assetPath: clockFile, env: {}, timeoutMs: 5000, concurrency: 1, controllableClock: true });
  const before = Date.now();
  const ahead = await fn.invoke<{ now: number; date: number; parsed: number; remaining: number }>({}, { clockAheadMs: 3_600_000 });
  const after = Date.now();
  expect(ahead.now).toBeGreaterThanOrEqual(before + 3_600_000);
  expect(ahead.now).toBeLessThanOrEqual(after + 3_600_000);
  expect(ahead.date).toBeGreaterThanOrEqual(before + 3_600_000);
  expect(ahead.parsed).toBe(0);
  expect(ahead.remaining).toBeGreaterThan(0);
  expect(ahead.remaining).toBeLessThanOrEqual(5000);
  // The next invocation without an offset is back on the real clock.
  const real = await fn.invoke<{ now: number }>({});
  expect(real.now).toBeLessThanOrEqual(Date.now());
});

test('a clock offset on a function without a controllable clock is refused', async () => {
  fn = createLambdaFunction({ name: 'sender', assetPath: join(dir, 'index.js'), env: {}, timeoutMs: 5000, concurrency: 1 });
  await expect(fn.invoke({}, { clockAheadMs: 1000 })).rejects.toThrow(/controllableClock/);
});
