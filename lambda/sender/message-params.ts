import type { SenderSettings } from './config';
import { BODY_LIMIT, fitPage, fitWithHint, TEMPLATE_LIMIT, TextBudget, templateSafe } from './fit-text';
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
  /** Media URLs the envelope named that this message cannot carry (a Content template carries only its own media). */
  readonly mediaNotSent?: number;
}

const PREVIEW_CHARS = 60;

function preview(text: string): string {
  const chars = [...text];
  return chars.length <= PREVIEW_CHARS ? text : `${chars.slice(0, PREVIEW_CHARS - 3).join('')}...`;
}

function flattenVariables(variables: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, [...templateSafe(v)].slice(0, TEMPLATE_LIMIT).join('')]));
}

type Target = 'sms' | 'whatsapp' | 'template';

/** Renderings already made, per notification and target: a fan-out fits each page once per channel, not once per recipient. */
const renderings = new WeakMap<object, Map<Target, string>>();

function budgetFor(target: Target, settings: SenderSettings): TextBudget {
  if (target === 'sms') return { segments: settings.alarmTextSegments, allowUnicode: settings.allowUnicode };
  // WhatsApp counts no segments: the whole rendering, within what the message or the template variable holds.
  return target === 'whatsapp' ? { maxChars: BODY_LIMIT } : { maxChars: TEMPLATE_LIMIT, oneLine: true };
}

/** The text of a notification for one target, the reply hint at its end when there is one. */
function textFor(notification: Notification, target: Target, settings: SenderSettings): string | undefined {
  if (notification.kind === 'envelope' || notification.kind === 'text') {
    const text = notification.kind === 'envelope' ? notification.body : notification.text;
    if (text === undefined) return undefined;
    if (target === 'template') return fitWithHint(templateSafe(text), notification.replyHint, { maxChars: TEMPLATE_LIMIT });
    return notification.replyHint === undefined ? text : fitWithHint(text, notification.replyHint, { maxChars: BODY_LIMIT });
  }
  let done = renderings.get(notification);
  if (!done) renderings.set(notification, (done = new Map()));
  let text = done.get(target);
  if (text === undefined) {
    text = fitPage(notification.page, budgetFor(target, settings), notification.replyHint).text;
    if (target === 'template') text = templateSafe(text);
    done.set(target, text);
  }
  return text;
}

/** Variable 1 of the default template: the text, then the media as links (the template carries none), within WhatsApp's limit. */
function templateVariable(notification: Notification, media: readonly string[], settings: SenderSettings): string {
  const links = media.join(' ');
  if (links === '') return textFor(notification, 'template', settings) ?? '';
  const text = notification.kind === 'envelope' ? notification.body : undefined;
  if (text === undefined) return fitWithHint(links, notification.replyHint, { maxChars: TEMPLATE_LIMIT });
  const room = TEMPLATE_LIMIT - [...links].length - 3;
  return `${fitWithHint(templateSafe(text), notification.replyHint, { maxChars: room })} - ${links}`;
}

/**
 * The request for `to` (already validated and allowed). WhatsApp recipients
 * of a message without contentSid get the configured default template with
 * the whole text as its variable 1 (outside the 24-hour window WhatsApp
 * delivers only templates), else the text as free-form; alarms and events
 * are rendered for the channel: SMS within alarmTextSegments, WhatsApp
 * whole.
 */
export function buildMessage(notification: Notification, to: string, settings: SenderSettings): OutboundMessage {
  const whatsapp = isWhatsApp(to);
  const media = notification.kind === 'envelope' ? notification.mediaUrls : [];
  const params: Array<[string, string]> = [['To', to]];
  const from = whatsapp ? settings.whatsappFrom : settings.from;
  const messagingServiceSid = from === undefined ? settings.messagingServiceSid : undefined;
  if (from !== undefined) params.push(['From', from]);
  else if (messagingServiceSid !== undefined) params.push(['MessagingServiceSid', messagingServiceSid]);

  let body: string | undefined;
  let shown: string | undefined;
  let channel: Channel = whatsapp ? 'whatsapp' : 'sms';
  let contentSid: string | undefined;
  let mediaNotSent = 0;
  if (notification.kind === 'envelope' && notification.contentSid) {
    contentSid = notification.contentSid;
    params.push(['ContentSid', contentSid]);
    const variables = notification.contentVariables;
    // WhatsApp refuses a template whose parameters hold newlines, tabs or runs of spaces: send them flattened rather than lose the page.
    if (variables) params.push(['ContentVariables', JSON.stringify(whatsapp ? flattenVariables(variables) : variables)]);
    mediaNotSent = media.length;
  } else if (whatsapp && settings.whatsappContentSid) {
    contentSid = settings.whatsappContentSid;
    params.push(['ContentSid', contentSid]);
    shown = templateVariable(notification, media, settings);
    params.push(['ContentVariables', JSON.stringify({ 1: shown })]);
  } else {
    body = textFor(notification, whatsapp ? 'whatsapp' : 'sms', settings);
    shown = body;
    if (body) params.push(['Body', body]);
    for (const url of media) params.push(['MediaUrl', url]);
    if (!whatsapp && media.length > 0) channel = 'mms';
  }
  if (settings.statusCallbackUrl) params.push(['StatusCallback', settings.statusCallbackUrl]);
  const unsent = mediaNotSent > 0 ? ` [${mediaNotSent} media not sent: a template carries its own]` : '';
  return {
    to,
    channel,
    params,
    preview: (shown ? preview(shown) : contentSid ? `[template ${contentSid}]` : `[${media.length} media]`) + unsent,
    ...(body !== undefined ? { body } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(messagingServiceSid !== undefined ? { messagingServiceSid } : {}),
    ...(mediaNotSent > 0 ? { mediaNotSent } : {}),
  };
}
