import { backoffCeiling } from '@refresher/platform';

/** How a webhook that fails is tried again. */
export interface RetryPolicy {
  /** The wait after the first failed attempt; doubled after each one. */
  baseMs: number;
  /** The longest wait between two attempts. */
  maxDelayMs: number;
  /** How long after the notice was stored attempts go on; then it is dead-lettered. */
  giveUpMs: number;
}

export type NextStep = { do: 'retry'; delayMs: number } | { do: 'give-up' };

/**
 * After attempt `attempt` (1 for the first) failed, `ageMs` after the notice was stored: wait
 * `baseMs` doubled per attempt, capped at `maxDelayMs`, longer when the receiver asked so
 * (`Retry-After`, capped too), never past the give-up time (the last attempt falls on it); once
 * that has passed, give up.
 */
export function afterFailedAttempt(policy: RetryPolicy, attempt: number, ageMs: number, retryAfterMs?: number): NextStep {
  const left = policy.giveUpMs - ageMs;
  if (left <= 0) return { do: 'give-up' };
  const backoff = backoffCeiling({ baseMs: policy.baseMs, maxDelayMs: policy.maxDelayMs }, attempt);
  const asked = Math.min(retryAfterMs ?? 0, policy.maxDelayMs);
  return { do: 'retry', delayMs: Math.max(1, Math.min(Math.max(backoff, asked), left)) };
}

/** The waits between the attempts at a webhook that always fails at once (the schedule the docs show). */
export function retrySchedule(policy: RetryPolicy): number[] {
  const waits: number[] = [];
  let age = 0;
  for (let attempt = 1; ; attempt++) {
    const step = afterFailedAttempt(policy, attempt, age);
    if (step.do === 'give-up') return waits;
    waits.push(step.delayMs);
    age += step.delayMs;
  }
}

/** `Retry-After` in seconds or as an HTTP date, in milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
