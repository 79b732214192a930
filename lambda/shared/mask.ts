/**
 * Phone numbers are personal data: logs show only enough to tell recipients
 * apart. `+15551234567` → `+1555***4567`; `whatsapp:+15551234567` →
 * `whatsapp:+1555***4567`. Anything that is not an address is masked whole.
 */
export function maskAddress(address: string | undefined): string {
  if (address === undefined) return '';
  const m = /^((?:whatsapp|messenger|rcs):)?(\+?)(\d+)$/.exec(address);
  if (!m) return address.length <= 4 ? '***' : `${address.slice(0, 2)}***`;
  const [, prefix = '', plus, digits] = m;
  if (digits.length <= 6) return `${prefix}${plus}***${digits.slice(-2)}`;
  // At least three digits hidden: four at each end would show a 7- or 8-digit number whole.
  const shown = Math.min(4, Math.floor((digits.length - 3) / 2));
  return `${prefix}${plus}${digits.slice(0, shown)}***${digits.slice(-shown)}`;
}

/** Masks every E.164-looking number inside free text (error messages from Twilio quote them). */
export function maskNumbersInText(text: string): string {
  return text.replace(/\+?\d[\d\s().-]{6,}\d/g, (n) => maskAddress(n.replace(/[\s().-]/g, '')));
}
