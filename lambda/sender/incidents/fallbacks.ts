import { isRecipientAddress } from '../../../lib/contract';
import { maskAddress } from '../../shared/mask';
import type { Incident } from '../../shared/incidents/items';
import { EscalationConfigError } from './escalation';

/*
 * SENDER_CONFIG.fallbacks: `{ "<address>": "<address>" }`, e.g. an SMS
 * number's WhatsApp address. When an address an incident tried to reach
 * turns out unreachable (its page ended undelivered/failed, or it opted
 * out), the same page goes once to its fallback; the address counts
 * unreachable (the escalation shortcut) only when the fallback is
 * unreachable too. One hop only: a fallback is never itself a key.
 */

/** address → its fallback. */
export type Fallbacks = ReadonlyMap<string, string>;

export const NO_FALLBACKS: Fallbacks = new Map();

/** As many as the construct allows (one per escalation address and more): bounded so a typo'd blob is caught. */
export const MAX_FALLBACKS = 50;

/**
 * Validates `fallbacks` (already JSON-decoded). Messages name the entry by
 * its masked address (they are logged) and say how to fix it.
 * @param prefix how the messages name the setting, e.g. `SENDER_CONFIG.fallbacks`
 */
export function parseFallbacks(raw: unknown, prefix: string): Fallbacks {
  if (raw === undefined || raw === null) return NO_FALLBACKS;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new EscalationConfigError(`${prefix} must be an object { "<address>": "<fallback address>" }`);
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > MAX_FALLBACKS) throw new EscalationConfigError(`${prefix} has ${entries.length} entries; at most ${MAX_FALLBACKS}`);
  const fallbacks = new Map<string, string>();
  for (const [address, fallback] of entries) {
    const at = `${prefix}["${maskAddress(address)}"]`;
    if (!isRecipientAddress(address)) throw new EscalationConfigError(`${at}: the key is not an E.164 or whatsapp:+E.164 address`);
    if (typeof fallback !== 'string' || !isRecipientAddress(fallback)) throw new EscalationConfigError(`${at} must be an E.164 or whatsapp:+E.164 address`);
    if (fallback === address) throw new EscalationConfigError(`${at} is the address itself: a fallback must be another address`);
    fallbacks.set(address, fallback);
  }
  for (const [address, fallback] of fallbacks) {
    if (fallbacks.has(fallback)) {
      throw new EscalationConfigError(`${prefix}["${maskAddress(address)}"] is ${maskAddress(fallback)}, which has a fallback of its own: fallbacks do not chain, give each address its final fallback`);
    }
  }
  return fallbacks;
}

/**
 * The incident's addresses that count unreachable: those in `unreachable`
 * without a fallback, and those whose fallback is unreachable too. An
 * address whose fallback has not been paged yet, or was paged and has not
 * failed, does not count: someone may still read the page.
 */
export function countedUnreachable(incident: Pick<Incident, 'unreachable'>, fallbacks: Fallbacks): Set<string> {
  const unreachable = new Set(incident.unreachable);
  return new Set(
    [...unreachable].filter((address) => {
      const fallback = fallbacks.get(address);
      return fallback === undefined || unreachable.has(fallback);
    }),
  );
}

/** The next fallback page due: an unreachable address with a fallback not yet paged for it (in address order, so concurrent invocations agree). */
export function dueFallback(incident: Pick<Incident, 'unreachable' | 'fellBack'>, fallbacks: Fallbacks): { readonly address: string; readonly fallback: string } | undefined {
  const done = new Set(incident.fellBack ?? []);
  for (const address of [...incident.unreachable].sort()) {
    const fallback = fallbacks.get(address);
    if (fallback !== undefined && !done.has(address)) return { address, fallback };
  }
  return undefined;
}
