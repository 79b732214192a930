import type { ClaimStore, SentMark } from './claims';

/** A batch is written once this many marks wait, or this long after the first of them. */
const BATCH_SIZE = 25;
const MAX_WAIT_MS = 20;

/**
 * Write-behind for "claim sent" marks: a fan-out to 100 recipients writes 4
 * BatchWriteItems instead of 100 UpdateItems. A mark not yet written when
 * the process dies leaves its claim pending, which a redelivery settles by
 * the lookup (claims.ts): delay costs a lookup, never a duplicate.
 */
export class SentMarks {
  private waiting: SentMark[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly writes = new Set<Promise<void>>();
  private failure: unknown;

  constructor(private readonly claims: ClaimStore) {}

  add(mark: SentMark): void {
    this.waiting.push(mark);
    if (this.waiting.length >= BATCH_SIZE) this.write();
    else this.timer ??= setTimeout(() => this.write(), MAX_WAIT_MS);
  }

  /** Writes what waits and waits for every write; throws if any failed (the record is then retried). */
  async flush(): Promise<void> {
    this.write();
    while (this.writes.size > 0) await Promise.all([...this.writes]);
    if (this.failure !== undefined) {
      const err = this.failure;
      this.failure = undefined;
      throw err;
    }
  }

  private write(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.waiting.length === 0) return;
    const batch = this.waiting;
    this.waiting = [];
    const p = this.claims
      .markSentMany(batch, Date.now())
      .catch((err: unknown) => {
        this.failure = err;
      })
      .finally(() => this.writes.delete(p));
    this.writes.add(p);
  }
}
