import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { pruneRuns } from '../src/runs/prune-runs.ts';
import { realUser, useHarness } from './harness.ts';

const h = useHarness();

describe('pruning old runs (RUN_RETENTION_DAYS)', () => {
  it('deletes the runs older than the retention with their outcomes and passes, and keeps the rest', async () => {
    await h.seed([realUser('A1'), realUser('B2')]);
    const ids = ['old-morning', 'old-morning-p2', 'old-cli', 'recent'];
    for (const runId of ids) await h.startRun({ runId, trigger: 'api' });
    const db = h.persistence.db;
    await sql`update refresh_runs set retry_of = 'old-morning' where run_id = 'old-morning-p2'`.execute(db);
    await sql`update refresh_runs set requested_at = now() - interval '91 days' where run_id like 'old-%'`.execute(db);
    // Just inside the retention: kept.
    await sql`update refresh_runs set requested_at = now() - interval '89 days' where run_id = 'recent'`.execute(db);

    expect(await pruneRuns(db, 90)).toBe(3);
    const runs = await sql<{ run_id: string }>`select run_id from refresh_runs order by run_id`.execute(db);
    expect(runs.rows.map((r) => r.run_id)).toEqual(['recent']);
    const outcomes = await sql<{ run_id: string; n: string }>`select run_id, count(*) as n from refresh_outcomes group by run_id`.execute(
      db,
    );
    expect(outcomes.rows).toEqual([{ run_id: 'recent', n: '2' }]);
    // The users themselves are untouched.
    expect((await h.userRow('A1'))?.userID).toBe('A1');
    expect(await pruneRuns(db, 90)).toBe(0);
  });

  it('goes through a long history in several statements', async () => {
    await h.seed([realUser('A1')]);
    for (let i = 0; i < 120; i++) await h.startRun({ runId: `old-${i}`, trigger: 'api' });
    await sql`update refresh_runs set requested_at = now() - interval '200 days'`.execute(h.persistence.db);
    expect(await pruneRuns(h.persistence.db, 90)).toBe(120);
    expect((await sql`select 1 from refresh_runs`.execute(h.persistence.db)).rows).toHaveLength(0);
  });
});
