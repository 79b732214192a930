/**
 * Reference for the cold-start comparison: the sender's job done the common
 * way, with the official `twilio` package instead of our undici client.
 * Everything else matches what the real sender loads (AWS SDK DynamoDB
 * document client, the shared Secrets Manager credentials loader, Powertools
 * Logger and Metrics), so the difference measured is the Twilio client.
 * Bundled with scripts/bundle.mjs's handlerBuildOptions; never deployed.
 */
import twilio from 'twilio';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ENV, METRIC, METRICS_NAMESPACE, type SenderConfig } from '../../../lib/contract';
import { getCredentials, type TwilioCredentials } from '../../../lambda/shared/credentials';
import { claimId, expiresAt, KIND } from '../../../lambda/shared/table-items';

const logger = new Logger();
const metrics = new Metrics({ namespace: METRICS_NAMESPACE });
const table = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const tableName = process.env[ENV.STATUS_TABLE_NAME] ?? '';
const config = JSON.parse(process.env[ENV.SENDER_CONFIG] ?? '{"defaultRecipients":[]}') as SenderConfig;

let client: { creds: TwilioCredentials; sdk: twilio.Twilio } | undefined;

function twilioClient(creds: TwilioCredentials): twilio.Twilio {
  if (client?.creds !== creds) {
    const sdk = creds.apiKeySid
      ? twilio(creds.apiKeySid, creds.apiKeySecret, { accountSid: creds.accountSid })
      : twilio(creds.accountSid, creds.authToken);
    const base = process.env[ENV.TWILIO_API_BASE_URL];
    if (base) sdk.api.baseUrl = base;
    client = { creds, sdk };
  }
  return client.sdk;
}

function parse(body: string): { id: string; text: string; to: readonly string[] } {
  let message = body;
  let id = '';
  try {
    const sns = JSON.parse(body) as { Type?: string; MessageId?: string; Message?: string };
    if (sns.Type === 'Notification' && typeof sns.Message === 'string') {
      message = sns.Message;
      id = sns.MessageId ?? '';
    }
  } catch {
    // plain text
  }
  try {
    const envelope = JSON.parse(message) as { body?: string; to?: string[] };
    if (typeof envelope.body === 'string') return { id, text: envelope.body, to: envelope.to ?? config.defaultRecipients };
  } catch {
    // plain text
  }
  return { id, text: message, to: config.defaultRecipients };
}

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  const sdk = twilioClient(await getCredentials());
  for (const record of event.Records) {
    try {
      const { id, text, to } = parse(record.body);
      const notificationId = id || record.messageId;
      await Promise.all(
        to.map(async (recipient) => {
          const now = Date.now();
          await table.send(
            new PutCommand({
              TableName: tableName,
              Item: { id: claimId(notificationId, recipient), kind: KIND.CLAIM, state: 'pending', createdAt: new Date(now).toISOString(), expiresAt: expiresAt(now) },
              ConditionExpression: 'attribute_not_exists(id)',
            }),
          );
          const started = Date.now();
          const message = await sdk.messages.create({
            to: recipient,
            body: text,
            ...(config.from ? { from: config.from } : { messagingServiceSid: config.messagingServiceSid }),
            statusCallback: process.env[ENV.STATUS_CALLBACK_URL],
          });
          metrics.addMetric(METRIC.SEND_LATENCY, MetricUnit.Milliseconds, Date.now() - started);
          await table.send(
            new PutCommand({
              TableName: tableName,
              Item: { id: message.sid, kind: KIND.MESSAGE, status: message.status, to: recipient, notificationId, createdAt: new Date(now).toISOString(), expiresAt: expiresAt(now) },
            }),
          );
          metrics.addMetric(METRIC.MESSAGES_SENT, MetricUnit.Count, 1);
        }),
      );
    } catch (err) {
      logger.error('send failed', { error: (err as Error).message });
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  metrics.publishStoredMetrics();
  return { batchItemFailures: failures };
};
