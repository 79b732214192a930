/**
 * AWS cost per 1,000 alerts at the measured durations and call counts, next
 * to Twilio's per-message price (issue 6, item 6). List prices, us-east-1,
 * as published at the time of writing; the machine that runs the benchmark has
 * no internet, so they are constants here, stated in BENCHMARKS.md with the
 * date, and should be checked against aws.amazon.com/pricing before quoting.
 */

export const PRICES_AS_OF = '2026-11 (list prices unchanged since the DynamoDB on-demand reduction of 1 Nov 2024)';

export const PRICE = {
  lambdaGbSecondArm: 0.0000133334,
  lambdaGbSecondX86: 0.0000166667,
  lambdaRequest: 0.2 / 1e6,
  sqsRequest: 0.4 / 1e6,
  snsPublish: 0.5 / 1e6,
  /** On-demand, after the 50% reduction of 1 Nov 2024 (was $1.25 / $0.25 per million). */
  dynamoWru: 0.625 / 1e6,
  dynamoRru: 0.125 / 1e6,
  apiGatewayRest: 3.5 / 1e6,
  kmsRequest: 0.03 / 1e4,
  kmsKeyMonth: 1,
  secretsManagerCall: 0.05 / 1e4,
  secretMonth: 0.4,
  logsIngestGb: 0.5,
  customMetricMonth: 0.3,
  alarmMonth: 0.1,
  /** Twilio US SMS, outbound, per segment, before carrier fees. */
  twilioUsSmsSegment: 0.0083,
  /** US A2P 10DLC carrier pass-through fee per segment: varies by carrier (about $0.002–0.005); a middle value. */
  usCarrierFeeSegment: 0.003,
} as const;

/** Assumptions the benchmark cannot measure on one machine. Stated in BENCHMARKS.md. */
export const ASSUME = {
  /** Round trip of a Messages create from a Lambda in us-east-1 to api.twilio.com. */
  twilioApiMs: 150,
  /** One DynamoDB round trip from Lambda in-region. */
  dynamoMs: 5,
  /** Lambda's START / END / REPORT lines per invocation. */
  platformLogBytes: 300,
  /** One API Gateway access-log line (the construct enables access logs). */
  accessLogBytes: 350,
  /** Status callbacks per SMS when the pipeline did not measure them: `sent`, `delivered` (WhatsApp adds `read`). */
  callbacksPerMessage: 2,
  /**
   * KMS requests per alert when alerts are more than 5 minutes apart: SNS's
   * data key for the CMK-encrypted topic, and its decrypt to deliver (the queues
   * use SQS-managed keys: no KMS call); SNS reuses data keys, so at higher
   * rates this falls towards 0.
   */
  kmsRequestsPerAlertWorst: 2,
  /** Secrets Manager reads per alert when every invocation finds its 300 s cache cold (sender + status callback). */
  secretReadsPerAlertWorst: 2,
  /** Lambda gives a function one full vCPU at 1,769 MB; CPU-bound init scales roughly with memory below that. */
  fullVcpuMemoryMb: 1769,
  /** Lambda's SQS poller: 5 long-polls of 20 s, idle, per month (30 days). */
  idlePollerRequestsMonth: 5 * 3 * 60 * 24 * 30,
} as const;

export interface CostInputs {
  readonly architecture: string;
  readonly senderMemoryMb: number;
  readonly callbackMemoryMb: number;
  /**
   * The sender's own time per warm invocation (one record, one recipient) at
   * the configured memory: its measured CPU time divided by the CPU share
   * Lambda gives that memory (what the handler's work takes at that share).
   */
  readonly senderLocalMs: number;
  /** How senderLocalMs was obtained (stated in the table). */
  readonly localMsSource: string;
  /** How callbackLocalMs was obtained. */
  readonly callbackMsSource: string;
  readonly senderDdbWritesPerRecipient: number;
  readonly senderDdbReadsPerRecipient: number;
  /**
   * SQS SendMessage calls the sender makes per recipient, as measured: a held
   * text's digest timer, an incident's escalation timer (0 on a first page
   * with the default escalation).
   */
  readonly senderSqsSendsPerRecipient: number;
  /** DynamoDB waits in sequence per recipient (parallel calls share one): what the sender's duration pays for. */
  readonly senderDdbRoundTripsPerRecipient: number;
  /** The status-callback handler's own time per callback, measured the same way. */
  readonly callbackLocalMs: number;
  /** Write calls per callback, refused conditional writes included (DynamoDB bills those too). */
  readonly callbackDdbWrites: number;
  /** Of which refused (ConditionalCheckFailed): billed, but nothing written, so no index write. */
  readonly callbackDdbFailedWrites: number;
  readonly callbackDdbReads: number;
  /** Final message item size (bytes) and claim item size. */
  readonly messageItemBytes: number;
  readonly claimItemBytes: number;
  readonly senderLogBytes: number;
  readonly callbackLogBytes: number;
  /** Module load time of the sender measured on this machine (ms), unthrottled. */
  readonly senderLoadMs: number;
  /** The same for the twilio-SDK reference, to put the cold-start difference in money. */
  readonly referenceLoadMs?: number;
  /** Init (require of the bundle) measured at the configured memory's CPU share, when it was. */
  readonly senderInitMsAtShare?: number;
  readonly referenceInitMsAtShare?: number;
  /** Status callbacks per message (Twilio posts one per status change). */
  readonly callbacksPerMessage: number;
  readonly alarms: number;
  readonly kmsKeys: number;
  readonly secrets: number;
  readonly metricNames: number;
}

export interface CostLine {
  readonly item: string;
  readonly quantity: string;
  readonly perThousand: number;
  readonly note?: string;
}

const wru = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));

export function costPerThousandAlerts(i: CostInputs): { aws: CostLine[]; twilio: CostLine[]; fixed: CostLine[]; awsTotal: number; twilioTotal: number; coldExtra: CostLine[] } {
  const gbs = i.architecture === 'arm64' ? PRICE.lambdaGbSecondArm : PRICE.lambdaGbSecondX86;
  const senderMs = Math.ceil(i.senderLocalMs + ASSUME.twilioApiMs + i.senderDdbRoundTripsPerRecipient * ASSUME.dynamoMs);
  const callbackMs = Math.ceil(i.callbackLocalMs + (i.callbackDdbWrites + i.callbackDdbReads) * ASSUME.dynamoMs);
  const cb = i.callbacksPerMessage;
  // Alarm messages carry the alertsByRecipient keys; the index projects ALL, so every write of the item writes the index too.
  const written = Math.max(0, i.callbackDdbWrites - i.callbackDdbFailedWrites);
  const messageWrites = (1 + cb * written) * wru(i.messageItemBytes) * 2 + cb * i.callbackDdbFailedWrites * wru(i.messageItemBytes);
  const claimWrites = Math.max(0, i.senderDdbWritesPerRecipient - 1) * wru(i.claimItemBytes);
  const reads = i.senderDdbReadsPerRecipient + cb * i.callbackDdbReads;
  const logBytes = i.senderLogBytes + ASSUME.platformLogBytes + cb * (i.callbackLogBytes + ASSUME.platformLogBytes + ASSUME.accessLogBytes);
  const k = 1000;
  const aws: CostLine[] = [
    { item: 'SNS publish', quantity: '1 publish', perThousand: k * PRICE.snsPublish, note: 'SNS→SQS delivery is free' },
    { item: 'SQS', quantity: '3 requests', perThousand: k * 3 * PRICE.sqsRequest, note: 'SendMessage (by SNS), ReceiveMessage, DeleteMessage; batching lowers it under load' },
    {
      item: 'SQS timers (sender)',
      quantity: `${round2(i.senderSqsSendsPerRecipient)} SendMessage`,
      perThousand: k * i.senderSqsSendsPerRecipient * PRICE.sqsRequest,
      note: 'digest and escalation timers to the alert queue, as measured (a first page sets none; a held text its window\'s digest timer, once per window); a timer\'s own delivery later is one more receive and delete',
    },
    { item: 'Lambda sender (requests)', quantity: '1 invocation', perThousand: k * PRICE.lambdaRequest },
    {
      item: 'Lambda sender (duration)',
      quantity: `${senderMs} ms × ${i.senderMemoryMb} MB`,
      perThousand: k * (i.senderMemoryMb / 1024) * (senderMs / 1000) * gbs,
      note: `handler's own ${i.senderLocalMs.toFixed(1)} ms (${i.localMsSource}) + ${ASSUME.twilioApiMs} ms Twilio API + ${ASSUME.dynamoMs} ms per DynamoDB round trip (assumed)`,
    },
    {
      item: 'DynamoDB writes',
      quantity: `${round2(messageWrites + claimWrites)} WRU`,
      perThousand: k * (messageWrites + claimWrites) * PRICE.dynamoWru,
      note: `message item ${i.messageItemBytes} B written ${round2(1 + cb * written)}× (sender + callbacks), each also into the alertsByRecipient index (projection ALL); ${round2(cb * i.callbackDdbFailedWrites)} refused conditional writes per message (billed, no index write); claim-size items (claim, incident, ACK code, storm window; ${i.claimItemBytes} B) × ${round2(Math.max(0, i.senderDdbWritesPerRecipient - 1))}`,
    },
    { item: 'DynamoDB reads', quantity: `${reads} RRU`, perThousand: k * reads * PRICE.dynamoRru },
    { item: 'API Gateway REST (callbacks)', quantity: `${cb} requests`, perThousand: k * cb * PRICE.apiGatewayRest, note: 'one request per status callback; an HTTP API would cost $1.00/1M' },
    { item: 'Lambda status-callback (requests)', quantity: `${cb} invocations`, perThousand: k * cb * PRICE.lambdaRequest },
    {
      item: 'Lambda status-callback (duration)',
      note: `handler's own ${i.callbackLocalMs.toFixed(1)} ms (${i.callbackMsSource}) + ${ASSUME.dynamoMs} ms per DynamoDB call (assumed)`,
      quantity: `${cb} × ${callbackMs} ms × ${i.callbackMemoryMb} MB`,
      perThousand: k * cb * (i.callbackMemoryMb / 1024) * (callbackMs / 1000) * gbs,
    },
    { item: 'KMS requests', quantity: `≤ ${ASSUME.kmsRequestsPerAlertWorst}`, perThousand: k * ASSUME.kmsRequestsPerAlertWorst * PRICE.kmsRequest, note: 'worst case (alerts > 5 min apart); amortised to ~0 at higher rates' },
    { item: 'Secrets Manager reads', quantity: `≤ ${ASSUME.secretReadsPerAlertWorst}`, perThousand: k * ASSUME.secretReadsPerAlertWorst * PRICE.secretsManagerCall, note: 'worst case (cache cold each time); else one read per warm environment per 300 s' },
    { item: 'CloudWatch Logs ingestion', quantity: `${Math.round(logBytes)} B`, perThousand: (k * logBytes / 1024 ** 3) * PRICE.logsIngestGb, note: 'handler logs + EMF metrics measured; platform and access-log lines assumed' },
  ];
  const twilio: CostLine[] = [
    { item: 'Twilio SMS (US, 1 segment)', quantity: '1 segment', perThousand: k * PRICE.twilioUsSmsSegment },
    { item: 'US carrier fee (10DLC)', quantity: '1 segment', perThousand: k * PRICE.usCarrierFeeSegment, note: 'varies by carrier, about $0.002–0.005' },
  ];
  const estimate = (loadMs: number) => loadMs * Math.max(1, ASSUME.fullVcpuMemoryMb / i.senderMemoryMb);
  const coldInit = (atShare: number | undefined, loadMs: number) => atShare ?? estimate(loadMs);
  const coldNote = (atShare: number | undefined, loadMs: number) =>
    atShare !== undefined
      ? `init measured at ${i.senderMemoryMb} MB's CPU share (a cgroup); only if every alert is a cold start`
      : `local load ${loadMs.toFixed(1)} ms × ${(ASSUME.fullVcpuMemoryMb / i.senderMemoryMb).toFixed(1)} (CPU share at ${i.senderMemoryMb} MB, estimated: no throttled run); only if every alert is a cold start`;
  const coldExtra: CostLine[] = [
    {
      item: 'sender cold start (init billed), ours',
      quantity: `≈ ${Math.round(coldInit(i.senderInitMsAtShare, i.senderLoadMs))} ms`,
      perThousand: k * (i.senderMemoryMb / 1024) * (coldInit(i.senderInitMsAtShare, i.senderLoadMs) / 1000) * gbs,
      note: coldNote(i.senderInitMsAtShare, i.senderLoadMs),
    },
  ];
  if (i.referenceLoadMs !== undefined) {
    coldExtra.push({
      item: 'sender cold start, twilio-SDK reference',
      quantity: `≈ ${Math.round(coldInit(i.referenceInitMsAtShare, i.referenceLoadMs))} ms`,
      perThousand: k * (i.senderMemoryMb / 1024) * (coldInit(i.referenceInitMsAtShare, i.referenceLoadMs) / 1000) * gbs,
      note: 'the same for the reference handler',
    });
  }
  const fixed: CostLine[] = [
    { item: 'KMS customer managed key', quantity: `${i.kmsKeys} key`, perThousand: i.kmsKeys * PRICE.kmsKeyMonth },
    { item: 'Secrets Manager secret', quantity: `${i.secrets} secret`, perThousand: i.secrets * PRICE.secretMonth },
    { item: 'CloudWatch custom metrics (EMF)', quantity: `up to ${i.metricNames} metrics`, perThousand: i.metricNames * PRICE.customMetricMonth, note: 'a metric costs only in the months it is emitted' },
    { item: 'CloudWatch alarms', quantity: `${i.alarms} alarms`, perThousand: i.alarms * PRICE.alarmMonth },
    { item: 'SQS idle long polling (Lambda poller)', quantity: `${ASSUME.idlePollerRequestsMonth} requests`, perThousand: ASSUME.idlePollerRequestsMonth * PRICE.sqsRequest },
  ];
  const sum = (lines: CostLine[]) => lines.reduce((a, l) => a + l.perThousand, 0);
  return { aws, twilio, fixed, coldExtra, awsTotal: sum(aws), twilioTotal: sum(twilio) };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** What Lambda bills for one invocation of `ms` at `memoryMb` (duration + request). */
export function lambdaInvocationCost(ms: number, memoryMb: number, architecture = 'arm64'): number {
  const gbs = architecture === 'arm64' ? PRICE.lambdaGbSecondArm : PRICE.lambdaGbSecondX86;
  return (memoryMb / 1024) * (Math.ceil(ms) / 1000) * gbs + PRICE.lambdaRequest;
}

export function money(x: number): string {
  if (x === 0) return '$0';
  if (x < 0.0001) return `$${x.toExponential(1)}`;
  if (x < 0.01) return `$${x.toFixed(5)}`;
  if (x < 0.1) return `$${x.toFixed(4)}`;
  return `$${x.toFixed(2)}`;
}
