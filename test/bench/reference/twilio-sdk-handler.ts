/**
 * Reference for the cold-start comparison: the sender's job done the common
 * way, with the official `twilio` package instead of our undici client.
 * Everything else matches what the real sender loads and does (the same
 * DynamoDB client, @aws-sdk/client-dynamodb, making the same three calls per
 * recipient: the conditional claim PutItem before the POST, then the message
 * item and the claim's mark `sent` together; the shared Secrets Manager
 * credentials loader; Powertools Logger and Metrics), so the difference
 * measured is the Twilio client.
 * Bundled with scripts/bundle.mjs's handlerBuildOptions; never deployed.
 */
import twilio from 'twilio';
import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ENV, METRIC, METRICS_NAMESPACE, type SenderConfig } from '../../../lib/contract';
import { getCredentials, type TwilioCredentials } from '../../../lambda/shared/credentials';
import { claimId, expiresAt, KIND } from '../../../lambda/shared/table/items';

const logger = new Logger();
const metrics = new Metrics({ namespace: METRICS_NAMESPACE });
const table = new DynamoDBClient({});
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
          const claim = claimId(notificationId, recipient);
          const createdAt = { S: new Date(now).toISOString() };
          const expires = { N: String(expiresAt(now)) };
          await table.send(
            new PutItemCommand({
              TableName: tableName,
              Item: { id: { S: claim }, kind: { S: KIND.CLAIM }, state: { S: 'pending' }, createdAt, expiresAt: expires },
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
          await Promise.all([
            table.send(
              new UpdateItemCommand({
                TableName: tableName,
                Key: { id: { S: message.sid } },
                UpdateExpression: 'SET kind = :k, #s = :s, #to = :to, notificationId = :n, createdAt = if_not_exists(createdAt, :c), expiresAt = :e',
                ExpressionAttributeNames: { '#s': 'status', '#to': 'to' },
                ExpressionAttributeValues: { ':k': { S: KIND.MESSAGE }, ':s': { S: message.status }, ':to': { S: recipient }, ':n': { S: notificationId }, ':c': createdAt, ':e': expires },
              }),
            ),
            table.send(
              new UpdateItemCommand({
                TableName: tableName,
                Key: { id: { S: claim } },
                UpdateExpression: 'SET #st = :sent, sid = :sid',
                ExpressionAttributeNames: { '#st': 'state' },
                ExpressionAttributeValues: { ':sent': { S: 'sent' }, ':sid': { S: message.sid } },
              }),
            ),
          ]);
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
