import { maskAddress, maskNumbersInText } from '../../lambda/shared/mask';

test.each([
  ['+15551234567', '+1555***4567'],
  ['whatsapp:+15551234567', 'whatsapp:+1555***4567'],
  ['+4412', '+***12'],
  // Short numbers keep at least three digits hidden (4 + 4 would show these whole).
  ['+1234567', '+12***67'],
  ['55501000', '55***00'],
  ['+447700900', '+447***900'],
  ['alice', 'al***'],
  ['', '***'],
])('maskAddress(%s) = %s', (input, masked) => {
  expect(maskAddress(input)).toBe(masked);
});

test('maskNumbersInText hides the middle digits of every number in a Twilio error message', () => {
  const text = "The 'To' number +15551234567 is not a valid phone number; from +44 20 7946 0958.";
  const masked = maskNumbersInText(text);
  expect(masked).not.toMatch(/5551234567|79460958/);
  expect(masked).toContain('+1555***4567');
});
