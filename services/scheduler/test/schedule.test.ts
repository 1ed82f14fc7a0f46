import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RunId } from '@refresher/contracts';
import { loadConfig } from '@refresher/platform';
import { nextSlot, schedulerConfigSchema, slotRunId } from '../src/index.ts';

describe('slotRunId', () => {
  it('names a slot by its UTC minute', () => {
    expect(slotRunId(new Date('2026-11-29T21:30:00.000Z'))).toBe('sched-20261129T2130Z');
    expect(slotRunId(new Date('2026-01-05T03:07:00.000Z'))).toBe('sched-20260105T0307Z');
  });

  it('adds the seconds only when a seconds field makes them non-zero', () => {
    expect(slotRunId(new Date('2026-11-29T21:30:15.000Z'))).toBe('sched-20261129T213015Z');
  });

  it('is the same for two replicas that see the same slot, and always a safe run id', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('2000-01-01'), max: new Date('2999-12-31'), noInvalidDate: true }), (d) => {
        const a = slotRunId(d);
        expect(slotRunId(new Date(d.getTime()))).toBe(a);
        expect(a).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(RunId.safeParse(a).success).toBe(true);
      }),
    );
  });

  it('differs between slots a minute apart', () => {
    const a = new Date('2026-11-29T21:30:00.000Z');
    expect(slotRunId(a)).not.toBe(slotRunId(new Date(a.getTime() + 60_000)));
  });
});

describe('nextSlot', () => {
  it('computes 03:00 Asia/Kolkata as 21:30 UTC of the previous day', () => {
    const next = nextSlot('0 3 * * *', 'Asia/Kolkata', new Date('2026-11-29T12:00:00.000Z'));
    expect(next?.toISOString()).toBe('2026-11-29T21:30:00.000Z');
    expect(slotRunId(next!)).toBe('sched-20261129T2130Z');
  });

  it('moves to the next day once the slot has passed, and never returns the slot it starts from', () => {
    const slot = new Date('2026-11-29T21:30:00.000Z');
    expect(nextSlot('0 3 * * *', 'Asia/Kolkata', slot)?.toISOString()).toBe('2026-11-30T21:30:00.000Z');
    expect(nextSlot('0 3 * * *', 'Asia/Kolkata', new Date(slot.getTime() - 1))?.toISOString()).toBe(slot.toISOString());
  });

  it('follows the time zone it is given', () => {
    const after = new Date('2026-06-01T00:00:00.000Z');
    expect(nextSlot('0 3 * * *', 'UTC', after)?.toISOString()).toBe('2026-06-01T03:00:00.000Z');
    expect(nextSlot('0 3 * * *', 'Europe/London', after)?.toISOString()).toBe('2026-06-01T02:00:00.000Z');
  });
});

describe('schedulerConfigSchema', () => {
  it("defaults to 08:30 Asia/Kolkata (the existing system's instant), enabled, health on 8083", () => {
    const config = loadConfig(schedulerConfigSchema, {});
    expect(nextSlot(config.REFRESH_SCHEDULE, config.REFRESH_TIMEZONE, new Date('2026-12-01T12:00:00Z'))?.toISOString()).toBe(
      '2026-12-02T03:00:00.000Z',
    );
    expect(config).toMatchObject({
      REFRESH_SCHEDULE: '30 8 * * *',
      REFRESH_TIMEZONE: 'Asia/Kolkata',
      SCHEDULER_ENABLED: true,
      SCHEDULER_START_RETRY_MS: 600_000,
      HEALTH_PORT: 8083,
    });
  });

  it('reports a bad cron pattern and an unknown zone together', () => {
    expect(() => loadConfig(schedulerConfigSchema, { REFRESH_SCHEDULE: '61 3 * * *', REFRESH_TIMEZONE: 'Asia/Nowhere' })).toThrow(
      expect.objectContaining({
        name: 'ConfigError',
        problems: [
          expect.stringMatching(/^REFRESH_SCHEDULE: not a valid cron pattern/),
          expect.stringMatching(/^REFRESH_TIMEZONE: unknown time zone/),
        ],
      }),
    );
  });

  it.each(['', 'every day', '0 25 * * *', '* * * * * * * *'])('rejects the schedule %j', (schedule) => {
    expect(() => loadConfig(schedulerConfigSchema, { REFRESH_SCHEDULE: schedule })).toThrow(/REFRESH_SCHEDULE/);
  });

  it('accepts the legacy ENABLE_LOCAL_IIFL_LOGIN switch, with SCHEDULER_ENABLED taking precedence', () => {
    expect(loadConfig(schedulerConfigSchema, { ENABLE_LOCAL_IIFL_LOGIN: 'false' }).SCHEDULER_ENABLED).toBe(false);
    expect(loadConfig(schedulerConfigSchema, { ENABLE_LOCAL_IIFL_LOGIN: 'true' }).SCHEDULER_ENABLED).toBe(true);
    expect(loadConfig(schedulerConfigSchema, { ENABLE_LOCAL_IIFL_LOGIN: 'false', SCHEDULER_ENABLED: 'true' }).SCHEDULER_ENABLED).toBe(true);
    expect(() => loadConfig(schedulerConfigSchema, { SCHEDULER_ENABLED: 'maybe' })).toThrow(/SCHEDULER_ENABLED/);
  });
});
