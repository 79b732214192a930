/**
 * The floor for the cold-start comparison: a handler that only makes one
 * fetch() POST (no AWS SDK, no logger). Nothing that does the sender's job can
 * load faster than this; it shows how much of a load time is unavoidable.
 */
import type { SQSEvent } from 'aws-lambda';

export const handler = async (event: SQSEvent): Promise<void> => {
  const base = process.env.TWILIO_API_BASE_URL ?? 'https://api.twilio.com';
  await fetch(`${base}/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ To: '+15005550006', From: '+15005550001', Body: event.Records[0]?.body ?? '' }),
  });
};
