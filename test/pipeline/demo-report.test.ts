import { comparable, readmeSample, sampleDifference } from './demo';

// How `npm run demo` holds the README's sample output to what it prints (the demo itself runs only there: it takes ~10 s).

test('comparable() makes timings, dates, codes, incident ids and their padding alike, and nothing else', () => {
  expect(comparable('   +  0.09 s  opened            code 7K')).toBe(comparable('   + 12.41 s  opened            code X2'));
  expect(comparable('       │ 123456789012 us-east-1 2026-11-27 16:23 UTC')).toBe(comparable('       │ 123456789012 us-east-1 2027-01-05 09:02 UTC'));
  expect(comparable('answered: ACK db-1-cpu-high (7K): escalation stopped')).toBe(comparable('answered: ACK db-1-cpu-high (Q9): escalation stopped'));
  expect(comparable('   incident db-1-cpu-high · code 7K · incident#cc62efec…')).toBe(comparable('   incident db-1-cpu-high · code AB · incident#08ff3eaa…'));
  expect(comparable('done in 7.9 s')).toBe(comparable('done in 14.2 s'));
  // A text that reads differently is not alike.
  expect(comparable('       │ ALARM ??????CPU???-??')).not.toBe(comparable('       │ ALARM データベースCPU高負荷-東京'));
  expect(comparable('   +  2.29 s  reply             +1555***1003: "ACK 9K"')).not.toBe(comparable('   +  2.29 s  acknowledged      by +1555***1003'));
  expect(comparable('answered: ACK db-1-cpu-high (7K): escalation stopped')).not.toBe(comparable('answered: no open incident 7K'));
});

test('sampleDifference() names the first line that differs, a sample that ends early, and a missing sample', () => {
  const report = ['cdk-twilio-messaging local demo: no AWS account, no Twilio account', '   +  0.09 s  opened            code 7K', '       │ RESOLVED db-1-cpu-high after 1 min'];
  expect(sampleDifference(['cdk-twilio-messaging local demo: no AWS account, no Twilio account', '   +  0.11 s  opened            code 2P', '       │ RESOLVED db-1-cpu-high after 1 min'], report)).toBeUndefined();
  expect(sampleDifference([report[0], report[1], '       │ RESOLVED db-1-cpu-high after 14 min'], report)).toBeUndefined();
  expect(sampleDifference([report[0], report[1], '       │ RESOLVED db-1-cpu-high'], report)).toContain('at its line 3');
  expect(sampleDifference(report.slice(0, 2), report)).toContain('README: (ends)');
  expect(sampleDifference(undefined, report)).toContain('no sample output');
});

test('readmeSample() finds the fenced block that starts like the report; the README has one, with the incident\'s whole path', () => {
  expect(readmeSample('# x\n\n```\nnpm run demo\n```\n\n```\ncdk-twilio-messaging local demo: one\ntwo\n```\n')).toEqual(['cdk-twilio-messaging local demo: one', 'two']);
  expect(readmeSample('```\nsomething else\n```\n')).toBeUndefined();
  const sample = readmeSample()!.map(comparable);
  const steps = ['ALARM published', 'opened', 'paged stage 0 →', 'escalated stage 0:', 'paged stage 0 →', 'reply', 'answered: ACK db-0-cpu-high (<code>): escalation stopped', 'acknowledged', 'repeat timer due nothing sent', 'OK published', 'resolved', 'RESOLVED sent'];
  let at = 0;
  for (const step of steps) {
    const found = sample.findIndex((line, i) => i >= at && line.includes(step));
    expect([step, found >= 0]).toEqual([step, true]);
    at = found + 1;
  }
  expect(sample.some((l) => l.includes('│ RESOLVED db-0-cpu-high after 0 min'))).toBe(true);
  for (const what of ['threshold alarm', 'EventBridge event', 'alarm named in Japanese']) expect(sample.some((l) => l.includes(what))).toBe(true);
});
