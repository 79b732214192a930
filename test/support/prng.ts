/**
 * A seeded pseudo-random generator (mulberry32), so that a failing reliability
 * run reproduces: every random choice of the pipeline (faults, duplicates,
 * delays, fuzz) is drawn from one of these, seeded from the run's seed.
 */
export interface Prng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max] (inclusive). */
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Fisher–Yates, in place; returns the array. */
  shuffle<T>(items: T[]): T[];
  /** An independent generator derived from this one (for one component). */
  fork(): Prng;
}

export function createPrng(seed: number): Prng {
  let state = seed >>> 0 || 0x9e3779b9;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const prng: Prng = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => p > 0 && next() < p,
    pick: (items) => items[Math.floor(next() * items.length)],
    shuffle: (items) => {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [items[i], items[j]] = [items[j], items[i]];
      }
      return items;
    },
    fork: () => createPrng(Math.floor(next() * 4294967296)),
  };
  return prng;
}

/** The seed of a run: REL_SEED from the environment when set (to replay a failure), else `fallback`. */
export function seedFromEnv(fallback: number): number {
  const raw = Number(process.env.REL_SEED);
  return Number.isInteger(raw) ? raw : fallback;
}
