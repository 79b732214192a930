import { AttributeValue, BatchGetItemCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../contract';
import { ChildrenQuery, childrenOf, firstChild } from '../../lambda/shared/table/fates';
import { isMissingIndex } from '../../lambda/shared/table/reconcile-steps';
import { CliError, EXIT, explainAwsError } from './errors';

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

  /** Every item filed under `parentId` in the byParent index (one Query, page by page): what happened to an incident or notification. */
  async children(parentId: string, query: ChildrenQuery = {}): Promise<Item[]> {
    return this.byParent(() => childrenOf(this.db, this.name, parentId, query));
  }

  /** The first item filed under `parentId` (newest first when asked), read without the rest. */
  async firstChild(parentId: string, query: ChildrenQuery = {}): Promise<Item | undefined> {
    return this.byParent(() => firstChild(this.db, this.name, parentId, query));
  }

  private async byParent<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      if (isMissingIndex(err)) {
        throw new CliError(
          `the status table ${this.name} has no index ${TABLE.BY_PARENT_INDEX} (or DynamoDB is still building it)`,
          EXIT.NOT_FOUND,
          `deploy this version without statusTableByParentIndex: false (an existingTable: add the index with \`aws dynamodb update-table\`, README "Upgrading a table (new indexes)"), wait until the index is ACTIVE, and run the command again`,
        );
      }
      throw explainAwsError(err, `querying the index ${TABLE.BY_PARENT_INDEX} of the status table ${this.name}`, 'dynamodb:Query');
    }
  }
}
