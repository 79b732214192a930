import type { SentSqsMessage } from '../support/fake-sqs';
import { useHandlersRig } from '../support/handlers-rig';
import { getItem } from '../support/webhook-rig';
import { snsRecord } from '../support/sender-rig';

/*
 * Two flushes of one storm window at once (a digest timer delivered twice, or
 * a hold race's second timer), with a text held between them: the second
 * flush must carry what the first one's digest carried, not what it read.
 * Before the digest's ids were fixed on the window item, the second flush
 * marked the later text as gone in the digest the first had already sent
 * without it, and removed it from the window: it never reached the phone.
 */

const OUR_NUMBER = '+15557650000';
const TO = '+15551350001';

const { world, proxy, advance, textsTo, deliver, fire, alertTimers } = useHandlersRig({
  senderConfig: { from: OUR_NUMBER, defaultRecipients: [TO], allowedRecipients: [TO], claimLeaseSeconds: 60 },
  handlers: ['sender'],
  dynamoProxy: true,
});

const digestTimers = (): SentSqsMessage[] => alertTimers((t) => t.timer === 'digest');
const dueAt = (m: SentSqsMessage) => (JSON.parse(m.body) as { dueAt: number }).dueAt;
const page = (name: string) => deliver(snsRecord(JSON.stringify({ incidentKey: name, title: name, body: `${name} is down`, to: [TO] }), `sns-${name}`));

test('a text held while a first flush is closing its window is not taken by a second flush of the same window: it goes out after', async () => {
  for (const name of ['race-a', 'race-b', 'race-c']) expect((await page(name)).batchItemFailures).toEqual([]);
  expect(textsTo(TO)).toHaveLength(1);
  const [timer] = digestTimers();
  advance(dueAt(timer) - Date.now() + 5);

  // The first flush sends its digest and is held just before it closes the window.
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let closing!: () => void;
  const closingSeen = new Promise<void>((resolve) => (closing = resolve));
  let held = false;
  proxy.setRule((target, input) => {
    if (held || target !== 'UpdateItem' || !String(input.UpdateExpression).includes('REMOVE #timerArmedFor')) return 'pass';
    held = true;
    closing();
    return { hold: gate };
  });
  const first = fire(timer);
  await closingSeen;
  expect(textsTo(TO)).toEqual([expect.any(String), expect.stringMatching(/^2 alerts: race-b \(\w+\), race-c \(\w+\)\. Reply ACK ALL$/)]);

  // A text arrives while the window is still the first flush's, then the timer comes again.
  expect((await page('race-d')).batchItemFailures).toEqual([]);
  expect((await fire(timer)).batchItemFailures).toEqual([]);
  release();
  expect((await first).batchItemFailures).toEqual([]);
  expect(textsTo(TO)).toHaveLength(2);
  expect(await getItem(world.table, `claim#sns-race-d#${TO}`)).toBeUndefined();

  // race-d waits in the next window and goes out when its digest timer fires.
  const next = digestTimers().filter((m) => dueAt(m) > dueAt(timer));
  expect(next).toHaveLength(1);
  advance(dueAt(next[0]) - Date.now() + 5);
  expect((await fire(next[0])).batchItemFailures).toEqual([]);
  const texts = textsTo(TO);
  expect(texts).toHaveLength(3);
  expect(texts[2]).toContain('race-d');
});
