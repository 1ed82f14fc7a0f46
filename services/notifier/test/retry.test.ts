import { describe, expect, it } from 'vitest';
import { afterFailedAttempt, parseRetryAfter, retrySchedule } from '../src/index.ts';

const MIN = 60_000;
const DEFAULTS = { baseMs: 1_000, maxDelayMs: 5 * MIN, giveUpMs: 60 * MIN };

describe('the back-off schedule of a webhook that keeps failing', () => {
  it('with the defaults: 1 s doubling to 5 min, attempts for an hour, the last one on the hour', () => {
    const waits = retrySchedule(DEFAULTS);
    expect(waits.slice(0, 10)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000]);
    // 511 s of doubling, then 5-minute waits; the wait that would pass the hour is cut to end on it.
    expect(waits.slice(9, -1).every((w) => w === 300_000)).toBe(true);
    expect(waits.reduce((a, b) => a + b, 0)).toBe(60 * MIN);
    expect(waits).toHaveLength(20);
    expect(waits.at(-1)).toBe(60 * MIN - 511_000 - 10 * 300_000);
  });

  it('gives up once the give-up time has passed, whatever the attempt', () => {
    expect(afterFailedAttempt(DEFAULTS, 1, 60 * MIN)).toEqual({ do: 'give-up' });
    expect(afterFailedAttempt(DEFAULTS, 30, 61 * MIN)).toEqual({ do: 'give-up' });
    expect(afterFailedAttempt(DEFAULTS, 30, 59 * MIN)).toEqual({ do: 'retry', delayMs: MIN });
  });

  it('waits as long as the receiver asks (Retry-After), up to the longest wait', () => {
    expect(afterFailedAttempt(DEFAULTS, 1, 0, 30_000)).toEqual({ do: 'retry', delayMs: 30_000 });
    expect(afterFailedAttempt(DEFAULTS, 1, 0, 3_600_000)).toEqual({ do: 'retry', delayMs: 300_000 });
    expect(afterFailedAttempt(DEFAULTS, 9, 0, 1_000)).toEqual({ do: 'retry', delayMs: 256_000 });
  });

  it('reads Retry-After in seconds or as a date', () => {
    const now = Date.parse('2026-12-02T03:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Wed, 02 Dec 2026 03:01:00 GMT', now)).toBe(60_000);
    expect([parseRetryAfter(null, now), parseRetryAfter('soon', now)]).toEqual([undefined, undefined]);
  });
});
