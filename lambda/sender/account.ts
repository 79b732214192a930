import { ConfigurationError, getCredentials, refreshAfterRejection, TwilioCredentials } from '../shared/credentials';
import { maskNumbersInText } from '../shared/mask';
import { TwilioApiError } from '../shared/twilio-errors';
import { countConfigurationError, logger } from './observability';

/**
 * The Twilio account as one invocation sees it: the one place in the sender
 * that asks the credentials owner (shared/credentials.ts) for credentials or
 * tells it they were refused, and what Twilio refused for good during the
 * invocation (ARCHITECTURE.md, "Credential rotation", "Failure classes").
 */
export class TwilioAccount {
  /** Scope held by a configuration error (a sender, or ALL_SENDERS for the credentials) → its masked reason. */
  private readonly holds = new Map<string, string>();

  /**
   * Runs a Twilio call with the current credentials (a cache hit), taken as
   * the call starts, so each call knows which it used. When Twilio refuses
   * them, exactly those are handed back and the call is made once more with
   * what the owner answers; with nothing newer the refusal stands.
   */
  async call<T>(request: (credentials: TwilioCredentials) => Promise<T>): Promise<T> {
    const used = await getCredentials();
    try {
      return await request(used);
    } catch (err) {
      if (!(err instanceof TwilioApiError) || !err.isAuthentication) throw err;
      const fresh = await refreshAfterRejection(used);
      if (!fresh) throw err;
      return request(fresh);
    }
  }

  /**
   * Why a request from `sender` would be refused the same way again in this
   * invocation (its own hold, or the credentials'); undefined when nothing
   * holds it. Without a sender: the credentials' hold only.
   */
  heldReason(sender?: string): string | undefined {
    return (sender !== undefined ? this.holds.get(sender) : undefined) ?? this.holds.get(ALL_SENDERS);
  }

  /**
   * Holds what a configuration error concerns for the rest of the
   * invocation: the sender for a sender-scoped Twilio code, every sender
   * otherwise. Returns the scope held (undefined: every sender).
   */
  hold(err: ConfigurationError | TwilioApiError, sender: string | undefined, reason: string): string | undefined {
    const scope = err instanceof TwilioApiError && err.senderScoped && sender !== undefined ? sender : ALL_SENDERS;
    this.holds.set(scope, reason);
    return scope === ALL_SENDERS ? undefined : scope;
  }
}

/**
 * The invocation's gate: the credentials must be usable before any claim is
 * made. Undefined (logged, and counted for an unusable secret) when they are
 * not, or when Secrets Manager could not be read and nothing was cached:
 * every record is then kept.
 */
export async function openAccount(): Promise<TwilioAccount | undefined> {
  try {
    await getCredentials();
  } catch (err) {
    if (err instanceof ConfigurationError) {
      countConfigurationError();
      if (err.firstInProcess) logger.error('Twilio credentials unusable: records kept for redrive', { reason: err.message });
    } else {
      logger.warn('Twilio credentials could not be read: records will be retried', { error: (err as Error).name, reason: maskNumbersInText((err as Error).message) });
    }
    return undefined;
  }
  return new TwilioAccount();
}

/** Key of the credentials' hold: every sender is held. */
const ALL_SENDERS = '*';

/** A Twilio answer or secret that no retry will change until an operator acts. */
export function isConfiguration(err: unknown): err is ConfigurationError | TwilioApiError {
  return err instanceof ConfigurationError || (err instanceof TwilioApiError && err.failureClass === 'configuration');
}
