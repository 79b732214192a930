import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { METRIC } from '../../lib/contract';
import { ConfigurationError, getCredentials, TwilioCredentials } from './credentials';
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
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The configured public URL (undefined when the environment lacks it). */
  readonly url: string | undefined;
  /** The environment variable `url` came from, for the log line. */
  readonly urlVariable: string;
}

let urlMissingLogged = false;

export async function authenticateWebhook(event: APIGatewayProxyEvent, gate: WebhookGate): Promise<WebhookAuthResult> {
  const { logger, metrics } = gate;
  let params: FormParams;
  try {
    params = parseForm(bodyText(event));
  } catch (err) {
    if (!(err instanceof MalformedRequestError)) throw err;
    logger.warn('webhook body rejected', { reason: err.message });
    return { ok: false, response: emptyResponse(400) };
  }

  if (!gate.url) {
    metrics.addMetric(METRIC.CONFIGURATION_ERRORS, MetricUnit.Count, 1);
    if (!urlMissingLogged) logger.error('configuration error', { reason: `${gate.urlVariable} is not set` });
    urlMissingLogged = true;
    return { ok: false, response: emptyResponse(500) };
  }

  let credentials: TwilioCredentials;
  try {
    credentials = await getCredentials();
  } catch (err) {
    if (err instanceof ConfigurationError) {
      metrics.addMetric(METRIC.CONFIGURATION_ERRORS, MetricUnit.Count, 1);
      if (err.firstInProcess) logger.error('configuration error', { reason: err.message });
      else logger.debug('configuration error', { reason: err.message });
      return { ok: false, response: emptyResponse(500) };
    }
    logger.error('cannot read the Twilio credentials', { error: (err as Error).name });
    return { ok: false, response: emptyResponse(502) };
  }

  const valid = verifyTwilioSignature({
    signature: header(event, 'X-Twilio-Signature'),
    settings: header(event, 'X-Twilio-Webhooks-Signature-Settings'),
    url: gate.url,
    params,
    authToken: credentials.authToken,
    webhookSigningKeys: credentials.webhookSigningKeys,
  });
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
