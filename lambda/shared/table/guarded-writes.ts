import { DeleteItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { conditionally, Item, s } from './attributes';

/*
 * The sender's create-once puts and guarded deletes (claims, failed
 * notifications, incident openings and notices). A module of their own: the
 * webhooks' roles grant neither PutItem nor DeleteItem, and their bundles
 * never import this one.
 */

/** Writes the item unless one with its id exists; false when it did. */
export async function putIfAbsent(db: DynamoDBClient, tableName: string, item: Item): Promise<boolean> {
  const put = await conditionally(db.send(new PutItemCommand({ TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: { '#id': 'id' } })));
  return put.held;
}

/** Deletes the item `id` if `attribute` still holds `value`; false when it did not (or the item is gone). */
export async function deleteIfEquals(db: DynamoDBClient, tableName: string, id: string, attribute: string, value: string): Promise<boolean> {
  const deleted = await conditionally(
    db.send(
      new DeleteItemCommand({ TableName: tableName, Key: { id: s(id) }, ConditionExpression: '#attribute = :value', ExpressionAttributeNames: { '#attribute': attribute }, ExpressionAttributeValues: { ':value': s(value) } }),
    ),
  );
  return deleted.held;
}
