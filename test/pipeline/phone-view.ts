/**
 * A text as a phone receives it over SMS: the encoding Twilio picks (GSM-7
 * when every character is in GSM 03.38's alphabet or its escape table, else
 * UCS-2) and the segments it bills (GSM-7: 160 septets, or 153 per part of a
 * longer text, an escape-table character taking two; UCS-2: 70 UTF-16 units,
 * or 67 per part). The demo prints it beside each text; nothing here comes
 * from the sender, so it checks what the sender sent.
 */
export interface SmsEncoding {
  readonly encoding: 'GSM-7' | 'UCS-2';
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  readonly units: number;
  readonly segments: number;
  /** What one segment holds when the text is one segment: 160 or 70. */
  readonly singleSegment: number;
}

const GSM7_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM7_EXTENDED = new Set('^{}\\[~]|€\f');

export function smsEncoding(text: string): SmsEncoding {
  let septets = 0;
  for (const ch of text) {
    if (GSM7_BASIC.has(ch)) septets += 1;
    else if (GSM7_EXTENDED.has(ch)) septets += 2;
    else {
      const units = text.length;
      return { encoding: 'UCS-2', units, segments: units <= 70 ? 1 : Math.ceil(units / 67), singleSegment: 70 };
    }
  }
  return { encoding: 'GSM-7', units: septets, segments: septets <= 160 ? 1 : Math.ceil(septets / 153), singleSegment: 160 };
}

/** `GSM-7, 1 segment (148 of 160 septets)`, `UCS-2, 2 segments (96 units)`. */
export function describeEncoding(e: SmsEncoding): string {
  const unit = e.encoding === 'GSM-7' ? 'septets' : 'UCS-2 units';
  const size = e.segments === 1 ? `${e.units} of ${e.singleSegment} ${unit}` : `${e.units} ${unit}`;
  return `${e.encoding}, ${e.segments} segment${e.segments === 1 ? '' : 's'} (${size})`;
}
