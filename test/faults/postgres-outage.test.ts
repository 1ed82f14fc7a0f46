import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { outcomeFigures, report, runThroughFault, useRig } from './rig.ts';

const USERS = 150;
const OUTAGE_MS = 6_000;

/**
 * The database stopped in the middle of a run (a private PostgreSQL server, fast shutdown: every
 * session cut) and started again.
 *
 * Invariants: no outcome lost (losses == 0, distinct outcomes == users requested), every user
 * refreshed, and the rows are right: each user's stored token is the newest one published for it,
 * with loginStatus 'success'. While the database is away persistence acks nothing (events wait in
 * JetStream) and iifl-auth hands requests back (credentials cannot be read), then both catch up.
 */
describe('Postgres stopped in the middle of a run', () => {
  const rig = useRig(
    {
      database: 'private-server',
      users: USERS,
      prefix: 'pgdown',
      env: { AUTH_CONCURRENCY: '12', AUTH_NAK_DELAY_MS: '1000', AUTH_CREDENTIALS_TIMEOUT_MS: '2000', AUTH_FETCH_EXPIRES_MS: '1000' },
    },
    (r) => r.sim.setKnobs({ latencyMs: 25, jitterMs: 25 }),
  );

  it('no outcome is lost and the rows are right once the database is back', async () => {
    await rig.start('iifl-auth');
    const {
      runId,
      requested,
      doneAtFault: doneAtStop,
      figures: f,
      sim,
    } = await runThroughFault(rig, async () => {
      await rig.postgres!.stop();
      await sleep(OUTAGE_MS);
      await rig.postgres!.start();
    });

    // Rows: the stored token of each user is the newest one published for it.
    const { rows } = await rig.sql.query<{ userID: string; token: string; lastLoginTime: Date; loginStatus: string }>(
      'select "userID", token, "lastLoginTime", "loginStatus" from "IIFLUser" where "userID" = any($1)',
      [requested],
    );
    const wrongRows = rows.filter((r) => {
      const want = f.newestLogins.get(r.userID);
      return !want || r.token !== want.token || r.lastLoginTime.getTime() !== want.loginTime || r.loginStatus !== 'success';
    });
    const runRow = await rig.sql.query('select refreshed_count, failed_count, completed_at from refresh_runs where run_id = $1', [runId]);

    report('postgres-outage', {
      users: USERS,
      faults: `Postgres fast shutdown at ${doneAtStop}/${USERS} outcomes, down ${OUTAGE_MS} ms`,
      ...outcomeFigures(f),
      wrongRows: wrongRows.length,
      sessionsIssued: sim.sessionsIssued,
    });

    expect(f.losses).toBe(0);
    expect(f.distinctOutcomes).toBe(USERS);
    expect(f.outcomes).toEqual({ refreshed: USERS, failed: 0, skipped: 0, pending: 0 });
    expect(rows).toHaveLength(USERS);
    expect(wrongRows).toEqual([]);
    expect(runRow.rows[0]).toMatchObject({ refreshed_count: USERS, failed_count: 0 });
    expect(runRow.rows[0].completed_at).not.toBeNull();
    for (const service of rig.services) expect(service.child.exitCode).toBeNull();
  }, 240_000);
});
