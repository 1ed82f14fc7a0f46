/** The shape of an exponential back-off: the first ceiling, doubled per attempt, and its cap. */
export interface Backoff {
  /** Ceiling of the first back-off. */
  baseMs: number;
  /** Upper bound of any single back-off. */
  maxDelayMs: number;
}

/**
 * Exponential back-off with full jitter: uniform in [0, min(maxDelayMs, baseMs * 2^(attempts - 1))),
 * where `attempts` counts the attempts made so far (1 after the first). Pure: the caller passes the
 * random source (`Math.random` in services, a fixed value in tests).
 */
export function backoffDelay(backoff: Backoff, attempts: number, random: () => number): number {
  const ceiling = Math.min(backoff.maxDelayMs, backoff.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.floor(random() * ceiling);
}
