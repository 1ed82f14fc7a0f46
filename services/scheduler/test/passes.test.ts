import { describe, expect, it } from 'vitest';
import type { RunResult, RunSummary } from '@refresher/contracts';
import { deadlineAfter } from '../src/deadline.ts';
import { passDelay, passRunId, transientFailures } from '../src/passes.ts';

const policy = { firstDelayMs: 60_000, maxDelayMs: 8 * 60_000, pollMs: 5_000 };

describe('the passes of a morning', () => {
  it('wait about a minute before the second pass, then double the gap up to the cap, with ±20 % jitter', () => {
    const gaps = (random: number) => [2, 3, 4, 5, 6, 7].map((n) => passDelay(policy, n, () => random));
    expect(gaps(0.5)).toEqual([60_000, 120_000, 240_000, 480_000, 480_000, 480_000]);
    expect(gaps(0)).toEqual([48_000, 96_000, 192_000, 384_000, 384_000, 384_000]);
    expect(gaps(0.999_999).map((g) => Math.round(g / 1000))).toEqual([72, 144, 288, 576, 576, 576]);
  });

  it('are named after the morning, the same on every replica', () => {
    expect(passRunId('sched-20261202T0300Z', 2)).toBe('sched-20261202T0300Z-p2');
  });

  it('count only failures that may pass on their own: a refused password or an unknown code is not one', () => {
    const result = (outcome: RunResult['outcome'], code: string | null): RunResult => ({
      userID: `U${Math.random().toString(36).slice(2, 8)}`,
      clientName: 'c',
      outcome,
      code,
      message: null,
      tokenValidity: null,
      recordedAt: null,
    });
    const summary = {
      results: [
        result('failed', 'BROKER_UNAVAILABLE'),
        result('failed', 'TIMEOUT'),
        result('failed', 'TOKEN_UNUSABLE'),
        result('failed', 'BAD_CREDENTIALS'),
        result('failed', 'CREDENTIALS_INCOMPLETE'),
        result('failed', 'SOMETHING_NEW'),
        result('refreshed', null),
        result('skipped', 'CREDENTIALS_REJECTED'),
      ],
    } as RunSummary;
    expect(transientFailures(summary)).toBe(3);
  });
});

describe('the deadline of a morning', () => {
  it('is the first time after the slot the clock reads REFRESH_DEADLINE, in REFRESH_TIMEZONE', () => {
    // 08:30 India time is 03:00 UTC; 09:05 there is 03:35 UTC.
    const slot = new Date('2026-12-02T03:00:00Z');
    expect(deadlineAfter(slot, '09:05', 'Asia/Kolkata').toISOString()).toBe('2026-12-02T03:35:00.000Z');
    expect(deadlineAfter(slot, '03:00:30', 'UTC').toISOString()).toBe('2026-12-02T03:00:30.000Z');
    // A deadline earlier in the day than the slot falls on the next day.
    expect(deadlineAfter(slot, '08:00', 'Asia/Kolkata').toISOString()).toBe('2026-12-03T02:30:00.000Z');
  });

  it('refuses what is not a time of day', () => {
    expect(() => deadlineAfter(new Date(), '9:5', 'UTC')).toThrow(/time of day/);
    expect(() => deadlineAfter(new Date(), '24:00', 'UTC')).toThrow(/time of day/);
  });
});
