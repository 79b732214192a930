import type { FakeMessage } from '../support/fake-twilio';
import { computeTally } from './local-pipeline';
import type { QueueSimulation } from './sqs-simulator';

const msg = (sid: string, to: string, body: string) => ({ sid, to, body, contentVariables: null }) as unknown as FakeMessage;
const queue = (dlq: Array<{ snsMessageId: string }>) => ({ dlq }) as unknown as QueueSimulation;
const claim = (n: string, to: string, state: string, extra: Record<string, unknown> = {}) => ({ id: `claim#${n}#${to}`, kind: 'claim', notificationId: n, recipient: to, state, ...extra });
const message = (sid: string, n: string) => ({ id: sid, kind: 'message', notificationId: n });

test('each pair is sent, failed, dead-lettered or lost; extra Twilio messages are duplicates', () => {
  const tally = computeTally(
    [
      { notificationId: 'n1', recipients: ['+1', 'whatsapp:+2'], marker: 'm1z' },
      { notificationId: 'n2', recipients: ['+1'], marker: 'm2z' },
      { notificationId: 'n3', recipients: ['+3'], marker: 'm3z' },
      { notificationId: 'n4', recipients: [] },
      { notificationId: 'n5', recipients: [] },
      { notificationId: 'n6', recipients: ['+1'], marker: 'm6z' },
    ],
    [
      claim('n1', '+1', 'sent', { messageSid: 'SM1' }),
      message('SM1', 'n1'),
      claim('n1', 'whatsapp:+2', 'failed', { errorCode: '63016', reason: 'outside the window' }),
      claim('n2', '+1', 'sent', { messageSid: 'SM2' }),
      message('SM2', 'n2'),
      { id: 'failed#n4', kind: 'notification', reason: 'not JSON' },
      claim('n6', '+1', 'pending'),
    ],
    queue([{ snsMessageId: 'n3' }]),
    [msg('SM1', '+1', 'a m1z'), msg('SM2', '+1', 'b m2z'), msg('SM9', '+1', 'again m2z')],
  );
  expect(tally).toMatchObject({ published: 6, sent: 2, failed: 2, deadLettered: 1, duplicates: 1, lost: 2, unrecorded: 1, unknown: 0 });
  expect(tally.outcomes.find((o) => o.recipient === 'whatsapp:+2')?.reason).toBe('63016 outside the window');
  expect(tally.outcomes.filter((o) => o.outcome === 'lost').map((o) => o.notificationId)).toEqual(['n5', 'n6']);
});

test('a claim recorded as sent with another notification\'s message is lost, not sent', () => {
  const tally = computeTally(
    [
      { notificationId: 'a', recipients: ['whatsapp:+2'], marker: 'maz' },
      { notificationId: 'b', recipients: ['whatsapp:+2'], marker: 'mbz' },
    ],
    [claim('a', 'whatsapp:+2', 'sent', { messageSid: 'SMb' }), claim('b', 'whatsapp:+2', 'sent', { messageSid: 'SMb' }), message('SMb', 'b')],
    queue([]),
    [msg('SMb', 'whatsapp:+2', 'text mbz')],
  );
  expect(tally).toMatchObject({ sent: 1, lost: 1, duplicates: 0 });
  expect(tally.outcomes[0]).toMatchObject({ notificationId: 'a', outcome: 'lost', reason: expect.stringContaining('another notification') });
});
