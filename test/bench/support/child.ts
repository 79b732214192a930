import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Each scenario runs in a fresh Node process: handlers read their environment
 * and build their clients at module scope, so a scenario with another
 * SENDER_CONFIG needs a fresh module cache, and a process of its own gives an
 * honest peak RSS (process.resourceUsage().maxRSS).
 */
export interface ChildOutcome<T> {
  readonly result?: T;
  readonly error?: string;
}

export async function runScenario<T>(file: string, env: Record<string, string>, timeoutMs: number): Promise<ChildOutcome<T>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  const resultFile = join(dir, 'result.json');
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env, BENCH_RESULT_FILE: resultFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keepTail = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout.on('data', keepTail);
  child.stderr.on('data', keepTail);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  try {
    const parsed = JSON.parse(readFileSync(resultFile, 'utf8')) as { result?: T; error?: string };
    return parsed;
  } catch {
    return { error: `exited with ${code ?? 'a signal (timeout?)'} and no result; output tail:\n${tail}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The scenario side: runs `body`, adds the process's peak RSS, writes the
 * result where the parent reads it, and exits (handlers keep sockets alive).
 */
export function scenarioMain<T extends object>(body: () => Promise<T>): void {
  const out = process.env.BENCH_RESULT_FILE;
  const write = (json: unknown) => {
    if (out) require('node:fs').writeFileSync(out, JSON.stringify(json));
    else realStdoutWrite(JSON.stringify(json, null, 2) + '\n');
  };
  body()
    .then((result) => {
      write({ result: { ...result, maxRssBytes: process.resourceUsage().maxRSS * 1024 } });
      process.exit(0);
    })
    .catch((err: unknown) => {
      write({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      process.exit(1);
    });
}

const realStdoutWrite = process.stdout.write.bind(process.stdout);
const realStderrWrite = process.stderr.write.bind(process.stderr);

/**
 * Swallows what the handlers log (Powertools JSON logs and EMF metrics go to
 * stdout) and counts its bytes: CloudWatch Logs bills ingestion by the byte.
 */
export function captureLogs(): { bytes(): number; lines(): number; reset(): void } {
  let bytes = 0;
  let lines = 0;
  const count = (chunk: unknown): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
    bytes += Buffer.byteLength(text);
    lines += text.split('\n').filter((l) => l.length > 0).length;
    if (process.env.BENCH_SHOW_LOGS === '1') realStderrWrite(text);
    return true;
  };
  (process.stdout as unknown as { write: (c: unknown) => boolean }).write = count;
  (process.stderr as unknown as { write: (c: unknown) => boolean }).write = count;
  return {
    bytes: () => bytes,
    lines: () => lines,
    reset: () => {
      bytes = 0;
      lines = 0;
    },
  };
}
