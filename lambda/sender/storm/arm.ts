import { digestTimer, sendTimer } from '../../shared/incidents/timers';
import { maskAddress } from '../../shared/mask';
import type { StormWindow, StormWindows } from '../../shared/table/storm';
import { logger } from '../observability';

/**
 * Hands the window's digest timer to SQS unless the window records it as
 * handed. A text counts as held only after this: a crash after the hold
 * leaves its record to be redelivered, which finds the text held and arms
 * the timer then. Concurrent deliveries may each send one; the flush sends
 * the digest once whoever fires.
 */
export async function armDigest(windows: StormWindows, alertQueueUrl: string, address: string, w: StormWindow): Promise<void> {
  if (w.timerArmedFor === w.windowEndsAt) return;
  const delaySeconds = await sendTimer(alertQueueUrl, digestTimer(address, w.windowEndsAt), Date.now());
  await windows.timerArmed(address, w.windowEndsAt, Date.now());
  logger.debug('storm digest timer set', { to: maskAddress(address), windowEndsAt: new Date(w.windowEndsAt).toISOString(), delaySeconds });
}
