import { ENV, TABLE } from '../../../lib/contract';

/**
 * The shapes of status-table items (partition key `id`), shared by every
 * handler that reads or writes them; the modules beside this one
 * (claims.ts, messages.ts, inbound.ts) own their expressions, and
 * ../incidents/ the incident kinds. The table is single-table by `id` prefix:
 *
 * - message (`id` = Twilio message SID, `SM…`/`MM…`): kind `message`,
 *   direction (`outbound-api` | `inbound`), status, statusRank (status.ts), to,
 *   from, channel (`sms` | `mms` | `whatsapp`), createdAt, updatedAt (ISO 8601),
 *   errorCode (string, when Twilio gives one), history (a list
 *   of { status, at, source: `api` | `callback`, errorCode?, token? }),
 *   historyKeys (string set de-duplicating history: `status#errorCode` for a
 *   callback, `api#status` for the sender; never the unsigned
 *   I-Twilio-Idempotency-Token), historyDropped (N: new entries left out of
 *   the history past its bound; an exact repeat changes nothing), expiresAt.
 *   Sender adds: notificationId, alarmName?, bodyPreview, segments, price,
 *   priceUnit, acceptedAt, publishedAt (when the alert was published:
 *   DeliveryLatency's start; record.ts says what that is for each kind of
 *   record); and for CloudWatch alarm notifications
 *   alertRecipient (= to), which puts the item in the sparse
 *   TABLE.ALERTS_BY_RECIPIENT_INDEX (alertRecipient, acceptedAt). Status callback adds: channelStatusMessage,
 *   rawDlrDoneDate. Inbound adds: body, mediaUrls, receivedAt, published
 *   (BOOL: on the inbound topic; a Twilio retry then publishes nothing),
 *   publishLeaseUntil (N, epoch ms: the delivery that claimed the publish
 *   holds it until then; removed when it publishes, and meaningless on a
 *   published item, where a retry's store may write it again), publishedAt, and
 *   once published what the reply did: type (`ack` | `ack-all` | `ack-none` |
 *   `opt-out` | `opt-in` | `message`), reply? (the TwiML line it was answered
 *   with, answered again to a retry), incidentIds? (L of S). Pages of an
 *   incident carry incidentId (incidents/keys.ts and items.ts have the incident kinds);
 *   a storm digest's item carries incidentIds (L of S) instead: the open
 *   incidents it named (messages.ts DIGEST_INCIDENTS_ATTRIBUTE).
 *   Outbound messages carry parentId (parentIdOf: incidentId, else
 *   `notification#<notificationId>`), filing them in TABLE.BY_PARENT_INDEX.
 * - send claim (`claim#<notificationId>#<recipient>`): kind `claim`,
 *   notificationId, recipient, state (`pending` | `sent` | `failed` |
 *   `unknown`), leaseUntil (epoch ms), attempts, holder? (the random token of
 *   the put that made it; absent on a rejected recipient's claim), messageSid?,
 *   reason?, errorCode? (the Twilio code of a permanent failure), doubts? (N:
 *   lookups after a crash that could not decide), lastDoubt? (why the latest
 *   of them could not), outcome? (`unknown` while a
 *   request that got no answer awaits its lookup), createdAt, updatedAt,
 *   expiresAt. A recipient refused before any send (not an address, not
 *   allowed, no sender for its channel, opted out) is a claim written `failed` at once,
 *   with its reason; its id uses `invalid:<first 40 characters>` when the
 *   recipient is not an address. A claim settled `failed` or `unknown` is the
 *   fate item of a send that never got a SID (claims.ts): it also carries
 *   status (= state), statusRank, errorCode (Twilio's code or HTTP status, or
 *   `invalid-recipient` | `opted-out` | `outcome-unknown`), to (the recipient
 *   as given, at most 256 characters) and parentId; a sent claim has none of
 *   them (its message item is its fate), except one of a text sent inside a
 *   storm digest: digest (its notification id), to, parentId and, once Twilio
 *   accepted the digest, messageSid (the digest's), no status (claims.ts
 *   recordDigested; fates.ts reads the digest's).
 * - failed notification (`failed#<notificationId>`): kind `notification`,
 *   notificationId, reason, createdAt, updatedAt, expiresAt: a record that
 *   could never be sent as a whole (unparseable, invalid, over the envelope
 *   caps); status `failed`, statusRank, errorCode (`invalid-notification` |
 *   `invalid-timer`), parentId `notification#<notificationId>`.
 *
 * TABLE.BY_PARENT_INDEX (parentId, createdAt; projection ALL) holds every
 * item with a parentId: the fate items above, notices, incidents
 * (`incidents#<incidentKey>`) and live pointers (`live-incidents`); fates.ts
 * reads it.
 *
 * While awaiting a final status, an outbound message also carries reconcileStep and
 * awaitingSince (the sparse TABLE.AWAITING_FINAL_INDEX, awaiting-final.ts); when the
 * reconciler stops asking, reconcileOutcome and reconciledAt. History sources include `poll`.
 *
 * Future kinds (rate-limit windows, digests) take their
 * own prefixes; more sparse GSIs can be added later without rewriting items.
 */
export const KIND = {
  MESSAGE: 'message',
  CLAIM: 'claim',
  NOTIFICATION: 'notification',
} as const;

export const claimId = (notificationId: string, recipient: string): string => `${TABLE.CLAIM_ID_PREFIX}${notificationId}#${recipient}`;

/** The byParent partition of what became of a notification that paged no incident. */
export const notificationParentId = (notificationId: string): string => `notification#${notificationId}`;
/** Where a send's outcome is filed in TABLE.BY_PARENT_INDEX: its incident when it paged one (or was its RESOLVED), else its notification. */
export const parentIdOf = (notificationId: string, incidentId: string | undefined): string => incidentId ?? notificationParentId(notificationId);
export const failedNotificationId = (notificationId: string): string => `failed#${notificationId}`;

const DEFAULT_RETENTION_DAYS = 90;

/** Resolved once per execution environment: every item write needs it. */
const RETENTION_SECONDS = (() => {
  const raw = Number(process.env[ENV.STATUS_RETENTION_DAYS]);
  return Math.round((Number.isFinite(raw) && raw > 0 ? raw : DEFAULT_RETENTION_DAYS) * 86_400);
})();

/** The TTL attribute's value (epoch seconds) for an item written at `now` (epoch ms). */
export function expiresAt(now: number): number {
  return Math.floor(now / 1000) + RETENTION_SECONDS;
}
