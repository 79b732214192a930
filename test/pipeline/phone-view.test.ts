import { countSegments } from '../support/fake-twilio';
import { describeEncoding, smsEncoding } from './phone-view';

test('GSM-7 counts septets (escape-table characters two), 160 in one segment, 153 per part beyond', () => {
  expect(smsEncoding('ALARM db-1 ACK 7K')).toEqual({ encoding: 'GSM-7', units: 17, segments: 1, singleSegment: 160 });
  expect(smsEncoding('[x]€')).toMatchObject({ encoding: 'GSM-7', units: 7 });
  expect(smsEncoding('a'.repeat(160))).toMatchObject({ segments: 1 });
  expect(smsEncoding('a'.repeat(161))).toMatchObject({ segments: 2 });
  expect(smsEncoding('a'.repeat(307))).toMatchObject({ segments: 3 });
  expect(smsEncoding(`${'a'.repeat(159)}€`)).toMatchObject({ units: 161, segments: 2 });
});

test('one character outside GSM-7 makes the whole text UCS-2: 70 UTF-16 units in one segment, 67 per part; an emoji takes two', () => {
  expect(smsEncoding('ALARM データベース')).toEqual({ encoding: 'UCS-2', units: 12, segments: 1, singleSegment: 70 });
  expect(smsEncoding('Платежи')).toMatchObject({ encoding: 'UCS-2', units: 7 });
  expect(smsEncoding('🔥')).toMatchObject({ units: 2 });
  expect(smsEncoding(`${'a'.repeat(69)}’`)).toMatchObject({ encoding: 'UCS-2', segments: 1 });
  expect(smsEncoding(`${'a'.repeat(70)}’`)).toMatchObject({ segments: 2 });
  expect(smsEncoding('ы'.repeat(135))).toMatchObject({ segments: 3 });
});

test('the segments agree with the fake Twilio\'s count', () => {
  for (const text of ['short', 'a'.repeat(161), `${'a'.repeat(150)}{}[]~`, 'ALARM データベースCPU高負荷-東京', 'é'.repeat(200), `x${'🔥'.repeat(40)}`]) {
    expect(smsEncoding(text).segments).toBe(countSegments(text));
  }
});

test('describes the encoding as the demo prints it', () => {
  expect(describeEncoding(smsEncoding('ALARM db-1 ACK 7K'))).toBe('GSM-7, 1 segment (17 of 160 septets)');
  expect(describeEncoding(smsEncoding('ы'.repeat(71)))).toBe('UCS-2, 2 segments (71 UCS-2 units)');
});
