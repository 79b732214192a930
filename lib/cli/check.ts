/** One line of `verify`'s report. */
export interface Check {
  /** What was checked: `secret`, `credentials`, `inbound webhook`, ... */
  readonly name: string;
  readonly status: 'pass' | 'fail' | 'skip';
  /** What was found. */
  readonly detail: string;
  /** For a failed check: exactly what to do. */
  readonly fix?: string;
}

export const pass = (name: string, detail: string): Check => ({ name, status: 'pass', detail });
export const fail = (name: string, detail: string, fix: string): Check => ({ name, status: 'fail', detail, fix });
export const skip = (name: string, detail: string): Check => ({ name, status: 'skip', detail });
