import { AttributeValue, DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';

/*
 * Reading and arranging the status table in dynalite, straight (not through a
 * handler's client): items as plain JS, unmarshalled by the AWS SDK's own
 * util-dynamodb (a string set is a Set, a number a number).
 */

/** The status table's name in every handler test. */
export const TABLE_NAME = 'status';

/** A client for arranging and reading items, with dummy credentials. */
export function tableClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' } });
}

/** One item (a consistent read), or undefined. */
export async function getItem(client: DynamoDBClient, id: string, tableName: string = TABLE_NAME): Promise<Record<string, any> | undefined> {
  const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: id } }, ConsistentRead: true }));
  return Item ? unmarshall(Item) : undefined;
}

/** Every item of the table (a consistent scan). */
export async function scanItems(client: DynamoDBClient, tableName: string = TABLE_NAME): Promise<Array<Record<string, any>>> {
  const items: Array<Record<string, any>> = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }));
    items.push(...(out.Items ?? []).map((i) => unmarshall(i)));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Writes an item given as plain JS (marshalled; undefined values left out). */
export async function putPlainItem(client: DynamoDBClient, item: Record<string, unknown>, tableName: string = TABLE_NAME): Promise<void> {
  await client.send(new PutItemCommand({ TableName: tableName, Item: marshall(item, { removeUndefinedValues: true }) }));
}

/** Writes an item given as DynamoDB attribute values (`{ S: ... }`), as a handler writes them. */
export async function putItem(client: DynamoDBClient, item: Record<string, AttributeValue>, tableName: string = TABLE_NAME): Promise<void> {
  await client.send(new PutItemCommand({ TableName: tableName, Item: item }));
}
