import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startRefreshRun } from '@refresher/refresh-runs';
import { waitFor } from '@refresher/testkit';
import { report, useRig, waitForRun, type Rig } from './rig.ts';

const USERS = 24;
/** The last WRONG accounts are stored with a password IIFL refuses. */
const WRONG = 4;
const OUTAGE_MS = 60_000;

/** A daily schedule whose slot fell `agoMs` ago (caught up at start), and a deadline `inMs` from now, in UTC. */
function morningEnv(agoMs: number, inMs: number): Record<string, string> {
  const slot = new Date(Date.now() - agoMs);
  const deadline = new Date(Date.now() + inMs).toISOString().slice(11, 19);
  return {
    REFRESH_SCHEDULE: `${slot.getUTCMinutes()} ${slot.getUTCHours()} * * *`,
    REFRESH_TIMEZONE: 'UTC',
    SCHEDULER_CATCH_UP_MS: '180000',
    REFRESH_DEADLINE: deadline,
    REFRESH_PASS_DELAY_MS: '10000',
    REFRESH_PASS_MAX_DELAY_MS: '20000',
  };
}

async function runsOf(rig: Rig, root: string): Promise<{ run_id: string; requested_count: number; completed: boolean }[]> {
  const { rows } = await rig.sql.query<{ run_id: string; requested_count: number; completed: boolean }>(
    `select run_id, requested_count, completed_at is not null as completed from refresh_runs
     where run_id = $1 or retry_of = $1 order by requested_at`,
    [root],
  );
  return rows;
}

/** Each user's latest outcome over the morning's run and its passes. */
async function latestOutcomes(rig: Rig, root: string): Promise<Map<string, { outcome: string; code: string | null }>> {
  const { rows } = await rig.sql.query<{ user_id: string; outcome: string; code: string | null }>(
    `select distinct on (o.user_id) o.user_id, o.outcome, o.code
     from refresh_outcomes o join refresh_runs r using (run_id)
     where r.run_id = $1 or r.retry_of = $1 order by o.user_id, r.requested_at desc`,
    [root],
  );
  return new Map(rows.map((r) => [r.user_id, { outcome: r.outcome, code: r.code }]));
}

async function scheduledRoot(rig: Rig, after: Date): Promise<string> {
  return waitFor(
    'the scheduled run',
    async () => {
      const { rows } = await rig.sql.query<{ run_id: string }>(
        `select run_id from refresh_runs where trigger = 'schedule' and retry_of is null and requested_at > $1`,
        [after],
      );
      return rows[0]?.run_id;
    },
    30_000,
  );
}

async function readiness(port: number): Promise<{ code: number; body: { status: string; morning?: Record<string, number> } }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { code: res.status, body: (await res.json()) as { status: string; morning?: Record<string, number> } };
}

/**
 * The morning guarantee against a broker outage: the scheduled run meets a 60-second IIFL outage,
 * and later passes refresh every affected user before the deadline; a user whose credentials IIFL
 * refused is never called again. Then a morning whose outage outlasts its deadline: the users stay
 * failed, no pass starts after the deadline, and readiness says degraded with their count.
 */
describe('second passes until the deadline', () => {
  const rig = useRig({ users: USERS, prefix: 'pass', wrongPasswords: WRONG });
  const ids = () => rig.accounts.map((a) => a.clientId);
  const passwordRefusals = (user: string) => rig.sim.stats().clients[user]?.failures['EC016'] ?? 0;

  it('a 60-second outage at the scheduled run: later passes refresh every affected user', async () => {
    await rig.start('iifl-auth', { AUTH_RETRY_DEADLINE_MS: '5000' });
    const wrong = ids().slice(USERS - WRONG);
    // Two wrong passwords were refused the day before: their marks stand, the morning skips them.
    for (const userID of wrong.slice(0, 2)) {
      const run = await startRefreshRun(rig.nc, { trigger: 'cli', userID });
      expect((await run.waitForUser(userID, 30_000))?.code).toBe('BAD_CREDENTIALS');
      run.close();
    }

    const outageStarted = Date.now();
    rig.sim.setKnobs({ outage: true });
    const startedAt = new Date();
    const scheduler = await rig.start('scheduler', { ...morningEnv(30_000, 4 * 60_000), LOG_LEVEL: 'info' });
    const root = await scheduledRoot(rig, startedAt);
    await waitForRun(rig, root, 60_000);
    const morning = await latestOutcomes(rig, root);
    expect([...morning.values()].filter((o) => o.code === 'BROKER_UNAVAILABLE')).toHaveLength(USERS - 2);

    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - outageStarted)));
    rig.sim.setKnobs({ outage: false });

    const final = await waitFor(
      'every user refreshed or refused',
      async () => {
        const latest = await latestOutcomes(rig, root);
        const open = [...latest.values()].filter((o) => o.outcome === 'pending' || o.code === 'BROKER_UNAVAILABLE');
        return open.length === 0 ? latest : undefined;
      },
      150_000,
      500,
    );
    const runs = await runsOf(rig, root);
    report('morning-passes', { users: USERS, outageMs: OUTAGE_MS, runs: runs.map((r) => [r.run_id, r.requested_count]) });

    for (const user of ids().slice(0, USERS - WRONG)) expect(final.get(user)?.outcome, user).toBe('refreshed');
    for (const user of wrong.slice(0, 2)) expect(final.get(user)?.code).toBe('CREDENTIALS_REJECTED');
    for (const user of wrong.slice(2)) expect(final.get(user)?.code).toBe('BAD_CREDENTIALS');
    // IIFL refused each wrong password once: a refused account is never part of a pass.
    for (const user of wrong) expect(passwordRefusals(user), user).toBe(1);
    expect(runs.length).toBeGreaterThan(1);
    expect(runs.slice(1).every((r) => r.run_id.startsWith(`${root}-p`))).toBe(true);

    // The passes end once no transient failure is left: the scheduler says so, and nothing more starts.
    await waitFor('the scheduler to end the passes', () => (scheduler.output().includes('morning complete') ? true : undefined), 30_000);
    expect(await runsOf(rig, root)).toHaveLength(runs.length);
    const ready = await readiness(scheduler.port);
    expect(ready.code).toBe(200);
    // The four refused accounts need a person; everybody else holds a token.
    expect(ready.body).toMatchObject({ status: 'degraded', morning: { needsAttention: WRONG, refreshed: USERS - WRONG } });
    await scheduler.stop('SIGTERM');
  }, 300_000);

  it('an outage that outlasts the deadline: users stay failed and readiness says degraded', async () => {
    rig.sim.setKnobs({ outage: true });
    const startedAt = new Date();
    const scheduler = await rig.start('scheduler', { ...morningEnv(15_000, 30_000), LOG_LEVEL: 'info' });
    const root = await scheduledRoot(rig, startedAt);
    // The scheduler gives the morning up at its deadline: no pass can start after that line.
    await waitFor(
      'the deadline',
      () => (/deadline reached|not complete by the deadline/.test(scheduler.output()) ? true : undefined),
      60_000,
    );
    const runsAtDeadline = await runsOf(rig, root);
    // A pass that started before the deadline runs to its end (IIFL is still down meanwhile).
    await waitFor(
      'the last pass to complete',
      async () => ((await runsOf(rig, root)).every((r) => r.completed) ? true : undefined),
      60_000,
    );
    // IIFL comes back after the deadline: nobody starts another pass for this morning.
    rig.sim.setKnobs({ outage: false });

    const runs = await runsOf(rig, root);
    const latest = await latestOutcomes(rig, root);
    const failed = [...latest.values()].filter((o) => o.outcome === 'failed' && o.code === 'BROKER_UNAVAILABLE');
    report('morning-past-deadline', { runs: runs.map((r) => [r.run_id, r.requested_count]), stillFailed: failed.length });

    expect(runs).toHaveLength(runsAtDeadline.length);
    expect(failed).toHaveLength(USERS - WRONG);
    const ready = await readiness(scheduler.port);
    expect(ready.code).toBe(200);
    expect(ready.body).toMatchObject({ status: 'degraded', morning: { needsAttention: USERS, refreshed: 0 } });
  }, 180_000);
});
