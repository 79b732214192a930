import { Encoding, measure, transliterate } from '../../../lambda/sender/encoding';
import { fitPage, TEMPLATE_LIMIT } from '../../../lambda/sender/fit-text';
import { Notification, parseNotification, RenderSettings } from '../../../lambda/sender/parse-notification';
import { countSegments } from '../../support/fake-twilio';
import * as shape from './shapes';

/*
 * The golden corpus: what the phone shows for each real notification
 * shape, its encoding and its segments, written out in full. A change of
 * rendering shows here as a changed text, to be looked at, not pasted.
 */

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:alerts';
const DEFAULTS: RenderSettings = { allowUnicode: false, alarmTextSegments: 1 };

interface Golden {
  readonly name: string;
  readonly message: unknown;
  readonly settings?: Partial<RenderSettings>;
  readonly topicArn?: string;
  readonly kind: Notification['kind'];
  readonly text: string;
  readonly encoding: Encoding;
  readonly segments: number;
}

const CORPUS: readonly Golden[] = [
  {
    name: 'CloudWatch threshold alarm',
    message: shape.metricAlarm(),
    kind: 'alarm',
    text: 'ALARM HighCPU-db-1\nCPUUtilization avg 95.2 > 90.0, 1/1 datapoints\ndb-1 us-east-1 123456789012 27 Nov 15:41 UTC\nCPU above 90% on db-1',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'CloudWatch percentile alarm, 3 of 3 datapoints; the description cut at a word, its URL left out whole',
    message: shape.percentileAlarm,
    kind: 'alarm',
    text: 'ALARM api-p99-latency-eu-west-1\nLatency p99 2.51 > 2.0, 3/3 datapoints\npublic-api eu-west-1 123456789012 27 Nov 10:06 UTC\np99 latency of the public...',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'the same percentile alarm with alarmTextSegments 2: the whole description, its URL whole',
    message: shape.percentileAlarm,
    settings: { alarmTextSegments: 2 },
    kind: 'alarm',
    text: 'ALARM api-p99-latency-eu-west-1\nLatency p99 2.51 > 2.0, 3/3 datapoints\npublic-api eu-west-1 123456789012 27 Nov 10:06 UTC\np99 latency of the public API. Runbook: https://wiki.example.com/rb/api-latency',
    encoding: 'GSM-7',
    segments: 2,
  },
  {
    name: 'CloudWatch metric-math alarm: label, expression and inputs',
    message: shape.mathAlarm,
    kind: 'alarm',
    text: 'ALARM api-5xx-rate\n5xx rate % = 100*(m1/m2) 7.3 > 5.0, 2/3 datapoints; m1 5XXError sum, m2 Count sum\nus-east-1 123456789012 27 Nov 15:41 UTC',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'CloudWatch anomaly-detection alarm: above its band',
    message: shape.anomalyAlarm,
    kind: 'alarm',
    text: 'ALARM login-requests-anomaly\nCount sum 537.0 > band 531.4, 1/4 datapoints\nauth-api,/login us-east-1 123456789012 27 Nov 18:40 UTC',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'CloudWatch composite alarm: the children that fired',
    message: shape.compositeAlarm,
    kind: 'alarm',
    text: 'ALARM checkout-degraded\nfired: api-p99-latency-us-east-1, api-5xx-rate-us-east-1\nus-east-1 123456789012 27 Nov 15:41 UTC\nCheckout is failing for...',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'CloudWatch alarm back to OK',
    message: shape.okAlarm,
    kind: 'alarm',
    text: 'OK HighCPU-db-1\nCPUUtilization avg 41.7 <= 90.0, 1/1 datapoints\ndb-1 us-east-1 123456789012 27 Nov 16:06 UTC\nCPU above 90% on db-1',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'CloudWatch alarm in INSUFFICIENT_DATA',
    message: shape.insufficientAlarm,
    kind: 'alarm',
    text: 'INSUFFICIENT_DATA HighCPU-db-1\nCPUUtilization avg no data (> 90)\ndb-1 us-east-1 123456789012 27 Nov 16:30 UTC\nCPU above 90% on db-1',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'a long name shortened in the middle (eu-west-1)',
    message: shape.longNameAlarm('eu-west-1'),
    kind: 'alarm',
    text: 'ALARM prod-payments-api...p99-latency-alarm-eu-west-1\nCPUUtilization avg 95.2 > 90.0, 1/1 datapoints\ndb-1 eu-west-1 123456789012 27 Nov 15:41 UTC',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'the same long name but for its end (us-east-1): told apart',
    message: shape.longNameAlarm('us-east-1'),
    kind: 'alarm',
    text: 'ALARM prod-payments-api...p99-latency-alarm-us-east-1\nCPUUtilization avg 95.2 > 90.0, 1/1 datapoints\ndb-1 us-east-1 123456789012 27 Nov 15:41 UTC',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'a Japanese name: UCS-2, one segment',
    message: shape.japaneseAlarm,
    kind: 'alarm',
    text: 'ALARM データベースCPU高負荷-東京\nCPUUtilization avg 95.2 > 90.0, 1/1',
    encoding: 'UCS-2',
    segments: 1,
  },
  {
    name: 'a Cyrillic name: UCS-2, one segment',
    message: shape.cyrillicAlarm,
    kind: 'alarm',
    text: 'ALARM Платежи-ошибки-5xx\nCPUUtilization avg 95.2 > 90.0, 1/1',
    encoding: 'UCS-2',
    segments: 1,
  },
  {
    name: 'an emoji in the name: UCS-2 (it takes two units), one segment',
    message: shape.emojiAlarm,
    kind: 'alarm',
    text: 'ALARM 🔥 checkout-errors\nCPUUtilization avg 95.2 > 90.0, 1/1',
    encoding: 'UCS-2',
    segments: 1,
  },
  {
    name: 'accents, typographic quotes and dashes: transliterated, GSM-7',
    message: shape.accentedAlarm,
    kind: 'alarm',
    text: 'ALARM Sao Paulo - "pagamentos" Lodz\nCPUUtilization avg 95.2 > 90.0, 1/1 datapoints\ndb-1 sa-east-1 123456789012 27 Nov 15:41 UTC\nLatencia alta - ver...',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'the same with allowUnicode: kept as written, UCS-2, the name shortened to fit',
    message: shape.accentedAlarm,
    settings: { allowUnicode: true },
    kind: 'alarm',
    text: 'ALARM São Paulo…gamentos” Łódź\nCPUUtilization avg 95.2 > 90.0',
    encoding: 'UCS-2',
    segments: 1,
  },
  {
    name: 'accountAlias names the topic\'s own account',
    message: shape.metricAlarm(),
    settings: { accountAlias: 'prod' },
    kind: 'alarm',
    text: 'ALARM HighCPU-db-1\nCPUUtilization avg 95.2 > 90.0, 1/1 datapoints\ndb-1 us-east-1 prod 27 Nov 15:41 UTC\nCPU above 90% on db-1',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'accountAlias does not rename another account (a topic elsewhere)',
    message: shape.metricAlarm(),
    settings: { accountAlias: 'prod' },
    topicArn: 'arn:aws:sns:us-east-1:999999999999:alerts',
    kind: 'alarm',
    text: 'ALARM HighCPU-db-1\nCPUUtilization avg 95.2 > 90.0, 1/1 datapoints\ndb-1 us-east-1 123456789012 27 Nov 15:41 UTC\nCPU above 90% on db-1',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'EventBridge: CloudWatch Alarm State Change',
    message: shape.alarmStateChangeEvent,
    kind: 'alarm',
    text: 'ALARM ServerCpuTooHigh\nCPUUtilization avg 99.5 > 50.0, 1/1 datapoints\ni-12345678901234567 us-east-1 123456789012 27 Nov 15:41 UTC',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'EventBridge: CloudWatch Alarm State Change of a composite alarm',
    message: shape.compositeStateChangeEvent,
    kind: 'alarm',
    text: 'ALARM ServiceAggregatedAlarm\nfired: SubAlarm2\nus-east-1 123456789012 27 Nov 15:41 UTC\nrule: ALARM(SubAlarm1) OR ALARM(SubAlarm2)',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'EventBridge: AWS Health',
    message: shape.healthEvent,
    kind: 'event',
    text: 'AWS Health EC2 issue open\nAWS_EC2_OPERATIONAL_ISSUE\ni-0abcd1234ef567890, i-0fedc4321ba098765\nus-east-1 123456789012 27 Nov 15:12 UTC',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'EventBridge: GuardDuty finding',
    message: shape.guardDutyEvent,
    kind: 'event',
    text: 'GuardDuty HIGH 8\nUnauthorizedAccess:EC2/SSHBruteForce\nInstance i-99999999\nus-east-1 123456789012 27 Nov 15:41 UTC\n198.51.100.0 is performing SSH...',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'EventBridge: Security Hub finding',
    message: shape.securityHubEvent,
    kind: 'event',
    text: 'Security Hub HIGH\nS3.8 S3 general purpose buckets should block public access\nAwsS3Bucket customer-exports\nus-east-1 123456789012 27 Nov 15:40 UTC',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'EventBridge: ECS task stopped',
    message: shape.ecsTaskStoppedEvent,
    kind: 'event',
    text: 'ECS task STOPPED service:checkout-web\nEssentialContainerExited: Essential container in task exited\nweb exit 137: OutOfMemoryError: Container killed...',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'EventBridge: CodePipeline execution failed',
    message: shape.codePipelineFailedEvent,
    kind: 'event',
    text: 'CodePipeline deploy-checkout FAILED\nexecution 01234567-0123-0123-0123-012345678901\nus-east-1 123456789012 27 Nov 15:41 UTC',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'CodeStar notification of a failed pipeline (detailType, additionalAttributes)',
    message: shape.codeStarNotification,
    kind: 'event',
    text: 'CodePipeline deploy-checkout FAILED\nstage Prod action Deploy: Deployment failed\nus-east-1 123456789012 27 Nov 15:41 UTC',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'EventBridge: CodeBuild build failed',
    message: shape.codeBuildFailedEvent,
    kind: 'event',
    text: 'CodeBuild checkout-build FAILED\nBUILD: COMMAND_EXECUTION_ERROR: Error while executing command: npm test. Reason: exit status 1\nus-east-1 15:41 UTC',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'EventBridge: Backup job failed',
    message: shape.backupFailedEvent,
    kind: 'event',
    text: 'Backup job FAILED EBS\nInsufficient privileges to perform this action.\nvolume/vol-0123456789abcdef0\nus-east-1 123456789012 27 Nov 15:41 UTC',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'EventBridge: any other event (EC2 state change), generic',
    message: shape.ec2StateEvent,
    kind: 'event',
    text: 'EC2 Instance State-change Notification\nstate: stopped\ninstance-id: i-0abcd1234ef567890\ninstance/i-0abcd1234ef567890\naws.ec2 us-east-1 27 Nov 15:41 UTC',
    encoding: 'GSM-7',
    segments: 1,
  },
  {
    name: 'other JSON (an RDS event notification): its telling fields first, links whole or not at all',
    message: shape.rdsEventNotification,
    kind: 'json',
    text: 'Event Message: DB instance shutdown\nEvent Source: db-instance\nSource ID: db-1\nSource ARN: arn:aws:rds:us-east-1:123456789012:db:db-1',
    encoding: 'GSM-7',
    segments: 1,
  },
];

const EVENTBRIDGE = CORPUS.filter((g) => (g.message as Record<string, unknown>)['detail-type'] !== undefined);

test('the corpus holds ten EventBridge events', () => {
  expect(EVENTBRIDGE).toHaveLength(10);
});

describe.each(CORPUS)('$name', (golden) => {
  const settings = { ...DEFAULTS, ...golden.settings };
  const parse = () => parseNotification({ message: JSON.stringify(golden.message), topicArn: golden.topicArn ?? TOPIC }, settings);

  test('its exact text, encoding and segments', () => {
    const n = parse();
    expect(n.kind).toBe(golden.kind);
    const text = (n as { text: string }).text;
    expect(text).toBe(golden.text);
    expect(measure(text)).toMatchObject({ encoding: golden.encoding, segments: golden.segments });
    expect(measure(text).segments).toBeLessThanOrEqual(settings.alarmTextSegments);
    // A simpler count (the fake Twilio's, ceil of units) never says more.
    expect(countSegments(text)).toBeLessThanOrEqual(golden.segments);
  });

  test('a reply hint of 8 characters changes the text only by itself, within the same segments', () => {
    const n = parse() as { page: Parameters<typeof fitPage>[0] };
    const hinted = fitPage(n.page, { segments: settings.alarmTextSegments, allowUnicode: settings.allowUnicode }, 'ACK 7KQ9');
    expect(hinted.text).toBe(`${golden.text} ACK 7KQ9`);
    expect(hinted.segments).toBeLessThanOrEqual(settings.alarmTextSegments);
  });

  test('for WhatsApp: the whole rendering on one line, within 1,024 characters', () => {
    const n = parse() as { page: Parameters<typeof fitPage>[0] };
    const variable = fitPage(n.page, { maxChars: TEMPLATE_LIMIT, oneLine: true }).text;
    expect(variable).not.toMatch(/[\n\t]| {4}/);
    expect([...variable].length).toBeLessThanOrEqual(TEMPLATE_LIMIT);
    // Nothing the SMS shows is missing from it (the SMS may shorten and transliterate; WhatsApp needs neither).
    const comparable = golden.encoding === 'GSM-7' ? (transliterate(variable) ?? variable) : variable;
    for (const line of golden.text.split('\n')) for (const word of line.split(' ').filter((w) => !w.includes('...') && !w.includes('…'))) expect(comparable).toContain(word);
  });
});

test('WhatsApp gets what SMS had to leave out', () => {
  const n = parseNotification(JSON.stringify(shape.percentileAlarm), DEFAULTS) as { page: Parameters<typeof fitPage>[0] };
  expect(fitPage(n.page, { maxChars: TEMPLATE_LIMIT, oneLine: true }).text).toBe(
    'ALARM api-p99-latency-eu-west-1 - Latency p99 2.51 > 2.0, 3/3 datapoints - public-api eu-west-1 123456789012 27 Nov 10:06 UTC - p99 latency of the public API. Runbook: https://wiki.example.com/rb/api-latency',
  );
});
