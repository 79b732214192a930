import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC } from '../../lib/contract';
import type { Incident } from '../shared/incidents/items';
import { recordOptChoice } from '../shared/incidents/opt-outs';
import { metrics } from '../shared/observability';
import { acknowledgeAll, acknowledgeCode, acknowledgeNewest, ReplyContext } from './acknowledge';
import { escalatePastOptedOut } from './opt-out';
import type { ReplyCommand } from './reply-command';

/** What a reply did, as the inbound topic's `type` says. */
export type InboundType = 'ack' | 'ack-all' | 'ack-none' | 'opt-out' | 'opt-in' | 'message';

export interface CommandOutcome {
  readonly type: InboundType;
  /** The line to answer in TwiML; undefined: empty TwiML (no reply). */
  readonly reply?: string;
  /** The incidents it acknowledged or answered about (ack*), or marked the address unreachable on (opt-out). */
  readonly incidents: readonly Incident[];
}

/** Each incident this reply acknowledged first, and how long it waited: from its opening to the reply's first arrival. */
function countFirstAcknowledgements(incidents: readonly Incident[], reply: ReplyContext): void {
  if (incidents.length === 0) return;
  metrics.addMetric(METRIC.INCIDENTS_ACKNOWLEDGED, MetricUnit.Count, incidents.length);
  const acknowledgedAt = Date.parse(reply.receivedAt);
  for (const incident of incidents) {
    const openedAt = Date.parse(incident.openedAt);
    if (Number.isFinite(openedAt) && Number.isFinite(acknowledgedAt)) {
      metrics.addMetric(METRIC.TIME_TO_ACKNOWLEDGE, MetricUnit.Seconds, Math.max(0, acknowledgedAt - openedAt) / 1000);
    }
  }
}

/**
 * Does what the reply asks, against the table (and the alert queue for an
 * opt-out's timers). Every step is safe to repeat for the same reply: a Twilio
 * retry or a backlog redelivery of it acknowledges nothing twice, counts
 * nothing twice and answers the same.
 * @throws on DynamoDB or SQS errors (the delivery then goes to the backlog)
 */
export async function runCommand(client: DynamoDBClient, tableName: string, command: ReplyCommand, reply: ReplyContext, now: number): Promise<CommandOutcome> {
  switch (command.kind) {
    case 'ack':
    case 'ack-code':
    case 'ack-all': {
      const outcome =
        command.kind === 'ack'
          ? await acknowledgeNewest(client, tableName, reply, now)
          : command.kind === 'ack-code'
            ? await acknowledgeCode(client, tableName, command.code, reply, now)
            : await acknowledgeAll(client, tableName, reply, now);
      countFirstAcknowledgements(outcome.firstAcknowledged, reply);
      return { type: outcome.type, reply: outcome.reply, incidents: outcome.incidents };
    }
    case 'opt-out': {
      const choice = await recordOptChoice(client, tableName, reply, true, command.word, now);
      if (choice.changed) metrics.addMetric(METRIC.RECIPIENT_OPTED_OUT, MetricUnit.Count, 1);
      // A newer opt-in already recorded: this word is history, nobody to escalate past.
      const incidents = choice.latest && choice.optedOut ? await escalatePastOptedOut(client, tableName, reply, command.word, now) : [];
      // Twilio blocks any reply to an opt-out word on SMS; WhatsApp gets the same silence.
      return { type: 'opt-out', incidents };
    }
    case 'opt-in': {
      const choice = await recordOptChoice(client, tableName, reply, false, command.word, now);
      if (choice.changed) metrics.addMetric(METRIC.RECIPIENT_OPTED_IN, MetricUnit.Count, 1);
      return { type: 'opt-in', incidents: [] };
    }
    case 'message':
      return { type: 'message', incidents: [] };
  }
}
