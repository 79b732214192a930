import { App, Duration, Lazy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadSettings } from '../../lambda/sender/config';
import { TwilioMessaging, TwilioMessagingProps } from '../../lib';
import { MINIMAL, environmentOf, synth } from './helpers';

// The storm prop: validated at synth (errors name the value and the fix), written to
// SENDER_CONFIG.storm, and read back by the sender as the window it keeps.
const senderConfigJson = (template: Template) => environmentOf(template, 'AlertsSender').SENDER_CONFIG as string;
const senderConfig = (template: Template) => JSON.parse(senderConfigJson(template));

function construct(props: Partial<TwilioMessagingProps>): void {
  new TwilioMessaging(new Stack(new App(), 'TestStack'), 'Alerts', { ...MINIMAL, ...props } as TwilioMessagingProps);
}

/** The settings the sender makes of the synthesized SENDER_CONFIG (the construct always sets ALERT_QUEUE_URL). */
const senderStorm = (template: Template) =>
  loadSettings({ STATUS_TABLE_NAME: 'status', ALERT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/alerts', SENDER_CONFIG: senderConfigJson(template) }).storm;

describe('SENDER_CONFIG.storm', () => {
  test('absent: nothing written, and the sender keeps the default window (60 s, one text at once)', () => {
    const { template } = synth({});
    expect(senderConfig(template).storm).toBeUndefined();
    expect(senderStorm(template)).toEqual({ windowMs: 60_000, immediatePages: 1 });
  });

  test('a window and an immediate-page count: written in seconds, read back by the sender', () => {
    const { template } = synth({ storm: { window: Duration.minutes(2), immediatePages: 3 } });
    expect(senderConfig(template).storm).toEqual({ windowSeconds: 120, immediatePages: 3 });
    expect(senderStorm(template)).toEqual({ windowMs: 120_000, immediatePages: 3 });
  });

  test('Duration.seconds(0) turns digests off', () => {
    const { template } = synth({ storm: { window: Duration.seconds(0) } });
    expect(senderConfig(template).storm).toEqual({ windowSeconds: 0 });
    expect(senderStorm(template)).toBeUndefined();
  });
});

describe('synth refuses a storm prop the sender could not keep', () => {
  test.each([
    [{ window: Duration.millis(1500) }, /storm\.window is 1\.5 seconds; give whole seconds, e\.g\. Duration\.seconds\(2\)/],
    [{ window: Duration.hours(2) }, /storm\.window is 7200 seconds; it must be from 0 \(Duration\.seconds\(0\) turns digests off\) to 3600 seconds/],
    [{ window: Duration.seconds(Lazy.number({ produce: () => 60 })) }, /storm\.window is a token/],
    [{ immediatePages: 0 }, /storm\.immediatePages is 0; it must be an integer from 1 to 20/],
    [{ immediatePages: 2.5 }, /storm\.immediatePages is 2\.5; it must be an integer from 1 to 20/],
    [{ immediatePages: Lazy.number({ produce: () => 2 }) }, /storm\.immediatePages is a token/],
  ])('%p', (storm, message) => {
    expect(() => construct({ storm })).toThrow(message);
  });
});
