import type { Notification } from '../parse-notification';

/** How a held text that is no incident's page is named in a digest: what it is about, in a few words (digest-text.ts cuts it). */
export function labelOf(n: Notification): string {
  switch (n.kind) {
    case 'alarm':
      return n.alarmName;
    case 'event':
      return n.detailType;
    case 'json':
    case 'text':
      return n.text;
    case 'envelope':
      return n.body ?? (n.contentSid !== undefined ? 'template message' : `${n.mediaUrls.length} media`);
  }
}
