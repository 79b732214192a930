import { randomUUID } from 'node:crypto';
import { listen, LocalServer, readBody } from './http';

/**
 * A small Secrets Manager (JSON 1.1 protocol): GetSecretValue, PutSecretValue
 * and DescribeSecret over real HTTP, reached with AWS_ENDPOINT_URL_SECRETS_MANAGER.
 */
export interface FakeSecretsManager extends LocalServer {
  /** Sets a secret's string by ARN or name (creates it). */
  setSecret(arnOrName: string, value: string): void;
  /** GetSecretValue calls served so far, by secret id. */
  readonly getCalls: Map<string, number>;
  /** Makes the next `n` calls fail with HTTP 500 (InternalServiceError). */
  failNext(n: number): void;
}

export async function startFakeSecretsManager(): Promise<FakeSecretsManager> {
  const secrets = new Map<string, { value: string; versionId: string }>();
  const getCalls = new Map<string, number>();
  let failures = 0;
  const server = await listen(async (req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const body = JSON.parse((await readBody(req)).toString('utf8') || '{}') as Record<string, string>;
    const reply = (status: number, json: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(json));
    };
    if (failures > 0) {
      failures--;
      return reply(500, { __type: 'InternalServiceError', message: 'injected failure' });
    }
    const id = body.SecretId;
    const secret = secrets.get(id);
    switch (target) {
      case 'secretsmanager.GetSecretValue':
        getCalls.set(id, (getCalls.get(id) ?? 0) + 1);
        if (!secret) return reply(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
        return reply(200, { ARN: id, Name: id, SecretString: secret.value, VersionId: secret.versionId, VersionStages: ['AWSCURRENT'], CreatedDate: Date.now() / 1000 });
      case 'secretsmanager.PutSecretValue': {
        if (!secret) return reply(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
        const versionId = randomUUID();
        secrets.set(id, { value: body.SecretString, versionId });
        return reply(200, { ARN: id, Name: id, VersionId: versionId, VersionStages: ['AWSCURRENT'] });
      }
      case 'secretsmanager.DescribeSecret':
        if (!secret) return reply(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
        return reply(200, { ARN: id, Name: id });
      default:
        return reply(400, { __type: 'UnknownOperationException', message: `not faked: ${target}` });
    }
  });
  return {
    ...server,
    getCalls,
    setSecret: (arnOrName, value) => secrets.set(arnOrName, { value, versionId: randomUUID() }),
    failNext: (n) => {
      failures = n;
    },
  };
}
