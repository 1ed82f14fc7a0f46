const WINDOW_MS = 1000;
const SWEEP_EVERY = 4096;

/** Sliding one-second window per key; only admitted requests count. */
export function createRateLimiter(now: () => number) {
  const windows = new Map<string, number[]>();
  let calls = 0;

  function sweep(t: number): void {
    for (const [key, stamps] of windows) {
      if (stamps[stamps.length - 1]! <= t - WINDOW_MS) windows.delete(key);
    }
  }

  return {
    /** True when admitted (and counted); false when over `limit` per second. */
    admit(key: string, limit: number): boolean {
      const t = now();
      if (++calls % SWEEP_EVERY === 0) sweep(t);
      let stamps = windows.get(key);
      if (!stamps) {
        stamps = [];
        windows.set(key, stamps);
      }
      while (stamps.length > 0 && stamps[0]! <= t - WINDOW_MS) stamps.shift();
      if (stamps.length >= limit) return false;
      stamps.push(t);
      return true;
    },
    clear(): void {
      windows.clear();
    },
  };
}
export type RateLimiter = ReturnType<typeof createRateLimiter>;
