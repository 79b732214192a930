import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import { listen, LocalServer, readBody } from './http';

/**
 * A pass-through in front of dynalite, so a test can fault the DynamoDB API
 * as one function sees it: answer 500s, let a write land and then never
 * answer it (the function crashes "right after the claim"), or hold or drop
 * chosen calls (`setRule`).
 */
export interface DynamoProxy extends LocalServer {
  /** Decides per call: `target` is the operation (PutItem, UpdateItem, ...), `input` its JSON; `undefined` passes every call. */
  setRule(rule: ProxyRule | undefined): void;
  /** Write calls (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems) forwarded so far. */
  readonly writes: number;
  /** Calls by target (`GetItem`, `PutItem`, ...). */
  readonly calls: Map<string, number>;
  /** The next `n` calls (of `targets`, default any) get 500 InternalServerError without reaching the table. */
  failNext(n: number, targets?: readonly string[]): void;
  /**
   * An outage: from now on every call of `targets` (default any) gets 500
   * InternalServerError without reaching the table, however often the SDK
   * retries, until the returned function ends it.
   */
  outage(targets?: readonly string[]): () => void;
  /**
   * From now on each call of `targets` (default any) gets 500 InternalServerError
   * without reaching the table with probability `probability` (`random` in [0, 1)
   * decides, seeded by the caller), until the returned function ends it. The SDK
   * retries a 500, so most calls still succeed after a try or two.
   */
  failRandomly(probability: number, random: () => number, targets?: readonly string[]): () => void;
  /** Calls answered with an injected 500 so far (failNext, outages and random failures). */
  readonly failed: number;
  /**
   * The next write whose JSON body satisfies `match` is applied to the table,
   * but its answer, and every answer after it, is held back until `whenWritten`
   * has settled (it crashes the caller); then the held connections are dropped.
   */
  crashAfterWrite(match: (target: string, body: string) => boolean, whenWritten: () => Promise<unknown>): void;
  /** `false` cuts the connections open now and every new one until `true` again: DynamoDB is unreachable. */
  setReachable(reachable: boolean): void;
  /** Cuts the connections open now and refuses the next `n` new ones: DynamoDB fails for exactly that many attempts. */
  refuseConnections(n: number): void;
  /** Cuts the connection of the next `n` calls of `target` (`Query`, `GetItem`, …) as they arrive, before they reach the table. */
  cutNext(target: string, n: number): void;
  /** Every connection let through again, no call cut, no rule. */
  reset(): void;
}

/**
 * What the proxy does with one DynamoDB call: forward it, drop its answer
 * after DynamoDB did the work, or forward it once `hold` settles (and call
 * `answered` when DynamoDB has answered it).
 */
export type ProxyAction = 'pass' | 'drop-answer' | { readonly hold: Promise<unknown>; readonly answered?: () => void };
export type ProxyRule = (target: string, input: Record<string, any>) => ProxyAction;

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

export async function startDynamoProxy(target: string): Promise<DynamoProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 128 });
  const calls = new Map<string, number>();
  let writes = 0;
  let failures: { n: number; targets?: readonly string[] } = { n: 0 };
  const outages = new Set<{ targets?: readonly string[] }>();
  const flaky = new Set<{ probability: number; random: () => number; targets?: readonly string[] }>();
  let failed = 0;
  let rule: ProxyRule | undefined;
  let trap: { match: (target: string, body: string) => boolean; whenWritten: () => Promise<unknown> } | undefined;
  let holding: Promise<void> | undefined;
  const held = new Set<Socket>();
  const connections = new Set<Socket>();
  let reachable = true;
  let refusals = 0;
  const cuts = new Map<string, number>();
  const cutOpenConnections = () => {
    for (const socket of connections) socket.destroy();
  };

  const forward = (headers: Record<string, string | string[] | undefined>, body: Buffer) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
      const req = request({ host: upstream.hostname, port: upstream.port, path: '/', method: 'POST', agent, headers: { ...headers, host: upstream.host } });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });

  const server = await listen(async (req, res) => {
    const body = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    const cut = cuts.get(target) ?? 0;
    if (cut > 0) {
      cuts.set(target, cut - 1);
      req.socket.destroy();
      return;
    }
    calls.set(target, (calls.get(target) ?? 0) + 1);
    const inOutage = [...outages].some((o) => !o.targets || o.targets.includes(target));
    const failNow = !inOutage && failures.n > 0 && (!failures.targets || failures.targets.includes(target));
    if (failNow) failures.n--;
    const unlucky = !inOutage && !failNow && [...flaky].some((f) => (!f.targets || f.targets.includes(target)) && f.random() < f.probability);
    if (inOutage || failNow || unlucky) {
      failed++;
      res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'injected' });
      res.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'injected failure' }));
      return;
    }
    const action = rule?.(target, JSON.parse(body.toString('utf8') || '{}')) ?? 'pass';
    if (typeof action === 'object') await action.hold;
    const isWrite = WRITES.has(target);
    const text = isWrite && trap ? body.toString('utf8') : '';
    const trapped = isWrite && trap !== undefined && trap.match(target, text);
    const headers = { ...req.headers };
    delete headers['content-length'];
    const answer = await forward({ ...headers, 'content-length': String(body.length) }, body);
    if (isWrite) writes++;
    if (typeof action === 'object') action.answered?.();
    if (action === 'drop-answer') {
      req.socket.destroy();
      return;
    }
    if (trapped && trap) {
      const { whenWritten } = trap;
      trap = undefined;
      holding = whenWritten()
        .catch(() => undefined)
        .then(() => {
          for (const socket of held) socket.destroy();
          held.clear();
          holding = undefined;
        });
    }
    if (holding) {
      // The caller is being crashed: it never learns what happened to this call.
      held.add(req.socket);
      return;
    }
    const out = { ...answer.headers };
    delete out['transfer-encoding'];
    res.writeHead(answer.status, out as Record<string, string>);
    res.end(answer.body);
  });

  server.server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    if (refusals > 0) {
      refusals--;
      socket.destroy();
    } else if (!reachable) socket.destroy();
  });

  return {
    ...server,
    setReachable(value) {
      reachable = value;
      // Kept-alive connections would otherwise keep working.
      if (!value) cutOpenConnections();
    },
    refuseConnections(n) {
      refusals = n;
      cutOpenConnections();
    },
    cutNext(t, n) {
      cuts.set(t, n);
    },
    reset() {
      reachable = true;
      refusals = 0;
      cuts.clear();
      rule = undefined;
    },
    setRule(r) {
      rule = r;
    },
    get writes() {
      return writes;
    },
    calls,
    failNext(n, targets) {
      failures = { n, ...(targets ? { targets } : {}) };
    },
    outage(targets) {
      const o = targets ? { targets } : {};
      outages.add(o);
      return () => void outages.delete(o);
    },
    failRandomly(probability, random, targets) {
      const f = { probability, random, ...(targets ? { targets } : {}) };
      flaky.add(f);
      return () => void flaky.delete(f);
    },
    get failed() {
      return failed;
    },
    crashAfterWrite(match, whenWritten) {
      trap = { match, whenWritten };
    },
    async close() {
      for (const socket of held) socket.destroy();
      agent.destroy();
      await server.close();
    },
  };
}
