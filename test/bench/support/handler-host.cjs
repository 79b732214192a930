'use strict';
/**
 * One Lambda execution environment for one bundled handler, driven over IPC
 * by support/host.ts. Plain JavaScript, run by plain `node` with the
 * construct's NODE_OPTIONS (--enable-source-maps), so that loading the bundle
 * costs what it costs in Lambda and not what a TypeScript loader adds.
 *
 * It reports its own CPU time (process.cpuUsage) and peak RSS: this process
 * is the only one in the CPU cgroup, so these are the handler's figures, not
 * the harness's.
 */
const { performance } = require('node:perf_hooks');
const { randomUUID } = require('node:crypto');

let handler;
let logBytes = 0;
// Powertools logs and EMF metrics go to stdout; CloudWatch Logs bills them by the byte.
const count = (chunk, encoding, callback) => {
  logBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
  if (typeof encoding === 'function') encoding();
  else if (typeof callback === 'function') callback();
  return true;
};
process.stdout.write = count;
process.stderr.write = count;

const epochMs = () => performance.timeOrigin + performance.now();
const cpuMs = (u) => ({ userMs: u.user / 1000, systemMs: u.system / 1000, cpuMs: (u.user + u.system) / 1000 });

function context(functionName, timeoutMs, memoryMb) {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

const memory = () => ({ maxRssBytes: process.resourceUsage().maxRSS * 1024, rssBytes: process.memoryUsage().rss });
const usage = () => ({ ...cpuMs(process.cpuUsage()), ...memory() });

process.on('message', async (m) => {
  const reply = (value) => process.send({ id: m.id, ...value });
  try {
    if (m.op === 'init') {
      const startedAt = epochMs();
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const mod = require(m.file);
      const ms = performance.now() - t0;
      const cpu = cpuMs(process.cpuUsage(c0));
      if (typeof mod.handler !== 'function') throw new Error(`${m.file} exports no handler`);
      handler = mod.handler;
      reply({ value: { startedAt, ms, ...cpu } });
    } else if (m.op === 'invoke') {
      const ctx = context(m.functionName, m.timeoutMs, m.memoryMb);
      const logsBefore = logBytes;
      const startedAt = epochMs();
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const result = await handler(m.event, ctx);
      const ms = performance.now() - t0;
      const cpu = cpuMs(process.cpuUsage(c0));
      reply({ value: { result: result === undefined ? null : result, startedAt, ms, ...cpu, logBytes: logBytes - logsBefore, remainingMs: ctx.getRemainingTimeInMillis(), ...memory() } });
    } else if (m.op === 'usage') {
      reply({ value: usage() });
    } else {
      throw new Error(`unknown op ${m.op}`);
    }
  } catch (err) {
    reply({ error: err && err.stack ? err.stack : String(err) });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true, pid: process.pid });
