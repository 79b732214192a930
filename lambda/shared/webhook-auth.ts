import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC } from '../../lib/contract';
import { ConfigurationError, forgetCredentials, getCredentials, TwilioCredentials } from './credentials';
import { countConfigurationError, logger, metrics } from './observability';
import { verifyTwilioSignature } from './twilio-signature';
import { bodyText, emptyResponse, FormParams, header, MalformedRequestError, parseForm } from './webhook-request';

/**
 * The gate in front of both webhooks: read the form, load the credentials,
 * check the signature. Whatever fails here is answered before any table write:
 * - the body cannot be read: 400;
 * - the configured URL is missing or the secret is unusable (placeholder): 500,
 *   so Twilio retries and nothing is lost while an operator fixes it;
 * - Secrets Manager unreachable: 502, for the same reason;
 * - no or wrong signature: 403 and a CallbackRejected metric.
 */
export type WebhookAuthResult =
  | { readonly ok: true; readonly params: FormParams }
  | { readonly ok: false; readonly response: APIGatewayProxyResult };

export interface WebhookGate {
  /** The configured public URL (undefined when the environment lacks it). */
  readonly url: string | undefined;
  /** The environment variable `url` came from, for the log line. */
  readonly urlVariable: string;
}

let urlMissingLogged = false;

/** At most one forced re-read of the secret per interval: forged requests must not become Secrets Manager calls. */
const CREDENTIALS_REFRESH_INTERVAL_MS = 60_000;
let lastRefresh = Number.NEGATIVE_INFINITY;

function mayRefreshCredentials(now: number = Date.now()): boolean {
  if (now - lastRefresh < CREDENTIALS_REFRESH_INTERVAL_MS) return false;
  lastRefresh = now;
  return true;
}

export async function authenticateWebhook(event: APIGatewayProxyEvent, gate: WebhookGate): Promise<WebhookAuthResult> {
  let params: FormParams;
  try {
    params = parseForm(bodyText(event));
  } catch (err) {
    if (!(err instanceof MalformedRequestError)) throw err;
    logger.warn('webhook body rejected', { reason: err.message });
    return { ok: false, response: emptyResponse(400) };
  }

  const url = gate.url;
  if (!url) {
    countConfigurationError();
    if (!urlMissingLogged) logger.error('configuration error', { reason: `${gate.urlVariable} is not set` });
    urlMissingLogged = true;
    return { ok: false, response: emptyResponse(500) };
  }

  let credentials: TwilioCredentials;
  try {
    credentials = await getCredentials();
  } catch (err) {
    if (err instanceof ConfigurationError) {
      countConfigurationError();
      if (err.firstInProcess) logger.error('configuration error', { reason: err.message });
      else logger.debug('configuration error', { reason: err.message });
      return { ok: false, response: emptyResponse(500) };
    }
    logger.error('cannot read the Twilio credentials', { error: (err as Error).name });
    return { ok: false, response: emptyResponse(502) };
  }

  const check = (creds: TwilioCredentials) =>
    verifyTwilioSignature({
      signature: header(event, 'X-Twilio-Signature'),
      settings: header(event, 'X-Twilio-Webhooks-Signature-Settings'),
      url,
      params,
      authToken: creds.authToken,
      webhookSigningKeys: creds.webhookSigningKeys,
    });
  let valid = check(credentials);
  if (!valid && mayRefreshCredentials()) {
    // After an auth token rotation Twilio signs with the new token at once, and
    // does not retry a 403: read the secret again rather than wait out the cache.
    forgetCredentials();
    try {
      valid = check(await getCredentials());
    } catch {
      valid = false;
    }
  }
  if (!valid) {
    metrics.addMetric(METRIC.CALLBACK_REJECTED, MetricUnit.Count, 1);
    logger.warn('webhook signature rejected', {
      signaturePresent: header(event, 'X-Twilio-Signature') !== undefined,
      sourceIp: event.requestContext?.identity?.sourceIp,
    });
    return { ok: false, response: emptyResponse(403) };
  }
  return { ok: true, params };
}
