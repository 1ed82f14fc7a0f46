import { setTimeout as sleep } from 'node:timers/promises';
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

const USERS = 150;
const OUTAGE_MS = 3_000;

/**
 * nats-server killed (SIGKILL) in the middle of a run and started again on the same store.
 *
 * Invariants: no outcome lost (losses == 0, distinct outcomes == users requested), every user
 * refreshed; nothing acknowledged before the crash is gone (every request published reached an
 * outcome); no two logins of one account at once. Duplicate outcome events are tolerated (a publish
 * whose ack was lost in the crash is repeated, or a login redone): the run records one per user.
 */
describe('NATS restarted in the middle of a run', () => {
  const rig = useRig({ users: USERS, prefix: 'natsdown', env: CUT_LOGINS.env }, (r) => r.sim.setKnobs(CUT_LOGINS.knobs));

  it('no outcome is lost and every service resumes its consumers', async () => {
    await Promise.all([rig.start('iifl-auth'), rig.start('iifl-auth')]);
    const {
      doneAtFault: doneAtCrash,
      figures: f,
      sim,
    } = await runThroughFault(rig, async () => {
      await rig.nats.stop('SIGKILL');
      await sleep(OUTAGE_MS);
      await rig.nats.start();
    });
    report('nats-restart', {
      users: USERS,
      faults: `nats-server SIGKILL at ${doneAtCrash}/${USERS} outcomes, down ${OUTAGE_MS} ms, restarted on the same store`,
      ...outcomeFigures(f),
      ...brokerFigures(sim),
    });

    expectEveryUserRefreshed(f, USERS);
    expectBrokerRulesKept(sim);
    // Every service is still up and answering health (they reconnected rather than exited).
    for (const service of rig.services) expect(service.child.exitCode).toBeNull();
  }, 240_000);
});
