import { describe, expect, it } from 'vitest';
import { FailureCode } from '@refresher/contracts';
import { backoffDelay, decideRetry, type RetryPolicy } from '../src/retry-policy.ts';
import { loginWithRetries, toLoginFailure, type LoginResult } from '../src/login-with-retries.ts';

const policy: RetryPolicy = { maxAttempts: 4, baseMs: 500, maxDelayMs: 8_000, deadlineMs: 90_000 };

describe('backoffDelay', () => {
  it('doubles the ceiling with every attempt, with full jitter below it', () => {
    const top = () => 0.999_999;
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n, top))).toEqual([499, 999, 1_999, 3_999, 7_999]);
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(1_000);
  });

  it('never exceeds the maximum delay', () => {
    for (const attempts of [6, 10, 50, 2_000]) {
      expect(backoffDelay(policy, attempts, () => 0.999_999)).toBeLessThan(policy.maxDelayMs);
    }
  });
});

describe('decideRetry', () => {
  const half = () => 0.5;

  it('retries a transient failure while attempts and time are left', () => {
    expect(decideRetry(policy, { retryable: true, attempts: 1, elapsedMs: 0 }, half)).toEqual({ retry: true, delayMs: 250 });
    expect(decideRetry(policy, { retryable: true, attempts: 3, elapsedMs: 10_000 }, half)).toEqual({ retry: true, delayMs: 1_000 });
  });

  it('stops after the maximum number of attempts', () => {
    expect(decideRetry(policy, { retryable: true, attempts: 4, elapsedMs: 0 }, half)).toEqual({
      retry: false,
      reason: 'attempts-exhausted',
    });
  });

  it('plans no retry whose wait would end at or after the deadline', () => {
    expect(decideRetry(policy, { retryable: true, attempts: 1, elapsedMs: 89_750 }, half)).toEqual({
      retry: false,
      reason: 'deadline',
    });
    expect(decideRetry(policy, { retryable: true, attempts: 1, elapsedMs: 89_749 }, half)).toEqual({
      retry: true,
      delayMs: 250,
    });
  });

  it('waits at least as long as IIFL asked (Retry-After), within the deadline', () => {
    expect(decideRetry(policy, { retryable: true, attempts: 1, elapsedMs: 0, retryAfterMs: 5_000 }, half)).toEqual({ retry: true, delayMs: 5_000 });
    expect(decideRetry(policy, { retryable: true, attempts: 1, elapsedMs: 0, retryAfterMs: 10 }, half)).toEqual({ retry: true, delayMs: 250 });
    expect(decideRetry(policy, { retryable: true, attempts: 1, elapsedMs: 0, retryAfterMs: 120_000 }, half)).toEqual({ retry: false, reason: 'deadline' });
  });

  it('never retries a failure that is not retryable, whatever budget is left', () => {
    expect(decideRetry(policy, { retryable: false, attempts: 1, elapsedMs: 0 }, half)).toEqual({
      retry: false,
      reason: 'not-retryable',
    });
  });
});

/** An error shaped like the IIFL client's IiflError. */
class BrokerError extends Error {
  override name = 'IiflError';
  constructor(
    readonly code: FailureCode,
    readonly brokerCode: string | null,
    readonly retryable: boolean,
    readonly retryAfterMs: number | null = null,
  ) {
    super(`IIFL: ${brokerCode ?? ''} (${code})`);
  }
}

const ok: LoginResult = { token: 't', tokenValidity: new Date(0), loginTime: new Date(0) };

/** A clock that only moves when the retry loop sleeps. */
function manualClock() {
  let now = 1_000_000;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    advance: (ms: number) => (now += ms),
    sleeps,
  };
}

describe('loginWithRetries', () => {
  const signal = new AbortController().signal;

  it('makes exactly one attempt when the credentials are rejected', async () => {
    const clock = manualClock();
    let calls = 0;
    const outcome = await loginWithRetries(
      { policy, now: clock.now, sleep: clock.sleep, random: () => 0.5 },
      async () => {
        calls += 1;
        throw new BrokerError(FailureCode.BadCredentials, 'EC016', false);
      },
      signal,
    );
    expect(calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
    expect(outcome).toMatchObject({ kind: 'failed', attempts: 1, failure: { code: 'BAD_CREDENTIALS', brokerCode: 'EC016', retryable: false } });
  });

  it("honours IIFL's Retry-After", async () => {
    const clock = manualClock();
    const script = [new BrokerError(FailureCode.RateLimited, 'HTTP 429', true, 7_000)];
    const outcome = await loginWithRetries(
      { policy, now: clock.now, sleep: clock.sleep, random: () => 0.5 },
      async () => {
        const next = script.shift();
        if (next) throw next;
        return ok;
      },
      signal,
    );
    expect(outcome).toMatchObject({ kind: 'refreshed', attempts: 2 });
    expect(clock.sleeps).toEqual([7_000]);
  });

  it('retries transient failures with growing back-off until one succeeds', async () => {
    const clock = manualClock();
    const script = [
      new BrokerError(FailureCode.BrokerUnavailable, 'HTTP 503', true),
      new BrokerError(FailureCode.EncryptionKeyRejected, 'EC057', true),
    ];
    const outcome = await loginWithRetries(
      { policy, now: clock.now, sleep: clock.sleep, random: () => 0.999_999 },
      async () => {
        const next = script.shift();
        if (next) throw next;
        return ok;
      },
      signal,
    );
    expect(outcome).toEqual({ kind: 'refreshed', result: ok, attempts: 3 });
    expect(clock.sleeps).toEqual([499, 999]);
  });

  it('gives up after the maximum attempts and reports the last failure', async () => {
    const clock = manualClock();
    let calls = 0;
    const outcome = await loginWithRetries(
      { policy, now: clock.now, sleep: clock.sleep, random: () => 0 },
      async () => {
        calls += 1;
        throw new BrokerError(FailureCode.RateLimited, `HTTP 429 #${calls}`, true);
      },
      signal,
    );
    expect(calls).toBe(4);
    expect(outcome).toMatchObject({ kind: 'failed', attempts: 4, failure: { code: 'RATE_LIMITED', brokerCode: 'HTTP 429 #4' } });
  });

  it('stops retrying at the overall deadline', async () => {
    const clock = manualClock();
    let calls = 0;
    const outcome = await loginWithRetries(
      { policy, now: clock.now, sleep: clock.sleep, random: () => 0.5 },
      async () => {
        calls += 1;
        clock.advance(50_000); // each attempt hangs until its timeout
        throw new BrokerError(FailureCode.Timeout, null, true);
      },
      signal,
    );
    expect(calls).toBe(2);
    expect(outcome).toMatchObject({ kind: 'failed', attempts: 2, failure: { code: 'TIMEOUT' } });
  });

  it('reports an abort as aborted, not as a failure', async () => {
    const clock = manualClock();
    const controller = new AbortController();
    const outcome = await loginWithRetries(
      { policy, now: clock.now, sleep: clock.sleep },
      async () => {
        controller.abort();
        throw new BrokerError(FailureCode.Timeout, null, true);
      },
      controller.signal,
    );
    expect(outcome).toEqual({ kind: 'aborted', attempts: 1 });
  });

  it('does not retry an unexpected error and does not pass its text on', async () => {
    const clock = manualClock();
    let calls = 0;
    const outcome = await loginWithRetries(
      { policy, now: clock.now, sleep: clock.sleep },
      async () => {
        calls += 1;
        throw new TypeError('boom with secret-ish detail');
      },
      signal,
    );
    expect(calls).toBe(1);
    expect(outcome).toMatchObject({ kind: 'failed', failure: { code: 'INTERNAL', message: 'unexpected error during login' } });
    expect(toLoginFailure(new TypeError('x'), true)).toMatchObject({ code: 'TIMEOUT', retryable: true });
  });
});
