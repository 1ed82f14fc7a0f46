import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  brokerFigures,
  expectBrokerRulesKept,
  expectEveryUserRefreshed,
  outcomeFigures,
  report,
  runFigures,
  startRig,
  startRunAndWaitForAFifth,
  waitForRun,
  type Rig,
} from './rig.ts';

const USERS = 200;

/**
 * SIGKILL of one iifl-auth replica out of two while a run of a few hundred users is in flight.
 *
 * Invariants: every requested user ends with exactly one recorded outcome (distinct outcomes ==
 * users requested, losses == 0), all of them `refreshed`; the broker never saw two logins of one
 * account at once (simulator maxConcurrentLoginsPerClient <= 1) nor one TOTP step used twice
 * (totpStepReuse == 0), and its per-session rate limits (the spec's, on by default) were never hit
 * (rateLimited == 0). Duplicate outcome events are tolerated (a login whose event was published
 * just before the kill is announced again after the redelivery): the run row records one.
 */
describe('an iifl-auth replica killed in the middle of a run', () => {
  let rig: Rig;

  beforeAll(async () => {
    rig = await startRig({
      users: USERS,
      prefix: 'kill',
      env: {
        AUTH_CONCURRENCY: '12',
        AUTH_ACK_WAIT_MS: '5000',
        AUTH_LOGIN_LOCK_TTL_MS: '9000',
        AUTH_FETCH_EXPIRES_MS: '1000',
      },
    });
    // A login abandoned by the killed replica expires at the broker within 4 s: before the lock
    // of its account expires (>= 6 s after the kill), so a new login never overlaps it.
    rig.sim.setKnobs({ latencyMs: 25, jitterMs: 25, loginTokenTtlMs: 4_000, authCodeTtlMs: 4_000 });
  }, 120_000);

  afterAll(() => rig?.stop());

  it('every user ends with exactly one outcome, no account logged in twice at once', async () => {
    const [victim] = await Promise.all([rig.start('iifl-auth'), rig.start('iifl-auth')]);
    // Kill while the run is well under way: some done, many in flight or queued.
    const { runId, requested, refreshedSoFar: doneAtKill } = await startRunAndWaitForAFifth(rig);
    expect(requested).toHaveLength(USERS);
    await victim!.stop('SIGKILL');

    await waitForRun(rig, runId, 150_000);
    const f = await runFigures(rig, runId, requested);
    const sim = rig.sim.stats();
    report('sigkill-iifl-auth', {
      users: USERS,
      faults: `SIGKILL of 1 of 2 iifl-auth replicas at ${doneAtKill}/${USERS} outcomes`,
      ...outcomeFigures(f),
      ...brokerFigures(sim),
    });

    expectEveryUserRefreshed(f, USERS);
    expectBrokerRulesKept(sim);
    // Each stored token is the newest one issued for the user (never an older one).
    const { rows } = await rig.sql.query<{ userID: string; lastLoginTime: Date }>(
      'select "userID", "lastLoginTime" from "IIFLUser" where "userID" = any($1)',
      [requested],
    );
    for (const row of rows) expect(row.lastLoginTime.getTime()).toBe(f.newestLogins.get(row.userID)?.loginTime);
  }, 240_000);
});
