/** What an inbound reply asks for. */
export type ReplyCommand =
  /** `ACK`: the newest open incident that paged the sender. */
  | { readonly kind: 'ack' }
  /** `ACK <code>`: that incident, if it paged the sender. */
  | { readonly kind: 'ack-code'; readonly code: string }
  /** `ACK ALL`: every open incident that paged the sender. */
  | { readonly kind: 'ack-all' }
  /** One of Twilio's opt-out words. */
  | { readonly kind: 'opt-out'; readonly word: string }
  /** One of Twilio's opt-in words. */
  | { readonly kind: 'opt-in'; readonly word: string }
  /** Anything else: a message for humans. */
  | { readonly kind: 'message' };

/** Twilio's default opt-out and opt-in keywords (its Advanced Opt-Out defaults). */
export const OPT_OUT_WORDS: ReadonlySet<string> = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT']);
export const OPT_IN_WORDS: ReadonlySet<string> = new Set(['START', 'YES', 'UNSTOP']);

// Spaces and punctuation (Unicode classes: phones autocorrect to curly quotes and ellipses).
const EDGES = /^[\s\p{P}]+|[\s\p{P}]+$/gu;
// ACK, then at least one space or punctuation mark, then one word of letters and digits.
const ACK_WITH_ARGUMENT = /^ACK[\s\p{P}]+([A-Z0-9]{1,6})$/u;
/** Longer bodies are messages: no command comes near it, and the edge trim then never walks a long text. */
const MAX_COMMAND_CHARS = 64;

/**
 * Reads a reply: case-insensitive, surrounding spaces and punctuation ignored
 * ("ack", " Ack. ", "ACK 7k!", "ack: all"). A command is the whole body:
 * "ACK but db-2 is still down" is a message. An argument longer than a code
 * (6) or with other characters is a message too. Codes are never command
 * words, so `ACK ALL` is never a code.
 */
export function parseReplyCommand(body: string): ReplyCommand {
  if (body.length > MAX_COMMAND_CHARS) return { kind: 'message' };
  const text = body.toUpperCase().replace(EDGES, '');
  if (text === 'ACK') return { kind: 'ack' };
  const argument = ACK_WITH_ARGUMENT.exec(text)?.[1];
  if (argument === 'ALL') return { kind: 'ack-all' };
  if (argument !== undefined) return { kind: 'ack-code', code: argument };
  if (OPT_OUT_WORDS.has(text)) return { kind: 'opt-out', word: text };
  if (OPT_IN_WORDS.has(text)) return { kind: 'opt-in', word: text };
  return { kind: 'message' };
}

/** An acknowledgement command (answered with a TwiML line). */
export function isAckCommand(command: ReplyCommand): boolean {
  return command.kind === 'ack' || command.kind === 'ack-code' || command.kind === 'ack-all';
}
