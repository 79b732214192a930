// The `storm` prop: its synth-time check and its SENDER_CONFIG form. Internal: not exported from lib/index.ts.
import { Token } from 'aws-cdk-lib';
import { SenderStorm, STORM_LIMITS } from '../contract';
import type { StormControl } from '../twilio-messaging';
import { fail } from '../validation';

const { windowSeconds: WINDOW, immediatePages: IMMEDIATE } = STORM_LIMITS;

export function checkStorm(storm: StormControl | undefined): void {
  if (storm === undefined) return;
  if (storm.window !== undefined) {
    if (storm.window.isUnresolved()) fail('storm.window is a token; give a Duration known at synth (the sender\'s timers count whole seconds)');
    const seconds = storm.window.toMilliseconds({ integral: false }) / 1000;
    if (!Number.isInteger(seconds)) fail(`storm.window is ${seconds} seconds; give whole seconds, e.g. Duration.seconds(${Math.ceil(seconds)})`);
    if (seconds < WINDOW.min || seconds > WINDOW.max) {
      fail(`storm.window is ${seconds} seconds; it must be from ${WINDOW.min} (Duration.seconds(0) turns digests off) to ${WINDOW.max} seconds (${WINDOW.max / 60} minutes)`);
    }
  }
  const pages = storm.immediatePages;
  if (pages !== undefined) {
    if (Token.isUnresolved(pages)) fail('storm.immediatePages is a token; give a number known at synth');
    if (!Number.isInteger(pages) || pages < IMMEDIATE.min || pages > IMMEDIATE.max) {
      fail(`storm.immediatePages is ${pages}; it must be an integer from ${IMMEDIATE.min} to ${IMMEDIATE.max} (the texts sent at once per window before the rest wait for the digest)`);
    }
  }
}

/** SENDER_CONFIG.storm: only what was given (the sender applies the defaults). */
export function senderStorm(storm: StormControl): SenderStorm {
  return {
    ...(storm.window !== undefined ? { windowSeconds: storm.window.toSeconds() } : {}),
    ...(storm.immediatePages !== undefined ? { immediatePages: storm.immediatePages } : {}),
  };
}
