import { describe, expect, it } from 'vitest';
import { latestSlot } from '../src/index.ts';

describe('latestSlot (SCHEDULER_CATCH_UP_MS)', () => {
  const now = new Date('2026-03-10T00:00:00Z'); // 05:30 in Kolkata

  it('finds the latest slot within the window, in the schedule time zone', () => {
    // 03:00 Asia/Kolkata is 21:30 UTC the day before.
    expect(latestSlot('0 3 * * *', 'Asia/Kolkata', now, 6 * 3600_000)?.toISOString()).toBe('2026-03-09T21:30:00.000Z');
  });

  it('is null when no slot fell within the window, or when catching up is off', () => {
    expect(latestSlot('0 3 * * *', 'Asia/Kolkata', now, 3600_000)).toBeNull();
    expect(latestSlot('0 3 * * *', 'Asia/Kolkata', now, 0)).toBeNull();
  });

  it('a slot exactly at start counts; frequent schedules take the last one', () => {
    expect(latestSlot('* * * * *', 'UTC', now, 3 * 60_000)?.toISOString()).toBe(now.toISOString());
  });
});
