import { parseReplyCommand } from '../../lambda/inbound/reply-command';
import { addressTail, escapeXml } from '../../lambda/inbound/reply-text';

// The reading of a reply body, row by row; the handler tests (inbound-commands.test.ts) cover what each command does.
describe('parseReplyCommand', () => {
  test.each([
    ['ACK', { kind: 'ack' }],
    ['ack', { kind: 'ack' }],
    ['  Ack.  ', { kind: 'ack' }],
    ['“ACK”', { kind: 'ack' }],
    ['ACK!!!', { kind: 'ack' }],
    ['ACK 7K', { kind: 'ack-code', code: '7K' }],
    ['ack 7k', { kind: 'ack-code', code: '7K' }],
    ['ACK-7K', { kind: 'ack-code', code: '7K' }],
    ['ack: 7k!', { kind: 'ack-code', code: '7K' }],
    ['ACK  ABC123', { kind: 'ack-code', code: 'ABC123' }],
    ['ACK ALL', { kind: 'ack-all' }],
    ['ack all.', { kind: 'ack-all' }],
    ['STOP', { kind: 'opt-out', word: 'STOP' }],
    ['stop', { kind: 'opt-out', word: 'STOP' }],
    [' Unsubscribe. ', { kind: 'opt-out', word: 'UNSUBSCRIBE' }],
    ['STOPALL', { kind: 'opt-out', word: 'STOPALL' }],
    ['cancel', { kind: 'opt-out', word: 'CANCEL' }],
    ['END', { kind: 'opt-out', word: 'END' }],
    ['Quit', { kind: 'opt-out', word: 'QUIT' }],
    ['START', { kind: 'opt-in', word: 'START' }],
    ['yes', { kind: 'opt-in', word: 'YES' }],
    ['unstop', { kind: 'opt-in', word: 'UNSTOP' }],
  ])('%j → %j', (body, expected) => {
    expect(parseReplyCommand(body)).toEqual(expected);
  });

  test.each([
    'ACK but db-2 is still down',
    'ACKNOWLEDGED',
    'ACK7K',
    'ACK ABCDEFG',
    'ACK 7K 8K',
    'ACK 7_K',
    'please stop',
    'STOP ALL',
    'yes please',
    '',
    'hello',
    `ACK${' '.repeat(80)}`,
  ])('%j is a message', (body) => {
    expect(parseReplyCommand(body)).toEqual({ kind: 'message' });
  });
});

describe('reply text', () => {
  test('XML escaping, and characters XML cannot carry are left out', () => {
    expect(escapeXml(`a & b < c > "d" 'e'`)).toBe('a &amp; b &lt; c &gt; &quot;d&quot; &apos;e&apos;');
    expect(escapeXml('bell\u0007 nul\u0000 ok\u{1F600}')).toBe('bell nul ok\u{1F600}');
  });

  test('an address is shown by its last four digits', () => {
    expect(addressTail('+15551234567')).toBe('…4567');
    expect(addressTail('whatsapp:+15551230042')).toBe('…0042');
  });
});
