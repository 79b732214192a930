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

test('a notification that must be sent is lost when a recipient is recorded failed, or the whole notification refused', () => {
  const tally = computeTally(
    [
      { notificationId: 'n1', recipients: ['+1', '+2'], marker: 'm1z', mustBeSent: true },
      { notificationId: 'n2', recipients: ['+1'], marker: 'm2z', mustBeSent: true },
      { notificationId: 'n3', recipients: ['+1'], marker: 'm3z' },
    ],
    [
      claim('n1', '+1', 'sent', { messageSid: 'SM1' }),
      message('SM1', 'n1'),
      claim('n1', '+2', 'failed', { errorCode: '20003', reason: 'Authenticate' }),
      { id: 'failed#n2', kind: 'notification', reason: 'not JSON' },
      claim('n3', '+1', 'failed', { errorCode: '21211', reason: 'invalid To' }),
    ],
    queue([]),
    [msg('SM1', '+1', 'a m1z')],
  );
  expect(tally.outcomes.map((o) => [o.notificationId, o.recipient, o.outcome])).toEqual([
    ['n1', '+1', 'sent'],
    ['n1', '+2', 'lost'],
    ['n2', '+1', 'lost'],
    ['n3', '+1', 'failed'],
  ]);
  expect(tally.outcomes[1].reason).toContain('20003');
  expect(tally).toMatchObject({ sent: 1, failed: 1, lost: 2 });
});

test('Twilio messages are counted by what was sent, not by the body Twilio kept', () => {
  const sent = (sid: string, to: string, body: string, stored: string) => ({ sid, to, body: stored, contentVariables: null, params: [['To', to], ['Body', body]] }) as unknown as FakeMessage;
  const tally = computeTally(
    [{ notificationId: 'n1', recipients: ['+1'], marker: 'Rm1z', mustBeSent: true }],
    [claim('n1', '+1', 'sent', { messageSid: 'SM1' }), message('SM1', 'n1')],
    queue([]),
    // Twilio kept a prefix without the marker, and a second message whose stored body drifted the other way.
    [sent('SM1', '+1', 'Disk full Rm1z', 'Disk full'), sent('SM2', '+1', 'Disk full Rm1z', 'Disk full Rm1z\nReply STOP to opt out')],
  );
  expect(tally.outcomes).toEqual([expect.objectContaining({ outcome: 'sent', twilioMessages: 2 })]);
  expect(tally.duplicates).toBe(1);
});

test('a text held in a storm window is sent when its digest was, and lost when the digest never went out', () => {
  const tally = computeTally(
    [
      { notificationId: 'n1', recipients: ['+1'], marker: 'm1z' },
      { notificationId: 'n2', recipients: ['+1'], marker: 'm2z' },
      { notificationId: 'n3', recipients: ['+2'], marker: 'm3z' },
    ],
    [
      // The sender gives a held text's claim the digest's SID once Twilio accepted it (an older item has none).
      claim('n1', '+1', 'sent', { digest: 'digest#1', messageSid: 'SMd' }),
      claim('n2', '+1', 'sent', { digest: 'digest#1' }),
      claim('digest#1', '+1', 'sent', { messageSid: 'SMd' }),
      message('SMd', 'digest#1'),
      claim('n3', '+2', 'sent', { digest: 'digest#2' }),
      claim('digest#2', '+2', 'pending'),
    ],
    queue([]),
    [msg('SMd', '+1', 'm1z 7K, m2z 8P. ACK ALL')],
  );
  expect(tally).toMatchObject({ published: 3, sent: 2, lost: 1, duplicates: 0, unrecorded: 0 });
  expect(tally.outcomes.map((o) => [o.notificationId, o.outcome, o.reason])).toEqual([
    ['n1', 'sent', 'in digest SMd'],
    ['n2', 'sent', 'in digest SMd'],
    ['n3', 'lost', 'held for digest digest#2, which was never sent'],
  ]);
});
