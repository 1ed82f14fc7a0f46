import { describe, expect, it } from 'vitest';
import { Streams } from '@refresher/contracts';
import { waitFor } from '@refresher/testkit';
import { report, runFigures, useRig, waitForRun } from './rig.ts';

const USERS = 40;

/**
 * Two scheduler replicas, as processes, firing the same slot at the same moment
 * (SCHEDULER_CATCH_UP_MS makes each fire the latest slot at start; the slot time names the run).
 *
 * Invariants: one run (one refresh_runs row), one request stored per user (the requests stream
 * holds USERS messages in all), one login per user, and one outcome per user; a replica started
 * after the run, still within the catch-up window, starts nothing again.
 */
describe('two scheduler replicas firing the same slot', () => {
  const rig = useRig({ users: USERS, prefix: 'sched' });

  it('make one run', async () => {
    await rig.start('iifl-auth');
    // A daily slot one minute ago, caught up at start (window 3 minutes): both replicas fire it
    // at once, and the next one is a day away.
    const slot = new Date(Date.now() - 60_000);
    const env = {
      REFRESH_SCHEDULE: `${slot.getUTCMinutes()} ${slot.getUTCHours()} * * *`,
      REFRESH_TIMEZONE: 'UTC',
      SCHEDULER_CATCH_UP_MS: '180000',
    };
    await Promise.all([rig.start('scheduler', env), rig.start('scheduler', env)]);

    const runIds = await waitFor(
      'the scheduled run',
      async () => {
        const { rows } = await rig.sql.query<{ run_id: string }>('select run_id from refresh_runs');
        return rows.length > 0 ? rows.map((r) => r.run_id) : undefined;
      },
      30_000,
    );
    const runId = runIds[0]!;
    await waitForRun(rig, runId, 120_000);
    const { rows: runs } = await rig.sql.query<{ run_id: string }>('select run_id from refresh_runs');
    const f = await runFigures(
      rig,
      runId,
      rig.accounts.map((a) => a.clientId),
    );
    const stream = await (await rig.nc.jetstreamManager()).streams.info(Streams.requests.name);
    const sessions = rig.sim.stats().sessionsIssued;

    report('scheduler-replicas', {
      users: USERS,
      faults: '2 scheduler replicas fire the same slot at start',
      runs: runs.length,
      requestsStored: stream.state.last_seq,
      outcomes: f.outcomes,
      duplicates: f.duplicates,
      losses: f.losses,
      sessionsIssued: sessions,
    });

    expect(runs).toHaveLength(1);
    expect(stream.state.last_seq).toBe(USERS);
    expect(f.losses).toBe(0);
    expect(f.outcomes).toEqual({ refreshed: USERS, failed: 0, skipped: 0, pending: 0 });
    expect(f.duplicates).toBe(0);
    expect(sessions).toBe(USERS);

    // A replica started later in the catch-up window sees the slot ran and starts nothing again.
    const late = await rig.start('scheduler', { ...env, LOG_LEVEL: 'info' });
    await waitFor('the late replica to decide', () => (late.output().includes('nothing to catch up') ? true : undefined), 30_000);
    expect((await (await rig.nc.jetstreamManager()).streams.info(Streams.requests.name)).state.last_seq).toBe(USERS);
    expect(rig.sim.stats().sessionsIssued).toBe(USERS);
  }, 180_000);
});
