import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startSlotTimer } from '../src/slot-timer.ts';

describe('startSlotTimer', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const minutely = (slot: Date) => new Date(slot.getTime() + 60_000);

  it('fires each slot at its time, with its scheduled time, and stops', () => {
    const fired: string[] = [];
    const timer = startSlotTimer(new Date('2026-01-01T00:01:00Z'), minutely, (slot) => fired.push(slot.toISOString()));
    expect(timer.next()?.toISOString()).toBe('2026-01-01T00:01:00.000Z');
    vi.advanceTimersByTime(59_999);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(2 * 60_000);
    expect(fired).toEqual(['2026-01-01T00:01:00.000Z', '2026-01-01T00:02:00.000Z']);
    expect(timer.next()?.toISOString()).toBe('2026-01-01T00:03:00.000Z');
    timer.stop();
    expect(timer.next()).toBeNull();
    vi.advanceTimersByTime(10 * 60_000);
    expect(fired).toHaveLength(2);
  });

  it('waits longer than setTimeout allows in steps', () => {
    const fired: Date[] = [];
    const far = new Date(Date.now() + 30 * 24 * 3600_000); // 30 days: more than 2^31 ms
    startSlotTimer(
      far,
      () => null,
      (slot) => fired.push(slot),
    );
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(30 * 24 * 3600_000);
    expect(fired).toEqual([far]);
  });

  it('has nothing to fire without a slot', () => {
    expect(startSlotTimer(null, minutely, () => {}).next()).toBeNull();
  });
});
