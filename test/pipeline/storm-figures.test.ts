import { allNamedAt, arrivalMs, senderPacing, stormSenderConfig } from './storm';

const NAMES = ['storm-00', 'storm-01', 'storm-02', 'storm-10'];

test('an alarm counts as named when its name is a whole word of a text the phone received, and +N more counts N others', () => {
  const texts = [
    { at: 30, text: 'ALARM storm-00 (7K) p99 latency above 2 s. ACK 7K' },
    { at: 10, text: 'ALARM storm-1 ... ACK 2B' },
    { at: 60, text: 'Storm: storm-01 (3C), storm-02 (4D) +1 more. ACK ALL' },
  ];
  // storm-1 is not storm-10; the last text names two and counts the remaining one.
  expect(allNamedAt(texts, NAMES)).toEqual({ at: 60, unnamed: 0 });
  expect(allNamedAt(texts.slice(0, 2), NAMES)).toEqual({ unnamed: 3 });
});

test('a storm front-loads its alarms over the window', () => {
  expect(arrivalMs(0, 50, 60)).toBe(0);
  expect(arrivalMs(25, 50, 60)).toBe(15_000);
  expect(arrivalMs(49, 50, 60)).toBeLessThan(60_000);
});

test('the sender types pace as Twilio sends, and the storm window reaches the sender in real seconds', () => {
  expect(senderPacing('long-code', 30)).toEqual({ messagesPerSecond: 1, timeScale: 30 });
  expect(senderPacing('short-code')).toEqual({ messagesPerSecond: 100, timeScale: 1 });
  expect(senderPacing({ pool: 5 })).toEqual({ messagesPerSecond: 1, numbers: 5, timeScale: 1 });
  expect(stormSenderConfig(['+15550102001'], { windowSeconds: 60, immediatePages: 1 }, 30)).toMatchObject({ storm: { windowSeconds: 2, immediatePages: 1 } });
  expect(stormSenderConfig(['+15550102001'], { windowSeconds: 0, immediatePages: 1 }, 30)).toMatchObject({ storm: { windowSeconds: 0 } });
});
