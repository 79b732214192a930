import { loadSettings } from '../../lambda/sender/config';
import { segmentCount } from '../../lambda/sender/encoding';
import { digestText } from '../../lambda/sender/storm/digest-text';

// SENDER_CONFIG.storm as the sender reads it at cold start, and the digest's text.

const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/alerts';
const settings = (storm: unknown, queue: string | null = QUEUE) =>
  loadSettings({
    STATUS_TABLE_NAME: 'status',
    ...(queue ? { ALERT_QUEUE_URL: queue } : {}),
    SENDER_CONFIG: JSON.stringify({ from: '+15005550006', defaultRecipients: ['+15005550001'], ...(storm !== undefined ? { storm } : {}) }),
  }).storm;

describe('SENDER_CONFIG.storm', () => {
  test('absent: a 60 s window, one text at once; windowSeconds 0: off', () => {
    expect(settings(undefined)).toEqual({ windowMs: 60_000, immediatePages: 1 });
    expect(settings({ windowSeconds: 0 })).toBeUndefined();
    expect(settings({ windowSeconds: 30, immediatePages: 2 })).toEqual({ windowMs: 30_000, immediatePages: 2 });
  });

  test('without ALERT_QUEUE_URL the default window is off (no timers), and an explicit one is refused', () => {
    expect(settings(undefined, null)).toBeUndefined();
    expect(() => settings({ windowSeconds: 60 }, null)).toThrow('SENDER_CONFIG.storm.windowSeconds is 60, and digests need timers: set ALERT_QUEUE_URL to the alert queue, or windowSeconds to 0');
  });

  test.each([
    [{ windowSeconds: -1 }, 'SENDER_CONFIG.storm.windowSeconds must be an integer from 0 to 3600; it is -1'],
    [{ windowSeconds: '60' }, 'SENDER_CONFIG.storm.windowSeconds must be an integer from 0 to 3600; it is "60"'],
    [{ immediatePages: 0 }, 'SENDER_CONFIG.storm.immediatePages must be an integer from 1 to 20; it is 0'],
    [{ window: 60 }, 'SENDER_CONFIG.storm has "window", which is not a setting: use "windowSeconds" and "immediatePages"'],
    [[60], 'SENDER_CONFIG.storm must be an object { "windowSeconds"?, "immediatePages"? }'],
  ])('%p is refused, naming the value and the fix', (storm, message) => {
    expect(() => settings(storm)).toThrow(message);
    expect(() => settings(storm)).toThrow("fix the construct's storm");
  });
});

describe('the digest text', () => {
  test('names items in order, each incident once with its code or state, and offers ACK ALL while one is open', () => {
    expect(
      digestText(
        [
          { kind: 'incident', name: 'db-1-cpu', code: '7K', state: 'open' },
          { kind: 'incident', name: 'api-5xx', code: '3F', state: 'resolved' },
          { kind: 'incident', name: 'disk', code: 'Q2', state: 'acknowledged' },
          { kind: 'text', name: 'deploy 42\nrolled back' },
        ],
        0,
      ),
    ).toBe('4 alerts: db-1-cpu (7K), api-5xx resolved, disk acked, deploy 42 rolled back. Reply ACK ALL');
    expect(digestText([{ kind: 'incident', name: 'api-5xx', code: '3F', state: 'resolved' }], 0)).toBe('1 alert: api-5xx resolved');
  });

  test('as many as fit one GSM-7 segment, then +N more; names transliterated, never UCS-2', () => {
    const items = Array.from({ length: 30 }, (_, i) => ({ kind: 'incident' as const, name: `sęrvice-${i}-latency-p99`, code: `C${i}`, state: 'open' as const }));
    const text = digestText(items, 5);
    expect(segmentCount(text)).toBe(1);
    // Texts only counted offer ACK ALL only when one of them is an open incident's page.
    expect(digestText([{ kind: 'text', name: 'deploy 42' }], 3)).toBe('4 alerts: deploy 42 +3 more');
    expect(digestText([{ kind: 'text', name: 'deploy 42' }], 3, true)).toBe('4 alerts: deploy 42 +3 more. Reply ACK ALL');
    expect(text.length).toBeLessThanOrEqual(160);
    const [, named, more] = /^35 alerts: (.*) \+(\d+) more\. Reply ACK ALL$/.exec(text) ?? [];
    expect(named.split(', ')[0]).toBe('service-0-latency-p99 (C0)');
    expect(named.split(', ').length + Number(more)).toBe(35);
    expect(digestText([{ kind: 'text', name: '数据库故障' }], 0)).toBe('1 alert: ?????');
    // A long name is cut in the middle with GSM-7's three dots, and still leaves room for others.
    const long = { kind: 'text' as const, name: 'prod-eu-west-1 database cluster 7 CPU utilization high' };
    const two = digestText([long, { kind: 'text', name: 'deploy 42' }], 0);
    expect(two).toBe('2 alerts: prod-eu-west-1...7 CPU utilization high, deploy 42');
    expect(two.split(', ')[0].length - '2 alerts: '.length).toBeLessThanOrEqual(40);
    expect(segmentCount(two)).toBe(1);
  });
});
