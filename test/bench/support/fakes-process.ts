/**
 * The fakes (dynalite with the status table, Secrets Manager, Twilio) in a
 * process of their own, driven over IPC by support/local-env.ts. In Lambda,
 * DynamoDB and Twilio do their work elsewhere; run in the handler's process,
 * dynalite's CPU time would be charged to the handler's event loop and inflate
 * exactly the figures we measure (per-message time, fan-out wall time).
 */
import { createStatusTable, startDynalite } from '../../support/dynalite';
import { startFakeSecretsManager } from '../../support/fake-secrets-manager';
import { FakeAnswer, startFakeTwilio } from '../../support/fake-twilio';

export type FakesRequest =
  | { id: number; op: 'stats' }
  | { id: number; op: 'twilioDefault'; answer: FakeAnswer }
  | { id: number; op: 'resetTwilioCounters' }
  | { id: number; op: 'ddbLatency'; ms: number }
  | { id: number; op: 'twilioMessages' }
  | { id: number; op: 'close' };

export interface FakesReady {
  ready: true;
  dynamoEndpoint: string;
  secretsUrl: string;
  twilioUrl: string;
}

export interface FakeStats {
  ddb: Record<string, number>;
  ddbTotal: number;
  /** Calls that found no other in flight: what a client waits for in sequence (test/support/dynalite.ts). */
  ddbRoundTrips: number;
  twilioCreates: number;
  twilioMaxInFlight: number;
  secretReads: number;
}

async function main() {
  const { accountSid, authToken, secretArn, tableName } = JSON.parse(process.env.BENCH_FAKES ?? '{}') as Record<string, string>;
  const dynamo = await startDynalite();
  await createStatusTable(dynamo.endpoint, tableName);
  const secrets = await startFakeSecretsManager();
  secrets.setSecret(secretArn, JSON.stringify({ accountSid, authToken }));
  const twilio = await startFakeTwilio({ accountSid });
  const send = (m: unknown) => process.send!(m);
  process.on('message', async (req: FakesRequest) => {
    switch (req.op) {
      case 'stats': {
        const stats: FakeStats = {
          ddb: Object.fromEntries(dynamo.calls),
          ddbTotal: dynamo.totalCalls(),
          ddbRoundTrips: dynamo.roundTrips(),
          twilioCreates: twilio.createRequests().length,
          twilioMaxInFlight: twilio.maxInFlight,
          secretReads: [...secrets.getCalls.values()].reduce((a, b) => a + b, 0),
        };
        return send({ id: req.id, value: stats });
      }
      case 'twilioDefault':
        twilio.setDefault(req.answer);
        return send({ id: req.id });
      case 'ddbLatency':
        dynamo.setLatency(req.ms);
        return send({ id: req.id });
      case 'resetTwilioCounters':
        twilio.resetCounters();
        return send({ id: req.id });
      case 'twilioMessages':
        return send({ id: req.id, value: [...twilio.messages.values()].map((m) => ({ sid: m.sid, to: m.to, body: m.body })) });
      case 'close':
        await Promise.all([dynamo.close(), secrets.close(), twilio.close()]);
        send({ id: req.id });
        return process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
  const ready: FakesReady = { ready: true, dynamoEndpoint: dynamo.endpoint, secretsUrl: secrets.url, twilioUrl: twilio.url };
  send(ready);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
