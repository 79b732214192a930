import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startFakeSqs } from '../support/fake-sqs';

test('the SQS fake takes a SendMessage from the real client at the queue URL\'s host, with its delay, and fails on demand', async () => {
  const sqs = await startFakeSqs();
  const client = new SQSClient({ endpoint: sqs.url, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
  try {
    const queueUrl = sqs.queueUrl('backlog');
    // The client checks the MD5 of the body in the answer: a wrong one would throw.
    const out = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"kind":"webhook","é":"✓"}', DelaySeconds: 12 }));
    expect(sqs.sent).toEqual([{ queueUrl, body: '{"kind":"webhook","é":"✓"}', delaySeconds: 12, messageId: out.MessageId }]);
    sqs.failNext(1);
    await expect(client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'm' }))).rejects.toMatchObject({ name: 'InternalError' });
    expect(sqs.sent).toHaveLength(1);
  } finally {
    client.destroy();
    await sqs.close();
  }
});
