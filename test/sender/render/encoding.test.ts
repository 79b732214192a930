import { graphemes, isGsm7, measure, segmentCount, septets, transliterate } from '../../../lambda/sender/encoding';
import { createPrng } from '../../support/prng';
import { countSegments } from '../../support/fake-twilio';

describe('segments as Twilio counts them', () => {
  test('GSM-7: 160 septets in one segment, then 153 per part', () => {
    expect(measure('a'.repeat(160))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(measure('a'.repeat(161))).toEqual({ encoding: 'GSM-7', units: 161, segments: 2 });
    expect(segmentCount('a'.repeat(306))).toBe(2);
    expect(segmentCount('a'.repeat(307))).toBe(3);
  });

  test('an escape-table character takes two septets and is never split across parts', () => {
    expect(septets('€[]{}~^|\\')).toBe(18);
    expect(measure('{' + 'a'.repeat(158))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(segmentCount('{' + 'a'.repeat(159))).toBe(2);
    // 152 letters, then `€`: its two septets do not fit the first part's last one, so the second part starts with it and overflows.
    const text = 'a'.repeat(152) + '€' + 'b'.repeat(152);
    expect(septets(text)).toBe(306);
    expect(countSegments(text)).toBe(2);
    expect(segmentCount(text)).toBe(3);
  });

  test('UCS-2: one character outside GSM-7 makes the whole text 70 UTF-16 units per segment, 67 per part', () => {
    expect(measure('’' + 'a'.repeat(69))).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(measure('’' + 'a'.repeat(70))).toEqual({ encoding: 'UCS-2', units: 71, segments: 2 });
    expect(segmentCount('ж'.repeat(134))).toBe(2);
    expect(segmentCount('ж'.repeat(135))).toBe(3);
  });

  test('an emoji is two UTF-16 units, and a character (an emoji with its modifier) is never split across parts', () => {
    expect(measure('🚨'.repeat(35))).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(measure('🚨'.repeat(36))).toEqual({ encoding: 'UCS-2', units: 72, segments: 2 });
    // 66 units, then a 4-unit thumbs-up with skin tone: it does not fit the one unit left, so the second part overflows.
    const text = 'a'.repeat(66) + '👍🏽' + 'b'.repeat(64);
    expect(text.length).toBe(134);
    expect(graphemes(text)).toHaveLength(131);
    expect(countSegments(text)).toBe(2);
    expect(segmentCount(text)).toBe(3);
  });

  test('characters are found as ICU finds them (UAX #29): emoji sequences, flags, marks, for 2,000 generated texts', () => {
    const pieces = ['a', ' ', 'é', 'e\u0301', 'ж', '東', '🔥', '👍🏽', '👨‍👩‍👧', '🇯🇵', '🇫🇷🇩🇪', '#\ufe0f\u20e3', '🏴\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}', '\u200d', '\n', '\u0300', 'कि', '\r\n', '\ufe0f'];
    const icu = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
    const rnd = createPrng(5);
    for (let i = 0; i < 2_000; i++) {
      const text = Array.from({ length: rnd.int(1, 40) }, () => rnd.pick(pieces)).join('');
      const expected = [...icu.segment(text)].flatMap(({ segment }) => (segment === '\r\n' ? ['\r', '\n'] : [segment]));
      expect(graphemes(text)).toEqual(expected);
    }
    expect(graphemes('👨‍👩‍👧🇯🇵👍🏽e\u0301')).toEqual(['👨‍👩‍👧', '🇯🇵', '👍🏽', 'e\u0301']);
    // An Indic conjunct is one character for ICU from Unicode 15.1 on, two for Twilio's calculator (grapheme-splitter): as Twilio counts.
    expect(graphemes('क्ष')).toEqual(['क्', 'ष']);
  });

  test('CR LF counts as two characters', () => {
    expect(graphemes('a\r\nb')).toEqual(['a', '\r', '\n', 'b']);
    expect(measure('a\r\nb')).toEqual({ encoding: 'GSM-7', units: 4, segments: 1 });
  });
});

describe('transliteration into GSM-7', () => {
  test.each([
    ['typographic quotes, dashes, ellipsis and spaces', '“Disk” – 91% … it’s\u00a0full', '"Disk" - 91% ... it\'s full'],
    ['accented Latin letters keep their letter', 'São Paulo, Kraków, Ærøskøbing, naïve café', 'Sao Paulo, Krakow, Ærøskøbing, naive café'],
    ['letters that do not decompose', 'Łódź Đakovo Œuvre ıstanbul þorn', 'Lodz Dakovo OEuvre istanbul thorn'],
    ['fullwidth ASCII', 'ＣＰＵ　９５％', 'CPU 95%'],
    ['Greek capitals that look Latin, beside the ones GSM-7 has', 'ΑΘΗΝΑ ΔΣ', 'AΘHNA ΔΣ'],
    ['signs', '≥ 2.0 × 3 ± 1 → µs', '>= 2.0 x 3 +/- 1 -> us'],
    ['invisible characters go', 'db\u200b-1\u00ad', 'db-1'],
  ])('%s', (_name, input, expected) => {
    const out = transliterate(input);
    expect(out).toBe(expected);
    expect(isGsm7(out!)).toBe(true);
  });

  test.each([
    ['Japanese', 'データベース'],
    ['Cyrillic', 'Платежи'],
    ['Arabic', 'قاعدة البيانات'],
    ['an emoji among Latin letters', 'checkout 🔥'],
    ['lowercase Greek', 'βάση'],
  ])('%s has no look-alike: no transliteration (the text goes as UCS-2, never as ?)', (_name, input) => {
    expect(transliterate(input)).toBeUndefined();
    expect(measure(input).encoding).toBe('UCS-2');
  });
});
