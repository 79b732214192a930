/**
 * Names shared by the construct and the handlers it deploys: environment
 * variables, metric names and the credentials placeholder. The handlers
 * (lambda/) import this module so the two halves cannot drift apart.
 *
 * This module must stay free of imports: it is bundled into every handler.
 */

/** Environment variables the construct sets on the handlers (ARCHITECTURE.md, "Handler environment variables"). */
export const ENV = {
  TWILIO_SECRET_ARN: 'TWILIO_SECRET_ARN',
  STATUS_TABLE_NAME: 'STATUS_TABLE_NAME',
  STATUS_CALLBACK_URL: 'STATUS_CALLBACK_URL',
  INBOUND_URL: 'INBOUND_URL',
  INBOUND_TOPIC_ARN: 'INBOUND_TOPIC_ARN',
  SENDER_CONFIG: 'SENDER_CONFIG',
  TWILIO_API_BASE_URL: 'TWILIO_API_BASE_URL',
  /** Seconds a cached copy of the credentials secret is used before it is read again. */
  SECRET_CACHE_TTL_SECONDS: 'SECRET_CACHE_TTL_SECONDS',
  /** Days a status-table item lives before its TTL attribute lets DynamoDB delete it. */
  STATUS_RETENTION_DAYS: 'STATUS_RETENTION_DAYS',
  /** The alert queue's URL: the sender puts back a record it deferred only for time. */
  ALERT_QUEUE_URL: 'ALERT_QUEUE_URL',
  /** status-callback, inbound: the function's own backlog queue, where a verified request goes when the table or topic fails. */
  WEBHOOK_BACKLOG_QUEUE_URL: 'WEBHOOK_BACKLOG_QUEUE_URL',
} as const;

/**
 * CloudWatch namespace of the EMF metrics the handlers emit. Every metric carries
 * one dimension, `service`, whose value is the handler's POWERTOOLS_SERVICE_NAME;
 * the construct sets it to one value per construct instance so that two instances
 * in one account keep separate metrics.
 */
export const METRICS_NAMESPACE = 'TwilioMessaging';

/** The dimension every metric carries (Powertools Metrics' default dimension). */
export const SERVICE_DIMENSION = 'service';

/** Metric names emitted by the handlers and read by the construct's metricX() methods. */
export const METRIC = {
  /** sender: a message accepted by Twilio (HTTP 201). Count. */
  MESSAGES_SENT: 'MessagesSent',
  /** sender: a message that can never be sent (invalid input, permanent Twilio error). Count; the error code is a property. */
  MESSAGES_FAILED: 'MessagesFailed',
  /** sender: a retried Twilio call (429, 5xx, connection failure, 21611 the sender's queue is full). Count. */
  SEND_RETRIES: 'SendRetries',
  /** sender: time from the first POST attempt to Twilio's answer. Milliseconds. */
  SEND_LATENCY: 'SendLatency',
  /** sender: a send whose outcome is unknown (timeout after the request went out). Count. */
  SEND_OUTCOME_UNKNOWN: 'SendOutcomeUnknown',
  /**
   * sender, webhooks: a configuration an operator must fix (placeholder or malformed secret, credentials
   * Twilio refuses (20003 / 401), a From or Messaging Service Twilio refuses (20404, 21606, 21212), a country
   * not enabled (21408), an invalid SENDER_CONFIG, a webhook URL or backlog queue variable missing). Count.
   */
  CONFIGURATION_ERRORS: 'ConfigurationErrors',
  /** sender: a Twilio error code the failure table does not know, recorded failed after its bounded retries. Count; the code is a property. */
  UNCLASSIFIED_TWILIO_ERRORS: 'UnclassifiedTwilioErrors',
  /** sender: a record deferred only for time, put back on the alert queue with a fresh receive count. Count. */
  SENDS_DEFERRED: 'SendsDeferred',
  /** status-callback: a `delivered` (or `read`) status reported by Twilio. Count. */
  MESSAGES_DELIVERED: 'MessagesDelivered',
  /** status-callback: an `undelivered` or `failed` status reported by Twilio. Count; the error code is a property. */
  MESSAGES_UNDELIVERED: 'MessagesUndelivered',
  /**
   * status-callback, inbound: a request refused before any table write: a signature that did not verify
   * (403, `reason` signature) or a body larger than any Twilio webhook (413, `reason` too-large). Count.
   */
  CALLBACK_REJECTED: 'CallbackRejected',
  /** inbound: an inbound message stored and published. Count. */
  INBOUND_RECEIVED: 'InboundReceived',
  /**
   * inbound: a message published to the inbound topic whose `published` mark still failed after its retries.
   * A later delivery of it may publish it again (subscribers de-duplicate on messageSid). Count.
   */
  INBOUND_PUBLISH_UNMARKED: 'InboundPublishUnmarked',
  /** inbound: an ACK reply that acknowledged an alarm notification. Count. */
  ALERTS_ACKNOWLEDGED: 'AlertsAcknowledged',
  /** status-callback, inbound: a verified request handed to the backlog queue (the table or the topic failed, or a concurrent delivery holds the inbound claim). Count. */
  WEBHOOKS_BACKLOGGED: 'WebhooksBacklogged',
  /** sender: an incident opened (an ALARM, or an envelope with incidentKey, for a key with no live incident). Count. */
  INCIDENTS_OPENED: 'IncidentsOpened',
  /** sender: an incident resolved (an OK, or an envelope with resolve: true, for its key). Count. */
  INCIDENTS_RESOLVED: 'IncidentsResolved',
  /** sender: an escalation stage after the first paged (at its time, or early because its predecessor was unreachable). Count. */
  ESCALATIONS_PAGED: 'EscalationsPaged',
  /** sender: an incident's pages sent again to everyone it paged (a repeat). Count. */
  PAGES_REPEATED: 'PagesRepeated',
  /** sender: a timer that found something due and did it. Count. */
  TIMERS_FIRED: 'TimersFired',
  /** sender: a timer that found nothing due (the incident acknowledged, resolved, or the step already done). Count. */
  TIMERS_STALE: 'TimersStale',
} as const;

/**
 * The value the construct stores in a secret it creates. Handlers recognise it
 * (the `placeholder` key) and treat it as a configuration error, never as credentials.
 */
export const PLACEHOLDER_SECRET = {
  placeholder: 'REPLACE_ME: put-secret-value with {"accountSid","authToken"} (and optionally "apiKeySid","apiKeySecret")',
} as const;

/** Status table key and TTL attribute names (ARCHITECTURE.md, "Status table"). */
export const TABLE = {
  PARTITION_KEY: 'id',
  TTL_ATTRIBUTE: 'expiresAt',
  /**
   * Sparse global secondary index over alarm notifications by recipient, newest
   * last: an ACK reply finds the latest alert sent to its number with one Query.
   * Only message items the sender writes for CloudWatch alarms carry its keys.
   */
  ALERTS_BY_RECIPIENT_INDEX: 'alertsByRecipient',
  /** Partition key of ALERTS_BY_RECIPIENT_INDEX: the recipient address (`+1555…` or `whatsapp:+1555…`). */
  ALERT_RECIPIENT_ATTRIBUTE: 'alertRecipient',
  /** Sort key of ALERTS_BY_RECIPIENT_INDEX: when Twilio accepted the message (ISO 8601). */
  ALERT_SORT_ATTRIBUTE: 'acceptedAt',
  /**
   * Id prefix of the sender's send claims (`claim#<notification>#<recipient>`). The
   * sender's role may delete only items whose id starts with it: a claim is released
   * by deleting it, while message and status items are never deleted by a handler.
   */
  CLAIM_ID_PREFIX: 'claim#',
  /**
   * Id prefixes of an incident's live pointer (`incidentkey#<key>`) and code
   * reservation (`incidentcode#<CODE>`): the sender deletes them when the incident
   * is resolved, so its role may delete items whose id starts with them too.
   */
  INCIDENT_KEY_ID_PREFIX: 'incidentkey#',
  INCIDENT_CODE_ID_PREFIX: 'incidentcode#',
} as const;

/**
 * The sender's SENDER_CONFIG (JSON), written by the construct from its props
 * and validated again by the sender at cold start.
 */
export interface SenderConfig {
  /** SMS/MMS sender number (E.164). Exactly one of `from` / `messagingServiceSid`. */
  readonly from?: string;
  /** Messaging Service SID (MG…), Twilio picks the sender from its pool. */
  readonly messagingServiceSid?: string;
  /** WhatsApp sender (`whatsapp:+1555…`); needed for any `whatsapp:` recipient. */
  readonly whatsappFrom?: string;
  /** Recipients of CloudWatch alarms, plain text, and envelopes without `to`. */
  readonly defaultRecipients: readonly string[];
  /**
   * Every address an envelope's `to` may name. Absent: only the default
   * recipients (a publish right must never become a way to text any number).
   */
  readonly allowedRecipients?: readonly string[];
  /** Approved WhatsApp template (HX…) used for WhatsApp recipients of messages without contentSid; the text is its variable 1. */
  readonly whatsappContentSid?: string;
  /** At most this many Twilio requests in flight per invocation (fan-out bound). Default 10. */
  readonly sendConcurrency?: number;
  /** Seconds a send claim is held before another invocation may examine it. Default: twice the function timeout, set by the construct. */
  readonly claimLeaseSeconds?: number;
  /** Allow non-GSM-7 characters in rendered alarm texts (UCS-2 doubles the segments). Default false. */
  readonly allowUnicode?: boolean;
  /** The alert queue's maxReceiveCount (its receives before the DLQ): bounds the retries of an unclassified Twilio error. Default 5, the construct's. */
  readonly maxReceiveCount?: number;
}

/**
 * Address rules shared by the construct's synth-time checks and the sender's
 * run-time checks, so that a value synth accepts is never refused at 3 a.m.
 * E.164: `+`, then 7 to 15 digits without a leading zero.
 */
const E164 = /^\+[1-9]\d{6,14}$/;
/** Alphanumeric sender ID: up to 11 letters, digits and spaces, at least one letter. */
const ALPHANUMERIC_SENDER_ID = /^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/;
export const WHATSAPP_PREFIX = 'whatsapp:';

/** `+15551234567`. */
export function isPhoneNumber(address: string): boolean {
  return E164.test(address);
}

/** `whatsapp:+15551234567`. */
export function isWhatsAppAddress(address: string): boolean {
  return address.startsWith(WHATSAPP_PREFIX) && E164.test(address.slice(WHATSAPP_PREFIX.length));
}

/** A recipient: an E.164 number or a WhatsApp address. */
export function isRecipientAddress(address: string): boolean {
  return isPhoneNumber(address) || isWhatsAppAddress(address);
}

/** An SMS sender: an E.164 number or an alphanumeric sender ID. */
export function isSmsSender(from: string): boolean {
  return isPhoneNumber(from) || ALPHANUMERIC_SENDER_ID.test(from);
}
