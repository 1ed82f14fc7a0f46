import { setTimeout as sleep } from 'node:timers/promises';
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
  let rig: Rig;

  beforeAll(async () => {
    rig = await startRig({
      users: USERS,
      prefix: 'natsdown',
      env: { AUTH_CONCURRENCY: '12', AUTH_ACK_WAIT_MS: '5000', AUTH_LOGIN_LOCK_TTL_MS: '9000', AUTH_FETCH_EXPIRES_MS: '1000' },
    });
    rig.sim.setKnobs({ latencyMs: 25, jitterMs: 25, loginTokenTtlMs: 4_000, authCodeTtlMs: 4_000 });
  }, 120_000);

  afterAll(() => rig?.stop());

  it('no outcome is lost and every service resumes its consumers', async () => {
    await Promise.all([rig.start('iifl-auth'), rig.start('iifl-auth')]);
    const { runId, requested, refreshedSoFar: doneAtCrash } = await startRunAndWaitForAFifth(rig);
    expect(requested).toHaveLength(USERS);
    await rig.nats.stop('SIGKILL');
    await sleep(OUTAGE_MS);
    await rig.nats.start();

    await waitForRun(rig, runId, 150_000);
    const f = await runFigures(rig, runId, requested);
    const sim = rig.sim.stats();
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
