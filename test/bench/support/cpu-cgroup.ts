/**
 * Lambda's CPU share for a handler process (cgroup v1 `cpu` controller).
 *
 * Lambda gives a function CPU in proportion to its memory: one full vCPU at
 * 1,769 MB, so 0.145 of one at 256 MB. A CFS quota of memory / 1769 × period
 * gives a process (all its threads: JIT, GC, libuv pool) the same share. The
 * group is made per handler process, holds that process only (the fakes and
 * the driving scenario stay outside), and is removed when it is done, also on
 * failure (process exit); run.ts sweeps the groups of its run at the end in
 * case a scenario was killed.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CGROUP_ROOT = process.env.BENCH_CGROUP_ROOT ?? '/sys/fs/cgroup/cpu';
/** Lambda: one full vCPU at this memory size. */
export const FULL_VCPU_MB = 1769;
const PERIOD_US = 100_000;
const PREFIX = 'bench-';

export const cpuShare = (memoryMb: number): number => memoryMb / FULL_VCPU_MB;

export interface ThrottleStats {
  /** CFS periods in which the group ran, and in how many of them it hit the quota. */
  readonly periods: number;
  readonly throttledPeriods: number;
  readonly throttledMs: number;
}

export interface CpuGroup {
  readonly name: string;
  readonly memoryMb: number;
  readonly share: number;
  readonly quotaUs: number;
  readonly periodUs: number;
  /** Moves a process (all its threads) into the group. */
  add(pid: number): void;
  stats(): ThrottleStats;
  /** Moves anything left back to the root and removes the group. Idempotent. */
  remove(): void;
}

const live = new Set<CpuGroup>();
let counter = 0;
process.once('exit', () => {
  for (const g of live) g.remove();
});

const runId = () => (process.env.BENCH_RUN_ID ?? String(process.pid)).replace(/[^a-z0-9]/gi, '');

/** A group at `memoryMb`'s share, or why none could be made (then the caller runs unthrottled and says so). */
export function createCpuGroup(memoryMb: number): { group?: CpuGroup; fallback?: string } {
  const name = `${PREFIX}${runId()}-${process.pid}-${counter++}`;
  const dir = join(CGROUP_ROOT, name);
  const quotaUs = Math.max(1000, Math.round(cpuShare(memoryMb) * PERIOD_US));
  try {
    if (!existsSync(join(CGROUP_ROOT, 'cpu.cfs_quota_us'))) throw new Error(`${CGROUP_ROOT} is not a cgroup v1 cpu hierarchy`);
    mkdirSync(dir);
  } catch (err) {
    return { fallback: `no cpu cgroup (${(err as Error).message.split('\n')[0]})` };
  }
  const group: CpuGroup = {
    name,
    memoryMb,
    share: quotaUs / PERIOD_US,
    quotaUs,
    periodUs: PERIOD_US,
    add(pid) {
      writeFileSync(join(dir, 'cgroup.procs'), String(pid));
      const where = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      if (!where.split('\n').some((l) => (l.split(':')[1] ?? '').split(',').includes('cpu') && l.endsWith(`/${name}`))) {
        throw new Error(`process ${pid} is not in cgroup ${name} after the move: ${where.trim()}`);
      }
    },
    stats() {
      const s = Object.fromEntries(
        readFileSync(join(dir, 'cpu.stat'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(' ') as [string, string]),
      );
      return { periods: Number(s.nr_periods ?? 0), throttledPeriods: Number(s.nr_throttled ?? 0), throttledMs: Number(s.throttled_time ?? 0) / 1e6 };
    },
    remove() {
      if (!live.has(group)) return;
      removeGroupDir(dir);
      live.delete(group);
    },
  };
  try {
    writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
    writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quotaUs));
    const readBack = Number(readFileSync(join(dir, 'cpu.cfs_quota_us'), 'utf8'));
    if (readBack !== quotaUs) throw new Error(`quota reads back as ${readBack}, not ${quotaUs}`);
  } catch (err) {
    removeGroupDir(dir);
    return { fallback: `cpu cgroup ${name} could not be configured (${(err as Error).message.split('\n')[0]})` };
  }
  live.add(group);
  return { group };
}

function removeGroupDir(dir: string): void {
  // A process that has just exited may linger in the group until it is reaped: move what is left, then retry.
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          writeFileSync(join(CGROUP_ROOT, 'cgroup.procs'), pid);
        } catch {
          // gone already
        }
      }
      rmdirSync(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      const until = Date.now() + 20;
      while (Date.now() < until) {
        // brief busy wait: this also runs in process.on('exit'), where nothing async can
      }
    }
  }
}

/** Removes every group this run made (a scenario killed by its timeout cannot clean up). */
export function sweepRunGroups(): string[] {
  if (!existsSync(CGROUP_ROOT)) return [];
  const mine = readdirSync(CGROUP_ROOT).filter((n) => n.startsWith(`${PREFIX}${runId()}-`));
  for (const n of mine) removeGroupDir(join(CGROUP_ROOT, n));
  return mine;
}
