/**
 * Twilio message statuses and their order (ARCHITECTURE.md, "Status table"): status
 * only moves forward. Writers store `statusRank` beside `status` and guard
 * their updates with a condition on it, so DynamoDB, not a read-then-write,
 * enforces the order.
 */
const RANK: Readonly<Record<string, number>> = {
  // Not Twilio's: a send whose outcome nobody could decide (the claim's fate item, never a message item's status).
  unknown: 0,
  scheduled: 1,
  accepted: 1,
  queued: 1,
  sending: 2,
  sent: 3,
  delivered: 4,
  undelivered: 4,
  failed: 4,
  canceled: 4,
  partially_delivered: 4,
  read: 5,
  // inbound messages
  receiving: 1,
  received: 4,
};

/** The rank of a status; 0 for one we do not know (it never overrides a known one). */
export function statusRank(status: string): number {
  return RANK[status] ?? 0;
}

/** Statuses after which Twilio reports nothing more, save `read` for WhatsApp. */
export function isFinalStatus(status: string): boolean {
  return statusRank(status) >= 4;
}

/** The statuses that make a page's address unreachable for its incident. */
export function isUndeliveredStatus(status: string): boolean {
  return status === 'undelivered' || status === 'failed';
}

/** The statuses of a delivered message (`read` follows `delivered` on WhatsApp, and may arrive alone). */
export function isDeliveredStatus(status: string): boolean {
  return status === 'delivered' || status === 'read';
}
