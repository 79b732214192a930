/**
 * What a handler writes to stdout and stderr (Powertools JSON logs, EMF metric
 * blobs), kept in memory instead of printed while captured: tests read it,
 * and the test output stays readable.
 */
export interface CapturedOutput {
  readonly text: () => string;
  /** The JSON lines written. */
  readonly records: () => Array<Record<string, any>>;
  /** The non-blank lines written that are not EMF blobs, parsed (a line that is not JSON as `{ raw }`). */
  readonly logs: () => Array<Record<string, any>>;
  /** The EMF metric blobs written. */
  readonly emf: () => Array<Record<string, any>>;
  /** Metric name → summed values, from the EMF records. */
  readonly metrics: () => Record<string, number>;
  /** The EMF records that carry `name`. */
  readonly metricRecords: (name: string) => Array<Record<string, any>>;
  /** The logs and EMF blobs written while `fn` ran, with its result. */
  readonly during: <T>(fn: () => Promise<T>) => Promise<{ result: T; logs: Array<Record<string, any>>; metrics: Array<Record<string, any>> }>;
  readonly clear: () => void;
  readonly restore: () => void;
}

const parse = (line: string): Record<string, any> => {
  try {
    return JSON.parse(line) as Record<string, any>;
  } catch {
    return { raw: line };
  }
};

/** Lines of `text`, blank ones left out. */
const linesOf = (text: string) => text.split('\n').filter((l) => l.trim() !== '');
const isEmf = (record: Record<string, any>) => record._aws !== undefined;

/** Sum of a metric's values over EMF blobs (a value may be a number or an array). */
export function metricSum(blobs: ReadonlyArray<Record<string, any>>, name: string): number {
  let sum = 0;
  for (const b of blobs) {
    const v = b[name];
    if (v === undefined) continue;
    sum += Array.isArray(v) ? v.reduce((a: number, x: number) => a + x, 0) : Number(v);
  }
  return sum;
}

/** Powertools writes INFO/DEBUG and EMF to stdout, WARN/ERROR to stderr: both are captured, in order, until `restore`. */
export function captureOutput(): CapturedOutput {
  const chunks: string[] = [];
  const originals = { out: process.stdout.write, err: process.stderr.write };
  const grab = (chunk: unknown) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  process.stdout.write = grab as typeof process.stdout.write;
  process.stderr.write = grab as typeof process.stderr.write;
  const text = () => chunks.join('');
  const records = () =>
    linesOf(text())
      .filter((line) => line.startsWith('{'))
      .map(parse)
      .filter((r) => r.raw === undefined);
  const emf = () => records().filter(isEmf);
  return {
    text,
    records,
    logs: () => linesOf(text()).map(parse).filter((r) => !isEmf(r)),
    emf,
    metrics: () => {
      const sums: Record<string, number> = {};
      for (const record of emf()) {
        const defs = (record._aws as { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }> }> }).CloudWatchMetrics[0].Metrics;
        for (const { Name } of defs) sums[Name] = (sums[Name] ?? 0) + metricSum([record], Name);
      }
      return sums;
    },
    metricRecords: (name) => emf().filter((r) => r[name] !== undefined),
    during: async (fn) => {
      const start = text().length;
      const result = await fn();
      const written = linesOf(text().slice(start)).map(parse);
      return { result, logs: written.filter((r) => !isEmf(r)), metrics: written.filter(isEmf) };
    },
    clear: () => {
      chunks.length = 0;
    },
    restore: () => {
      process.stdout.write = originals.out;
      process.stderr.write = originals.err;
    },
  };
}
