import { ENV, isSmsSender, isWhatsAppAddress, SenderConfig } from '../../lib/contract';
import { isAddress } from './validate';

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
  /** SMS segments a rendered alarm or event text may take. */
  readonly alarmTextSegments: number;
  /** Shown instead of the alert topic's account id in rendered texts. */
  readonly accountAlias?: string;
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

/** SENDER_CONFIG's fields, with those a newer construct writes that the shared contract may not name yet. */
type ConfigKey = keyof SenderConfig | 'alarmTextSegments' | 'accountAlias';

const MG = /^MG[0-9a-fA-F]{32}$/;
const HX = /^HX[0-9a-fA-F]{32}$/;

function optionalString(c: Record<string, unknown>, key: ConfigKey): string | undefined {
  const v = c[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw new SenderConfigError(`${ENV.SENDER_CONFIG}.${key} must be a non-empty string`);
  return v;
}

function addressList(c: Record<string, unknown>, key: ConfigKey, required: boolean): string[] | undefined {
  const v = c[key];
  if (v === undefined && !required) return undefined;
  if (!Array.isArray(v) || (required && v.length === 0)) throw new SenderConfigError(`${ENV.SENDER_CONFIG}.${key} must be a${required ? ' non-empty' : 'n'} array of addresses`);
  v.forEach((a, i) => {
    if (typeof a !== 'string' || !isAddress(a)) throw new SenderConfigError(`${ENV.SENDER_CONFIG}.${key}[${i}] is not an E.164 or whatsapp:+E.164 address`);
  });
  return [...new Set(v as string[])];
}

function integer(c: Record<string, unknown>, key: ConfigKey, fallback: number, min: number, max: number): number {
  const v = c[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new SenderConfigError(`${ENV.SENDER_CONFIG}.${key} must be an integer from ${min} to ${max}`);
  return v;
}

/** A lease must leave room for one Twilio attempt plus the margin kept before it ends (send.ts). */
const MIN_CLAIM_LEASE_SECONDS = 3;

/**
 * Reads and validates the environment. The messages name the setting at
 * fault, never a value beyond its shape: they are logged.
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
  if (from !== undefined && !isSmsSender(from)) {
    throw new SenderConfigError(`${ENV.SENDER_CONFIG}.from must be an E.164 number or an alphanumeric sender ID`);
  }
  if (messagingServiceSid !== undefined && !MG.test(messagingServiceSid)) throw new SenderConfigError(`${ENV.SENDER_CONFIG}.messagingServiceSid must be MG followed by 32 hex digits`);
  if (whatsappFrom !== undefined && !isWhatsAppAddress(whatsappFrom)) {
    throw new SenderConfigError(`${ENV.SENDER_CONFIG}.whatsappFrom must be whatsapp:+E.164`);
  }
  if (whatsappContentSid !== undefined && !HX.test(whatsappContentSid)) throw new SenderConfigError(`${ENV.SENDER_CONFIG}.whatsappContentSid must be HX followed by 32 hex digits`);
  const defaultRecipients = addressList(c, 'defaultRecipients', true)!;
  const allowedRecipients = addressList(c, 'allowedRecipients', false) ?? [];
  if (c.allowUnicode !== undefined && typeof c.allowUnicode !== 'boolean') throw new SenderConfigError(`${ENV.SENDER_CONFIG}.allowUnicode must be a boolean`);
  const accountAlias = optionalString(c, 'accountAlias');

  return {
    tableName,
    ...(callback ? { statusCallbackUrl: callback } : {}),
    ...(from ? { from } : {}),
    ...(messagingServiceSid ? { messagingServiceSid } : {}),
    ...(whatsappFrom ? { whatsappFrom } : {}),
    ...(whatsappContentSid ? { whatsappContentSid } : {}),
    defaultRecipients,
    allowed: new Set([...defaultRecipients, ...allowedRecipients]),
    sendConcurrency: integer(c, 'sendConcurrency', DEFAULT_SEND_CONCURRENCY, 1, 1000),
    claimLeaseMs: integer(c, 'claimLeaseSeconds', DEFAULT_CLAIM_LEASE_SECONDS, MIN_CLAIM_LEASE_SECONDS, 86_400) * 1000,
    allowUnicode: c.allowUnicode === true,
    maxReceiveCount: integer(c, 'maxReceiveCount', DEFAULT_MAX_RECEIVE_COUNT, 1, 100),
    alarmTextSegments: integer(c, 'alarmTextSegments', DEFAULT_ALARM_TEXT_SEGMENTS, 1, MAX_ALARM_TEXT_SEGMENTS),
    ...(accountAlias !== undefined ? { accountAlias } : {}),
  };
}
