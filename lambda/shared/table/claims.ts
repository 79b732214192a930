import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, PutItemCommandOutput, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { Conditional, conditionally, Item, n, namesIn, s } from './attributes';
import { putIfAbsent } from './guarded-writes';
import { TABLE } from '../../../lib/contract';
import { statusRank } from '../status';
import { claimId, expiresAt, failedNotificationId, KIND, notificationParentId } from './items';

/*
 * Send claims (items.ts): one item per (notification, recipient), the
 * only guard against sending twice, since Twilio's API has no idempotency key.
 *
 * - Before a POST the sender creates the claim with a conditional PutItem
 *   (`pending`, leaseUntil). Only the invocation whose put succeeded may POST.
 * - The lease covers the whole POST: no attempt starts unless it can end,
 *   timeouts included, before leaseUntil. So once the lease has expired, any
 *   request the holder made has been answered or abandoned, and a lookup at
 *   Twilio tells whether it created a message.
 * - Every later change to a pending claim is conditional on the leaseUntil
 *   value the writer saw: two invocations can never both take a claim over.
 * - Each put carries a random `holder` token, so a writer whose put's answer
 *   was lost recognises its own claim when it reads it back.
 *
 * Cost per recipient on the normal path: the conditional PutItem, the POST,
 * then two UpdateItems sent in parallel (the message item, and the claim
 * marked sent with the SID): 3 calls, 2 DynamoDB round trips. DynamoDB
 * transactions would make the last two atomic, but a crash between them is
 * harmless here: a claim left pending is settled by the lookup, which finds
 * the message and writes both again. (Batching the claim marks with
 * BatchWriteItem saves calls in a fan-out but needs a wider IAM grant than
 * the construct's claim-scoped DeleteItem; not worth it.)
 *
 * Redelivery of a claimed recipient: sent / failed / unknown → skipped;
 * pending within its lease → the record is deferred until the lease ends
 * (the sender's index.ts: put back on the queue, or a batch failure); pending past its
 * lease → look Twilio up: found → recorded as sent (no POST); not found →
 * taken over (new lease, attempts + 1) and sent; lookup impossible → retried,
 * and after MAX_DOUBTS such lookups marked `unknown` for an operator.
 *
 * A claim settled `failed` or `unknown` is the fate item of a send that never
 * got a SID (items.ts): the same write that settles it gives it `status`,
 * `statusRank`, `errorCode`, `to` and `parentId`, which file it in
 * TABLE.BY_PARENT_INDEX beside the message items of the sends that did. A
 * claim marked sent leaves the index (its message item speaks for it), and a
 * pending one is in no index: one item per outcome, never two. A held text
 * sent inside a storm digest has no message item of its own: its claim
 * (recordDigested) is its fate item, filed the same way, with `digest` and,
 * once Twilio accepted the digest, the digest's `messageSid`, whose message
 * item has the live status (fates.ts follows it).
 */

/** The project's own error codes of fate items (Twilio's are numbers). */
export const FATE_CODE = {
  /** No lookup could decide whether a request that got no answer created a message. */
  OUTCOME_UNKNOWN: 'outcome-unknown',
  /** A recipient that is not an address, not allowed, or has no sender for its channel. */
  INVALID_RECIPIENT: 'invalid-recipient',
  /** A notification that can never be sent as a whole. */
  INVALID_NOTIFICATION: 'invalid-notification',
  /** A page whose send was claimed but had not reached Twilio when its incident was acknowledged or resolved: never sent. */
  PAGE_STOPPED: 'page-stopped',
} as const;

/** Where a settled send is filed in TABLE.BY_PARENT_INDEX (items.ts parentIdOf). */
export interface Filing {
  readonly parentId: string;
}

/** A rejected recipient's `to` is kept whole up to this length (an arbitrary string could be as long as the notification). */
export const MAX_TO_LENGTH = 256;

export type ClaimState = 'pending' | 'sent' | 'failed' | 'unknown';

export interface Claim {
  readonly id: string;
  /** The address claimed (`invalid:…` for a string that is none). */
  readonly recipient: string;
  readonly state: ClaimState;
  /** Epoch ms. */
  readonly leaseUntil: number;
  readonly attempts: number;
  /** ISO 8601: when the claim was first made (a lookup looks for messages created since). */
  readonly createdAt: string;
  readonly messageSid?: string;
  readonly reason?: string;
  /** Lookups after a crash that could not decide (Twilio unreachable, or too long a log). */
  readonly doubts: number;
  /** Why the latest of them could not decide (masked): what an operator reads on an `unknown` claim. */
  readonly lastDoubt?: string;
  /** `unknown` after a request whose answer never came. */
  readonly outcome?: string;
  /** A token unique to the put that created the claim: tells its writer its own claim when the put's answer was lost. */
  readonly holder?: string;
  /** The text went out inside this storm digest (its notification id), not as a message of its own. */
  readonly digest?: string;
  /** Of a claim settled `failed` or `unknown`: Twilio's error code, or FATE_CODE's. */
  readonly errorCode?: string;
}

export type ClaimResult = { readonly won: true; readonly claim: Claim } | { readonly won: false; readonly existing: Claim | undefined };

function toClaim(item: Item): Claim {
  return {
    id: item.id?.S ?? '',
    recipient: item.recipient?.S ?? '',
    state: (item.state?.S ?? 'pending') as ClaimState,
    leaseUntil: Number(item.leaseUntil?.N ?? 0),
    attempts: Number(item.attempts?.N ?? 0),
    createdAt: item.createdAt?.S ?? new Date(0).toISOString(),
    ...(item.messageSid?.S ? { messageSid: item.messageSid.S } : {}),
    ...(item.reason?.S ? { reason: item.reason.S } : {}),
    doubts: Number(item.doubts?.N ?? 0),
    ...(item.lastDoubt?.S ? { lastDoubt: item.lastDoubt.S } : {}),
    ...(item.outcome?.S ? { outcome: item.outcome.S } : {}),
    ...(item.holder?.S ? { holder: item.holder.S } : {}),
    ...(item.digest?.S ? { digest: item.digest.S } : {}),
    ...(item.errorCode?.S ? { errorCode: item.errorCode.S } : {}),
  };
}

export class ClaimStore {
  constructor(
    private readonly db: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /**
   * One conditional PutItem; on conflict the existing claim (from the failed
   * put, or one consistent read).
   *
   * A put whose answer is lost (a timeout or reset after DynamoDB wrote it)
   * must not leave the recipient waiting for its own claim's lease: the SDK's
   * retry of it then fails the condition against our own item, and a put that
   * failed outright may have landed. Either way the claim is read back
   * (consistently) and recognised by its `holder` token: ours → won; absent →
   * not won, nothing existing (the caller claims again); anyone else's → a conflict.
   */
  async claim(notificationId: string, recipient: string, now: number, leaseMs: number, onLostAnswer?: (err: unknown) => void): Promise<ClaimResult> {
    const id = claimId(notificationId, recipient);
    const iso = new Date(now).toISOString();
    const holder = randomUUID();
    const item: Item = {
      id: s(id),
      kind: s(KIND.CLAIM),
      notificationId: s(notificationId),
      recipient: s(recipient),
      state: s('pending'),
      leaseUntil: n(now + leaseMs),
      attempts: n(1),
      holder: s(holder),
      createdAt: s(iso),
      updatedAt: s(iso),
      expiresAt: n(expiresAt(now)),
    };
    const settle = (existing: Claim | undefined, err: unknown): ClaimResult => {
      if (existing?.holder !== holder) return { won: false, existing };
      onLostAnswer?.(err);
      return { won: true, claim: existing };
    };
    let put: Conditional<PutItemCommandOutput>;
    try {
      put = await conditionally(
        this.db.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: item,
            ConditionExpression: 'attribute_not_exists(#id)',
            ExpressionAttributeNames: { '#id': 'id' },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
    } catch (err) {
      const existing = await this.get(id);
      if (existing?.holder !== holder) onLostAnswer?.(err);
      return settle(existing, err);
    }
    if (put.held) return { won: true, claim: toClaim(item) };
    // Emulators (dynalite) do not return the old item: read it.
    return settle(put.old ? toClaim(put.old) : await this.get(id), new Error('the put found a claim already there (its own, when an earlier attempt\'s answer was lost)'));
  }

  /** The claim as it is now (consistent read). */
  async get(id: string): Promise<Claim | undefined> {
    const { Item } = await this.db.send(new GetItemCommand({ TableName: this.tableName, Key: { id: s(id) }, ConsistentRead: true }));
    return Item ? toClaim(Item) : undefined;
  }

  /** Runs a claim update guarded by the lease the caller holds; false when someone else changed the claim first. */
  private async guarded(claim: Claim, update: string, values: Item, now: number): Promise<Item | false> {
    const condition = '#state = :pending AND #leaseUntil = :heldLease';
    const written = await conditionally(
      this.db.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { id: s(claim.id) },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: namesIn(update, condition),
          ExpressionAttributeValues: { ':pending': s('pending'), ':heldLease': n(claim.leaseUntil), ':now': s(new Date(now).toISOString()), ...values },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return written.held ? written.out.Attributes ?? {} : false;
  }

  /** Takes over a pending claim whose lease expired; undefined when another invocation got there first. */
  async takeOver(claim: Claim, now: number, leaseMs: number): Promise<Claim | undefined> {
    const out = await this.guarded(claim, 'SET #leaseUntil = :lease, #updatedAt = :now ADD #attempts :one REMOVE #outcome', { ':lease': n(now + leaseMs), ':one': n(1) }, now);
    return out ? toClaim(out) : undefined;
  }

  /**
   * Records the SID. Not lease-guarded: a 201 is the truth whoever holds the
   * lease; only a claim already marked sent (with its own SID) is left alone.
   */
  async markSent(claim: Claim, messageSid: string, now: number): Promise<void> {
    await conditionally(
      this.db.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { id: s(claim.id) },
          // Out of the byParent index, should a late 201 settle a claim already marked unknown: the message item is its fate.
          UpdateExpression: 'SET #state = :sent, #messageSid = :sid, #updatedAt = :now REMOVE #outcome, #reason, #status, #statusRank, #errorCode, #parentId',
          ConditionExpression: 'attribute_exists(#id) AND #state <> :sent',
          ExpressionAttributeNames: namesIn('#state #messageSid #updatedAt #outcome #reason #id #status #statusRank #errorCode #parentId'),
          ExpressionAttributeValues: { ':sent': s('sent'), ':sid': s(messageSid), ':now': s(new Date(now).toISOString()) },
        }),
      ),
    );
  }

  /** Settles the claim as its fate item (`failed` / `unknown`), lease-guarded. */
  private async settle(claim: Claim, state: 'failed' | 'unknown', reason: string, errorCode: string, filing: Filing, now: number): Promise<boolean> {
    const update = 'SET #state = :state, #status = :state, #statusRank = :rank, #reason = :reason, #errorCode = :code, #to = :to, #parentId = :parent, #updatedAt = :now';
    const values: Item = { ':state': s(state), ':rank': n(statusRank(state)), ':reason': s(reason), ':code': s(errorCode), ':to': s(claim.recipient), ':parent': s(filing.parentId) };
    return (await this.guarded(claim, update, values, now)) !== false;
  }

  /** A permanent failure: never retried. `errorCode` is Twilio's (its HTTP status when it gave none). */
  markFailed(claim: Claim, reason: string, errorCode: string, filing: Filing, now: number): Promise<boolean> {
    return this.settle(claim, 'failed', reason, errorCode, filing, now);
  }

  /** Gives up deciding: an operator must check Twilio's log for this recipient. */
  markUnknown(claim: Claim, reason: string, filing: Filing, now: number): Promise<boolean> {
    return this.settle(claim, 'unknown', reason, FATE_CODE.OUTCOME_UNKNOWN, filing, now);
  }

  /** The request went out and no answer came: the claim stays pending until its lease ends, then a lookup decides. */
  async noteUnknownOutcome(claim: Claim, reason: string, now: number): Promise<void> {
    await this.guarded(claim, 'SET #outcome = :unknown, #reason = :reason, #updatedAt = :now', { ':unknown': s('unknown'), ':reason': s(reason) }, now);
  }

  /**
   * Gives the claim back after retryable failures. When no request can have
   * created a message (429s, refused connections), the claim is deleted and
   * the redelivery claims afresh; otherwise (a 5xx may hide a created
   * message) its lease ends now, so the redelivery looks Twilio up first.
   */
  async release(claim: Claim, mayHaveCreated: boolean, now: number): Promise<void> {
    if (!mayHaveCreated) {
      await conditionally(
        this.db.send(
          new DeleteItemCommand({
            TableName: this.tableName,
            Key: { id: s(claim.id) },
            ConditionExpression: '#state = :pending AND #leaseUntil = :heldLease',
            ExpressionAttributeNames: namesIn('#state #leaseUntil'),
            ExpressionAttributeValues: { ':pending': s('pending'), ':heldLease': n(claim.leaseUntil) },
          }),
        ),
      );
      return;
    }
    await this.guarded(claim, 'SET #leaseUntil = :expired, #updatedAt = :now', { ':expired': n(now) }, now);
  }

  /** Counts a lookup that could not decide, and why (masked); returns the new count, or undefined when the claim changed hands. */
  async addDoubt(claim: Claim, why: string, now: number): Promise<number | undefined> {
    const out = await this.guarded(claim, 'SET #updatedAt = :now, #lastDoubt = :why ADD #doubts :one', { ':one': n(1), ':why': s(why) }, now);
    return out ? toClaim(out).doubts : undefined;
  }

  /**
   * A recipient that can never be sent to (invalid, not allowed, opted out): a
   * failed claim, once, keyed by `recipient` and filed as the fate item of
   * `to` (the recipient as given, cut at MAX_TO_LENGTH). Returns false when it already existed.
   */
  async recordRejectedRecipient(notificationId: string, recipient: string, to: string, reason: string, errorCode: string, filing: Filing, now: number): Promise<boolean> {
    const iso = new Date(now).toISOString();
    return putIfAbsent(this.db, this.tableName, {
      id: s(claimId(notificationId, recipient)),
      kind: s(KIND.CLAIM),
      notificationId: s(notificationId),
      recipient: s(recipient),
      state: s('failed'),
      status: s('failed'),
      statusRank: n(statusRank('failed')),
      reason: s(reason),
      errorCode: s(errorCode),
      to: s(to.slice(0, MAX_TO_LENGTH)),
      parentId: s(filing.parentId),
      leaseUntil: n(0),
      attempts: n(0),
      createdAt: s(iso),
      updatedAt: s(iso),
      expiresAt: n(expiresAt(now)),
    });
  }

  /**
   * A held text goes out inside storm digest `digestId` (lambda/sender/storm/):
   * its claim is written `sent` with `digest`, before the digest is sent, so a
   * redelivery of it sends nothing of its own. The claim is the text's fate
   * item: filed in TABLE.BY_PARENT_INDEX under `filing` with `to` (the digest
   * message's SID joins it once Twilio accepted the digest: recordDigestSid).
   * A page carries its incident and joins the ACK index (alertRecipient,
   * acceptedAt), as a page message does.
   * @returns true when the claim is this digest's (written now, or by an
   * earlier delivery of the same digest); false when the text was claimed
   * otherwise (sent on its own): the digest leaves it out.
   */
  async recordDigested(notificationId: string, recipient: string, digestId: string, filing: Filing, now: number, incidentId?: string): Promise<boolean> {
    const iso = new Date(now).toISOString();
    const written = await putIfAbsent(this.db, this.tableName, {
      id: s(claimId(notificationId, recipient)),
      kind: s(KIND.CLAIM),
      notificationId: s(notificationId),
      recipient: s(recipient),
      state: s('sent'),
      digest: s(digestId),
      to: s(recipient),
      parentId: s(filing.parentId),
      leaseUntil: n(0),
      attempts: n(0),
      createdAt: s(iso),
      updatedAt: s(iso),
      expiresAt: n(expiresAt(now)),
      ...(incidentId !== undefined ? { incidentId: s(incidentId), [TABLE.ALERT_RECIPIENT_ATTRIBUTE]: s(recipient), [TABLE.ALERT_SORT_ATTRIBUTE]: s(iso) } : {}),
    });
    if (written) return true;
    return (await this.get(claimId(notificationId, recipient)))?.digest === digestId;
  }

  /**
   * Twilio accepted digest `digestId` as `messageSid`: each of its texts'
   * claims gets the SID, once (a claim of another digest, or one that has a
   * SID already, is left as it is: a redelivered timer changes nothing).
   */
  async recordDigestSid(notificationIds: readonly string[], recipient: string, digestId: string, messageSid: string, now: number): Promise<void> {
    await this.updateDigested(notificationIds, recipient, digestId, 'SET #messageSid = :sid, #updatedAt = :now', '', { ':sid': s(messageSid) }, now);
  }

  /**
   * Digest `digestId` got no SID (refused for good, or its outcome unknown:
   * lookups could not tell whether Twilio has it): each of its texts'
   * claims, still `sent` with the digest and no SID, is settled with the
   * digest's fate, so a held text's fate item says `failed`/`unknown` with
   * the digest's error code instead of waiting on a SID that will never
   * come. A claim of another digest, or one that has a SID or a status
   * already, is left as it is (a redelivered timer changes nothing).
   */
  async recordDigestUnsent(notificationIds: readonly string[], recipient: string, digestId: string, fate: { readonly state: 'failed' | 'unknown'; readonly reason: string; readonly errorCode: string }, now: number): Promise<void> {
    // `unknown` may have reached the phone: lookups could not tell.
    const reason = fate.state === 'failed' ? `not sent: its storm digest ${digestId} was not: ${fate.reason}` : `outcome unknown: so is its storm digest ${digestId}'s: ${fate.reason}`;
    await this.updateDigested(
      notificationIds,
      recipient,
      digestId,
      'SET #state = :state, #status = :state, #statusRank = :rank, #reason = :reason, #errorCode = :code, #updatedAt = :now',
      ' AND attribute_not_exists(#status)',
      { ':state': s(fate.state), ':rank': n(statusRank(fate.state)), ':reason': s(reason), ':code': s(fate.errorCode) },
      now,
    );
  }

  /** One conditional UpdateItem per claim of digest `digestId` that has no SID yet (`and` adds to that condition). */
  private async updateDigested(notificationIds: readonly string[], recipient: string, digestId: string, update: string, and: string, values: Item, now: number): Promise<void> {
    const condition = `#digest = :digest AND attribute_not_exists(#messageSid)${and}`;
    await Promise.all(
      notificationIds.map((notificationId) =>
        conditionally(
          this.db.send(
            new UpdateItemCommand({
              TableName: this.tableName,
              Key: { id: s(claimId(notificationId, recipient)) },
              UpdateExpression: update,
              ConditionExpression: condition,
              ExpressionAttributeNames: namesIn(update, condition),
              ExpressionAttributeValues: { ...values, ':now': s(new Date(now).toISOString()), ':digest': s(digestId) },
            }),
          ),
        ),
      ),
    );
  }

  /** A notification that can never be sent (unparseable, too long): `failed#<id>`, once, filed under `notification#<id>`. */
  async recordFailedNotification(notificationId: string, reason: string, now: number, errorCode: string = FATE_CODE.INVALID_NOTIFICATION): Promise<boolean> {
    const iso = new Date(now).toISOString();
    return putIfAbsent(this.db, this.tableName, {
      id: s(failedNotificationId(notificationId)),
      kind: s(KIND.NOTIFICATION),
      notificationId: s(notificationId),
      status: s('failed'),
      statusRank: n(statusRank('failed')),
      reason: s(reason),
      errorCode: s(errorCode),
      parentId: s(notificationParentId(notificationId)),
      createdAt: s(iso),
      updatedAt: s(iso),
      expiresAt: n(expiresAt(now)),
    });
  }
}
