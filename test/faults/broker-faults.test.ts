import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startRefreshRun } from '@refresher/refresh-runs';
import { waitFor } from '@refresher/testkit';
import { outcomeCounts, report, runFigures, useRig, waitForRun } from './rig.ts';

const USERS = 100;
const WRONG = 5;
const MAX_ATTEMPTS = 4;
const TRANSIENT = ['RATE_LIMITED', 'BROKER_UNAVAILABLE', 'TIMEOUT', 'UNEXPECTED_RESPONSE'];

/**
 * The simulated broker misbehaving during a run: a 429 storm, a share of 5xx answers, calls that
 * hang (IIFL_TIMEOUT_MS cuts them), and a full outage that ends; five users have a wrong password.
 *
 * Invariants: the run finishes (losses == 0, distinct outcomes == users requested); retries are
 * bounded (no outcome with more than AUTH_RETRY_MAX_ATTEMPTS attempts, no account with more password
 * calls than that); every failure carries its cause (a code and a message); a wrong password is
 * refused by the broker exactly once (one EC016, outcome BAD_CREDENTIALS: no attempt after the
 * refusal) and the next run skips the user (CREDENTIALS_REJECTED) without calling the broker.
 */
describe('broker faults during a run', () => {
  const rig = useRig({
    users: USERS,
    wrongPasswords: WRONG,
    prefix: 'broker',
    env: {
      AUTH_CONCURRENCY: '16',
      AUTH_RETRY_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      AUTH_RETRY_BASE_MS: '200',
      AUTH_RETRY_MAX_DELAY_MS: '1000',
      AUTH_RETRY_DEADLINE_MS: '15000',
      IIFL_TIMEOUT_MS: '1500',
      AUTH_FETCH_EXPIRES_MS: '1000',
    },
  });

  it('retries are bounded, the run finishes, each failure has its cause, a wrong password is tried once', async () => {
    await rig.start('iifl-auth');
    const wrongUsers = rig.accounts.slice(USERS - WRONG).map((a) => a.clientId);
    rig.sim.setKnobs({
      latencyMs: 20,
      jitterMs: 20,
      errorRate: 0.05,
      hangRate: 0.02,
      // A 429 storm: the first 60 password calls are refused.
      inject: [{ endpoint: 'validatepassword', httpStatus: 429, remaining: 60 }],
    });
    const run = await startRefreshRun(rig.nc, { trigger: 'cli' });
    run.close();
    const runId = run.start.runId;
    const requested = run.start.requested.map((u) => u.userID);
    expect(requested).toHaveLength(USERS);

    await waitFor(
      'a third of the run done',
      async () => {
        const c = await outcomeCounts(rig.sql, runId);
        return (c['refreshed'] ?? 0) + (c['failed'] ?? 0) >= USERS / 3 ? true : undefined;
      },
      90_000,
      50,
    );
    rig.sim.setKnobs({ outage: true });
    await sleep(2_000);
    rig.sim.setKnobs({ outage: false });

    await waitForRun(rig, runId, 150_000);
    const f = await runFigures(rig, runId, requested);
    const sim = rig.sim.stats();
    const passwordAttempts = (user: string) => sim.clients[user]?.passwordAttempts ?? 0;
    // How often the broker checked the password and refused it (EC016). A password call cut short by
    // a 429, a 5xx or a hang is counted by the simulator as a password attempt, but nobody can know
    // the password is wrong before the broker has said so: that is what must happen only once.
    const rejections = (user: string) => rig.sim.stats().clients[user]?.failures['EC016'] ?? 0;

    report('broker-faults', {
      users: USERS,
      faults: `429 storm (60 password calls), 5% 5xx, 2% hangs (timeout 1.5 s), 2 s outage, ${WRONG} wrong passwords`,
      injected: {
        http429: sim.injectedFaults,
        http5xxAndOutage503: sim.simulatedErrors,
        hung: sim.hungRequests,
      },
      maxConcurrentLoginsPerClient: sim.maxConcurrentLoginsPerClient,
      totpStepReuse: sim.totpStepReuse,
      outcomes: f.outcomes,
      failures: f.failures,
      distinctOutcomes: f.distinctOutcomes,
      duplicates: f.duplicates,
      losses: f.losses,
      maxAttemptsSeen: Math.max(...f.rows.map((r) => r.attempts ?? 0)),
      maxPasswordAttemptsPerAccount: Math.max(...requested.map(passwordAttempts)),
      wrongPasswordCalls: wrongUsers.map(passwordAttempts),
      wrongPasswordRejections: wrongUsers.map(rejections),
    });

    expect(f.losses).toBe(0);
    expect(f.distinctOutcomes).toBe(USERS);
    // Bounded retries.
    for (const row of f.rows) expect(row.attempts ?? 0).toBeLessThanOrEqual(MAX_ATTEMPTS);
    for (const user of requested) expect(passwordAttempts(user)).toBeLessThanOrEqual(MAX_ATTEMPTS);
    // Each failure carries its cause; wrong passwords are BAD_CREDENTIALS after exactly one try.
    for (const row of f.rows.filter((r) => r.outcome === 'failed')) {
      expect(row.message, row.user_id).toBeTruthy();
      if (wrongUsers.includes(row.user_id)) continue;
      expect(TRANSIENT, `${row.user_id}: ${row.code}`).toContain(row.code);
    }
    for (const user of wrongUsers) {
      // (An attempt cut short by a transient fault before the password step may come first.)
      expect(f.byUser.get(user)).toMatchObject({ outcome: 'failed', code: 'BAD_CREDENTIALS' });
      expect(rejections(user)).toBe(1);
    }
    // The faults really happened.
    expect(sim.injectedFaults).toBeGreaterThan(0);
    expect(sim.simulatedErrors).toBeGreaterThan(0);

    // The next run, with the broker healthy: the rejected users are skipped and not tried again.
    rig.sim.setKnobs({ errorRate: 0, hangRate: 0, inject: [] });
    const callsBefore = wrongUsers.map(passwordAttempts);
    const next = await startRefreshRun(rig.nc, { trigger: 'cli' });
    next.close();
    expect(next.start.skipped.map((s) => [s.userID, s.reason]).sort()).toEqual(wrongUsers.map((u) => [u, 'CREDENTIALS_REJECTED']).sort());
    const counts = await waitForRun(rig, next.start.runId, 120_000);
    expect(counts).toEqual({ refreshed: USERS - WRONG, skipped: WRONG });
    expect(wrongUsers.map((u) => rig.sim.stats().clients[u]?.passwordAttempts ?? 0)).toEqual(callsBefore);
    for (const user of wrongUsers) expect(rejections(user)).toBe(1);
  }, 240_000);
});
