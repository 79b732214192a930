import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * Runs a built handler the way Lambda does: each execution environment is a
 * worker thread with its own environment variables and module state (clients
 * at module scope, cached credentials), created on demand (a cold start) and
 * reused while warm, one invocation at a time. An invocation that outlives the
 * function timeout, or is crashed on purpose, has its environment terminated
 * mid-flight, as Lambda does: nothing it had not yet done happens.
 */
export interface LambdaFunctionOptions {
  /** The function's name (context.functionName, log prefix). */
  readonly name: string;
  /** The built handler module (exports `handler`). */
  readonly assetPath: string;
  /** The environment variables of every execution environment. */
  readonly env: Readonly<Record<string, string>>;
  /** Function timeout. Default 30 000 ms. */
  readonly timeoutMs?: number;
  /** Most execution environments at once (reserved concurrency). Default 4. */
  readonly concurrency?: number;
  /** Each log line the handler writes (stdout and stderr). */
  readonly onLog?: (line: string, functionName: string) => void;
  /**
   * Let each invocation run the environment's clock ahead of the real one
   * (`invoke`'s `clockAheadMs`): a scheduled function asked what it would do
   * minutes from now, at once. Default false (the real clock, untouched).
   */
  readonly controllableClock?: boolean;
}

export interface InvokeOptions {
  /** With `controllableClock`: how far ahead of the real clock Date.now() and new Date() run during this invocation. */
  readonly clockAheadMs?: number;
}

export type InvocationFailure = 'error' | 'timeout' | 'crash';

/** An invocation that did not return: the handler threw, timed out, or its environment was crashed. */
export class InvocationError extends Error {
  constructor(
    readonly failure: InvocationFailure,
    message: string,
    readonly errorName?: string,
  ) {
    super(message);
    this.name = 'InvocationError';
  }
}

export interface LambdaStats {
  invocations: number;
  errors: number;
  timeouts: number;
  crashes: number;
  coldStarts: number;
  maxConcurrent: number;
}

export interface LambdaFunction {
  readonly name: string;
  readonly stats: LambdaStats;
  /** Invokes the handler; rejects with InvocationError when it does not return a result. */
  invoke<T = unknown>(event: unknown, options?: InvokeOptions): Promise<T>;
  /** Invocations running now. */
  readonly running: number;
  /** Starts environments until `count` exist (provisioned concurrency) and waits for their init to finish. */
  warm(count?: number): Promise<void>;
  /** Terminates every environment that is running an invocation (those invocations reject with `crash`). Returns how many. */
  crashRunning(): Promise<number>;
  /**
   * A configuration update (UpdateFunctionConfiguration): environments started
   * from now on get `env`; idle ones are shut down now, busy ones once their
   * invocation ends (it finishes with the old configuration, as in Lambda).
   * `concurrency`, when given, is the new most environments at once.
   */
  reconfigure(env: Readonly<Record<string, string>>, options?: { readonly concurrency?: number }): Promise<void>;
  /** The environment variables new environments get. */
  readonly env: Readonly<Record<string, string>>;
  /** The most environments at once. */
  readonly concurrency: number;
  /** Terminates every environment. */
  close(): Promise<void>;
}

const WORKER_FILE = join(__dirname, 'lambda-worker.cjs');

interface Environment {
  readonly worker: Worker;
  busy?: { id: number; resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };
  /** Taken by an invocation (set synchronously, before `busy`, so two invocations never share one). */
  reserved: boolean;
  dead: boolean;
  /** Resolves when the handler module has been loaded (or failed to load). */
  readonly ready: Promise<void>;
  /** The configuration it was started with (see `reconfigure`). */
  readonly generation: number;
}

export function createLambdaFunction(options: LambdaFunctionOptions): LambdaFunction {
  if (!existsSync(options.assetPath)) {
    throw new Error(`${options.assetPath} does not exist: run \`npm run build\` (or \`node scripts/bundle.mjs\`) first`);
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  let concurrency = options.concurrency ?? 4;
  const stats: LambdaStats = { invocations: 0, errors: 0, timeouts: 0, crashes: 0, coldStarts: 0, maxConcurrent: 0 };
  const environments: Environment[] = [];
  const waiting: Array<() => void> = [];
  let nextId = 0;
  let closed = false;
  let env = options.env;
  let generation = 0;

  const running = () => environments.filter((e) => e.busy).length;

  function pipeLogs(stream: NodeJS.ReadableStream | null) {
    if (!stream) return;
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line) options.onLog?.(line, options.name);
    });
  }

  function spawn(): Environment {
    stats.coldStarts++;
    const worker = new Worker(WORKER_FILE, {
      workerData: { assetPath: options.assetPath, functionName: options.name, memoryMb: 256, controllableClock: options.controllableClock ?? false },
      env: { ...env },
      stdout: true,
      stderr: true,
    });
    let markReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    const environment: Environment = { worker, reserved: false, dead: false, ready, generation };
    pipeLogs(worker.stdout);
    pipeLogs(worker.stderr);
    worker.on('message', (msg: { id: number; ok: boolean; ready?: boolean; result?: unknown; error?: { name: string; message: string } }) => {
      if (msg.ready) return markReady();
      const busy = environment.busy;
      if (!busy || busy.id !== msg.id) return;
      clearTimeout(busy.timer);
      environment.busy = undefined;
      if (msg.ok) busy.resolve(msg.result ?? undefined);
      else {
        stats.errors++;
        busy.reject(new InvocationError('error', msg.error?.message ?? 'handler error', msg.error?.name));
      }
      if (environment.generation !== generation) {
        // Started under an older configuration: it ends with this invocation.
        void retire(environment);
        return;
      }
      environment.reserved = false;
      release();
    });
    const die = (reason: string) => {
      markReady();
      if (environment.dead) return;
      environment.dead = true;
      const index = environments.indexOf(environment);
      if (index >= 0) environments.splice(index, 1);
      const busy = environment.busy;
      if (busy) {
        clearTimeout(busy.timer);
        environment.busy = undefined;
        stats.crashes++;
        busy.reject(new InvocationError('crash', `execution environment ended: ${reason}`));
      }
      release();
    };
    worker.on('error', (err) => die(String(err)));
    worker.on('exit', (code) => die(`exit ${code}`));
    environments.push(environment);
    return environment;
  }

  function release() {
    const next = waiting.shift();
    if (next) next();
  }

  async function acquire(): Promise<Environment> {
    for (;;) {
      if (closed) throw new InvocationError('crash', `${options.name} is closed`);
      const idle = environments.find((e) => !e.reserved && !e.dead);
      if (idle) {
        idle.reserved = true;
        return idle;
      }
      if (environments.length < concurrency) {
        const fresh = spawn();
        fresh.reserved = true;
        return fresh;
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  }

  /** Shuts an idle environment down (no invocation fails). */
  async function retire(environment: Environment) {
    environment.dead = true;
    environment.reserved = true;
    const index = environments.indexOf(environment);
    if (index >= 0) environments.splice(index, 1);
    release();
    await environment.worker.terminate();
  }

  async function terminate(environment: Environment, failure: InvocationFailure, message: string) {
    const busy = environment.busy;
    environment.busy = undefined;
    environment.dead = true;
    const index = environments.indexOf(environment);
    if (index >= 0) environments.splice(index, 1);
    if (busy) {
      clearTimeout(busy.timer);
      if (failure === 'timeout') stats.timeouts++;
      else stats.crashes++;
      busy.reject(new InvocationError(failure, message));
    }
    await environment.worker.terminate();
    release();
  }

  return {
    name: options.name,
    stats,
    get running() {
      return running();
    },
    async invoke<T>(event: unknown, invokeOptions: InvokeOptions = {}): Promise<T> {
      if (invokeOptions.clockAheadMs && !options.controllableClock) throw new Error(`${options.name}: clockAheadMs needs controllableClock`);
      let environment = await acquire();
      // Terminated between acquire and now (a crash or close): it never ran, take another.
      while (environment.dead) environment = await acquire();
      const id = nextId++;
      stats.invocations++;
      const deadline = Date.now() + timeoutMs;
      const result = new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => {
          void terminate(environment, 'timeout', `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
        }, timeoutMs);
        environment.busy = { id, resolve, reject, timer };
      });
      stats.maxConcurrent = Math.max(stats.maxConcurrent, running());
      environment.worker.postMessage({ id, event, deadline, ...(invokeOptions.clockAheadMs ? { clockAheadMs: invokeOptions.clockAheadMs } : {}) });
      return (await result) as T;
    },
    async warm(count = concurrency) {
      while (environments.length < Math.min(count, concurrency)) spawn();
      await Promise.all(environments.map((e) => e.ready));
    },
    async crashRunning() {
      const busy = environments.filter((e) => e.busy);
      await Promise.all(busy.map((e) => terminate(e, 'crash', 'execution environment crashed (simulated)')));
      return busy.length;
    },
    get env() {
      return env;
    },
    get concurrency() {
      return concurrency;
    },
    async reconfigure(next, opts = {}) {
      env = { ...next };
      if (opts.concurrency !== undefined) concurrency = opts.concurrency;
      generation++;
      const idle = environments.filter((e) => !e.reserved && !e.dead);
      await Promise.all(idle.map(retire));
    },
    async close() {
      closed = true;
      const all = [...environments];
      await Promise.all(all.map((e) => terminate(e, 'crash', `${options.name} closed`)));
      while (waiting.length > 0) release();
    },
  };
}
