import type { SenderSettings } from './config';
import type { Notification } from './parse-notification';
import { isWhatsApp } from './validate';

export type Channel = 'sms' | 'mms' | 'whatsapp';

/** One Twilio Messages.json request for one recipient. */
export interface OutboundMessage {
  readonly to: string;
  readonly channel: Channel;
  /** Form parameters in order; MediaUrl repeats once per URL (create-message-params.json). */
  readonly params: ReadonlyArray<readonly [string, string]>;
  /** The start of the text, for the status table (never logged). */
  readonly preview: string;
  /** The Body sent, when one was: a lookup after a crash matches on it. */
  readonly body?: string;
  /** The sender address sent as From, when one was. */
  readonly from?: string;
  readonly messagingServiceSid?: string;
}

const PREVIEW_CHARS = 60;
/** WhatsApp rejects template parameters longer than this. */
const TEMPLATE_VARIABLE_MAX = 1024;

function preview(text: string): string {
  const chars = [...text];
  return chars.length <= PREVIEW_CHARS ? text : `${chars.slice(0, PREVIEW_CHARS - 3).join('')}...`;
}

/** WhatsApp template parameters may hold no newline, tab or run of four or more spaces. */
function templateVariable(text: string): string {
  const flat = text.replace(/\s*[\r\n\t]+\s*/g, ' - ').replace(/ {4,}/g, '   ');
  return [...flat].slice(0, TEMPLATE_VARIABLE_MAX).join('');
}

function flattenVariables(variables: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, templateVariable(v)]));
}

/**
 * The request for `to` (already validated and allowed). WhatsApp recipients
 * of a message without contentSid get the configured default template with
 * the text as its variable 1 (outside the 24-hour window WhatsApp delivers
 * only templates), else the text as free-form.
 */
export function buildMessage(notification: Notification, to: string, settings: SenderSettings): OutboundMessage {
  const whatsapp = isWhatsApp(to);
  const text = notification.kind === 'envelope' ? notification.body : notification.text;
  const media = notification.kind === 'envelope' ? notification.mediaUrls : [];
  const params: Array<[string, string]> = [['To', to]];
  const from = whatsapp ? settings.whatsappFrom : settings.from;
  const messagingServiceSid = from === undefined ? settings.messagingServiceSid : undefined;
  if (from !== undefined) params.push(['From', from]);
  else if (messagingServiceSid !== undefined) params.push(['MessagingServiceSid', messagingServiceSid]);

  let body: string | undefined;
  let channel: Channel = whatsapp ? 'whatsapp' : 'sms';
  let contentSid: string | undefined;
  if (notification.kind === 'envelope' && notification.contentSid) {
    contentSid = notification.contentSid;
    params.push(['ContentSid', contentSid]);
    const variables = notification.contentVariables;
    // WhatsApp refuses a template whose parameters hold newlines, tabs or runs of spaces: send them flattened rather than lose the page.
    if (variables) params.push(['ContentVariables', JSON.stringify(whatsapp ? flattenVariables(variables) : variables)]);
  } else if (whatsapp && settings.whatsappContentSid) {
    contentSid = settings.whatsappContentSid;
    params.push(['ContentSid', contentSid]);
    params.push(['ContentVariables', JSON.stringify({ 1: templateVariable(text ?? media.join(' ')) })]);
  } else {
    if (text) {
      body = text;
      params.push(['Body', text]);
    }
    for (const url of media) params.push(['MediaUrl', url]);
    if (!whatsapp && media.length > 0) channel = 'mms';
  }
  if (settings.statusCallbackUrl) params.push(['StatusCallback', settings.statusCallbackUrl]);
  return {
    to,
    channel,
    params,
    preview: text ? preview(text) : contentSid ? `[template ${contentSid}]` : `[${media.length} media]`,
    ...(body !== undefined ? { body } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(messagingServiceSid !== undefined ? { messagingServiceSid } : {}),
  };
}
