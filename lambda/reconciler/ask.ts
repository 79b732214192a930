import { getCredentials, refreshAfterRejection } from '../shared/credentials';
import { fetchMessage, TwilioMessage } from '../shared/twilio-client';
import { TwilioApiError } from '../shared/twilio-errors';

export type TwilioAnswer =
  /** Twilio's message resource as it is now. */
  | { readonly kind: 'message'; readonly message: TwilioMessage }
  /** The account has no message with this SID (404). */
  | { readonly kind: 'not-found' };

/**
 * Asks Twilio for one message with the cached credentials; when Twilio refuses
 * them (20003 / 401, a rotation in progress), once more with the newer ones
 * refreshAfterRejection finds. Rejects with a TwilioApiError for any other
 * answer (429, 5xx, a network failure: ask again on a later run), the refusal
 * itself when no newer credentials exist, and a ConfigurationError for an
 * unusable secret.
 */
export async function askTwilio(sid: string, deadline: number): Promise<TwilioAnswer> {
  let credentials = await getCredentials();
  for (let attempt = 1; ; attempt++) {
    try {
      return { kind: 'message', message: await fetchMessage(credentials, sid, deadline) };
    } catch (err) {
      if (!(err instanceof TwilioApiError)) throw err;
      if (err.httpStatus === 404) return { kind: 'not-found' };
      if (!err.isAuthentication || attempt > 1) throw err;
      const newer = await refreshAfterRejection(credentials);
      if (!newer) throw err;
      credentials = newer;
    }
  }
}
