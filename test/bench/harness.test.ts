/**
 * The benchmark harness's own logic (no timings asserted: speed is measured
 * in `npm run bench` only): the stage-throttle model, the CPU share and its
 * fallback, and the scaling plot.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CGROUP_ROOT, createCpuGroup, cpuShare } from './support/cpu-cgroup';
import { describeMode } from './support/host';
import { scalingSvg } from './support/svg-plot';
import { tokenBucketRefusals } from './support/token-bucket';

describe('tokenBucketRefusals', () => {
  it('lets a burst through up to the bucket, then refuses what the rate cannot refill', () => {
    const burst = Array.from({ length: 130 }, () => 0);
    expect(tokenBucketRefusals(burst, 50, 100)).toEqual({ refused: 30, peakPerSecond: 130 });
  });

  it('refuses nothing at or below the rate once the bucket has refilled', () => {
    const steady = Array.from({ length: 500 }, (_, i) => i * 20); // 50 per second for 10 s
    expect(tokenBucketRefusals(steady, 50, 100).refused).toBe(0);
  });

  it('refuses the excess of a sustained rate above the limit', () => {
    const fast = Array.from({ length: 1000 }, (_, i) => i * 10); // 100 per second for 10 s
    const { refused } = tokenBucketRefusals(fast, 50, 100);
    // 1,000 arrive; the bucket gives 100 plus about 50 per second for 10 s.
    expect(refused).toBeGreaterThanOrEqual(1000 - 100 - 501);
    expect(refused).toBeLessThanOrEqual(1000 - 100 - 499);
  });
});

describe('CPU share', () => {
  it('is memory / 1769 MB, as Lambda allocates CPU', () => {
    expect(cpuShare(1769)).toBe(1);
    expect(cpuShare(256)).toBeCloseTo(0.1447, 4);
  });

  it('falls back, with the reason in the label, when no cgroup can be made', () => {
    const dir = mkdtempSync(join(tmpdir(), 'not-a-cgroup-'));
    const previous = process.env.BENCH_CGROUP_ROOT;
    try {
      jest.isolateModules(() => {
        process.env.BENCH_CGROUP_ROOT = dir;
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const isolated = require('./support/cpu-cgroup') as typeof import('./support/cpu-cgroup');
        const made = isolated.createCpuGroup(256);
        expect(made.group).toBeUndefined();
        expect(made.fallback).toContain(dir);
        const mode = describeMode(256, undefined, made.fallback);
        expect(mode.throttled).toBe(false);
        expect(mode.label).toContain('NOT THROTTLED');
        expect(mode.label).toContain(dir);
      });
    } finally {
      if (previous === undefined) delete process.env.BENCH_CGROUP_ROOT;
      else process.env.BENCH_CGROUP_ROOT = previous;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('holds the process it is given at the quota, and is gone after remove (or says why it cannot be made)', async () => {
    const made = createCpuGroup(256);
    if (!made.group) {
      // A machine without a writable cgroup v1 cpu hierarchy: the run is labelled, not silently unthrottled.
      expect(made.fallback).toMatch(/cgroup/);
      return;
    }
    const group = made.group;
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { stdio: 'ignore' });
    try {
      group.add(child.pid!);
      expect(readFileSync(`/proc/${child.pid}/cgroup`, 'utf8')).toContain(`/${group.name}`);
      expect(readFileSync(join(CGROUP_ROOT, group.name, 'cpu.cfs_quota_us'), 'utf8').trim()).toBe(String(group.quotaUs));
      expect(group.quotaUs / group.periodUs).toBeCloseTo(0.145, 3);
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      group.remove();
    }
    expect(existsSync(join(CGROUP_ROOT, group.name))).toBe(false);
  });

  it('labels an unthrottled run and a throttled one by what was applied', () => {
    expect(describeMode(undefined, undefined, undefined)).toEqual({ throttled: false, label: 'unthrottled' });
    const group = { share: 0.145 } as Parameters<typeof describeMode>[1];
    expect(describeMode(256, group, undefined)).toMatchObject({ throttled: true, share: 0.145, label: '256 MB (CPU share 0.145)' });
  });
});

describe('scalingSvg', () => {
  const point = (messages: number, wallMs: number, batch = false) => ({ label: batch ? `10×${messages / 10}` : String(messages), messages, wallMs, idealMs: Math.ceil(messages / 10) * 100, cpuPerRecipientMs: 8, batch });
  const svg = scalingSvg(
    [
      { name: 'unthrottled', points: [point(1, 120), point(10, 300), point(100, 1400), point(1000, 12_000), point(1000, 14_000, true)] },
      { name: '256 MB <share>', points: [point(1, 300), point(10, 900), point(100, 5800)] },
    ],
    { timeoutMs: 30_000, title: 'Sender', subtitle: 'test' },
  );

  it('draws one line per mode in each panel, the ideal and the timeout', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    // Two series × two panels, plus the ideal.
    expect(svg.match(/<polyline /g)).toHaveLength(5);
    expect(svg).toContain('function timeout 30 s');
    expect(svg).toContain('batch of 10 records × 100 recipients');
  });

  it('escapes text, so a mode label cannot break the document', () => {
    expect(svg).toContain('256 MB &lt;share&gt;');
    expect(svg).not.toContain('<share>');
  });
});
