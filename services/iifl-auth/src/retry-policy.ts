import { backoffDelay, type Backoff } from '@refresher/platform';

/**
 * When a failed login is tried again. Pure functions: the caller passes the clock readings and the
 * random source, so the schedule can be checked exactly in tests.
 */
export interface RetryPolicy extends Backoff {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** No retry starts once this much time has passed since the first attempt began. */
  deadlineMs: number;
}

export type RetryDecision =
  { retry: true; delayMs: number } | { retry: false; reason: 'not-retryable' | 'attempts-exhausted' | 'deadline' };

/**
 * Whether to try again after a failed attempt, and after how long: the project's back-off
 * (`backoffDelay`: full jitter, `baseMs` doubling up to `maxDelayMs`), never sooner than IIFL
 * asked. A failure that is not retryable (a rejection of the credentials or the account) is never
 * retried, whatever the budget left. No retry is planned whose back-off would end at or after the
 * deadline.
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
