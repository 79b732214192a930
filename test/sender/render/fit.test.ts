import { measure } from '../../../lambda/sender/encoding';
import { fitPage, fitWithHint, Page, Part, templateSafe } from '../../../lambda/sender/fit-text';

const state = (s = 'ALARM'): Part => ({ line: 0, priority: 0, forms: [s], cut: 'end', minChars: 6, required: true });
const name = (n: string): Part => ({ line: 0, priority: 4, forms: [n], cut: 'middle', minChars: 16, required: true });

describe('fitting a page: the most important parts, each in the richest form that fits', () => {
  const page: Page = {
    parts: [
      state(),
      name('name-x'),
      { line: 1, priority: 1, forms: ['metric avg 95.2 > 90.0', '95.2 > 90.0'] },
      { line: 2, priority: 3, forms: ['us-east-1'] },
      { line: 2, priority: 6, forms: ['27 Nov 15:41 UTC', '15:41 UTC'] },
    ],
  };

  // Each budget keeps 9 characters for the reply hint: the text itself gets 9 fewer.
  test.each([
    [40, 'ALARM name-x\n95.2 > 90.0'],
    [50, 'ALARM name-x\nmetric avg 95.2 > 90.0'],
    [65, 'ALARM name-x\nmetric avg 95.2 > 90.0\nus-east-1 15:41 UTC'],
    [80, 'ALARM name-x\nmetric avg 95.2 > 90.0\nus-east-1 27 Nov 15:41 UTC'],
  ])('%d characters: %j', (maxChars, expected) => {
    expect(fitPage(page, { maxChars }).text).toBe(expected);
  });

  test('lines are joined by " - " where newlines are refused', () => {
    expect(fitPage(page, { maxChars: 1024, oneLine: true }).text).toBe('ALARM name-x - metric avg 95.2 > 90.0 - us-east-1 27 Nov 15:41 UTC');
  });
});

describe('names are shortened in the middle, keeping the end that tells them apart', () => {
  const long = 'prod-payments-api-gateway-TargetResponseTime-p99-latency-alarm';
  test.each([
    ['eu-west-1', 'ALARM prod-payments-api...latency-alarm-eu-west-1'],
    ['us-east-1', 'ALARM prod-payments-api...latency-alarm-us-east-1'],
  ])('%s', (suffix, expected) => {
    expect(fitPage({ parts: [state(), name(`${long}-${suffix}`)] }, { maxChars: 60 }).text).toBe(expected);
  });
});

describe('prose is cut at a word, a URL kept whole or left out', () => {
  const text = 'See https://wiki.example.com/rb/api-latency now';
  test.each([
    [50, text],
    [46, 'See https://wiki.example.com/rb/api-latency...'],
    [30, 'See...'],
  ])('%d characters: %j', (maxChars, expected) => {
    expect(fitWithHint(text, undefined, { maxChars })).toBe(expected);
  });

  test('a UCS-2 text is cut with one "…", a GSM-7 one with "..." (the ellipsis never changes the encoding)', () => {
    expect(fitWithHint('Платёж не прошёл', undefined, { maxChars: 12 })).toBe('Платёж не…');
    expect(fitWithHint('Payment not processed', undefined, { segments: 1, maxChars: 14 })).toBe('Payment not...');
  });
});

describe('the reply hint: always kept, its room reserved whether or not there is one', () => {
  const page: Page = { parts: [state(), { line: 1, priority: 1, forms: ['disk full on db-1 and db-2 and db-3'], cut: 'end', minChars: 8 }] };

  test('a hint of up to 8 characters changes the text only by itself', () => {
    const without = fitPage(page, { maxChars: 40 }).text;
    expect(without).toBe('ALARM\ndisk full on db-1 and...');
    expect(fitPage(page, { maxChars: 40 }, 'ACK 7K').text).toBe(`${without} ACK 7K`);
    expect(fitPage(page, { maxChars: 40 }, 'ACK 7KQ9').text).toBe(`${without} ACK 7KQ9`);
  });

  test('a longer hint is kept too: the text gives way', () => {
    expect(fitPage(page, { maxChars: 40 }, 'ACK ABCDEF').text).toBe('ALARM\ndisk full on db-1... ACK ABCDEF');
  });

  test('fitWithHint: a text that fits is unchanged, else cut before the hint', () => {
    expect(fitWithHint('Deploy of api-v42 failed', undefined, { segments: 1 })).toBe('Deploy of api-v42 failed');
    expect(fitWithHint('Deploy of api-v42 failed', 'ACK 7K', { segments: 1 })).toBe('Deploy of api-v42 failed ACK 7K');
    const long = 'word '.repeat(40).trim();
    const fitted = fitWithHint(long, 'ACK 7K', { segments: 1 });
    expect(fitted).toBe(`${'word '.repeat(29)}word... ACK 7K`);
    expect(measure(fitted)).toEqual({ encoding: 'GSM-7', units: 159, segments: 1 });
  });
});

describe('encoding of a fitted page', () => {
  const page: Page = { parts: [state(), name('Zürich “db” – ok')] };

  test('characters with a GSM-7 look-alike are transliterated, unless allowUnicode', () => {
    expect(fitPage(page, { segments: 1 })).toEqual({ text: 'ALARM Zürich "db" - ok', encoding: 'GSM-7', segments: 1 });
    expect(fitPage(page, { segments: 1, allowUnicode: true })).toEqual({ text: 'ALARM Zürich “db” – ok', encoding: 'UCS-2', segments: 1 });
  });

  test('a required part longer than the whole budget is cut to fit it', () => {
    const fitted = fitPage({ parts: [state('X'.repeat(500))] }, { segments: 1 });
    expect(fitted.text).toBe(`${'X'.repeat(148)}...`);
    expect(fitted.segments).toBe(1);
  });
});

test('templateSafe: no newline, tab or run of four spaces', () => {
  expect(templateSafe('line one\n\tline two      end')).toBe('line one - line two   end');
});
