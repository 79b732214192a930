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
  /**
   * The alert queue's URL: the sender puts back a record it deferred only for time, and every
   * handler that sets timers (sender, status-callback, inbound) sends them there.
   */
  ALERT_QUEUE_URL: 'ALERT_QUEUE_URL',
  /** status-callback, inbound: the function's own backlog queue, where a verified request goes when the table or topic fails. */
  WEBHOOK_BACKLOG_QUEUE_URL: 'WEBHOOK_BACKLOG_QUEUE_URL',
  /** reconciler: seconds after acceptance a message without a final status is first asked of Twilio. */
  RECONCILE_AFTER_SECONDS: 'RECONCILE_AFTER_SECONDS',
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
  /**
   * status-callback: for a message counted in MessagesDelivered, the time from the alert's publishing (the
   * message item's `publishedAt`: the SNS envelope's Timestamp, a raw record's SentTimestamp, a timer's
   * dueAt) to the callback's arrival. Milliseconds. A callback that arrives before the sender has written
   * the item, or for an item written without `publishedAt`, emits none.
   */
  DELIVERY_LATENCY: 'DeliveryLatency',
  /**
   * status-callback: as DeliveryLatency, from Twilio accepting the message (the item's `acceptedAt`, the
   * sender's 201) instead: the carrier's part of the delivery. Milliseconds.
   */
  TWILIO_DELIVERY_LATENCY: 'TwilioDeliveryLatency',
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
  /** inbound: an ACK reply that acknowledged an alarm notification (message-based ACK, before incidents; no longer emitted). Count. */
  ALERTS_ACKNOWLEDGED: 'AlertsAcknowledged',
  /** inbound: an incident acknowledged for the first time (`ACK`, `ACK <code>`, each incident of `ACK ALL`). Count. */
  INCIDENTS_ACKNOWLEDGED: 'IncidentsAcknowledged',
  /**
   * inbound: for each incident counted in IncidentsAcknowledged, the time from its `openedAt` to the
   * acknowledging reply's first arrival. Seconds.
   */
  TIME_TO_ACKNOWLEDGE: 'TimeToAcknowledge',
  /** inbound: an address that was not opted out sent an opt-out word (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT). Count. */
  RECIPIENT_OPTED_OUT: 'RecipientOptedOut',
  /** inbound: an opted-out address sent an opt-in word (START, YES, UNSTOP). Count. */
  RECIPIENT_OPTED_IN: 'RecipientOptedIn',
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
  /**
   * sender: a text held in its address's storm window for the window's digest (the invocation whose write
   * held it counts it; a redelivery that finds it held counts nothing). Count.
   */
  TEXTS_HELD: 'TextsHeld',
  /**
   * sender: a storm digest sent: one text carrying two or more held texts, when its window's timer fires (a
   * window that held one text sends it as it is, counted in MessagesSent only). Count.
   */
  DIGESTS_SENT: 'DigestsSent',
  /** sender: the held texts a digest counted in DigestsSent carried (their sum). Count. */
  TEXTS_DIGESTED: 'TextsDigested',
  /** sender: a timer that found something due and did it. Count. */
  TIMERS_FIRED: 'TimersFired',
  /** sender: a timer that found nothing due (the incident acknowledged, resolved, or the step already done). Count. */
  TIMERS_STALE: 'TimersStale',
  /** reconciler: a poll of Twilio moved a message's status forward (a callback was missed or refused). Count; the status is a property. */
  STATUSES_RECONCILED: 'StatusesReconciled',
  /**
   * reconciler: a message left without a final status: still not final after the last scheduled poll
   * (`reason` still-pending; many carriers never report delivery), or unknown to Twilio (`reason` not-found). Count.
   */
  STATUS_NEVER_FINAL: 'StatusNeverFinal',
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
  /**
   * Sparse global secondary index (keys only) of outbound messages awaiting a final
   * status: a message joins it when a writer records a status below final, and leaves
   * it when any writer (sender, status callback, reconciler) records a final one, or
   * when the reconciler stops asking. The reconciler finds due messages with one Query
   * per step, never a Scan.
   */
  AWAITING_FINAL_INDEX: 'awaitingFinalStatus',
  /** Partition key of AWAITING_FINAL_INDEX: how many times the reconciler has asked Twilio (`0`, `1`, … as a string). */
  RECONCILE_STEP_ATTRIBUTE: 'reconcileStep',
  /** Sort key of AWAITING_FINAL_INDEX: when the current wait began (ISO 8601): acceptance at step 0, the last poll after. */
  AWAITING_SINCE_ATTRIBUTE: 'awaitingSince',
  /**
   * Global secondary index (projection ALL) of every item that says what became of a
   * notification or an incident: message items, the settled claims of sends that never
   * got a SID (`failed` / `unknown`), failed notifications, notices; and the live
   * incidents and each incident key's occurrences. One Query answers "what happened to
   * this incident / notification".
   */
  BY_PARENT_INDEX: 'byParent',
  /** Partition key of BY_PARENT_INDEX: an incident's id, `notification#<notificationId>`, `incidents#live`, or `incidents#<incidentKey>`. */
  PARENT_ATTRIBUTE: 'parentId',
  /** Sort key of BY_PARENT_INDEX: when the item was made (ISO 8601). */
  CREATED_AT_ATTRIBUTE: 'createdAt',
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
  /** Keep look-alike characters (quotes, accents) as written in rendered texts, sending UCS-2; scripts without look-alikes are UCS-2 either way. Default false. */
  readonly allowUnicode?: boolean;
  /** SMS segments a rendered alarm text may use (ALARM_TEXT_SEGMENTS). Default 1. */
  readonly alarmTextSegments?: number;
  /** Shown in alarm texts instead of the account id (accountAliasProblem). Default: the account id. */
  readonly accountAlias?: string;
  /** The alert queue's maxReceiveCount (its receives before the DLQ): bounds the retries of an unclassified Twilio error. Default 5, the construct's. */
  readonly maxReceiveCount?: number;
  /**
   * Who an incident pages, and when. Absent: one stage of the default recipients, no repeats.
   * Every recipient of it is an allowed recipient (the construct adds them to `allowedRecipients`).
   */
  readonly escalation?: SenderEscalation;
  /**
   * An address's fallback (`{ "+15551234567": "whatsapp:+15551234567" }`): when a page of an
   * incident to the first cannot reach it (ended undelivered/failed, or it opted out), the
   * same page goes once to the second, and the first counts unreachable only when that page
   * fails too. Both are allowed recipients; a fallback is never itself a key (no chains).
   */
  readonly fallbacks?: Readonly<Record<string, string>>;
  /** Per-recipient storm window (digests). Default { windowSeconds: 60, immediatePages: 1 }; windowSeconds 0 turns digests off. */
  readonly storm?: SenderStorm;
}

/** SENDER_CONFIG.storm, written by the construct from the `storm` prop (STORM_LIMITS). */
export interface SenderStorm {
  /** Seconds a window stays open after a text sent at once; 0: no window, every text goes at once. */
  readonly windowSeconds?: number;
  /** Texts sent at once in one window; later ones wait for its digest. */
  readonly immediatePages?: number;
}

/** What SENDER_CONFIG.storm / the `storm` prop accept, shared by synth and cold start. */
export const STORM_LIMITS = {
  windowSeconds: { min: 0, max: 3_600, default: 60 },
  immediatePages: { min: 1, max: 20, default: 1 },
} as const;

/** SENDER_CONFIG.escalation, written by the construct from the `escalation` prop. */
export interface SenderEscalation {
  /** Stage 0 has `afterSeconds` 0; `afterSeconds` strictly increases. 1 to 5 stages. */
  readonly stages: readonly SenderEscalationStage[];
  /** Pages of everyone paged so far after the last stage, while the incident stays open. 0 to 10. */
  readonly repeats: number;
  /** Seconds from the last stage's time to the first repeat, and between repeats. 60 to 86400. */
  readonly repeatAfterSeconds: number;
}

export interface SenderEscalationStage {
  /** Addresses paged at this stage: 1 to 10, each once. */
  readonly recipients: readonly string[];
  /** Seconds after the incident opened that this stage is paged if the incident is still open. */
  readonly afterSeconds: number;
}

/**
 * Address rules shared by the construct's synth-time checks and the sender's
 * run-time checks, so that a value synth accepts is never refused at 3 a.m.
 * E.164: `+`, then 7 to 15 digits without a leading zero.
 */
const E164 = /^\+[1-9]\d{6,14}$/;
/**
 * Alphanumeric sender ID as Twilio defines it (the Messaging Service AlphaSender
 * resource): up to 11 of A-Z, a-z, 0-9, space, `+`, `-`, `_` and `&`, at least one letter.
 */
const ALPHANUMERIC_SENDER_ID = /^(?=.*[A-Za-z])[A-Za-z0-9 +\-_&]{1,11}$/;
const ALPHANUMERIC_SENDER_ID_CHAR = /[A-Za-z0-9 +\-_&]/;
const MESSAGING_SERVICE_SID = /^MG[0-9a-fA-F]{32}$/;
const CONTENT_SID = /^HX[0-9a-fA-F]{32}$/;
/** Digits with the separators people write numbers with: meant as a phone number. */
const NUMBER_LIKE = /^\+?[\d\s().-]+$/;
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

/** `MG` + 32 hex digits. */
export function isMessagingServiceSid(sid: string): boolean {
  return MESSAGING_SERVICE_SID.test(sid);
}

/** `HX` + 32 hex digits. */
export function isContentSid(sid: string): boolean {
  return CONTENT_SID.test(sid);
}

/*
 * Why a value breaks a rule above, with the fix, or undefined when it keeps it.
 * The reasons never quote the value (the sender logs them next to a masked copy),
 * only its shape: a length, a digit count, the characters Twilio refuses.
 */

const E164_RULE = '+ then the country code and number, 7 to 15 digits in all, no leading zero, no spaces or dashes (e.g. +15551234567)';

/** What keeps a number from being E.164: `(no leading +; 16 digits)`. */
function e164Faults(number: string): string {
  const digits = number.replace(/\D/g, '').length;
  const faults = [
    ...(number.startsWith('+') ? [] : ['no leading +']),
    ...(digits < 7 || digits > 15 ? [`${digits} digits`] : []),
    ...(/^\+?0/.test(number) ? ['a leading zero'] : []),
    ...(/\D/.test(number.replace(/^\+/, '')) ? ['characters other than digits'] : []),
  ];
  return `(${faults.join('; ')})`;
}

function e164Problem(number: string): string {
  return `not an E.164 number ${e164Faults(number)}: write ${E164_RULE}`;
}

function whatsappNumberProblem(address: string): string {
  return `a WhatsApp address whose number is not E.164 ${e164Faults(address.slice(WHATSAPP_PREFIX.length))}: write whatsapp: then ${E164_RULE}`;
}

/** `from`: an E.164 number or an alphanumeric sender ID. */
export function smsSenderProblem(from: string): string | undefined {
  if (isSmsSender(from)) return undefined;
  if (from === '') return 'empty: give a Twilio number in E.164 (e.g. +15551234567) or an alphanumeric sender ID';
  if (isMessagingServiceSid(from)) return 'a Messaging Service SID, not a sender: give it as messagingServiceSid and leave from out';
  if (from.startsWith(WHATSAPP_PREFIX)) return 'a WhatsApp address: give it as whatsappFrom (from is the SMS/MMS sender)';
  if (NUMBER_LIKE.test(from)) return e164Problem(from);
  const chars = [...from];
  const refused = [...new Set(chars.filter((c) => !ALPHANUMERIC_SENDER_ID_CHAR.test(c)))];
  const faults = [
    ...(chars.length > 11 ? [`${chars.length} characters, at most 11`] : []),
    ...(refused.length > 0 ? [`characters Twilio refuses: ${refused.map((c) => JSON.stringify(c)).join(' ')}`] : []),
    ...(/[A-Za-z]/.test(from) ? [] : ['no letter']),
  ];
  return (
    `not an alphanumeric sender ID (${faults.join('; ')}): use 1 to 11 letters, digits, spaces or + - _ &, at least one letter (e.g. ACME-OPS), ` +
    'or a Twilio number in E.164 (e.g. +15551234567)'
  );
}

/** `whatsappFrom`: `whatsapp:+<E.164>`. */
export function whatsappSenderProblem(address: string): string | undefined {
  if (isWhatsAppAddress(address)) return undefined;
  if (isMessagingServiceSid(address)) {
    return 'a Messaging Service SID: to send WhatsApp through a Messaging Service, give it as messagingServiceSid (its sender pool holds the WhatsApp sender) and leave whatsappFrom out';
  }
  if (address.startsWith(WHATSAPP_PREFIX)) return whatsappNumberProblem(address);
  if (isPhoneNumber(address)) return 'a phone number without the channel: write it as whatsapp:+<E.164> (e.g. whatsapp:+15551234567)';
  return 'not whatsapp:+<E.164> (e.g. whatsapp:+15551234567)';
}

/** A recipient: `+<E.164>` or `whatsapp:+<E.164>`. */
export function recipientProblem(address: string): string | undefined {
  if (isRecipientAddress(address)) return undefined;
  if (address.startsWith(WHATSAPP_PREFIX)) return whatsappNumberProblem(address);
  if (NUMBER_LIKE.test(address)) return e164Problem(address);
  return 'neither an E.164 number (e.g. +15551234567) nor whatsapp:+<E.164>';
}

/** Segments an alarm text may use (`alarmTextSegments`): at least one, and ten is already a 1,530-character text. */
export const ALARM_TEXT_SEGMENTS = { min: 1, max: 10, default: 1 } as const;

/** Whole seconds RECONCILE_AFTER_SECONDS (the construct's `reconcileAfter`) may be: 1 minute to 24 hours; 5 minutes by default. */
export const RECONCILE_AFTER_SECONDS_RANGE = { min: 60, max: 86_400, default: 300 } as const;

/** Characters (code points) of `accountAlias`: it shares the alarm text's budget with the alarm. */
export const MAX_ACCOUNT_ALIAS_CHARS = 32;
/**
 * Not printable: control, format (bidi overrides among them), private-use,
 * unassigned and surrogate code points, and the line and paragraph separators.
 * The zero-width joiner is kept: emoji sequences need it.
 */
const UNPRINTABLE = /(?!\u200D)[\p{C}\p{Zl}\p{Zp}]/u;

/** A value as an error quotes it: JSON-quoted, with no character left that could reorder or break the line it is shown on. */
export function quoteValue(value: string): string {
  return JSON.stringify(value).replace(/[\p{C}\p{Zl}\p{Zp}]/gu, (c) => `\\u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`);
}

/** `accountAlias`: 1 to 32 printable characters, not only spaces. The reasons read after "which is". */
export function accountAliasProblem(alias: string): string | undefined {
  const chars = [...alias].length;
  if (chars === 0) return 'empty: leave accountAlias out to show the account id';
  if (chars > MAX_ACCOUNT_ALIAS_CHARS) return `${chars} characters, at most ${MAX_ACCOUNT_ALIAS_CHARS}: shorten it (it shares the alarm text's budget)`;
  const unprintable = UNPRINTABLE.exec(alias);
  if (unprintable) {
    const code = unprintable[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return `not printable: it holds U+${code} (a control, format or separator character): remove it`;
  }
  if (alias.trim() === '') return 'only spaces: give a name, or leave accountAlias out to show the account id';
  return undefined;
}
