import { setTimeout as sleepFor } from 'node:timers/promises';
import { FailureCode, isRetryableFailure } from '@refresher/contracts';
import { decideRetry, type RetryPolicy } from './retry-policy.ts';

/** What one successful login gives (the IIFL client's LoginResult). */
export interface LoginResult {
  token: string;
  tokenValidity: Date;
  loginTime: Date;
}

export interface LoginFailure {
  code: FailureCode;
  brokerCode: string | null;
  /** IIFL's message (or a fixed text of ours): never a secret. */
  message: string;
  retryable: boolean;
  /** IIFL's `Retry-After`, in ms. */
  retryAfterMs?: number | null;
}

export type LoginOutcome =
  | { kind: 'refreshed'; result: LoginResult; attempts: number }
  | { kind: 'failed'; failure: LoginFailure; attempts: number }
  /** Stopped by the caller's signal (shutdown): nothing to announce, the request is handed back. */
  | { kind: 'aborted'; attempts: number };

export interface LoginWithRetriesDeps {
  policy: RetryPolicy;
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const FAILURE_CODES = new Set<string>(Object.values(FailureCode));

/**
 * Runs `attempt` (one login at IIFL) until it succeeds, fails for good, or the policy's budget is
 * spent. The caller holds the user's lock, so attempts for one user never overlap.
 */
export async function loginWithRetries(
  deps: LoginWithRetriesDeps,
  attempt: (signal: AbortSignal) => Promise<LoginResult>,
  signal: AbortSignal,
): Promise<LoginOutcome> {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const sleep = deps.sleep ?? ((ms: number, s: AbortSignal) => sleepFor(ms, undefined, { signal: s }));
  const startedAt = now();
  let attempts = 0;
  let waitMs = 0;

  for (;;) {
    if (waitMs > 0) {
      try {
        await sleep(waitMs, signal);
      } catch {
        return { kind: 'aborted', attempts };
      }
    }
    if (signal.aborted) return { kind: 'aborted', attempts };

    attempts += 1;
    const remainingMs = Math.max(1, deps.policy.deadlineMs - (now() - startedAt));
    const deadline = AbortSignal.timeout(remainingMs);
    let failure: LoginFailure;
    try {
      const result = await attempt(AbortSignal.any([signal, deadline]));
      return { kind: 'refreshed', result, attempts };
    } catch (err) {
      if (signal.aborted) return { kind: 'aborted', attempts };
      failure = toLoginFailure(err, deadline.aborted);
    }

    const endedAt = now();
    const decision = decideRetry(
      deps.policy,
      {
        retryable: failure.retryable,
        attempts,
        elapsedMs: endedAt - startedAt,
        retryAfterMs: failure.retryAfterMs ?? null,
      },
      random,
    );
    if (!decision.retry) return { kind: 'failed', failure, attempts };
    waitMs = decision.delayMs;
  }
}

/**
 * The client throws IiflError (code, brokerCode, retryable). Anything else is a fault of ours: it
 * is reported as INTERNAL and not retried in this run, so an unknown fault can never hammer the
 * broker account. Its text is not passed on (it might quote a request).
 */
export function toLoginFailure(err: unknown, deadlinePassed: boolean): LoginFailure {
  if (isIiflErrorShape(err)) {
    return {
      code: err.code,
      brokerCode: err.brokerCode,
      message: err.message.slice(0, 500),
      retryable: err.retryable,
      retryAfterMs: typeof err.retryAfterMs === 'number' ? err.retryAfterMs : null,
    };
  }
  if (deadlinePassed) {
    return { code: FailureCode.Timeout, brokerCode: null, message: 'login deadline passed', retryable: true };
  }
  return {
    code: FailureCode.Internal,
    brokerCode: null,
    message: 'unexpected error during login',
    retryable: false,
  };
}

function isIiflErrorShape(err: unknown): err is {
  code: FailureCode;
  brokerCode: string | null;
  retryable: boolean;
  message: string;
  retryAfterMs?: unknown;
} {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: unknown; brokerCode?: unknown; retryable?: unknown };
  return (
    typeof e.code === 'string' &&
    FAILURE_CODES.has(e.code) &&
    typeof e.retryable === 'boolean' &&
    (e.brokerCode === null || typeof e.brokerCode === 'string')
  );
}

/** For failures raised by the pipeline itself. */
export function pipelineFailure(code: FailureCode, message: string): LoginFailure {
  return { code, brokerCode: null, message, retryable: isRetryableFailure(code) };
}
