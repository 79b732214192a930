import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../lib/contract';

// dynalite ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (opts: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => import('node:http').Server;

/** A real DynamoDB API (dynalite, in memory) on a loopback port. */
export interface LocalDynamo {
  readonly endpoint: string;
  /** Counts of API calls by target (`PutItem`, `UpdateItem`, ...), for round-trip assertions. */
  readonly calls: Map<string, number>;
  /**
   * Round trips as a client waits for them: the number of times a call
   * arrived while no other was in flight. Calls sent together (in parallel)
   * share one round trip; calls sent one after another take one each.
   */
  roundTrips(): number;
  /**
   * Holds every call this long before dynalite serves it, as the network to
   * real DynamoDB would. On loopback dynalite can answer one call before a
   * second one sent at the same moment has arrived, which would count two
   * parallel calls as two round trips.
   */
  setLatency(ms: number): void;
  /**
   * Holds the next `count` calls of `target` (`UpdateItem`, ...) until the
   * last of them has arrived, then serves them together: calls that must
   * race (two deliveries of one message) then do, however slowly a loaded
   * machine starts the second.
   */
  holdUntilArrived(target: string, count: number): void;
  resetCalls(): void;
  totalCalls(): number;
  close(): Promise<void>;
}

export async function startDynalite(): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  // Node closes a keep-alive socket idle for 5 s; a client reusing it just then gets "socket hang up"
  // (seen in the bench's slow modes, where clients sit idle for longer). close() ends them all.
  (server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = 10 * 60_000;
  const calls = new Map<string, number>();
  let inFlight = 0;
  let processing = 0;
  let roundTrips = 0;
  let latencyMs = 0;
  let barrier: { target: string; count: number; held: Array<() => void> } | undefined;
  const serve = server.listeners('request') as Array<(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void>;
  server.removeAllListeners('request');
  server.on('request', (req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    calls.set(target, (calls.get(target) ?? 0) + 1);
    if (inFlight++ === 0) roundTrips++;
    res.once('close', () => inFlight--);
    const go = () => {
      // Counted until dynalite answers, even to a client that has gone: close() waits for these,
      // or an operation still queued behind a lock would meet a closed database and throw.
      processing++;
      const end = res.end.bind(res);
      res.end = ((...args: Parameters<typeof end>) => {
        processing--;
        return end(...args);
      }) as typeof res.end;
      serve.forEach((listener) => listener.call(server, req, res));
    };
    if (barrier && barrier.target === target) {
      barrier.held.push(go);
      if (barrier.held.length < barrier.count) return;
      const release = barrier.held;
      barrier = undefined;
      release.forEach((held) => held());
      return;
    }
    if (latencyMs > 0) setTimeout(go, latencyMs);
    else go();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    roundTrips: () => roundTrips,
    setLatency: (ms) => {
      latencyMs = ms;
    },
    holdUntilArrived: (target, count) => {
      barrier = { target, count, held: [] };
    },
    resetCalls: () => {
      calls.clear();
      roundTrips = 0;
    },
    totalCalls: () => [...calls.values()].reduce((a, b) => a + b, 0),
    close: async () => {
      const until = Date.now() + 5_000;
      while (processing > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      await new Promise<void>((resolve) => {
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      });
    },
  };
}

/**
 * Creates the status table with the construct's key schema and indexes, and waits until it is ACTIVE.
 * `awaitingFinalIndex: false` leaves out the reconciler's index, `byParentIndex: false` the index of
 * outcomes by parent (a table made before they existed).
 */
export async function createStatusTable(endpoint: string, tableName: string, options: { awaitingFinalIndex?: boolean; byParentIndex?: boolean } = {}): Promise<void> {
  const byParent = options.byParentIndex !== false;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' },
  });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: TABLE.PARTITION_KEY, AttributeType: 'S' },
          { AttributeName: TABLE.ALERT_RECIPIENT_ATTRIBUTE, AttributeType: 'S' },
          { AttributeName: TABLE.ALERT_SORT_ATTRIBUTE, AttributeType: 'S' },
          ...(options.awaitingFinalIndex === false
            ? []
            : [
                { AttributeName: TABLE.RECONCILE_STEP_ATTRIBUTE, AttributeType: 'S' as const },
                { AttributeName: TABLE.AWAITING_SINCE_ATTRIBUTE, AttributeType: 'S' as const },
              ]),
          ...(byParent
            ? [
                { AttributeName: TABLE.PARENT_ATTRIBUTE, AttributeType: 'S' as const },
                { AttributeName: TABLE.CREATED_AT_ATTRIBUTE, AttributeType: 'S' as const },
              ]
            : []),
        ],
        KeySchema: [{ AttributeName: TABLE.PARTITION_KEY, KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: TABLE.ALERTS_BY_RECIPIENT_INDEX,
            KeySchema: [
              { AttributeName: TABLE.ALERT_RECIPIENT_ATTRIBUTE, KeyType: 'HASH' },
              { AttributeName: TABLE.ALERT_SORT_ATTRIBUTE, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
          ...(options.awaitingFinalIndex === false
            ? []
            : [
                {
                  IndexName: TABLE.AWAITING_FINAL_INDEX,
                  KeySchema: [
                    { AttributeName: TABLE.RECONCILE_STEP_ATTRIBUTE, KeyType: 'HASH' as const },
                    { AttributeName: TABLE.AWAITING_SINCE_ATTRIBUTE, KeyType: 'RANGE' as const },
                  ],
                  Projection: { ProjectionType: 'KEYS_ONLY' as const },
                },
              ]),
          ...(byParent
            ? [
                {
                  IndexName: TABLE.BY_PARENT_INDEX,
                  KeySchema: [
                    { AttributeName: TABLE.PARENT_ATTRIBUTE, KeyType: 'HASH' as const },
                    { AttributeName: TABLE.CREATED_AT_ATTRIBUTE, KeyType: 'RANGE' as const },
                  ],
                  Projection: { ProjectionType: 'ALL' as const },
                },
              ]
            : []),
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    for (let i = 0; i < 200; i++) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      if (Table?.TableStatus === 'ACTIVE') return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`table ${tableName} did not become ACTIVE`);
  } finally {
    client.destroy();
  }
}
