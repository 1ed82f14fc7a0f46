import { Cron } from 'croner';

/** `HH:MM` or `HH:MM:SS`, 24-hour. */
export const TIME_OF_DAY = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/;

/**
 * The first instant after `slot` at which the clock in `timezone` reads `timeOfDay`: the deadline of
 * that slot's morning (09:05 after an 08:30 slot). Daylight-saving gaps are croner's to resolve.
 */
export function deadlineAfter(slot: Date, timeOfDay: string, timezone: string): Date {
  const match = TIME_OF_DAY.exec(timeOfDay);
  if (!match) throw new TypeError(`not a time of day: ${timeOfDay}`);
  const [, hh, mm, ss = '0'] = match;
  const next = new Cron(`${Number(ss)} ${Number(mm)} ${Number(hh)} * * *`, { paused: true, timezone }).nextRun(slot);
  if (!next) throw new Error('no deadline after the slot');
  return next;
}
