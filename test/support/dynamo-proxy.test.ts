import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createStatusTable, LocalDynamo, startDynalite } from './dynalite';
import { DynamoProxy, startDynamoProxy } from './dynamo-proxy';

const credentials = { accessKeyId: 'a', secretAccessKey: 'b' };
let dynamo: LocalDynamo;
let proxy: DynamoProxy;
let direct: DynamoDBClient;

beforeAll(async () => {
  dynamo = await startDynalite();
  await createStatusTable(dynamo.endpoint, 'tbl');
  proxy = await startDynamoProxy(dynamo.endpoint);
  direct = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials });
});
afterAll(async () => {
  direct.destroy();
  await proxy.close();
  await dynamo.close();
});

const viaProxy = () => new DynamoDBClient({ endpoint: proxy.url, region: 'us-east-1', credentials, maxAttempts: 1 });
const put = (id: string) => new PutItemCommand({ TableName: 'tbl', Item: { id: { S: id } } });
const get = async (id: string) => (await direct.send(new GetItemCommand({ TableName: 'tbl', Key: { id: { S: id } }, ConsistentRead: true }))).Item;

test('calls pass through to the table and are counted', async () => {
  const client = viaProxy();
  await client.send(put('a'));
  expect(await get('a')).toEqual({ id: { S: 'a' } });
  expect(proxy.calls.get('PutItem')).toBe(1);
  expect(proxy.writes).toBe(1);
  client.destroy();
});

test('failNext answers 500 InternalServerError without touching the table', async () => {
  const client = viaProxy();
  proxy.failNext(1, ['PutItem']);
  await expect(client.send(put('b'))).rejects.toMatchObject({ name: 'InternalServerError' });
  expect(await get('b')).toBeUndefined();
  await client.send(put('b'));
  expect(await get('b')).toBeDefined();
  client.destroy();
});

test('an outage fails every call of its targets, whatever the SDK retries, until it ends; other calls pass', async () => {
  const retrying = new DynamoDBClient({ endpoint: proxy.url, region: 'us-east-1', credentials, maxAttempts: 3 });
  const end = proxy.outage(['PutItem']);
  const failedBefore = proxy.failed;
  await expect(retrying.send(put('c'))).rejects.toMatchObject({ name: 'InternalServerError' });
  await expect(retrying.send(put('c'))).rejects.toMatchObject({ name: 'InternalServerError' });
  expect(proxy.failed - failedBefore).toBe(6);
  expect(await get('c')).toBeUndefined();
  expect((await retrying.send(new GetItemCommand({ TableName: 'tbl', Key: { id: { S: 'a' } } }))).Item).toBeDefined();
  end();
  await retrying.send(put('c'));
  expect(await get('c')).toBeDefined();
  retrying.destroy();
});

test('failRandomly fails the calls its random source picks, of its targets only, until it ends', async () => {
  const client = viaProxy();
  const draws = [0.9, 0.01, 0.5, 0.02];
  let i = 0;
  const end = proxy.failRandomly(0.05, () => draws[i++ % draws.length], ['PutItem']);
  const failedBefore = proxy.failed;
  const outcomes: string[] = [];
  for (const id of ['r1', 'r2', 'r3', 'r4']) outcomes.push(await client.send(put(id)).then(() => 'ok', (err: Error) => err.name));
  expect(outcomes).toEqual(['ok', 'InternalServerError', 'ok', 'InternalServerError']);
  expect(proxy.failed - failedBefore).toBe(2);
  expect(await get('r2')).toBeUndefined();
  // Not a target: never drawn for.
  expect((await client.send(new GetItemCommand({ TableName: 'tbl', Key: { id: { S: 'r1' } } }))).Item).toBeDefined();
  expect(i).toBe(4);
  end();
  await client.send(put('r2'));
  expect(await get('r2')).toBeDefined();
  client.destroy();
});

test('crashAfterWrite lets the write land, withholds the answer until the crash is done, then drops the connection', async () => {
  const client = viaProxy();
  let crashed = false;
  let releaseCrash: () => void = () => undefined;
  proxy.crashAfterWrite(
    (target, body) => target === 'PutItem' && body.includes('"claim#1"'),
    () => new Promise<void>((resolve) => (releaseCrash = () => {
      crashed = true;
      resolve();
    })),
  );
  await client.send(put('other')); // not matched: answered
  const call = client.send(put('claim#1')).then(
    () => 'answered',
    (err: Error) => `failed: ${err.name}`,
  );
  while ((await get('claim#1')) === undefined) await new Promise((r) => setTimeout(r, 5));
  let settled = false;
  void call.then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 50));
  expect(settled).toBe(false);
  releaseCrash();
  expect(await call).toMatch(/^failed/);
  expect(crashed).toBe(true);
  client.destroy();
});
