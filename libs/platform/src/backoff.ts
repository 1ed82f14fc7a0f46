/** The shape of an exponential back-off: the first ceiling, doubled per attempt, and its cap. */
export interface Backoff {
  /** Ceiling of the first back-off. */
  baseMs: number;
  /** Upper bound of any single back-off. */
  maxDelayMs: number;
}

/**
 * The back-off ceiling after `attempts` attempts (1 after the first): `baseMs` doubled per attempt,
 * capped at `maxDelayMs`. Used as it is where a fixed schedule is wanted (redelivery delays).
 */
export function backoffCeiling(backoff: Backoff, attempts: number): number {
  // The exponent is bounded so that a base of 0 never meets Infinity (0 * Infinity is NaN).
  const doublings = Math.min(Math.max(0, attempts - 1), 52);
  return Math.min(backoff.maxDelayMs, backoff.baseMs * 2 ** doublings);
}

/**
 * Exponential back-off with full jitter: uniform in [0, {@link backoffCeiling}). Pure: the caller
 * passes the random source (`Math.random` in services, a fixed value in tests).
 */
export function backoffDelay(backoff: Backoff, attempts: number, random: () => number): number {
  return Math.floor(random() * backoffCeiling(backoff, attempts));
}
