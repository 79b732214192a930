import { DynamoDBClient, GetItemCommand, AttributeValue } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { maskAddress } from '../../lambda/shared/mask';
import { claimId, failedNotificationId } from '../../lambda/shared/table/items';
import { isFinalStatus } from '../../lambda/shared/status';
import type { OperatorRecord } from '../private/operator-record';
import { Check, fail, pass } from './check';
import { deliveryError } from './delivery-errors';
import { explainAwsError } from './errors';

export interface SendTestOptions {
  readonly recipient: string;
  readonly timeoutMs: number;
  readonly pollMs: number;
  /** Called at each poll with the phase reached (`published; waiting for the sender`, `Twilio: sent`, ...) and the seconds waited. */
  readonly progress: (phase: string, seconds: number) => void;
  readonly now?: () => number;
}

/** Where a test page is: each phase a step further. */
type Phase =
  | { readonly at: 'queued' }
  | { readonly at: 'claimed'; readonly state: string; readonly reason?: string; readonly errorCode?: string; readonly messageSid?: string }
  | { readonly at: 'message'; readonly messageSid: string; readonly status: string; readonly errorCode?: string }
  | { readonly at: 'refused'; readonly reason: string };

const s = (v: AttributeValue | undefined) => v?.S;

/**
 * Publishes a test page to one allowed recipient through the alert topic and
 * follows it in the status table (the sender's claim, then the message's
 * status from Twilio's callbacks) until `delivered`, a final failure, or the
 * timeout; the last phase reached says why a page was not delivered.
 */
export async function sendTestPage(sns: SNSClient, db: DynamoDBClient, record: OperatorRecord, options: SendTestOptions): Promise<Check> {
  const name = `test page ${maskAddress(options.recipient)}`;
  if (record.recipients.length > 0 && !record.recipients.includes(options.recipient)) {
    return fail(name, `${maskAddress(options.recipient)} is not an allowed recipient of ${record.construct}: the sender would refuse it`, `name one of ${record.recipients.map(maskAddress).join(', ')}, or add it to the construct's allowedRecipients and deploy`);
  }
  const now = options.now ?? Date.now;
  const started = now();
  const body = `cdk-twilio-messaging verify: test page from ${record.construct} at ${new Date(started).toISOString().slice(0, 16).replace('T', ' ')} UTC. No action needed.`;
  let notificationId: string | undefined;
  try {
    ({ MessageId: notificationId } = await sns.send(new PublishCommand({ TopicArn: record.topicArn, Message: JSON.stringify({ body, to: [options.recipient] }) })));
  } catch (err) {
    throw explainAwsError(err, `publishing the test page to ${record.topicArn}`, 'sns:Publish (and kms:GenerateDataKey* on the topic key)');
  }
  if (!notificationId) throw new Error('SNS answered the publish without a MessageId');
  const read = async (id: string) => {
    try {
      return (await db.send(new GetItemCommand({ TableName: record.tableName, Key: { id: { S: id } }, ConsistentRead: true }))).Item;
    } catch (err) {
      throw explainAwsError(err, `reading the status table ${record.tableName}`, 'dynamodb:GetItem');
    }
  };
  const phaseNow = async (): Promise<Phase> => {
    const claim = await read(claimId(notificationId!, options.recipient));
    if (!claim) {
      const refused = await read(failedNotificationId(notificationId!));
      return refused ? { at: 'refused', reason: s(refused.reason) ?? 'refused' } : { at: 'queued' };
    }
    const messageSid = s(claim.messageSid);
    const state = s(claim.state) ?? 'pending';
    if (state === 'sent' && messageSid) {
      const message = await read(messageSid);
      return { at: 'message', messageSid, status: s(message?.status) ?? 'accepted', ...(s(message?.errorCode) ? { errorCode: s(message?.errorCode) } : {}) };
    }
    return { at: 'claimed', state, ...(s(claim.reason) ? { reason: s(claim.reason) } : {}), ...(s(claim.errorCode) ? { errorCode: s(claim.errorCode) } : {}), ...(messageSid ? { messageSid } : {}) };
  };

  let phase: Phase = { at: 'queued' };
  for (;;) {
    phase = await phaseNow();
    const waited = (now() - started) / 1000;
    options.progress(describe(phase), waited);
    const verdict = judge(name, phase, notificationId, record, false);
    if (verdict) return verdict;
    if (now() - started >= options.timeoutMs) return judge(name, phase, notificationId, record, true, options.timeoutMs / 1000)!;
    await new Promise((r) => setTimeout(r, options.pollMs));
  }
}

function describe(p: Phase): string {
  switch (p.at) {
    case 'queued':
      return 'published; waiting for the sender';
    case 'refused':
      return 'refused by the sender';
    case 'claimed':
      return `the sender holds it (${p.state})`;
    case 'message':
      return `Twilio: ${p.status}`;
  }
}

/** The verdict on a phase: pass, fail with the fix, or undefined to keep waiting (`timedOut`: no more waiting). */
function judge(name: string, p: Phase, notificationId: string, record: OperatorRecord, timedOut: boolean, seconds = 0): Check | undefined {
  const id = `notification ${notificationId}`;
  if (p.at === 'refused') return fail(name, `the sender refused the test page: ${p.reason}`, 'fix what the reason names (the sender\'s configuration), deploy, and send the test again');
  if (p.at === 'claimed' && p.state === 'failed') {
    return fail(name, `the sender recorded it failed: ${p.reason ?? 'no reason'}${p.errorCode ? ` (Twilio ${p.errorCode})` : ''}`, p.errorCode ? deliveryError(p.errorCode).fix : 'fix what the reason names and send the test again');
  }
  if (p.at === 'claimed' && p.state === 'unknown') {
    return fail(name, `the sender could not tell whether Twilio created the message (${p.reason ?? 'no answer'})`, `look for the message to ${maskAddress(p.messageSid ?? '')} in the Twilio Console's messaging logs; see the sender's logs for ${id}`);
  }
  if (p.at === 'message') {
    if (p.status === 'delivered' || p.status === 'read') return pass(name, `delivered: message ${p.messageSid}, ${id}`);
    if (isFinalStatus(p.status)) {
      const e = deliveryError(p.errorCode);
      return fail(name, `Twilio reports ${p.status}${p.errorCode ? ` (error ${p.errorCode}: ${e.meaning})` : ''}: message ${p.messageSid}`, e.fix);
    }
  }
  if (!timedOut) return undefined;
  const after = `after ${seconds} s`;
  switch (p.at) {
    case 'queued':
      return fail(
        name,
        `${after} the sender had not taken the test page (${id})`,
        `look at the sender's logs and the ConfigurationErrors metric (a placeholder secret or refused credentials keep every page in the queue), and at the alert queue's dead-letter queue; the page is still queued and goes out once that is fixed`,
      );
    case 'claimed':
      return fail(name, `${after} the sender still holds the test page (${p.state}): Twilio has not accepted it yet`, `look at the sender's logs for ${id}: a Twilio error it retries (429, 5xx) or a From Twilio refuses`);
    case 'message':
      return fail(
        name,
        `${after} Twilio's last reported status is ${p.status}: message ${p.messageSid} was not delivered in time`,
        p.status === 'accepted' || p.status === 'queued'
          ? `no status callback came: check that ${record.statusCallbackUrl} is reachable and that the secret's authToken is the account's primary token (the status-callback function answers 403 otherwise: the CallbackRejected metric counts them); the message's log in the Twilio Console shows Twilio's side`
          : `the carrier has not confirmed delivery: look at message ${p.messageSid} in the Twilio Console, or run \`cdk-twilio-messaging status ${p.messageSid}\` later`,
      );
    default:
      return undefined;
  }
}
