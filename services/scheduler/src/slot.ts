import { Cron } from 'croner';

/**
 * The run id of a scheduled slot, from the slot's scheduled time (not the moment a replica woke up),
 * so every replica firing the same slot names the same run: `sched-20261129T2130Z` (UTC, minute
 * precision; seconds are added only when the schedule has a seconds field that is not zero).
 */
export function slotRunId(slot: Date): string {
  const iso = slot.toISOString(); // 2026-11-29T21:30:00.000Z
  const date = iso.slice(0, 10).replaceAll('-', '');
  const hhmm = iso.slice(11, 13) + iso.slice(14, 16);
  const ss = iso.slice(17, 19);
  return `sched-${date}T${hhmm}${ss === '00' ? '' : ss}Z`;
}

/** Next scheduled time strictly after `after`, in the schedule's time zone; null when none is left. */
export function nextSlot(schedule: string, timezone: string, after: Date): Date | null {
  return new Cron(schedule, { paused: true, timezone }).nextRun(after);
}

/** The latest scheduled time in (now - windowMs, now], or null when none fell in that window. */
export function latestSlot(schedule: string, timezone: string, now: Date, windowMs: number): Date | null {
  if (windowMs <= 0) return null;
  const cron = new Cron(schedule, { paused: true, timezone });
  let latest: Date | null = null;
  // A schedule firing every second over a day is 90 000 steps: bounded, and only done at start.
  for (let at = cron.nextRun(new Date(now.getTime() - windowMs)); at && at <= now; at = cron.nextRun(at)) latest = at;
  return latest;
}
