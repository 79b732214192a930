import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { listen, LocalServer, readBody } from '../support/http';

/**
 * A loopback stand-in for the construct's REST API: each request on a routed
 * path becomes the API Gateway REST proxy event a Lambda proxy integration
 * receives (stage `v1`, so `/v1/status` arrives as path `/status`), and the
 * handler's answer is written back as API Gateway writes it (502 when the
 * handler fails or answers malformed, as API Gateway does).
 */
export interface ApiRoute {
  /** The API resource (`/status`). */
  readonly resource: string;
  readonly invoke: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
}

export interface BridgeExchange {
  readonly path: string;
  readonly method: string;
  readonly requestBody: string;
  readonly status: number;
  readonly responseBody: string;
  readonly responseHeaders: Record<string, string>;
}

export interface ApiGatewayBridge extends LocalServer {
  readonly stage: string;
  /** The public URL of a resource, e.g. `http://127.0.0.1:PORT/v1/status`. */
  urlOf(resource: string): string;
  /** Routes `/<stage><resource>` to a handler. */
  route(route: ApiRoute): void;
  /** Every request answered, in order. */
  readonly exchanges: BridgeExchange[];
  /** Requests being handled now. */
  readonly inFlight: number;
  /** Handler invocations that failed (answered 502). */
  readonly handlerFailures: string[];
  /** Requests the stage throttle refused (answered 429 without invoking the handler), by resource. */
  readonly throttled: Map<string, number>;
  /** Sets (or, with undefined, removes) the stage throttle; the bucket starts full. */
  setThrottle(throttle: StageThrottle | undefined): void;
}

/**
 * API Gateway's stage throttling (MethodSettings ThrottlingRateLimit /
 * ThrottlingBurstLimit on `/*` `/*`): a token bucket of `burstLimit` tokens
 * refilled at `rateLimit` per second, shared by every method of the stage;
 * a request that finds it empty is answered 429 before any integration runs.
 */
export interface StageThrottle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/** The token bucket of a stage throttle, on the clock `now` (epoch ms). */
export function createTokenBucket(throttle: StageThrottle, now: () => number = Date.now): { take(): boolean } {
  let tokens = throttle.burstLimit;
  let last = now();
  return {
    take() {
      const t = now();
      tokens = Math.min(throttle.burstLimit, tokens + ((t - last) / 1000) * throttle.rateLimit);
      last = t;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}

/** API Gateway's answer when the stage throttle refuses a request. */
export const THROTTLED_ANSWER = {
  status: 429,
  headers: { 'content-type': 'application/json', 'x-amzn-ErrorType': 'TooManyRequestsException' },
  body: '{"message":"Too Many Requests"}',
} as const;

export interface ApiGatewayBridgeOptions {
  /** Default `v1`. */
  readonly stage?: string;
  /** Deliver bodies base64-encoded (as with binaryMediaTypes): always, never (default), or per request. */
  readonly base64Body?: boolean | (() => boolean);
  /** Keep `exchanges` (default true; the benchmark turns it off). */
  readonly record?: boolean;
  /** The stage throttle. Default none (every request reaches its handler). */
  readonly throttle?: StageThrottle;
}

function headerMaps(req: IncomingMessage) {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  // rawHeaders keeps the casing the client sent, as API Gateway passes it on.
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    const value = req.rawHeaders[i + 1];
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  return { headers, multiValueHeaders };
}

function queryMaps(search: URLSearchParams) {
  if ([...search.keys()].length === 0) return { queryStringParameters: null, multiValueQueryStringParameters: null };
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [k, v] of search) {
    single[k] = v;
    (multi[k] ??= []).push(v);
  }
  return { queryStringParameters: single, multiValueQueryStringParameters: multi };
}

export async function startApiGatewayBridge(options: ApiGatewayBridgeOptions = {}): Promise<ApiGatewayBridge> {
  const stage = options.stage ?? 'v1';
  const routes = new Map<string, ApiRoute>();
  const exchanges: BridgeExchange[] = [];
  const handlerFailures: string[] = [];
  const record = options.record ?? true;
  const throttled = new Map<string, number>();
  let bucket = options.throttle ? createTokenBucket(options.throttle) : undefined;
  let inFlight = 0;

  const toEvent = (req: IncomingMessage, body: Buffer, route: ApiRoute, url: URL, base64: boolean): APIGatewayProxyEvent => {
    const { headers, multiValueHeaders } = headerMaps(req);
    const now = new Date();
    return {
      resource: route.resource,
      path: route.resource,
      httpMethod: req.method ?? 'GET',
      headers,
      multiValueHeaders,
      ...queryMaps(url.searchParams),
      pathParameters: null,
      stageVariables: null,
      requestContext: {
        accountId: '123456789012',
        apiId: 'local00api',
        authorizer: undefined,
        domainName: url.host,
        domainPrefix: 'local00api',
        extendedRequestId: randomUUID(),
        httpMethod: req.method ?? 'GET',
        identity: {
          accessKey: null,
          accountId: null,
          apiKey: null,
          apiKeyId: null,
          caller: null,
          clientCert: null,
          cognitoAuthenticationProvider: null,
          cognitoAuthenticationType: null,
          cognitoIdentityId: null,
          cognitoIdentityPoolId: null,
          principalOrgId: null,
          sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
          user: null,
          userAgent: req.headers['user-agent'] ?? null,
          userArn: null,
        },
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        requestId: randomUUID(),
        requestTime: now.toUTCString(),
        requestTimeEpoch: now.getTime(),
        resourceId: 'local0',
        resourcePath: route.resource,
        stage,
      },
      body: body.length === 0 ? null : base64 ? body.toString('base64') : body.toString('utf8'),
      isBase64Encoded: base64,
    };
  };

  const answer = (res: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer) => {
    res.writeHead(status, headers);
    res.end(body);
  };

  const server = await listen(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = url.pathname.startsWith(`/${stage}/`) ? routes.get(url.pathname.slice(stage.length + 1)) : undefined;
    const body = await readBody(req);
    if (!route) {
      // API Gateway's answer for a path or method with no resource.
      return answer(res, 403, { 'content-type': 'application/json', 'x-amzn-ErrorType': 'MissingAuthenticationTokenException' }, '{"message":"Missing Authentication Token"}');
    }
    if (bucket && !bucket.take()) {
      throttled.set(route.resource, (throttled.get(route.resource) ?? 0) + 1);
      if (record) {
        exchanges.push({ path: url.pathname, method: req.method ?? '', requestBody: body.toString('utf8'), status: THROTTLED_ANSWER.status, responseBody: THROTTLED_ANSWER.body, responseHeaders: { ...THROTTLED_ANSWER.headers } });
      }
      return answer(res, THROTTLED_ANSWER.status, { ...THROTTLED_ANSWER.headers }, THROTTLED_ANSWER.body);
    }
    const base64 = typeof options.base64Body === 'function' ? options.base64Body() : (options.base64Body ?? false);
    inFlight++;
    let status = 502;
    let headers: Record<string, string> = { 'content-type': 'application/json' };
    let out: string | Buffer = '{"message": "Internal server error"}';
    try {
      const result = await route.invoke(toEvent(req, body, route, url, base64));
      if (!result || typeof result.statusCode !== 'number') throw new Error(`malformed Lambda proxy response: ${JSON.stringify(result)?.slice(0, 200)}`);
      status = result.statusCode;
      headers = {};
      for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
      for (const [k, v] of Object.entries(result.multiValueHeaders ?? {})) headers[k] = v.map(String).join(', ');
      const text = result.body ?? '';
      out = result.isBase64Encoded ? Buffer.from(text, 'base64') : text;
    } catch (err) {
      handlerFailures.push(`${url.pathname}: ${(err as Error).message}`);
    } finally {
      inFlight--;
    }
    if (record) {
      exchanges.push({ path: url.pathname, method: req.method ?? '', requestBody: body.toString('utf8'), status, responseBody: out.toString(), responseHeaders: headers });
    }
    answer(res, status, headers, out);
  });

  return {
    ...server,
    stage,
    urlOf: (resource) => `${server.url}/${stage}${resource}`,
    route: (r) => {
      routes.set(r.resource, r);
    },
    exchanges,
    handlerFailures,
    throttled,
    setThrottle: (t) => {
      bucket = t ? createTokenBucket(t) : undefined;
    },
    get inFlight() {
      return inFlight;
    },
  };
}
