import { describe, expect, it } from 'vitest';
import { FailureCode } from '@refresher/contracts';
import { decideRetry, type RetryPolicy } from '../src/retry-policy.ts';
import { loginWithRetries, toLoginFailure, type LoginResult } from '../src/login-with-retries.ts';

const policy: RetryPolicy = { maxAttempts: 4, baseMs: 500, maxDelayMs: 8_000, deadlineMs: 90_000 };

describe('decideRetry', () => {
  const half = () => 0.5;
  type State = Parameters<typeof decideRetry>[1];

  it.each<[string, State, ReturnType<typeof decideRetry>]>([
    ['a transient failure with attempts and time left', { retryable: true, attempts: 1, elapsedMs: 0 }, { retry: true, delayMs: 250 }],
    ['the ceiling doubles per attempt', { retryable: true, attempts: 3, elapsedMs: 10_000 }, { retry: true, delayMs: 1_000 }],
    ['the maximum number of attempts made', { retryable: true, attempts: 4, elapsedMs: 0 }, { retry: false, reason: 'attempts-exhausted' }],
    ['a wait that would end at the deadline', { retryable: true, attempts: 1, elapsedMs: 89_750 }, { retry: false, reason: 'deadline' }],
    ['a wait that ends just before the deadline', { retryable: true, attempts: 1, elapsedMs: 89_749 }, { retry: true, delayMs: 250 }],
    [
      "IIFL's Retry-After, longer than the back-off",
      { retryable: true, attempts: 1, elapsedMs: 0, retryAfterMs: 5_000 },
      { retry: true, delayMs: 5_000 },
    ],
    [
      "IIFL's Retry-After, shorter than the back-off",
      { retryable: true, attempts: 1, elapsedMs: 0, retryAfterMs: 10 },
      { retry: true, delayMs: 250 },
    ],
    [
      "IIFL's Retry-After, past the deadline",
      { retryable: true, attempts: 1, elapsedMs: 0, retryAfterMs: 120_000 },
      { retry: false, reason: 'deadline' },
    ],
    [
      'a failure that is not retryable, whatever budget is left',
      { retryable: false, attempts: 1, elapsedMs: 0 },
      { retry: false, reason: 'not-retryable' },
    ],
  ])('%s', (_, state, decision) => {
    expect(decideRetry(policy, state, half)).toEqual(decision);
  });

  it('never waits longer than the maximum delay', () => {
    const many = { ...policy, maxAttempts: 3_000 };
    for (const attempts of [6, 10, 50, 2_000]) {
      expect(decideRetry(many, { retryable: true, attempts, elapsedMs: 0 }, () => 0.999_999)).toEqual({ retry: true, delayMs: 7_999 });
    }
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

/** A clock that only moves when the retry loop sleeps, or when an attempt says so. */
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

type Clock = ReturnType<typeof manualClock>;

/**
 * Runs loginWithRetries with one script entry per attempt: the error that attempt throws (made by
 * a function of the clock, which may move it). Once the script is spent an attempt succeeds.
 */
async function runScript(script: ((clock: Clock) => Error)[], options: { random?: () => number; signal?: AbortSignal } = {}) {
  const clock = manualClock();
  let calls = 0;
  const outcome = await loginWithRetries(
    { policy, now: clock.now, sleep: clock.sleep, ...(options.random ? { random: options.random } : {}) },
    async () => {
      calls += 1;
      const next = script.shift();
      if (!next) return ok;
      throw next(clock);
    },
    options.signal ?? new AbortController().signal,
  );
  return { outcome, calls, sleeps: clock.sleeps };
}

const fails =
  (code: FailureCode, brokerCode: string | null, retryable: boolean, retryAfterMs: number | null = null) =>
  () =>
    new BrokerError(code, brokerCode, retryable, retryAfterMs);

describe('loginWithRetries', () => {
  it('makes exactly one attempt when the credentials are rejected', async () => {
    const run = await runScript([fails(FailureCode.BadCredentials, 'EC016', false)], { random: () => 0.5 });
    expect(run.calls).toBe(1);
    expect(run.sleeps).toEqual([]);
    expect(run.outcome).toMatchObject({
      kind: 'failed',
      attempts: 1,
      failure: { code: 'BAD_CREDENTIALS', brokerCode: 'EC016', retryable: false },
    });
  });

  it("honours IIFL's Retry-After", async () => {
    const run = await runScript([fails(FailureCode.RateLimited, 'HTTP 429', true, 7_000)], { random: () => 0.5 });
    expect(run.outcome).toMatchObject({ kind: 'refreshed', attempts: 2 });
    expect(run.sleeps).toEqual([7_000]);
  });

  it('retries transient failures with growing back-off until one succeeds', async () => {
    const run = await runScript(
      [fails(FailureCode.BrokerUnavailable, 'HTTP 503', true), fails(FailureCode.EncryptionKeyRejected, 'EC057', true)],
      { random: () => 0.999_999 },
    );
    expect(run.outcome).toEqual({ kind: 'refreshed', result: ok, attempts: 3 });
    expect(run.sleeps).toEqual([499, 999]);
  });

  it('gives up after the maximum attempts and reports the last failure', async () => {
    const script = [1, 2, 3, 4, 5].map((n) => fails(FailureCode.RateLimited, `HTTP 429 #${n}`, true));
    const run = await runScript(script, { random: () => 0 });
    expect(run.calls).toBe(4);
    expect(run.outcome).toMatchObject({ kind: 'failed', attempts: 4, failure: { code: 'RATE_LIMITED', brokerCode: 'HTTP 429 #4' } });
  });

  it('stops retrying at the overall deadline', async () => {
    // Each attempt hangs until its timeout.
    const hangs = (clock: Clock) => {
      clock.advance(50_000);
      return new BrokerError(FailureCode.Timeout, null, true);
    };
    const run = await runScript([hangs, hangs, hangs, hangs], { random: () => 0.5 });
    expect(run.calls).toBe(2);
    expect(run.outcome).toMatchObject({ kind: 'failed', attempts: 2, failure: { code: 'TIMEOUT' } });
  });

  it('reports an abort as aborted, not as a failure', async () => {
    const controller = new AbortController();
    const abortThenFail = () => {
      controller.abort();
      return new BrokerError(FailureCode.Timeout, null, true);
    };
    const run = await runScript([abortThenFail], { signal: controller.signal });
    expect(run.outcome).toEqual({ kind: 'aborted', attempts: 1 });
  });

  it('does not retry an unexpected error and does not pass its text on', async () => {
    const run = await runScript([() => new TypeError('boom with secret-ish detail')]);
    expect(run.calls).toBe(1);
    expect(run.outcome).toMatchObject({ kind: 'failed', failure: { code: 'INTERNAL', message: 'unexpected error during login' } });
    expect(toLoginFailure(new TypeError('x'), true)).toMatchObject({ code: 'TIMEOUT', retryable: true });
  });
});
