/**
 * When a failed login is tried again. Pure functions: the caller passes the clock readings and the
 * random source, so the schedule can be checked exactly in tests.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Ceiling of the first back-off; it doubles with every attempt. */
  baseMs: number;
  /** Upper bound of any single back-off. */
  maxDelayMs: number;
  /** No retry starts once this much time has passed since the first attempt began. */
  deadlineMs: number;
}

export type RetryDecision =
  | { retry: true; delayMs: number }
  | { retry: false; reason: 'not-retryable' | 'attempts-exhausted' | 'deadline' };

/**
 * Exponential back-off with full jitter: uniform in [0, min(maxDelay, base * 2^(attempts - 1))),
 * where `attempts` is how many attempts were made so far (1 after the first).
 */
export function backoffDelay(policy: RetryPolicy, attempts: number, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Whether to try again after a failed attempt. A failure that is not retryable (a rejection of the
 * credentials or the account) is never retried, whatever the budget left. No retry is planned
 * whose back-off would end at or after the deadline.
 */
export function decideRetry(
  policy: RetryPolicy,
  state: {
    retryable: boolean;
    attempts: number;
    elapsedMs: number;
    /** IIFL asked for at least this long (`Retry-After`). */
    retryAfterMs?: number | null;
  },
  random: () => number,
): RetryDecision {
  if (!state.retryable) return { retry: false, reason: 'not-retryable' };
  if (state.attempts >= policy.maxAttempts) return { retry: false, reason: 'attempts-exhausted' };
  const delayMs = Math.max(backoffDelay(policy, state.attempts, random), state.retryAfterMs ?? 0);
  if (state.elapsedMs + delayMs >= policy.deadlineMs) return { retry: false, reason: 'deadline' };
  return { retry: true, delayMs };
}
