import {
  accountAliasProblem,
  ALARM_TEXT_SEGMENTS,
  ENV,
  isContentSid,
  isMessagingServiceSid,
  quoteValue,
  recipientProblem,
  SenderConfig,
  smsSenderProblem,
  STORM_LIMITS,
  whatsappSenderProblem,
} from '../../lib/contract';
import { maskAddress, maskNumbersInText } from '../shared/mask';
import { EscalationConfigError, EscalationPlan, needsTimers, parseEscalation, planRecipients } from './incidents/escalation';
import { parseFallbacks } from './incidents/fallbacks';

/** The sender's configuration, resolved once per cold start. */
export interface SenderSettings {
  readonly tableName: string;
  readonly statusCallbackUrl?: string;
  readonly from?: string;
  readonly messagingServiceSid?: string;
  readonly whatsappFrom?: string;
  readonly defaultRecipients: readonly string[];
  /** allowedRecipients ∪ defaultRecipients. */
  readonly allowed: ReadonlySet<string>;
  readonly whatsappContentSid?: string;
  readonly sendConcurrency: number;
  readonly claimLeaseMs: number;
  readonly allowUnicode: boolean;
  /** The alert queue's receives before the DLQ. */
  readonly maxReceiveCount: number;
  /** SMS segments a rendered alarm text may use. */
  readonly alarmTextSegments: number;
  /** Shown in alarm texts instead of the account id. */
  readonly accountAlias?: string;
  /** Who an incident pages and when (absent from SENDER_CONFIG: one stage of the default recipients, no repeats), and each address's fallback. */
  readonly escalation: EscalationPlan;
  /** Per-recipient storm window (storm/): undefined when digests are off (windowSeconds 0). */
  readonly storm?: StormSettings;
}

export interface StormSettings {
  /** How long a window stays open after a text sent at once. */
  readonly windowMs: number;
  /** Texts sent at once in one window; later ones wait for its digest. */
  readonly immediatePages: number;
}

export const DEFAULT_SEND_CONCURRENCY = 10;
/** The construct's default maxReceiveCount, for a SENDER_CONFIG from before the field. */
export const DEFAULT_MAX_RECEIVE_COUNT = 5;
/** Without a construct-provided lease: twice Lambda's maximum timeout would block redelivery too long; 2 minutes covers a 60 s function. */
export const DEFAULT_CLAIM_LEASE_SECONDS = 120;

/** One SMS segment, unless the construct's alarmTextSegments says otherwise. */
export const DEFAULT_ALARM_TEXT_SEGMENTS = 1;
/** Ten segments (1,530 GSM-7 characters) stay within Twilio's 1,600-character body. */
export const MAX_ALARM_TEXT_SEGMENTS = 10;

/** SENDER_CONFIG or another variable is unusable: nothing can be sent until the deployment is fixed. */
export class SenderConfigError extends Error {
  readonly name = 'SenderConfigError';
}

/** Characters of a bad value quoted in an error: enough to recognise it, never a whole blob in the logs. */
const QUOTED_CHARS = 40;

/**
 * A bad value as the errors quote it: numbers masked (the message is logged),
 * cut to a recognisable prefix, with its length.
 */
function shown(value: string): string {
  // Masked before it is cut, so that a cut never leaves part of a number unmasked.
  const masked = [...maskNumbersInText(value)];
  const head = masked.length > QUOTED_CHARS ? `${masked.slice(0, QUOTED_CHARS).join('')}…` : masked.join('');
  return `${quoteValue(head)} (${[...value].length} characters)`;
}

/** The fix of any bad value: it came from the construct's prop of the same name. */
const fix = (key: string) => `; fix the construct's ${key} (or what its token resolves to) and deploy, then redrive the kept records`;

function refuse(key: string, value: string, problem: string | undefined): void {
  if (problem) throw new SenderConfigError(`${ENV.SENDER_CONFIG}.${key} is ${shown(value)}, which is ${problem}${fix(key.replace(/\[\d+\]$/, ''))}`);
}

function optionalString(c: Record<string, unknown>, key: keyof SenderConfig): string | undefined {
  const v = c[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0) {
    throw new SenderConfigError(`${ENV.SENDER_CONFIG}.${key} must be a non-empty string; it is ${typeof v === 'string' ? 'empty' : `a${Array.isArray(v) ? 'n array' : ` ${typeof v}`}`}${fix(key)}`);
  }
  return v;
}

function addressList(c: Record<string, unknown>, key: keyof SenderConfig, required: boolean): string[] | undefined {
  const v = c[key];
  if (v === undefined && !required) return undefined;
  if (!Array.isArray(v) || (required && v.length === 0)) throw new SenderConfigError(`${ENV.SENDER_CONFIG}.${key} must be a${required ? ' non-empty' : 'n'} array of addresses`);
  v.forEach((a, i) => {
    if (typeof a !== 'string') throw new SenderConfigError(`${ENV.SENDER_CONFIG}.${key}[${i}] is a ${typeof a}, not an address${fix(key)}`);
    refuse(`${key}[${i}]`, a, recipientProblem(a));
  });
  return [...new Set(v as string[])];
}

function integer(c: Record<string, unknown>, key: keyof SenderConfig, fallback: number, min: number, max: number): number {
  const v = c[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new SenderConfigError(`${ENV.SENDER_CONFIG}.${key} must be an integer from ${min} to ${max}; it is ${maskNumbersInText(JSON.stringify(v) ?? String(v)).slice(0, QUOTED_CHARS)}`);
  }
  return v;
}

/**
 * SENDER_CONFIG.storm. Digests need timers: an explicit window without
 * ALERT_QUEUE_URL is refused; the default window applies only where the alert
 * queue is set (always, in a deployment; a harness without a queue sends
 * every text at once).
 */
function stormSettings(c: Record<string, unknown>, env: NodeJS.ProcessEnv): StormSettings | undefined {
  const v = c.storm;
  const key = `${ENV.SENDER_CONFIG}.storm`;
  if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v))) throw new SenderConfigError(`${key} must be an object { "windowSeconds"?, "immediatePages"? }${fix('storm')}`);
  const storm = (v ?? {}) as Record<string, unknown>;
  const unknownKeys = Object.keys(storm).filter((k) => k !== 'windowSeconds' && k !== 'immediatePages');
  if (unknownKeys.length > 0) throw new SenderConfigError(`${key} has ${quoteValue(unknownKeys[0].slice(0, QUOTED_CHARS))}, which is not a setting: use "windowSeconds" and "immediatePages"${fix('storm')}`);
  const field = (name: 'windowSeconds' | 'immediatePages'): number => {
    const limits = STORM_LIMITS[name];
    const x = storm[name];
    if (x === undefined) return limits.default;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < limits.min || x > limits.max) {
      throw new SenderConfigError(`${key}.${name} must be an integer from ${limits.min} to ${limits.max}; it is ${maskNumbersInText(JSON.stringify(x) ?? String(x)).slice(0, QUOTED_CHARS)}${fix('storm')}`);
    }
    return x;
  };
  const windowSeconds = field('windowSeconds');
  const immediatePages = field('immediatePages');
  if (windowSeconds === 0) return undefined;
  if (!env[ENV.ALERT_QUEUE_URL]) {
    if (v === undefined || storm.windowSeconds === undefined) return undefined;
    throw new SenderConfigError(`${key}.windowSeconds is ${windowSeconds}, and digests need timers: set ${ENV.ALERT_QUEUE_URL} to the alert queue, or windowSeconds to 0`);
  }
  return { windowMs: windowSeconds * 1000, immediatePages };
}

/** A lease must leave room for one Twilio attempt plus the margin kept before it ends (recipient.ts). */
const MIN_CLAIM_LEASE_SECONDS = 3;

/**
 * Reads and validates the environment. The messages are logged: they name the
 * setting at fault and quote its value with every number in it masked, with its
 * length and what is wrong with it (the rules synth checks, lib/contract.ts).
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): SenderSettings {
  const tableName = env[ENV.STATUS_TABLE_NAME];
  if (!tableName) throw new SenderConfigError(`${ENV.STATUS_TABLE_NAME} is not set`);
  const callback = env[ENV.STATUS_CALLBACK_URL] || undefined;
  if (callback !== undefined && !/^https?:\/\/[^\s_]+$/.test(callback)) {
    throw new SenderConfigError(`${ENV.STATUS_CALLBACK_URL} must be an http(s) URL without underscores (Twilio rejects them)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(env[ENV.SENDER_CONFIG] ?? '');
  } catch {
    throw new SenderConfigError(`${ENV.SENDER_CONFIG} is not JSON`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new SenderConfigError(`${ENV.SENDER_CONFIG} is not a JSON object`);
  const c = json as Record<string, unknown>;

  const from = optionalString(c, 'from');
  const messagingServiceSid = optionalString(c, 'messagingServiceSid');
  const whatsappFrom = optionalString(c, 'whatsappFrom');
  const whatsappContentSid = optionalString(c, 'whatsappContentSid');
  if (from !== undefined && messagingServiceSid !== undefined) throw new SenderConfigError(`${ENV.SENDER_CONFIG}: set "from" or "messagingServiceSid", not both`);
  if (from === undefined && messagingServiceSid === undefined && whatsappFrom === undefined) {
    throw new SenderConfigError(`${ENV.SENDER_CONFIG}: one of "from", "messagingServiceSid" or "whatsappFrom" is needed`);
  }
  if (from !== undefined) refuse('from', from, smsSenderProblem(from));
  if (messagingServiceSid !== undefined) refuse('messagingServiceSid', messagingServiceSid, isMessagingServiceSid(messagingServiceSid) ? undefined : 'not MG followed by 32 hex digits');
  if (whatsappFrom !== undefined) refuse('whatsappFrom', whatsappFrom, whatsappSenderProblem(whatsappFrom));
  if (whatsappContentSid !== undefined) refuse('whatsappContentSid', whatsappContentSid, isContentSid(whatsappContentSid) ? undefined : 'not HX followed by 32 hex digits');
  const defaultRecipients = addressList(c, 'defaultRecipients', true)!;
  const allowedRecipients = addressList(c, 'allowedRecipients', false) ?? [];
  if (c.allowUnicode !== undefined && typeof c.allowUnicode !== 'boolean') throw new SenderConfigError(`${ENV.SENDER_CONFIG}.allowUnicode must be a boolean`);
  const accountAlias = optionalString(c, 'accountAlias');
  if (accountAlias !== undefined) refuse('accountAlias', accountAlias, accountAliasProblem(accountAlias));
  let escalation: EscalationPlan;
  try {
    const plan = parseEscalation(c.escalation, defaultRecipients, `${ENV.SENDER_CONFIG}.escalation`);
    const fallbacks = parseFallbacks(c.fallbacks, `${ENV.SENDER_CONFIG}.fallbacks`);
    escalation = fallbacks.size > 0 ? { ...plan, fallbacks } : plan;
  } catch (err) {
    if (err instanceof EscalationConfigError) throw new SenderConfigError(err.message);
    throw err;
  }
  for (const [address, fallback] of escalation.fallbacks ?? []) {
    const whatsapp = fallback.startsWith('whatsapp:');
    if (whatsapp ? whatsappFrom === undefined && messagingServiceSid === undefined : from === undefined && messagingServiceSid === undefined) {
      throw new SenderConfigError(
        `${ENV.SENDER_CONFIG}.fallbacks["${maskAddress(address)}"] is ${maskAddress(fallback)}, ${whatsapp ? 'a WhatsApp address, but neither whatsappFrom nor messagingServiceSid is set' : 'an SMS number, but neither from nor messagingServiceSid is set'}${fix('fallbacks')}`,
      );
    }
  }
  if (needsTimers(escalation) && !env[ENV.ALERT_QUEUE_URL]) {
    throw new SenderConfigError(`${ENV.SENDER_CONFIG}.escalation has later stages or repeats, which need timers: set ${ENV.ALERT_QUEUE_URL} to the alert queue`);
  }

  const storm = stormSettings(c, env);
  return {
    tableName,
    ...(callback ? { statusCallbackUrl: callback } : {}),
    ...(from ? { from } : {}),
    ...(messagingServiceSid ? { messagingServiceSid } : {}),
    ...(whatsappFrom ? { whatsappFrom } : {}),
    ...(whatsappContentSid ? { whatsappContentSid } : {}),
    defaultRecipients,
    // The construct allows escalation recipients too; a hand-written SENDER_CONFIG must not page them only to refuse them.
    allowed: new Set([...defaultRecipients, ...allowedRecipients, ...planRecipients(escalation)]),
    sendConcurrency: integer(c, 'sendConcurrency', DEFAULT_SEND_CONCURRENCY, 1, 1000),
    claimLeaseMs: integer(c, 'claimLeaseSeconds', DEFAULT_CLAIM_LEASE_SECONDS, MIN_CLAIM_LEASE_SECONDS, 86_400) * 1000,
    allowUnicode: c.allowUnicode === true,
    maxReceiveCount: integer(c, 'maxReceiveCount', DEFAULT_MAX_RECEIVE_COUNT, 1, 100),
    alarmTextSegments: integer(c, 'alarmTextSegments', ALARM_TEXT_SEGMENTS.default, ALARM_TEXT_SEGMENTS.min, ALARM_TEXT_SEGMENTS.max),
    ...(accountAlias !== undefined ? { accountAlias } : {}),
    escalation,
    ...(storm ? { storm } : {}),
  };
}
