/**
 * Runs a bundled handler in an execution environment of its own
 * (support/handler-host.cjs), optionally inside a CPU cgroup at a Lambda
 * memory size's share (support/cpu-cgroup.ts). The scenario that drives it,
 * and the fakes, stay outside the group: only the handler is throttled, and
 * the CPU time and peak memory reported are the handler process's own.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createCpuGroup, type CpuGroup, type ThrottleStats } from './cpu-cgroup';

export interface HostMode {
  /** Requested memory size (undefined: unthrottled). */
  readonly memoryMb?: number;
  /** The CPU share applied (undefined: none). */
  readonly share?: number;
  readonly throttled: boolean;
  /** Why the requested share could not be applied (the run then was unthrottled). */
  readonly fallback?: string;
  readonly label: string;
}

export interface CpuFigure {
  readonly cpuMs: number;
  readonly userMs: number;
  readonly systemMs: number;
}
export interface InitFigure extends CpuFigure {
  /** Epoch ms (sub-ms precision) at which the require started. */
  readonly startedAt: number;
  readonly ms: number;
}
export interface InvokeFigure<R = unknown> extends CpuFigure {
  readonly result: R;
  readonly startedAt: number;
  readonly ms: number;
  readonly logBytes: number;
  readonly remainingMs: number;
  readonly maxRssBytes: number;
  readonly rssBytes: number;
}
export interface HostUsage extends CpuFigure {
  readonly maxRssBytes: number;
  readonly rssBytes: number;
}

export interface Host {
  readonly mode: HostMode;
  readonly pid: number;
  init(file: string): Promise<InitFigure>;
  invoke<R = unknown>(event: unknown, options?: { functionName?: string; timeoutMs?: number }): Promise<InvokeFigure<R>>;
  usage(): Promise<HostUsage>;
  /** Ends the environment and removes its cgroup; returns the group's throttling counters. */
  close(): Promise<{ throttle?: ThrottleStats }>;
}

/** The memory size whose CPU share this scenario runs at: BENCH_MODE_MEMORY_MB, empty for unthrottled. */
export function modeMemoryFromEnv(): number | undefined {
  const v = process.env.BENCH_MODE_MEMORY_MB;
  if (!v) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 128 || n > 10240) throw new Error(`BENCH_MODE_MEMORY_MB=${v} is not a Lambda memory size (an integer from 128 to 10240)`);
  return n;
}

export function describeMode(memoryMb: number | undefined, group: CpuGroup | undefined, fallback: string | undefined): HostMode {
  if (memoryMb === undefined) return { throttled: false, label: 'unthrottled' };
  if (group) return { memoryMb, share: group.share, throttled: true, label: `${memoryMb} MB (CPU share ${group.share.toFixed(3)})` };
  return { memoryMb, throttled: false, fallback, label: `${memoryMb} MB requested, ⚠ NOT THROTTLED (${fallback})` };
}

const HOST_FILE = join(__dirname, 'handler-host.cjs');

export async function startHost(options: { memoryMb?: number; env?: Record<string, string> } = {}): Promise<Host> {
  const child: ChildProcess = fork(HOST_FILE, [], {
    execArgv: [],
    // As the construct deploys the functions.
    env: { ...process.env, ...options.env, NODE_OPTIONS: '--enable-source-maps' },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      for (const p of pending.values()) p.reject(new Error(`the handler host exited (${code ?? signal}) during a request`));
      pending.clear();
      resolve();
    }),
  );
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    void exit.then(() => reject(new Error('the handler host exited before it was ready')));
    child.on('message', (m: { ready?: true; pid?: number; id?: number; value?: unknown; error?: string }) => {
      if (m.ready) return resolve(m.pid!);
      const p = pending.get(m.id!);
      if (!p) return;
      pending.delete(m.id!);
      if (m.error) p.reject(new Error(m.error));
      else p.resolve(m.value);
    });
  });
  let group: CpuGroup | undefined;
  let fallback: string | undefined;
  if (options.memoryMb !== undefined) {
    const made = createCpuGroup(options.memoryMb);
    group = made.group;
    fallback = made.fallback;
    if (group) {
      try {
        group.add(pid);
      } catch (err) {
        group.remove();
        group = undefined;
        fallback = `could not move the handler into the cgroup (${(err as Error).message.split('\n')[0]})`;
      }
    }
  }
  const mode = describeMode(options.memoryMb, group, fallback);
  const call = <T>(req: Record<string, unknown>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (exited) return reject(new Error('the handler host has exited'));
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ ...req, id });
    });
  const memoryMb = options.memoryMb ?? 1769;
  return {
    mode,
    pid,
    init: (file) => call<InitFigure>({ op: 'init', file }),
    invoke: <R>(event: unknown, o: { functionName?: string; timeoutMs?: number } = {}) =>
      call<InvokeFigure<R>>({ op: 'invoke', event, functionName: o.functionName ?? 'handler', timeoutMs: o.timeoutMs ?? 30_000, memoryMb }),
    usage: () => call<HostUsage>({ op: 'usage' }),
    close: async () => {
      if (!exited) {
        child.disconnect();
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exit;
        clearTimeout(killer);
      }
      const throttle = group?.stats();
      group?.remove();
      return { throttle };
    },
  };
}
