import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { Streams, Subjects } from '@refresher/contracts';
import { createLogger, loadConfig } from '@refresher/platform';
import { integrationUser, realUser, usePipeline, waitFor } from '@refresher/testkit';
import { schedulerConfigSchema, slotRunId, startScheduler, type Scheduler } from '../src/index.ts';

// Two scheduler replicas against the real persistence service (its own process), NATS and Postgres.
// No iifl-auth runs, so the refresh requests stay in the TOKEN_REQUESTS work queue where they can be
// counted.
const REAL_USERS = ['SR1', 'SR2', 'SR3'];
const pipeline = usePipeline({ users: [...REAL_USERS.map((userID) => realUser(userID)), integrationUser('SP1')] });
const schedulers: Scheduler[] = [];

async function startReplica(log = createLogger('scheduler-test', 'silent')): Promise<Scheduler> {
  const config = loadConfig(schedulerConfigSchema, {
    NATS_URL: pipeline.nats.url,
    HEALTH_PORT: '0',
    SCHEDULER_START_RETRY_MS: '60000',
  });
  const scheduler = await startScheduler(config, { log });
  schedulers.push(scheduler);
  return scheduler;
}

/** Messages per subject in the requests stream. */
async function queuedRequests(): Promise<Record<string, number>> {
  const jsm = await pipeline.nc.jetstreamManager();
  const info = await jsm.streams.info(Streams.requests.name, { subjects_filter: '>' });
  return info.state.subjects ?? {};
}

afterAll(() => Promise.all(schedulers.map((s) => s.stop())));

describe('two scheduler replicas', () => {
  it('start one run for a slot they both fire, and queue one request per user', async () => {
    const [a, b] = await Promise.all([startReplica(), startReplica()]);
    const slot = new Date('2026-11-29T21:30:00.000Z');

    const [ra, rb] = await Promise.all([a!.fireSlot(slot), b!.fireSlot(slot)]);

    expect(ra.runId).toBe('sched-20261129T2130Z');
    expect(rb.runId).toBe(ra.runId);
    expect([ra.created, rb.created].sort()).toEqual([false, true]);
    for (const r of [ra, rb]) {
      expect(r.requested.map((u) => u.userID).sort()).toEqual(REAL_USERS);
      expect(r.skipped).toEqual([{ userID: 'SP1', clientName: 'Partner SP1', reason: 'INTEGRATION_MANAGED' }]);
    }

    const queued = await queuedRequests();
    expect(queued).toEqual(Object.fromEntries(REAL_USERS.map((u) => [Subjects.refreshRequested(u), 1])));

    // A late third fire of the same slot (a replica that was slow to wake up) adds nothing either.
    const late = await a!.fireSlot(new Date(slot.getTime()));
    expect(late.created).toBe(false);
    expect(await queuedRequests()).toEqual(queued);
  });

  it('keeps retrying while persistence is down and starts the run once it is back', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const scheduler = await startReplica(createLogger('scheduler-test', 'info', sink));
    const slot = new Date('2026-11-30T21:30:00.000Z');
    const before = await queuedRequests();

    await pipeline.persistence.stop();
    const fire = scheduler.fireSlot(slot);
    await waitFor('a retry to be logged', () => lines.some((l) => l.includes('retrying')));
    await pipeline.restartPersistence();

    const start = await fire;
    expect(start).toMatchObject({ runId: slotRunId(slot), created: true });
    expect(start.requested).toHaveLength(REAL_USERS.length);
    const after = await queuedRequests();
    for (const u of REAL_USERS) {
      const subject = Subjects.refreshRequested(u);
      expect(after[subject]).toBe((before[subject] ?? 0) + 1);
    }
    const started = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'scheduled run started');
    expect(started).toMatchObject({ runId: slotRunId(slot), requested: 3, skipped: 1 });
  });
});
