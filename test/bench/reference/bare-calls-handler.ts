/**
 * Reference for CPU per recipient: the sender's four network calls per
 * recipient made directly, with no handler logic (no parsing beyond the
 * envelope, no rendering, no classification, no logs or metrics): the
 * conditional claim PutItem, the Twilio POST over undici, then the message
 * item and the claim's mark `sent` together, with the same DynamoDB client
 * (@aws-sdk/client-dynamodb) and at most SEND_CONCURRENCY requests in flight.
 * What is left between this and the sender is the sender's own work.
 * Bundled with scripts/bundle.mjs's handlerBuildOptions; never deployed.
 */
import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { SQSEvent } from 'aws-lambda';
import { Agent, request } from 'undici';

const db = new DynamoDBClient({});
const secrets = new SecretsManagerClient({});
const agent = new Agent({ keepAliveTimeout: 30_000, connections: 100 });
const table = process.env.STATUS_TABLE_NAME ?? '';
const config = JSON.parse(process.env.SENDER_CONFIG ?? '{}') as { from?: string; defaultRecipients?: string[]; sendConcurrency?: number };
let auth: { header: string; accountSid: string } | undefined;

async function credentials() {
  if (!auth) {
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: process.env.TWILIO_SECRET_ARN }));
    const { accountSid, authToken } = JSON.parse(SecretString ?? '{}') as { accountSid: string; authToken: string };
    auth = { header: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`, accountSid };
  }
  return auth;
}

async function sendOne(id: string, to: string, body: string) {
  const { header, accountSid } = await credentials();
  const claim = { S: `claim#${id}#${to}` };
  const now = { S: new Date().toISOString() };
  await db.send(new PutItemCommand({ TableName: table, Item: { id: claim, kind: { S: 'claim' }, state: { S: 'pending' }, createdAt: now }, ConditionExpression: 'attribute_not_exists(id)' }));
  const res = await request(`${process.env.TWILIO_API_BASE_URL}/2010-04-01/Accounts/${accountSid}/Messages.json`, {
    method: 'POST',
    dispatcher: agent,
    headers: { authorization: header, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ To: to, From: config.from ?? '', Body: body, StatusCallback: process.env.STATUS_CALLBACK_URL ?? '' }).toString(),
  });
  const { sid, status } = (await res.body.json()) as { sid: string; status: string };
  await Promise.all([
    db.send(new UpdateItemCommand({ TableName: table, Key: { id: { S: sid } }, UpdateExpression: 'SET kind = :k, #s = :s, #to = :to', ExpressionAttributeNames: { '#s': 'status', '#to': 'to' }, ExpressionAttributeValues: { ':k': { S: 'message' }, ':s': { S: status }, ':to': { S: to } } })),
    db.send(new UpdateItemCommand({ TableName: table, Key: { id: claim }, UpdateExpression: 'SET #st = :sent, sid = :sid', ExpressionAttributeNames: { '#st': 'state' }, ExpressionAttributeValues: { ':sent': { S: 'sent' }, ':sid': { S: sid } } })),
  ]);
}

export const handler = async (event: SQSEvent) => {
  for (const record of event.Records) {
    const sns = JSON.parse(record.body) as { MessageId: string; Message: string };
    let text = sns.Message;
    let to = config.defaultRecipients ?? [];
    try {
      const envelope = JSON.parse(sns.Message) as { body?: string; to?: string[] };
      if (typeof envelope.body === 'string') {
        text = envelope.body;
        to = envelope.to ?? to;
      }
    } catch {
      // plain text
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(config.sendConcurrency ?? 10, to.length) }, async () => {
        while (next < to.length) await sendOne(sns.MessageId, to[next++], text);
      }),
    );
  }
  return { batchItemFailures: [] };
};
