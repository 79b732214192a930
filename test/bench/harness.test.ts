/**
 * The benchmark harness's own logic (no timings asserted: speed is measured
 * in `npm run bench` only): the stage-throttle model, the CPU share and its
 * fallback, the scaling plot, the scenarios' environment (storm windows on,
 * as deployed) and the cost model's counting of the window write and SQS.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CGROUP_ROOT, createCpuGroup, cpuShare } from './support/cpu-cgroup';
import { describeMode } from './support/host';
import { scalingSvg } from './support/svg-plot';
import { tokenBucketRefusals } from './support/token-bucket';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { STORM_LIMITS } from '../../lib/contract';
import { loadSettings } from '../../lambda/sender/config';
import { stormId } from '../../lambda/shared/table/storm';
import { costPerThousandAlerts, PRICE, type CostInputs } from './cost-model';
import { startBenchEnv, TABLE_NAME } from './support/local-env';

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

describe('the handler scenarios\' environment (support/local-env.ts)', () => {
  it('gives the sender ALERT_QUEUE_URL, an SQS fake, so the construct\'s default storm window is on; endStormWindows makes the next text a first page', async () => {
    const saved = { ...process.env };
    const env = await startBenchEnv({ from: '+15005550001', defaultRecipients: ['+15550100000'] });
    try {
      expect(process.env.ALERT_QUEUE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\d+\/alerts$/);
      // The sender's own reading of it: the construct writes no SENDER_CONFIG.storm by default.
      expect(loadSettings(process.env).storm).toEqual({ windowMs: STORM_LIMITS.windowSeconds.default * 1000, immediatePages: STORM_LIMITS.immediatePages.default });
      const before = await env.stats();
      expect(before.sqs).toEqual({});
      // A window open now ends in the past.
      const db = new DynamoDBClient({ endpoint: env.dynamoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
      const key = { id: { S: stormId('+15550100000') } };
      await db.send(new PutItemCommand({ TableName: TABLE_NAME, Item: { ...key, windowEndsAt: { N: String(Date.now() + 60_000) } } }));
      await env.endStormWindows(['+15550100000', '+15550100001']);
      const { Item } = await db.send(new GetItemCommand({ TableName: TABLE_NAME, Key: key, ConsistentRead: true }));
      expect(Number(Item?.windowEndsAt?.N)).toBeLessThanOrEqual(Date.now());
      // An address never texted gets no window item.
      expect((await db.send(new GetItemCommand({ TableName: TABLE_NAME, Key: { id: { S: stormId('+15550100001') } } }))).Item).toBeUndefined();
      db.destroy();
    } finally {
      await env.close();
      process.env = saved;
    }
  }, 60_000);
});

describe('cost model', () => {
  const inputs: CostInputs = {
    architecture: 'arm64', senderMemoryMb: 1769, callbackMemoryMb: 256, senderLocalMs: 5, localMsSource: 'test', callbackMsSource: 'test',
    senderDdbWritesPerRecipient: 3, senderDdbReadsPerRecipient: 0, senderSqsSendsPerRecipient: 0, senderDdbRoundTripsPerRecipient: 2,
    callbackLocalMs: 3, callbackDdbWrites: 1, callbackDdbFailedWrites: 0, callbackDdbReads: 0, messageItemBytes: 600, claimItemBytes: 250,
    senderLogBytes: 600, callbackLogBytes: 500, senderLoadMs: 50, callbacksPerMessage: 3, alarms: 2, kmsKeys: 1, secrets: 1, metricNames: 10,
  };
  const line = (r: ReturnType<typeof costPerThousandAlerts>, item: string) => r.aws.find((l) => l.item === item)!;

  it('bills the storm window\'s conditional write as one more write unit per recipient', () => {
    const without = costPerThousandAlerts(inputs);
    const withWindow = costPerThousandAlerts({ ...inputs, senderDdbWritesPerRecipient: 4 });
    expect(line(withWindow, 'DynamoDB writes').perThousand - line(without, 'DynamoDB writes').perThousand).toBeCloseTo(1000 * PRICE.dynamoWru, 12);
  });

  it('bills the sender\'s SQS timers as measured', () => {
    const r = costPerThousandAlerts({ ...inputs, senderSqsSendsPerRecipient: 1 });
    expect(line(r, 'SQS timers (sender)').perThousand).toBeCloseTo(1000 * PRICE.sqsRequest, 12);
    expect(line(costPerThousandAlerts(inputs), 'SQS timers (sender)').perThousand).toBe(0);
    expect(r.awsTotal - costPerThousandAlerts(inputs).awsTotal).toBeCloseTo(1000 * PRICE.sqsRequest, 12);
  });
});
