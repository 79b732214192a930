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

test('a rule drops the answer to a write that lands, or holds a call until its promise settles; reset ends the rule', async () => {
  const client = viaProxy();
  proxy.setRule((target, input) => (target === 'PutItem' && input.Item.id.S === 'dropped' ? 'drop-answer' : 'pass'));
  await expect(client.send(put('dropped'))).rejects.toThrow();
  expect(await get('dropped')).toBeDefined();
  let release: () => void = () => undefined;
  let answered = false;
  proxy.setRule(() => ({ hold: new Promise<void>((resolve) => (release = resolve)), answered: () => (answered = true) }));
  const held = client.send(put('held'));
  await new Promise((r) => setTimeout(r, 50));
  expect(await get('held')).toBeUndefined();
  release();
  await held;
  expect(answered).toBe(true);
  expect(await get('held')).toBeDefined();
  proxy.reset();
  await client.send(put('after-reset'));
  expect(await get('after-reset')).toBeDefined();
  client.destroy();
});

test('connection faults: one operation cut as it arrives, DynamoDB unreachable, a number of connections refused; reset lets all through', async () => {
  const client = viaProxy();
  proxy.cutNext('PutItem', 1);
  await expect(client.send(put('cut'))).rejects.toThrow();
  expect(await get('cut')).toBeUndefined();
  await client.send(put('cut'));
  expect(await get('cut')).toBeDefined();

  proxy.setReachable(false);
  await expect(client.send(put('unreachable'))).rejects.toThrow();
  expect(await get('unreachable')).toBeUndefined();
  proxy.setReachable(true);
  await client.send(put('unreachable'));
  expect(await get('unreachable')).toBeDefined();

  // A new client: its first connection is the one refused, its second goes through.
  proxy.refuseConnections(1);
  const fresh = viaProxy();
  await expect(fresh.send(put('refused'))).rejects.toThrow();
  await fresh.send(put('refused'));
  expect(await get('refused')).toBeDefined();
  fresh.destroy();

  proxy.setReachable(false);
  proxy.cutNext('GetItem', 5);
  proxy.reset();
  expect((await client.send(new GetItemCommand({ TableName: 'tbl', Key: { id: { S: 'refused' } } }))).Item).toBeDefined();
  client.destroy();
});
