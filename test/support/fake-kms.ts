import { listen, LocalServer, readBody } from './http';

/**
 * A small KMS (JSON 1.1 protocol), reached with AWS_ENDPOINT_URL_KMS:
 * GetKeyPolicy of the keys set with `setKeyPolicy`, by key id or key ARN.
 */
export interface FakeKms extends LocalServer {
  setKeyPolicy(keyIdOrArn: string, policy: string): void;
}

export async function startFakeKms(): Promise<FakeKms> {
  const policies = new Map<string, string>();
  const keyIdOf = (idOrArn: string) => idOrArn.replace(/^arn:[^:]+:kms:[^:]*:\d{12}:key\//, '');
  const server = await listen(async (req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const body = JSON.parse((await readBody(req)).toString('utf8') || '{}') as { KeyId?: string; PolicyName?: string };
    const reply = (status: number, json: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(json));
    };
    if (target !== 'TrentService.GetKeyPolicy') return reply(400, { __type: 'UnknownOperationException', message: `not faked: ${target}` });
    const policy = policies.get(keyIdOf(body.KeyId ?? ''));
    if (policy === undefined) return reply(400, { __type: 'NotFoundException', message: `Key '${body.KeyId}' does not exist` });
    return reply(200, { Policy: policy, PolicyName: body.PolicyName ?? 'default' });
  });
  return {
    ...server,
    setKeyPolicy: (keyIdOrArn, policy) => policies.set(keyIdOf(keyIdOrArn), policy),
  };
}
