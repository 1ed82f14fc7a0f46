import { describe, expect, it } from 'vitest';
import {
  brokerFigures,
  CUT_LOGINS,
  expectBrokerRulesKept,
  expectEveryUserRefreshed,
  outcomeFigures,
  report,
  runThroughFault,
  useRig,
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
  const rig = useRig({ users: USERS, prefix: 'kill', env: CUT_LOGINS.env }, (r) => r.sim.setKnobs(CUT_LOGINS.knobs));

  it('every user ends with exactly one outcome, no account logged in twice at once', async () => {
    const [victim] = await Promise.all([rig.start('iifl-auth'), rig.start('iifl-auth')]);
    // Kill while the run is well under way: some done, many in flight or queued.
    const { requested, doneAtFault: doneAtKill, figures: f, sim } = await runThroughFault(rig, () => victim!.stop('SIGKILL'));
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
