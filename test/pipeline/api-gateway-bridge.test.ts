import { request } from 'node:http';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { ApiGatewayBridge, createTokenBucket, startApiGatewayBridge } from './api-gateway-bridge';

/** A raw HTTP POST, so header casing and repeated headers are ours to choose. */
function post(url: string, body: string, rawHeaders: Array<[string, string]>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST' });
    for (const [name, value] of rawHeaders) {
      const prev = req.getHeader(name);
      req.setHeader(name, prev === undefined ? value : ([] as string[]).concat(prev as string, value));
    }
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

let bridge: ApiGatewayBridge | undefined;
afterEach(async () => {
  await bridge?.close();
  bridge = undefined;
});

test('a POST on /v1/status becomes a REST proxy event and the handler answer is written back', async () => {
  const events: APIGatewayProxyEvent[] = [];
  bridge = await startApiGatewayBridge();
  bridge.route({
    resource: '/status',
    invoke: async (event) => {
      events.push(event);
      return { statusCode: 200, headers: { 'Content-Type': 'text/xml' }, body: '<Response/>' };
    },
  });
  expect(bridge.urlOf('/status')).toBe(`http://127.0.0.1:${bridge.port}/v1/status`);
  const body = 'MessageSid=SM1&MessageStatus=delivered&Body=caf%C3%A9+%F0%9F%98%80';
  const res = await post(`${bridge.urlOf('/status')}?x=1&x=2`, body, [
    ['X-Twilio-Signature', 'sig=='],
    ['Content-Type', 'application/x-www-form-urlencoded'],
    ['X-Multi', 'a'],
    ['X-Multi', 'b'],
  ]);
  expect(res).toMatchObject({ status: 200, body: '<Response/>' });
  expect(res.headers['content-type']).toBe('text/xml');
  const [event] = events;
  expect(event).toMatchObject({
    resource: '/status',
    path: '/status',
    httpMethod: 'POST',
    body,
    isBase64Encoded: false,
    queryStringParameters: { x: '2' },
    multiValueQueryStringParameters: { x: ['1', '2'] },
    pathParameters: null,
    requestContext: { stage: 'v1', path: '/v1/status', resourcePath: '/status', httpMethod: 'POST', accountId: '123456789012' },
  });
  // Casing as sent, like API Gateway; repeated headers in multiValueHeaders.
  expect(event.headers['X-Twilio-Signature']).toBe('sig==');
  expect(event.multiValueHeaders['X-Multi']).toEqual(['a', 'b']);
  expect(event.requestContext.requestId).toEqual(expect.any(String));
  expect(bridge.exchanges).toEqual([expect.objectContaining({ path: '/v1/status', status: 200, requestBody: body, responseBody: '<Response/>' })]);
});

test('base64 delivery encodes the body bytes as received', async () => {
  const events: APIGatewayProxyEvent[] = [];
  bridge = await startApiGatewayBridge({ base64Body: true });
  bridge.route({ resource: '/inbound', invoke: async (e) => (events.push(e), { statusCode: 204, body: '' }) });
  const body = 'Body=%E2%9C%93&From=%2B15550001111';
  const res = await post(bridge.urlOf('/inbound'), body, [['Content-Type', 'application/x-www-form-urlencoded']]);
  expect(res.status).toBe(204);
  expect(events[0].isBase64Encoded).toBe(true);
  expect(Buffer.from(events[0].body!, 'base64').toString('utf8')).toBe(body);
});

test('a failing or malformed handler answer is a 502, an unknown path a 403, as API Gateway answers', async () => {
  bridge = await startApiGatewayBridge();
  bridge.route({ resource: '/status', invoke: async () => Promise.reject(new Error('handler crashed')) });
  bridge.route({ resource: '/inbound', invoke: async () => ({}) as never });
  expect(await post(bridge.urlOf('/status'), 'a=1', [])).toMatchObject({ status: 502, body: '{"message": "Internal server error"}' });
  expect((await post(bridge.urlOf('/inbound'), 'a=1', [])).status).toBe(502);
  expect((await post(`${bridge.url}/v1/other`, 'a=1', [])).status).toBe(403);
  expect((await post(`${bridge.url}/status`, 'a=1', [])).status).toBe(403);
  expect(bridge.handlerFailures).toEqual([expect.stringContaining('handler crashed'), expect.stringContaining('malformed')]);
});

test('the stage throttle lets a burst through, then answers 429 as API Gateway does without invoking the handler', async () => {
  let invoked = 0;
  bridge = await startApiGatewayBridge({ throttle: { rateLimit: 1, burstLimit: 3 } });
  bridge.route({
    resource: '/status',
    invoke: async () => {
      invoked++;
      return { statusCode: 200, body: '' };
    },
  });
  const answers = [];
  for (let i = 0; i < 5; i++) answers.push(await post(bridge.urlOf('/status'), 'a=1', []));
  expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429, 429]);
  expect(answers[4].body).toBe('{"message":"Too Many Requests"}');
  expect(answers[4].headers['x-amzn-errortype']).toBe('TooManyRequestsException');
  expect(invoked).toBe(3);
  expect(bridge.throttled.get('/status')).toBe(2);
  bridge.setThrottle(undefined);
  expect((await post(bridge.urlOf('/status'), 'a=1', [])).status).toBe(200);
});

test('the token bucket refills at the rate and never holds more than the burst', () => {
  let now = 0;
  const bucket = createTokenBucket({ rateLimit: 10, burstLimit: 2 }, () => now);
  expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, false]);
  now += 100; // one token back
  expect([bucket.take(), bucket.take()]).toEqual([true, false]);
  now += 10_000; // refilled to the burst, not beyond
  expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, false]);
});
