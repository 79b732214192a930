import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { startFakeSns } from './fake-sns';
import { createStatusTable, startDynalite } from './dynalite';

const creds = { accessKeyId: 'a', secretAccessKey: 'b' };

test('the SNS fake decodes a Publish with message attributes sent by the real client', async () => {
  const sns = await startFakeSns();
  const client = new SNSClient({ endpoint: sns.url, region: 'us-east-1', credentials: creds });
  try {
    const out = await client.send(
      new PublishCommand({
        TopicArn: 'arn:aws:sns:us-east-1:123456789012:inbound',
        Message: '{"body":"ACK"}',
        MessageAttributes: { channel: { DataType: 'String', StringValue: 'sms' }, from: { DataType: 'String', StringValue: '+15551234567' } },
      }),
    );
    expect(out.MessageId).toBe(sns.published[0].messageId);
    expect(sns.published[0]).toMatchObject({
      topicArn: 'arn:aws:sns:us-east-1:123456789012:inbound',
      message: '{"body":"ACK"}',
      attributes: { channel: { dataType: 'String', value: 'sms' }, from: { dataType: 'String', value: '+15551234567' } },
    });
    sns.failNext(5);
    await expect(client.send(new PublishCommand({ TopicArn: 'arn:x', Message: 'm' }))).rejects.toThrow();
  } finally {
    client.destroy();
    await sns.close();
  }
});

test('dynalite serves the status table with the construct key schema and counts calls and round trips', async () => {
  const ddb = await startDynalite();
  const client = new DynamoDBClient({ endpoint: ddb.endpoint, region: 'us-east-1', credentials: creds });
  try {
    await createStatusTable(ddb.endpoint, 'status');
    ddb.resetCalls();
    await client.send(new PutItemCommand({ TableName: 'status', Item: { id: { S: 'SM1' }, status: { S: 'queued' } } }));
    const { Item } = await client.send(new GetItemCommand({ TableName: 'status', Key: { id: { S: 'SM1' } } }));
    expect(Item?.status.S).toBe('queued');
    expect(Object.fromEntries(ddb.calls)).toEqual({ PutItem: 1, GetItem: 1 });
    expect(ddb.roundTrips()).toBe(2);
    await Promise.all(['SM2', 'SM3', 'SM4'].map((id) => client.send(new PutItemCommand({ TableName: 'status', Item: { id: { S: id } } }))));
    expect(ddb.totalCalls()).toBe(5);
    expect(ddb.roundTrips()).toBe(3);
    ddb.setLatency(20);
    const held = Date.now();
    await client.send(new GetItemCommand({ TableName: 'status', Key: { id: { S: 'SM1' } } }));
    expect(Date.now() - held).toBeGreaterThanOrEqual(19);
  } finally {
    client.destroy();
    await ddb.close();
  }
});
