import type { APIGatewayProxyResult, Context, ScheduledEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ENV, SenderConfig, TABLE } from '../../lib/contract';
import { DynamoProxy, startDynamoProxy } from './dynamo-proxy';
import type { SentSqsMessage } from './fake-sqs';
import { FakeTwilio, startFakeTwilio } from './fake-twilio';
import { CapturedOutput, captureOutput } from './output';
import { batch, context, rawRecord } from './sender-rig';
import { ACCOUNT_SID, ApiHandler, getItem, INBOUND_URL, inboundParams, lambdaContext, loadHandler, SenderHandler, sid, STATUS_URL, startWorld, TABLE_NAME, twilioEvent, WebhookWorld } from './webhook-rig';

/*
 * The real handlers (sender, inbound, status callback, reconciler) on one
 * table, over the webhooks' world and the fake Twilio, for tests that follow
 * a page through several of them: `useHandlersRig` registers a test file's
 * hooks and gives it the handlers it names, a clock it moves instead of
 * waiting, and the steps those files share (deliver records, fire timers,
 * reply, post a status callback, run the reconciler).
 */

export type ReconcilerHandler = (event: ScheduledEvent, context: Context) => Promise<Record<string, unknown>>;

interface Handlers {
  readonly sender: SenderHandler;
  readonly inbound: ApiHandler;
  readonly statusCallback: ApiHandler;
  readonly reconciler: ReconcilerHandler;
}
export type HandlerName = keyof Handlers;

/** Paths from test/support; loaded in this order, as the files did before they shared the rig. */
const HANDLER_PATHS: Readonly<Record<HandlerName, string>> = {
  sender: '../../lambda/sender',
  inbound: '../../lambda/inbound/index',
  statusCallback: '../../lambda/status-callback/index',
  reconciler: '../../lambda/reconciler/index',
};

/** The queue ALERT_QUEUE_URL names: where the sender's and the webhooks' timers go. */
export const ALERT_QUEUE = 'alerts';

export interface HandlersRigOptions {
  /** SENDER_CONFIG; `from` (and `whatsappFrom`) are also the number replies come in to and callbacks come from. */
  readonly senderConfig: SenderConfig;
  /** The handlers to load (each in a module registry of its own); using another one fails. */
  readonly handlers: readonly HandlerName[];
  /** RECONCILE_AFTER_SECONDS, set when given (and needed by `twilioLaterSays`). */
  readonly reconcileAfterSeconds?: number;
  /** What `freshAddress` hands out, from the second on (the first is left to the config's default recipient). */
  readonly addresses?: readonly string[];
  /** The handlers reach DynamoDB through a DynamoProxy (`proxy`), so that a test can hold or fail their calls. */
  readonly dynamoProxy?: boolean;
}

/** A digest timer's body, as the sender sends it to the alert queue. */
export interface DigestTimer {
  readonly kind: 'timer';
  readonly timer: 'digest';
  readonly address: string;
  readonly dueAt: number;
}

export type IncidentItem = Record<string, unknown> & { timeline: Array<Record<string, unknown>>; stage: number };

export interface HandlersRig {
  /** Each stands for the one the hooks started (name it at a file's top level, use it in tests). */
  readonly world: WebhookWorld;
  readonly twilio: FakeTwilio;
  /** What the handlers wrote during the current test. */
  readonly out: CapturedOutput;
  readonly sender: SenderHandler;
  readonly inbound: ApiHandler;
  readonly statusCallback: ApiHandler;
  readonly reconciler: ReconcilerHandler;
  /** Between the handlers and DynamoDB, with `dynamoProxy`; its rule is cleared after each test. */
  readonly proxy: DynamoProxy;
  /** Moves the handlers' clock (Date.now) on by `ms`, for the rest of the file. */
  advance(ms: number): void;
  /** An address of `addresses` no earlier call handed out. */
  freshAddress(): string;
  /** The bodies of the messages the sender created for `to`, in order. */
  textsTo(to: string): string[];
  /** The messages the sender created for `to`: their SIDs and bodies. */
  messagesTo(to: string): Array<{ readonly sid: string; readonly body: string }>;
  /** The records as one batch to the sender. */
  deliver(...records: SQSEvent['Records']): Promise<SQSBatchResponse>;
  /** A timer from the alert queue to the sender, on its own, now. */
  fire(m: SentSqsMessage): Promise<SQSBatchResponse>;
  /** Moves the clock to just past the timer's time and fires it. */
  fireWhenDue(m: SentSqsMessage): Promise<SQSBatchResponse>;
  /** The messages sent to the alert queue whose body `filter` accepts. */
  alertTimers(filter: (body: Record<string, unknown>) => boolean): SentSqsMessage[];
  /** The digest timers of `address`'s storm window, with their bodies. */
  digestTimers(address: string): Array<SentSqsMessage & { timer: DigestTimer }>;
  /** The webhooks' and the reconciler's timers (reason unreachable) on the alert queue. */
  unreachableTimers(): SentSqsMessage[];
  /** Hands every unreachable timer sent so far to the sender, one batch each, as SQS would; the queue's record of them is cleared. */
  fireUnreachableTimers(): Promise<number>;
  /** An inbound SMS (or WhatsApp, from a `whatsapp:` address) from `from`, signed as Twilio does, to the inbound handler. */
  reply(from: string, body: string): Promise<APIGatewayProxyResult>;
  /** Twilio's status callback for the message, answered 200. */
  postStatus(messageSid: string, to: string, status: string, errorCode?: string): Promise<void>;
  /** Twilio now reports this status for the message, and the reconciler's wait for it is over. */
  twilioLaterSays(messageSid: string, status: string, errorCode: number): Promise<void>;
  runReconciler(): Promise<Record<string, unknown>>;
  incidentItem(id: string): Promise<IncidentItem>;
  claimOf(notificationId: string, to: string): Promise<Record<string, any> | undefined>;
}

/**
 * An object that stands for what `current()` returns when it is used: the
 * hooks start the world after a file's top level has run, and the tests name
 * it from there.
 */
function standIn<T extends object>(name: string, current: () => T | undefined): T {
  const target = () => current() ?? misuse(`the rig's ${name} is used outside the hooks that start it`);
  return new Proxy({} as T, {
    get: (_, key) => {
      const value = Reflect.get(target(), key);
      return typeof value === 'function' ? value.bind(target()) : value;
    },
    set: (_, key, value) => Reflect.set(target(), key, value),
  });
}

function misuse(message: string): never {
  throw new Error(message);
}

/**
 * Registers a test file's hooks: before its first test the world and the fake
 * Twilio, the env the handlers read (ALERT_QUEUE_URL, TWILIO_API_BASE_URL,
 * SENDER_CONFIG, RECONCILE_AFTER_SECONDS; with dynamoProxy, a DynamoProxy in
 * front of the table), then the handlers named and a
 * Date.now that is the real time plus what the file advanced; after its last,
 * that env removed and everything closed. Before each test the output is
 * captured afresh, Twilio's record cleared and the queue's sent list emptied.
 */
export function useHandlersRig(options: HandlersRigOptions): HandlersRig {
  const { senderConfig } = options;
  let world: WebhookWorld | undefined;
  let twilio: FakeTwilio | undefined;
  let out: CapturedOutput | undefined;
  let proxy: DynamoProxy | undefined;
  const loaded: Partial<Record<HandlerName, unknown>> = {};
  const envNames: string[] = [ENV.ALERT_QUEUE_URL, ENV.TWILIO_API_BASE_URL, ENV.SENDER_CONFIG];
  if (options.reconcileAfterSeconds !== undefined) envNames.push(ENV.RECONCILE_AFTER_SECONDS);
  const realNow = Date.now.bind(Date);
  let offsetMs = 0;
  let clock: { mockRestore(): void } | undefined;
  let nextAddress = 0;
  let replies = 0;

  const handler = <K extends HandlerName>(name: K): Handlers[K] => {
    const call = (...args: unknown[]) => {
      const loadedHandler = (loaded[name] ?? misuse(`the rig did not load the ${name} handler: name it in useHandlersRig's handlers`)) as (...a: unknown[]) => unknown;
      return loadedHandler(...args);
    };
    return call as unknown as Handlers[K];
  };
  const worldOf = standIn('world', () => world);
  const sender = handler('sender');
  const inbound = handler('inbound');
  const statusCallback = handler('statusCallback');
  const reconciler = handler('reconciler');
  /** Our number on the address's channel: what replies are sent to and callbacks come from. */
  const ourNumberFor = (address: string) =>
    (address.startsWith('whatsapp:') ? senderConfig.whatsappFrom : senderConfig.from) ?? misuse(`the rig answers ${address} as SENDER_CONFIG.from or whatsappFrom: give the config that one`);
  const alertTimers = (filter: (body: Record<string, unknown>) => boolean) =>
    worldOf.sqs.sent.filter((m) => m.queueUrl === worldOf.sqs.queueUrl(ALERT_QUEUE) && filter(JSON.parse(m.body) as Record<string, unknown>));
  const fire = (m: SentSqsMessage) => sender(batch(rawRecord(m.body)), context());
  const unreachableTimers = () => alertTimers((t) => t.reason === 'unreachable');
  const advance = (ms: number) => {
    offsetMs += ms;
  };

  beforeAll(async () => {
    world = await startWorld();
    twilio = await startFakeTwilio({ accountSid: ACCOUNT_SID });
    process.env[ENV.ALERT_QUEUE_URL] = world.sqs.queueUrl(ALERT_QUEUE);
    process.env[ENV.TWILIO_API_BASE_URL] = twilio.url;
    if (options.reconcileAfterSeconds !== undefined) process.env[ENV.RECONCILE_AFTER_SECONDS] = String(options.reconcileAfterSeconds);
    process.env[ENV.SENDER_CONFIG] = JSON.stringify(senderConfig);
    if (options.dynamoProxy) {
      proxy = await startDynamoProxy(world.dynamo.backendEndpoint);
      process.env.AWS_ENDPOINT_URL_DYNAMODB = proxy.url;
    }
    for (const name of Object.keys(HANDLER_PATHS) as HandlerName[]) {
      if (options.handlers.includes(name)) loaded[name] = await loadHandler(HANDLER_PATHS[name]);
    }
    clock = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offsetMs);
  });

  afterAll(async () => {
    clock?.mockRestore();
    for (const name of envNames) delete process.env[name];
    if (proxy && world) process.env.AWS_ENDPOINT_URL_DYNAMODB = world.dynamo.endpoint;
    await Promise.all([proxy?.close(), world?.close(), twilio?.close()]);
  });

  beforeEach(() => {
    out = captureOutput();
    twilio!.reset();
    world!.sqs.sent.length = 0;
  });

  afterEach(() => {
    out?.restore();
    proxy?.setRule(undefined);
  });

  return {
    world: worldOf,
    twilio: standIn('twilio', () => twilio),
    proxy: standIn('proxy', () => proxy ?? misuse("the rig has no DynamoDB proxy: set useHandlersRig's dynamoProxy")),
    out: standIn('output', () => out),
    sender,
    inbound,
    statusCallback,
    reconciler,
    advance,
    freshAddress: () => {
      const addresses = options.addresses ?? misuse("the rig hands out fresh addresses from useHandlersRig's addresses: give it some");
      return addresses[++nextAddress] ?? misuse(`every one of the ${addresses.length} addresses was handed out: give the rig more`);
    },
    textsTo: (to) => twilio!.createdFor(to).map((m) => m.body),
    messagesTo: (to) => twilio!.createdFor(to),
    deliver: (...records) => sender(batch(...records), context()),
    fire,
    fireWhenDue: (m) => {
      const left = (JSON.parse(m.body) as { dueAt: number }).dueAt - Date.now();
      if (left > -5) advance(left + 5);
      return fire(m);
    },
    alertTimers,
    digestTimers: (address) =>
      alertTimers(() => true)
        .map((m) => ({ ...m, timer: JSON.parse(m.body) as DigestTimer }))
        .filter((m) => m.timer.kind === 'timer' && m.timer.timer === 'digest' && m.timer.address === address),
    unreachableTimers,
    fireUnreachableTimers: async () => {
      const timers = unreachableTimers();
      world!.sqs.sent.length = 0;
      for (const timer of timers) expect((await sender(batch(rawRecord(timer.body, timer.messageId)), context())).batchItemFailures).toEqual([]);
      return timers.length;
    },
    reply: (from, body) => {
      const messageSid = sid('SM', 0xd00000 + ++replies);
      return inbound(twilioEvent('/inbound', INBOUND_URL, inboundParams(messageSid, from, body, { To: ourNumberFor(from) })), lambdaContext('inbound'));
    },
    postStatus: async (messageSid, to, status, errorCode) => {
      const params = Object.entries({ SmsSid: messageSid, SmsStatus: status, MessageStatus: status, To: to, MessageSid: messageSid, AccountSid: ACCOUNT_SID, From: ourNumberFor(to), ApiVersion: '2010-04-01', ...(errorCode ? { ErrorCode: errorCode } : {}) });
      expect((await statusCallback(twilioEvent('/status', STATUS_URL, params), lambdaContext('status-callback'))).statusCode).toBe(200);
    },
    twilioLaterSays: async (messageSid, status, errorCode) => {
      const reconcileAfterSeconds = options.reconcileAfterSeconds ?? misuse("twilioLaterSays ages the message past RECONCILE_AFTER_SECONDS: give useHandlersRig's reconcileAfterSeconds");
      twilio!.setStatus(messageSid, status, errorCode);
      await world!.table.send(
        new UpdateItemCommand({
          TableName: TABLE_NAME,
          Key: { id: { S: messageSid } },
          UpdateExpression: 'SET #since = :since',
          ExpressionAttributeNames: { '#since': TABLE.AWAITING_SINCE_ATTRIBUTE },
          ExpressionAttributeValues: { ':since': { S: new Date(Date.now() - 2 * reconcileAfterSeconds * 1000).toISOString() } },
        }),
      );
    },
    runReconciler: () => reconciler({ id: 'run', time: new Date().toISOString() } as ScheduledEvent, lambdaContext('reconciler', 60_000)),
    incidentItem: (id) => getItem(worldOf.table, id) as Promise<IncidentItem>,
    claimOf: (notificationId, to) => getItem(worldOf.table, `claim#${notificationId}#${to}`),
  };
}
