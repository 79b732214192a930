/**
 * API Gateway's stage throttle as a token bucket: `burst` tokens, refilled at
 * `rate` per second; a request that finds no token is refused (429).
 * Returns the refusals over the given arrival times (ms), and the most
 * arrivals in any one-second window.
 */
export function tokenBucketRefusals(arrivalsMs: readonly number[], rate: number, burst: number): { refused: number; peakPerSecond: number } {
  const sorted = [...arrivalsMs].sort((a, b) => a - b);
  let tokens = burst;
  let last = sorted[0] ?? 0;
  let refused = 0;
  for (const t of sorted) {
    tokens = Math.min(burst, tokens + ((t - last) / 1000) * rate);
    last = t;
    if (tokens >= 1) tokens -= 1;
    else refused++;
  }
  let peak = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i] - sorted[j] >= 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return { refused, peakPerSecond: peak };
}
