/**
 * What Twilio's delivery error codes (status callbacks' ErrorCode) mean and
 * what an operator does about them: the ones a test page meets in practice.
 */
const DELIVERY_ERRORS: Readonly<Record<string, { readonly meaning: string; readonly fix: string }>> = {
  '30001': { meaning: 'queue overflow: the sender sent faster than its rate', fix: 'send the test again in a minute; a sustained overflow needs a higher-throughput sender (Messaging Service pool, short code)' },
  '30002': { meaning: 'the Twilio account is suspended', fix: 'contact Twilio support about the account' },
  '30003': { meaning: 'the handset is unreachable (off, out of coverage)', fix: 'switch the phone on and in coverage, then send the test again' },
  '30004': { meaning: 'the message was blocked (the recipient blocked the sender, or the carrier blocked it)', fix: 'ask the recipient to unblock the number; otherwise check the number with the carrier' },
  '30005': { meaning: 'the destination number is unknown to its carrier', fix: 'check the recipient number (E.164, the right country code)' },
  '30006': { meaning: 'the destination is a landline or its carrier cannot take SMS', fix: 'page a mobile number instead' },
  '30007': { meaning: 'the carrier filtered the message as spam', fix: 'register the sender (US: A2P 10DLC or toll-free verification), see the README "US A2P 10DLC and toll-free verification"' },
  '30008': { meaning: 'unknown error from the carrier', fix: 'send the test again; if it persists, open a Twilio support case with the message SID' },
  '30032': { meaning: 'the toll-free number is not verified', fix: 'complete toll-free verification for the sending number in the Twilio Console' },
  '30034': { meaning: 'the US 10DLC number is not registered to an A2P campaign', fix: 'register the number to an A2P 10DLC campaign in the Twilio Console' },
  '21610': { meaning: 'the recipient replied STOP to this sender', fix: 'the recipient must text START to the sending number' },
  '63016': { meaning: 'WhatsApp: outside the 24-hour window, only templates are delivered', fix: 'set whatsappContentSid to an approved template' },
};

export function deliveryError(code: string | undefined): { meaning: string; fix: string } {
  if (code && DELIVERY_ERRORS[code]) return DELIVERY_ERRORS[code];
  return { meaning: code ? `Twilio error ${code}` : 'no error code given', fix: `look the code up at https://www.twilio.com/docs/api/errors${code ? `/${code}` : ''} and in the message's log in the Twilio Console` };
}
