// The webhook stage's throttling, sized from the sender's pace. Internal: not exported from the package.
import { Annotations, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/**
 * The fastest Twilio answers a create (POST Messages.json): a sender request
 * slot cannot turn over faster than this, so it bounds the send rate from above.
 */
export const TWILIO_MIN_CREATE_SECONDS = 0.1;
/**
 * Status callbacks Twilio posts per message: `sent`, then `delivered` or
 * `undelivered`, often `queued`/`accepted` before them (WhatsApp adds `read`).
 */
export const CALLBACKS_PER_MESSAGE = 3;
/** API Gateway's default account-level limits per region (a stage cannot use more). */
export const API_GATEWAY_ACCOUNT_RATE = 10_000;
export const API_GATEWAY_ACCOUNT_BURST = 5_000;

export interface WebhookThrottleInput {
  readonly senderMaxConcurrency: number;
  readonly sendConcurrency: number;
  readonly apiThrottlingRateLimit?: number;
  readonly apiThrottlingBurstLimit?: number;
}

export interface WebhookThrottle {
  readonly rateLimit: number;
  readonly burstLimit: number;
  /** The callback rate the sender can cause at most (requests per second). */
  readonly maxCallbackRate: number;
}

/**
 * The stage throttling that never refuses a status callback the sender can cause:
 *
 *   maxSendRate     = senderMaxConcurrency × sendConcurrency ÷ TWILIO_MIN_CREATE_SECONDS   (messages/s)
 *   maxCallbackRate = maxSendRate × CALLBACKS_PER_MESSAGE                                (requests/s)
 *   rateLimit       = min(maxCallbackRate, API_GATEWAY_ACCOUNT_RATE)
 *   burstLimit      = min(2 × rateLimit, API_GATEWAY_ACCOUNT_BURST)
 *
 * With the defaults (5 × 10 requests in flight): 500 messages/s, 1,500 callbacks/s,
 * burst 3,000. Twilio sends the callbacks no faster than its senders send the
 * messages (about 1 per second for a long code, 100 for a short code), so this
 * is an upper bound. A callback still refused (a rate set lower by prop, an
 * account limit) is not lost: the reconciler polls the message's status.
 * Inbound messages share the stage; they come from people, far below this.
 */
export function webhookThrottle(input: WebhookThrottleInput): WebhookThrottle {
  const maxSendRate = (input.senderMaxConcurrency * input.sendConcurrency) / TWILIO_MIN_CREATE_SECONDS;
  const maxCallbackRate = Math.ceil(maxSendRate * CALLBACKS_PER_MESSAGE);
  const rateLimit = input.apiThrottlingRateLimit ?? Math.min(maxCallbackRate, API_GATEWAY_ACCOUNT_RATE);
  const burstLimit = input.apiThrottlingBurstLimit ?? (Token.isUnresolved(rateLimit) ? API_GATEWAY_ACCOUNT_BURST : Math.min(2 * rateLimit, API_GATEWAY_ACCOUNT_BURST));
  return { rateLimit, burstLimit, maxCallbackRate };
}

/** A warning on the construct when a rate given by prop is below what the sender can cause. */
export function warnIfThrottledBelowSender(scope: Construct, throttle: WebhookThrottle, given: number | undefined): void {
  if (given === undefined || Token.isUnresolved(given) || given >= throttle.maxCallbackRate) return;
  Annotations.of(scope).addWarningV2(
    'cdk-twilio-messaging:webhookThrottle',
    `apiThrottlingRateLimit is ${given} requests/s, below the ${throttle.maxCallbackRate} status callbacks/s the sender can cause ` +
      '(senderMaxConcurrency × sendConcurrency ÷ 0.1 s × 3): callbacks refused in a storm are caught up by the reconciler, minutes later. ' +
      'Leave it out to size it from the sender, or lower senderMaxConcurrency.',
  );
}

/** The stage's throttling for these props, with a synth warning when it is set below what the sender can cause. */
export function stageThrottle(scope: Construct, props: Partial<WebhookThrottleInput>): WebhookThrottle {
  const throttle = webhookThrottle({
    senderMaxConcurrency: props.senderMaxConcurrency ?? 5,
    sendConcurrency: props.sendConcurrency ?? 10,
    apiThrottlingRateLimit: props.apiThrottlingRateLimit,
    apiThrottlingBurstLimit: props.apiThrottlingBurstLimit,
  });
  warnIfThrottledBelowSender(scope, throttle, props.apiThrottlingRateLimit);
  return throttle;
}
