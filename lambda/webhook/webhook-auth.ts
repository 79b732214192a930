import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC } from '../../lib/contract';
import { ConfigurationError, getCredentials, refreshAfterRejection, TwilioCredentials } from '../shared/credentials';
import { countConfigurationError, logger, metrics } from '../shared/observability';
import { newerSecretsCouldVerify, PreparedSignature, prepareSignature, verifyPreparedSignature } from './twilio-signature';
import { emptyResponse, FormParams, header, MalformedRequestError, readForm, RequestTooLargeError } from './webhook-request';

/**
 * The gate in front of both webhooks: read the form, load the credentials,
 * check the signature. Whatever fails here is answered before any table write:
 * - the body is larger than any Twilio webhook: 413 and a CallbackRejected
 *   metric (`reason` too-large), before the credentials or any HMAC;
 * - the body cannot be read: 400;
 * - the configured URL is missing or the secret is unusable (placeholder,
 *   malformed): 500 and a ConfigurationErrors metric;
 * - Secrets Manager unreachable with no credentials ever read in this
 *   environment: 502 (once credentials were read, the last good ones are used);
 * - no or wrong signature: 403 and a CallbackRejected metric (`reason` signature).
 * By default Twilio does not retry an error answer (it retries a connection
 * failure, once), so a request answered 500 or 502 here is not delivered again.
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

function countRejected(reason: 'too-large' | 'signature'): void {
  metrics.addMetadata('reason', reason);
  metrics.addMetric(METRIC.CALLBACK_REJECTED, MetricUnit.Count, 1);
}

export async function authenticateWebhook(event: APIGatewayProxyEvent, gate: WebhookGate): Promise<WebhookAuthResult> {
  let params: FormParams;
  try {
    params = readForm(event);
  } catch (err) {
    if (err instanceof RequestTooLargeError) {
      countRejected('too-large');
      // No sizes in the line: the limit's name says enough, and a flood logs flat.
      logger.warn('webhook request refused: larger than any Twilio webhook', { limit: err.limit, sourceIp: event.requestContext?.identity?.sourceIp });
      return { ok: false, response: emptyResponse(413) };
    }
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
      reportConfigurationError(err);
      return { ok: false, response: emptyResponse(500) };
    }
    logger.error('cannot read the Twilio credentials', { error: (err as Error).name });
    return { ok: false, response: emptyResponse(502) };
  }

  const signed = prepareSignature({
    signature: header(event, 'X-Twilio-Signature'),
    settings: header(event, 'X-Twilio-Webhooks-Signature-Settings'),
    url,
    params,
  });
  const valid = verifyPreparedSignature(signed, credentials) || (newerSecretsCouldVerify(signed) && (await verifiesWithNewerSecret(signed, credentials)));
  if (!valid) {
    countRejected('signature');
    logger.warn('webhook signature rejected', {
      signaturePresent: signed.received !== undefined,
      sourceIp: event.requestContext?.identity?.sourceIp,
    });
    return { ok: false, response: emptyResponse(403) };
  }
  return { ok: true, params };
}

/**
 * Twilio signs with a newly promoted token (or a new signing key) at once and
 * does not retry a 403, so a signature the cached credentials refuse may need
 * a newer secret. The shared re-read is rate-limited per execution
 * environment, and a failed one keeps the cached credentials: a forged request
 * during a Secrets Manager outage is refused and changes nothing.
 */
async function verifiesWithNewerSecret(signed: PreparedSignature, used: TwilioCredentials): Promise<boolean> {
  let newer: TwilioCredentials | undefined;
  try {
    newer = await refreshAfterRejection(used);
  } catch (err) {
    if (err instanceof ConfigurationError) reportConfigurationError(err);
    else logger.warn('cannot re-read the Twilio credentials; the cached ones stay in use', { error: (err as Error).name });
    return false;
  }
  return newer !== undefined && verifyPreparedSignature(signed, newer);
}

function reportConfigurationError(err: ConfigurationError): void {
  countConfigurationError();
  if (err.firstInProcess) logger.error('configuration error', { reason: err.message });
  else logger.debug('configuration error', { reason: err.message });
}
