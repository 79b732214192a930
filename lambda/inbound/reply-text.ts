import type { APIGatewayProxyResult } from 'aws-lambda';
import type { Incident } from '../shared/incidents/items';

/*
 * The one-line answers to reply commands, sent back as TwiML. They name
 * incidents only to an address the incident paged: to anyone else an
 * incident's code, title and acknowledger stay unknown.
 */

/** One line: control characters and line breaks of a title become spaces. */
function oneLine(text: string): string {
  return text.replace(/[\p{Cc}\p{Zl}\p{Zp}\s]+/gu, ' ').trim();
}

/** `…4567`: enough of the number for a colleague to know who it was. */
export function addressTail(address: string): string {
  return `…${address.replace(/\D/g, '').slice(-4)}`;
}

/** `HH:MM UTC` of an ISO time. */
function clock(iso: string): string {
  const time = /T(\d\d:\d\d)/.exec(iso)?.[1];
  return time === undefined ? 'an unknown time' : `${time} UTC`;
}

export const REPLY = {
  acknowledged: (incident: Incident) => `ACK ${oneLine(incident.title)} (${incident.code}): escalation stopped`,
  acknowledgedAll: (count: number) => `ACK ALL: ${count} incident${count === 1 ? '' : 's'} acknowledged`,
  noOpenIncidentWithCode: (code: string) => `no open incident ${code}`,
  noOpenIncidentPagedYou: () => 'no open incident paged you',
  alreadyAcknowledged: (incident: Incident) =>
    `${incident.code} already acknowledged by ${addressTail(incident.acknowledgedBy ?? '')} at ${clock(incident.acknowledgedAt ?? '')}`,
  resolved: (incident: Incident) => `${incident.code} is resolved`,
  /**
   * The table failed before the acknowledgement was written: the reply is kept
   * in the webhook backlog and applied when DynamoDB answers again, but nothing
   * is confirmed, so the answer must not say escalation stopped.
   */
  notConfirmed: () => 'ACK not confirmed yet: paging may go on. Reply again in a minute to check',
} as const;

const XML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

// Characters XML 1.0 does not allow at all (escaped or not): left out.
const NOT_XML = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function escapeXml(text: string): string {
  return text.replace(NOT_XML, '').replace(/[&<>"']/g, (c) => XML_ESCAPES[c]);
}

/** TwiML that makes Twilio send `text` back to the sender as one message. */
export function twimlMessage(text: string): APIGatewayProxyResult {
  return {
    statusCode: 200,
    headers: { 'Content-Type': 'text/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?><Response><Message>${escapeXml(text)}</Message></Response>`,
  };
}
