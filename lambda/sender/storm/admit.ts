import { maskAddress } from '../../shared/mask';
import { holdsAny, HeldText, isHeld, StormWindow, StormWindows } from '../../shared/table/storm';
import type { StormSettings } from '../config';
import { logger } from '../observability';
import { armDigest } from './arm';

/*
 * The storm window's decision for one text to one address (README, "Storms
 * and digests"): sent at once, or held for the window's digest. A text sent
 * at once opens a window; up to immediatePages go at once in it; later ones
 * (and any that arrive once it has closed but before its digest went) are
 * held, and the first hold of a window hands its digest timer to SQS. Each
 * decision is one conditional write on what was read (shared/table/storm.ts),
 * tried again on a concurrent change; the quiet case (no window open) is a
 * single write without a read.
 */

/** `held`: this decision's write held the text (TextsHeld counts it); `still-held`: an earlier delivery's did. */
export type Admission = 'send' | 'held' | 'still-held';

/**
 * A text this decision held whose digest timer could not be handed to SQS: the
 * recipient is retried (a later delivery finds it held and sets the timer), and
 * the hold is counted now, the one time it was written.
 */
export class HeldUnarmedError extends Error {
  constructor(readonly cause: unknown) {
    super(`a text was held and its digest timer could not be set: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'HeldUnarmedError';
  }
}

export interface AdmitJob {
  readonly windows: StormWindows;
  readonly storm: StormSettings;
  readonly alertQueueUrl: string;
  readonly address: string;
  /** The text's notification id: one key per text, however often it is delivered. */
  readonly key: string;
  /** What the window keeps of the text if it is held (its notification only if it is the first of its digest: StormWindows.hold); built only then, since most texts go at once. */
  readonly text: () => Omit<HeldText, 'heldAt' | 'notification'> & { readonly notification: string };
  /** The text already has a send claim (sent on its own, or in a digest): it must go the claim's way, never be held. */
  readonly claimed: () => Promise<boolean>;
}

/** Concurrent changes to one window a decision outlasts before the recipient is retried on a later receive. */
const MAX_ROUNDS = 12;

export async function admit(job: AdmitJob): Promise<Admission> {
  const { windows, storm, address, key } = job;
  if (await windows.openWith(address, key, undefined, Date.now(), storm.windowMs)) return 'send';
  let checkedClaim = false;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const now = Date.now();
    const seen = await windows.read(address);
    if (!seen) {
      if (await windows.openWith(address, key, undefined, now, storm.windowMs)) return 'send';
      continue;
    }
    if (seen.sentKeys.includes(key)) return 'send';
    if (isHeld(seen, key)) return armed(job, seen, 'still-held');
    const open = now < seen.windowEndsAt;
    if (!open && !holdsAny(seen)) {
      if (await windows.openWith(address, key, seen, now, storm.windowMs)) return 'send';
      continue;
    }
    if (open && seen.sentKeys.length < storm.immediatePages) {
      if (await windows.addSent(address, key, seen, now)) return 'send';
      continue;
    }
    if (!checkedClaim) {
      // A redelivery of a text its digest already carried, or one sent on its own before its window moved on.
      if (await job.claimed()) return 'send';
      checkedClaim = true;
    }
    const after = await windows.hold(address, key, { ...job.text(), heldAt: now }, seen, now);
    if (after) {
      logger.debug('text held for the storm digest', { to: maskAddress(address), notificationId: key, windowEndsAt: new Date(after.windowEndsAt).toISOString() });
      return armed(job, after, 'held');
    }
  }
  throw new Error(`the storm window of ${maskAddress(address)} kept changing under ${MAX_ROUNDS} decisions: retried on a later receive`);
}

async function armed(job: AdmitJob, w: StormWindow, admission: 'held' | 'still-held'): Promise<Admission> {
  try {
    await armDigest(job.windows, job.alertQueueUrl, job.address, w);
  } catch (err) {
    throw admission === 'held' ? new HeldUnarmedError(err) : err;
  }
  return admission;
}
