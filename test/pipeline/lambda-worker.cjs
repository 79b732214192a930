// One Lambda execution environment: a worker thread that loads a built handler
// (assets/<name>/index.js, what ships) and runs one invocation at a time.
// Plain CommonJS on purpose: it runs outside jest's and tsx's transforms.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { randomUUID } = require('node:crypto');

const { assetPath, functionName, memoryMb } = workerData;
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

parentPort.on('message', async ({ id, event, deadline }) => {
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
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
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
