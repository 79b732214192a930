import { TABLE } from '../../../lib/contract';

/*
 * The ids and kinds of the incident items of the status table (partition key
 * `id`; ARCHITECTURE.md, "Table items"), for every handler that reads or
 * writes them:
 *
 * - incident `incident#<openingNotificationId>`: one per occurrence; a
 *   redelivered opening maps to the same item.
 * - live pointer `incidentkey#<incidentKey>`: exists only while the key has a
 *   live incident; how a repeat ALARM or an OK finds it.
 * - code reservation `incidentcode#<CODE>`: makes the code unique among live
 *   incidents; `ACK <code>` resolves it.
 * - opt-out `optout#<address>` (the address exactly as Twilio's `From`):
 *   written by inbound; the sender reads it.
 * - notice `notice#<notificationId>`: what became of a notification that paged
 *   nobody or resolved an incident; written once by the sender.
 */

export const INCIDENT_KIND = {
  INCIDENT: 'incident',
  POINTER: 'incident-key',
  CODE: 'incident-code',
  OPT_OUT: 'opt-out',
  NOTICE: 'notification',
} as const;

export const INCIDENT_ID_PREFIX = 'incident#';

export const incidentIdOf = (openingNotificationId: string): string => `${INCIDENT_ID_PREFIX}${openingNotificationId}`;
export const isIncidentId = (id: string | undefined): id is string => id?.startsWith(INCIDENT_ID_PREFIX) === true;
export const pointerId = (incidentKey: string): string => `${TABLE.INCIDENT_KEY_ID_PREFIX}${incidentKey}`;
export const codeId = (code: string): string => `${TABLE.INCIDENT_CODE_ID_PREFIX}${code}`;
export const optOutId = (address: string): string => `optout#${address}`;
export const noticeId = (notificationId: string): string => `notice#${notificationId}`;

/** Notification ids of an incident's later texts: each is its own set of send claims. */
export const stageNotificationId = (incidentId: string, stage: number): string => `${incidentId}#stage#${stage}`;
export const repeatNotificationId = (incidentId: string, repeat: number): string => `${incidentId}#repeat#${repeat}`;
/** The page sent to `address`'s fallback when `address` could not be reached: once per address and incident. */
export const fallbackNotificationId = (incidentId: string, address: string): string => `${incidentId}#fallback#${address}`;
export const resolvedNotificationId = (incidentId: string): string => `${incidentId}#resolved`;
