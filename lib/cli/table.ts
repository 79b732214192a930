import { AttributeValue, BatchGetItemCommand, DynamoDBClient, GetItemCommand, ScanCommand, ScanCommandInput } from '@aws-sdk/client-dynamodb';
import { explainAwsError } from './errors';

export type Item = Record<string, AttributeValue>;

/** The tool's reads of the status table (it never writes), each failure explained with the permission it needs. */
export class StatusTable {
  constructor(
    private readonly db: DynamoDBClient,
    readonly name: string,
  ) {}

  async get(id: string): Promise<Item | undefined> {
    try {
      return (await this.db.send(new GetItemCommand({ TableName: this.name, Key: { id: { S: id } }, ConsistentRead: true }))).Item;
    } catch (err) {
      throw explainAwsError(err, `reading the status table ${this.name}`, 'dynamodb:GetItem');
    }
  }

  /** The items of these ids that exist (BatchGetItem, 100 a call, unprocessed keys asked again). */
  async getMany(ids: readonly string[]): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += 100) {
      let keys: Array<Record<string, AttributeValue>> = unique.slice(i, i + 100).map((id) => ({ id: { S: id } }));
      for (let attempt = 0; keys.length > 0 && attempt < 8; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
        let answer;
        try {
          answer = await this.db.send(new BatchGetItemCommand({ RequestItems: { [this.name]: { Keys: keys, ConsistentRead: true } } }));
        } catch (err) {
          throw explainAwsError(err, `reading the status table ${this.name}`, 'dynamodb:BatchGetItem');
        }
        for (const item of answer.Responses?.[this.name] ?? []) if (item.id?.S) found.set(item.id.S, item);
        keys = (answer.UnprocessedKeys?.[this.name]?.Keys ?? []) as typeof keys;
      }
    }
    return found;
  }

  /** Every item matching a filter: a Scan of the whole table, page by page. */
  async scan(filter: Pick<ScanCommandInput, 'FilterExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'>): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      let page;
      try {
        page = await this.db.send(new ScanCommand({ TableName: this.name, ...filter, ...(start ? { ExclusiveStartKey: start } : {}) }));
      } catch (err) {
        throw explainAwsError(err, `scanning the status table ${this.name}`, 'dynamodb:Scan');
      }
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }
}
