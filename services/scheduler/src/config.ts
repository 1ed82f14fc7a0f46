import { z } from 'zod';
import { Cron } from 'croner';
import { env, natsEnvSchema } from '@refresher/platform';
import { TIME_OF_DAY } from './deadline.ts';

const optionalBool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .optional()
  .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1' || v === 'yes'));

export const schedulerConfigSchema = natsEnvSchema
  .extend({
    /**
     * Cron pattern (5 fields, or 6 with seconds first). 08:30 India time: the instant the existing
     * system logged in (its `0 3 * * *` ran on UTC servers), 45 minutes before the NSE opens.
     */
    REFRESH_SCHEDULE: z
      .string()
      .trim()
      .default('30 8 * * *')
      .refine(isValidPattern, 'not a valid cron pattern (e.g. "30 8 * * *": minute hour day month weekday)'),
    REFRESH_TIMEZONE: z
      .string()
      .trim()
      .default('Asia/Kolkata')
      .refine(isKnownTimeZone, 'unknown time zone (use an IANA name such as "Asia/Kolkata")'),
    /**
     * The time of day (HH:MM or HH:MM:SS, in REFRESH_TIMEZONE) by which a morning must be done: after
     * a scheduled run, users with transient failures are tried again in passes until it passes.
     * 09:05 leaves ten minutes before the NSE opens at 09:15.
     */
    REFRESH_DEADLINE: z
      .string()
      .trim()
      .default('09:05')
      .refine((v) => TIME_OF_DAY.test(v), 'not a time of day (HH:MM or HH:MM:SS, e.g. "09:05")'),
    /** The gap before a morning's second pass; each later gap doubles, up to REFRESH_PASS_MAX_DELAY_MS. */
    REFRESH_PASS_DELAY_MS: env.positiveInt(60_000),
    REFRESH_PASS_MAX_DELAY_MS: env.positiveInt(8 * 60_000),
    SCHEDULER_ENABLED: optionalBool,
    /** The legacy switch, honoured when SCHEDULER_ENABLED is not set. */
    ENABLE_LOCAL_IIFL_LOGIN: optionalBool,
    /** How long, in total, a fire keeps retrying when persistence does not answer. */
    SCHEDULER_START_RETRY_MS: env.nonNegativeInt(10 * 60 * 1000),
    HEALTH_PORT: env.port(8083),
    /**
     * At start, fire the latest slot that fell within this window before now (0: off). The run id is
     * the slot's, so a slot that already ran, or that another replica fires too, is one run. Used
     * to catch up a slot missed while no replica was up, and by the fault tests to fire a slot now.
     */
    SCHEDULER_CATCH_UP_MS: z.coerce
      .number()
      .int()
      .min(0)
      .max(25 * 60 * 60 * 1000)
      .default(0),
  })
  .transform(({ ENABLE_LOCAL_IIFL_LOGIN, SCHEDULER_ENABLED, ...rest }) => ({
    ...rest,
    SCHEDULER_ENABLED: SCHEDULER_ENABLED ?? ENABLE_LOCAL_IIFL_LOGIN ?? true,
  }));
export type SchedulerConfig = z.infer<typeof schedulerConfigSchema>;

function isValidPattern(pattern: string): boolean {
  try {
    return new Cron(pattern, { paused: true }).nextRun() !== null;
  } catch {
    return false;
  }
}

function isKnownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone.length > 0;
  } catch {
    return false;
  }
}
