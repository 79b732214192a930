/**
 * CloudWatch's reason sentences, read: the datapoints it evaluated, the
 * values it saw (the most recent first), and what it compared them with
 * (a threshold, an anomaly band), or that data was missing. The SNS
 * notification and the EventBridge event both carry them; only the reason
 * holds the value that breached.
 */

/** What CloudWatch's reason says it saw. */
export interface Observation {
  /** The datapoints' values, the most recent first. */
  readonly values: readonly string[];
  readonly breaching?: string;
  readonly of?: string;
  readonly negated: boolean;
  readonly relation?: Relation;
  readonly threshold?: string;
  readonly lower?: string;
  readonly upper?: string;
  readonly noData?: boolean;
}

export type Relation = '>' | '>=' | '<' | '<=';

export const RELATIONS: Readonly<Record<string, Relation>> = {
  'greater than': '>',
  'greater than or equal to': '>=',
  'less than': '<',
  'less than or equal to': '<=',
  GreaterThanThreshold: '>',
  GreaterThanOrEqualToThreshold: '>=',
  LessThanThreshold: '<',
  LessThanOrEqualToThreshold: '<=',
};
export const NEGATED: Readonly<Record<Relation, Relation>> = { '>': '<=', '>=': '<', '<': '>=', '<=': '>' };

const DATAPOINTS = /^Thresholds? Crossed: (\d+) (?:out of the last (\d+) )?datapoints? \[([^\]]*)\] (?:was|were) (not )?/;
const THRESHOLD = /^(greater than or equal to|greater than|less than or equal to|less than) the threshold \(([^)]*)\)/;
const BAND_CROSSED = /^(?:less than the lower thresholds \[([^\]]*)\] or greater than the upper thresholds \[([^\]]*)\]|greater than the upper thresholds \[([^\]]*)\]|less than the lower thresholds \[([^\]]*)\])/;
const NO_DATA = /^Insufficient Data: (\d+) datapoints? (?:was|were) unknown/;

/** The first number of a bracketed list (`[2.51 (27/11/26 10:05:00), 2.4 (…)]`, `[225.7, 224.1]`). */
function firstNumber(list: string | undefined): string | undefined {
  return list?.split(',')[0]?.trim().split(' ')[0] || undefined;
}

/** CloudWatch's reason, read: undefined when it is not one of CloudWatch's sentences. */
export function observe(reason: string | undefined): Observation | undefined {
  if (reason === undefined) return undefined;
  const noData = reason.match(NO_DATA);
  if (noData) return { values: [], of: noData[1], negated: false, noData: true };
  const m = reason.match(DATAPOINTS);
  if (!m) return undefined;
  const values = m[3].split(/\),\s*/).map((v) => v.trim().split(' ')[0]).filter((v) => v !== '');
  const rest = reason.slice(m[0].length);
  const base = { values, breaching: m[1], of: m[2], negated: m[4] !== undefined };
  const threshold = rest.match(THRESHOLD);
  if (threshold) return { ...base, relation: RELATIONS[threshold[1]], threshold: threshold[2].trim() };
  const band = rest.match(BAND_CROSSED);
  if (band) return { ...base, lower: firstNumber(band[1] ?? band[4]), upper: firstNumber(band[2] ?? band[3]) };
  return undefined;
}
