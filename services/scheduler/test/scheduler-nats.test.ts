import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, loadConfig, ServiceCallError } from '@refresher/platform';
import { startNats, waitFor, type TestNats } from '@refresher/testkit';
import { schedulerConfigSchema, SchedulerStoppedError, slotRunId, startScheduler } from '../src/index.ts';

// Without persistence running: what a replica does while persistence does not answer.
let nats: TestNats;
const log = createLogger('scheduler-test', 'silent');

beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats?.dispose();
});

function config(env: Record<string, string> = {}) {
  return loadConfig(schedulerConfigSchema, { NATS_URL: nats.url, HEALTH_PORT: '0', ...env });
}

describe('scheduler without persistence', () => {
  it('serves health with the next fire time', async () => {
    const scheduler = await startScheduler(config({ REFRESH_SCHEDULE: '0 3 * * *' }), { log });
    try {
      const res = await fetch(`http://127.0.0.1:${scheduler.healthPort}/healthz`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      const next = scheduler.nextRun();
      expect(next).not.toBeNull();
      expect(body).toMatchObject({
        status: 'ok',
        enabled: true,
        timezone: 'Asia/Kolkata',
        nextRun: next!.toISOString(),
        nextRunId: slotRunId(next!),
      });
      // 03:00 in India is 21:30 UTC.
      expect(next!.toISOString()).toMatch(/T21:30:00\.000Z$/);
      expect(next!.getTime()).toBeGreaterThan(Date.now());
    } finally {
      await scheduler.stop();
    }
  });

  it('has no next fire time when disabled through the legacy switch', async () => {
    const scheduler = await startScheduler(config({ ENABLE_LOCAL_IIFL_LOGIN: 'false' }), { log });
    try {
      expect(scheduler.nextRun()).toBeNull();
      const body = (await (await fetch(`http://127.0.0.1:${scheduler.healthPort}/healthz`)).json()) as object;
      expect(body).toMatchObject({ status: 'ok', enabled: false, nextRun: null });
    } finally {
      await scheduler.stop();
    }
  });

  it('fires on the schedule, naming the run after the scheduled second', async () => {
    const scheduler = await startScheduler(
      config({ REFRESH_SCHEDULE: '* * * * * *', REFRESH_TIMEZONE: 'UTC', SCHEDULER_START_RETRY_MS: '0' }),
      { log },
    );
    try {
      const lastRun = await waitFor('a scheduled fire', async () => {
        const body = (await (await fetch(`http://127.0.0.1:${scheduler.healthPort}/healthz`)).json()) as {
          lastRun: { runId: string; ok: boolean } | null;
        };
        return body.lastRun ?? undefined;
      });
      // Persistence is not running, so the start failed; the id still comes from the slot.
      expect(lastRun.ok).toBe(false);
      expect(lastRun.runId).toMatch(/^sched-\d{8}T\d{4}(\d{2})?Z$/);
    } finally {
      await scheduler.stop();
    }
  });

  it('retries for a bounded time, then gives up with the service error', async () => {
    const scheduler = await startScheduler(config({ SCHEDULER_START_RETRY_MS: '1500' }), { log });
    try {
      const error = await scheduler.fireSlot(new Date('2026-11-29T21:30:00Z')).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(ServiceCallError);
      expect((error as ServiceCallError).code).toBe(503);
    } finally {
      await scheduler.stop();
    }
  });

  it('stop() ends a fire that is waiting to retry', async () => {
    const scheduler = await startScheduler(config({ SCHEDULER_START_RETRY_MS: '600000' }), { log });
    const fire = scheduler.fireSlot(new Date('2026-11-29T21:30:00Z')).catch((err: unknown) => err);
    await scheduler.stop();
    expect(await fire).toBeInstanceOf(SchedulerStoppedError);
  });
});
