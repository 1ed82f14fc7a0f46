import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { connect } from 'nats';
import { Streams } from '@refresher/contracts';
import { watchTokens } from '@refresher/token-feed';
import { waitFor } from '@refresher/testkit';
import {
  brokerFigures,
  CUT_LOGINS,
  expectBrokerRulesKept,
  outcomeCounts,
  outcomeFigures,
  report,
  runFigures,
  useRig,
  waitForRun,
} from './rig.ts';

const USERS = 500;
/** Users refreshed after the kill before the node may come back, and how long it stays away after. */
const MOVED_ON = 25;
const MORE_DOWN_MS = 2_000;

/** A morning slot that fell a moment ago, which the scheduler fires as it starts (its catch-up). */
function morningNow(): Record<string, string> {
  const slot = new Date(Date.now() - 30_000);
  return {
    REFRESH_SCHEDULE: `${slot.getUTCMinutes()} ${slot.getUTCHours()} * * *`,
    REFRESH_TIMEZONE: 'UTC',
    SCHEDULER_CATCH_UP_MS: '180000',
  };
}

/**
 * A three-node JetStream cluster with STREAM_REPLICAS=3 and the four services connected to all
 * three URLs. During a morning of 500 users the server leading the request stream is killed
 * (SIGKILL); it comes back on its store once the run has moved on without it.
 *
 * Invariants: every user has exactly one recorded outcome, refreshed; the token stored for each is
 * the session IIFL holds as current for that client; a trading engine watching the token feed saw
 * every stored token; the broker's rules held (one login per account at a time, no TOTP step twice).
 */
describe('a NATS cluster node killed in the middle of a morning', () => {
  const rig = useRig({ users: USERS, prefix: 'cluster', natsCluster: true, env: CUT_LOGINS.env }, (r) => r.sim.setKnobs(CUT_LOGINS.knobs));

  it('loses no user and hands every engine the current session', async () => {
    const cluster = rig.cluster!;
    const engineNc = await connect({ servers: cluster.url.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    const seen = new Map<string, Set<string>>();
    const feed = watchTokens(engineNc);
    const following = (async () => {
      for await (const t of feed) {
        if (!seen.has(t.userID)) seen.set(t.userID, new Set());
        seen.get(t.userID)!.add(t.token);
      }
    })();
    try {
      const [, , gateway] = await Promise.all([rig.start('iifl-auth'), rig.start('iifl-auth'), rig.start('gateway')]);
      const startedAt = new Date();
      await rig.start('scheduler', morningNow());
      const runId = await waitFor('the scheduled run', async () => {
        const { rows } = await rig.sql.query<{ run_id: string }>(
          `select run_id from refresh_runs where trigger = 'schedule' and requested_at > $1`,
          [startedAt],
        );
        return rows[0]?.run_id;
      });
      await waitFor(
        'a fifth of the users refreshed',
        async () => ((await outcomeCounts(rig.sql, runId))['refreshed'] ?? 0) >= USERS / 5,
        60_000,
      );
      const doneAtKill = (await outcomeCounts(rig.sql, runId))['refreshed'] ?? 0;

      const leader = await cluster.leaderOf(Streams.requests.name);
      await leader.stop('SIGKILL');
      const killedAt = Date.now();
      // The other two carry on: the node stays down until the run has moved on without it (with
      // one copy of the streams it could not), and some seconds more.
      const refreshed = async () => ((await outcomeCounts(rig.sql, runId))['refreshed'] ?? 0) - doneAtKill;
      await waitFor('the run moving on without the killed node', async () => (await refreshed()) >= MOVED_ON, 90_000, 100);
      const movedOnAfterMs = Date.now() - killedAt;
      await sleep(MORE_DOWN_MS);
      const progressWhileDown = await refreshed();
      await leader.start();
      await waitForRun(rig, runId, 180_000);

      const { rows: requestedRows } = await rig.sql.query<{ user_id: string }>('select user_id from refresh_outcomes where run_id = $1', [
        runId,
      ]);
      const requested = requestedRows.map((r) => r.user_id);
      const f = await runFigures(rig, runId, requested);
      const { rows } = await rig.sql.query<{ userID: string; token: string }>(
        'select "userID", token from "IIFLUser" where "userID" = any($1)',
        [requested],
      );
      const notCurrent = rows.filter((r) => rig.sim.currentSession(r.userID) !== r.token).map((r) => r.userID);
      const unseen = () => rows.filter((r) => !seen.get(r.userID)?.has(r.token)).map((r) => r.userID);
      await waitFor('every stored token at the engine', () => unseen().length === 0, 30_000).catch(() => {});
      // The gateway, on the cluster as well, reports the run as persistence recorded it.
      const answer = await fetch(`http://127.0.0.1:${gateway.port}/api/integration/tokens/runs/${runId}`, {
        headers: { authorization: `Bearer ${rig.env['INTEGRATION_API_KEY']}` },
      });
      const summary = (await answer.json()) as { refreshed: number; failed: number; pending: number; completedAt: string | null };
      const jsm = await rig.nc.jetstreamManager();
      const rejoined = await waitFor(`${leader.name} current again`, async () => {
        const { cluster: group } = await jsm.streams.info(Streams.requests.name);
        const peers = [{ name: group?.leader, current: true }, ...(group?.replicas ?? [])];
        return peers.length === 3 && peers.every((p) => p.current) ? peers : undefined;
      });
      report('nats-cluster', {
        users: USERS,
        faults: `leader of ${Streams.requests.name} (${leader.name}) SIGKILL at ${doneAtKill}/${USERS} refreshed, restarted on its store ${MORE_DOWN_MS} ms after the run moved on`,
        ...outcomeFigures(f),
        ...brokerFigures(rig.sim.stats()),
        movedOnAfterMs,
        progressWhileDown,
        notCurrent: notCurrent.length,
        unseenByEngine: unseen().length,
        newLeader: (await jsm.streams.info(Streams.requests.name)).cluster?.leader,
      });

      // The other two carried on: the run moved while the leader was down (one copy could not).
      expect(progressWhileDown).toBeGreaterThanOrEqual(MOVED_ON);
      expect(requested).toHaveLength(USERS);
      expect(f.losses).toBe(0);
      expect(f.distinctOutcomes).toBe(USERS);
      expect(f.outcomes).toEqual({ refreshed: USERS, failed: 0, skipped: 0, pending: 0 });
      expect(rows).toHaveLength(USERS);
      expect(summary).toMatchObject({ refreshed: USERS, failed: 0, pending: 0 });
      expect(summary.completedAt).not.toBeNull();
      expect(notCurrent).toEqual([]);
      expect(unseen()).toEqual([]);
      expect(rejoined.map((p) => p.name)).toContain(leader.name);
      expectBrokerRulesKept(rig.sim.stats());
      for (const service of rig.services) expect(service.child.exitCode).toBeNull();
    } finally {
      feed.stop();
      await following.catch(() => {});
      await engineNc.close();
    }
  }, 300_000);
});
