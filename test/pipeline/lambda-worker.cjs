// One Lambda execution environment: a worker thread that loads a built handler
// (assets/<name>/index.js, what ships) and runs one invocation at a time.
// Plain CommonJS on purpose: it runs outside jest's and tsx's transforms.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { randomUUID } = require('node:crypto');

const { assetPath, functionName, memoryMb, controllableClock } = workerData;
const realNow = Date.now;
// A controllable clock (a scheduled function run "later" without waiting):
// each invocation may set how far this environment's clock runs ahead of the
// real one. Date.now() and new Date() follow it; the time budget does not.
let clockOffsetMs = 0;
if (controllableClock) {
  const RealDate = Date;
  class ShiftedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(realNow() + clockOffsetMs);
      else super(...args);
    }
    static now() {
      return realNow() + clockOffsetMs;
    }
  }
  globalThis.Date = ShiftedDate;
}
let handler;
let initError;
try {
  const mod = require(assetPath);
  handler = mod.handler;
  if (typeof handler !== 'function') throw new Error(`${assetPath} exports no handler function`);
} catch (err) {
  initError = err;
}
// Init done (INIT phase over): the runtime may count this environment as warm.
parentPort.postMessage({ ready: true });

function serializeError(err) {
  if (err && typeof err === 'object') {
    return { name: String(err.name || 'Error'), message: String(err.message), stack: String(err.stack || '') };
  }
  return { name: 'Error', message: String(err), stack: '' };
}

parentPort.on('message', async ({ id, event, deadline, clockAheadMs }) => {
  if (controllableClock) clockOffsetMs = clockAheadMs || 0;
  const awsRequestId = randomUUID();
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${randomUUID().replace(/-/g, '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - realNow()),
    done() {},
    fail() {},
    succeed() {},
  };
  try {
    if (initError) throw initError;
    const result = await handler(event, context);
    parentPort.postMessage({ id, ok: true, result: result === undefined ? null : result });
  } catch (err) {
    parentPort.postMessage({ id, ok: false, error: serializeError(err) });
  }
});
