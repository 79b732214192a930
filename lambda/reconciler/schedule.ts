/**
 * When the reconciler asks Twilio about a message still awaiting a final
 * status: at these multiples of RECONCILE_AFTER_SECONDS after acceptance (5
 * minutes, 15 minutes, 1 hour and 4 hours at the default of 300 s), then
 * never again. Most messages are final within seconds; a carrier that never
 * reports delivery leaves a message `sent` for good, and asking forever would
 * only cost requests.
 */
export const ASK_AT_MULTIPLES: readonly number[] = [1, 3, 12, 48];

/** Polls of one message at most. */
export const RECONCILE_ATTEMPTS = ASK_AT_MULTIPLES.length;

/**
 * How long a message that has been asked about `step` times waits, from its
 * awaitingSince (acceptance at step 0, the previous poll after), before the next poll.
 */
export function waitBeforeAsk(step: number, afterSeconds: number): number {
  const previous = step === 0 ? 0 : ASK_AT_MULTIPLES[step - 1];
  return (ASK_AT_MULTIPLES[step] - previous) * afterSeconds * 1000;
}
