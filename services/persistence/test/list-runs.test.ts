import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { PersistenceApi, ServiceErrorCode, type RunHeader } from '@refresher/contracts';
import { ServiceCallError } from '@refresher/platform';
import { realUser, useHarness } from './harness.ts';

const h = useHarness();

async function serviceError(promise: Promise<unknown>): Promise<ServiceCallError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ServiceCallError);
  return err as ServiceCallError;
}

/** A run row as persistence would have registered it, at a given instant (microseconds allowed). */
async function insertRun(runId: string, at: string, userID: string | null = null): Promise<void> {
  await sql`insert into refresh_runs (run_id, trigger, user_id, requested_at, total, requested_count)
    values (${runId}, 'schedule', ${userID}, ${at}::timestamptz, 0, 0)`.execute(h.persistence.db);
}

/** Every page from the first, following `next`. */
async function allPages(limit: number, between: () => Promise<void> = async () => {}): Promise<RunHeader[][]> {
  const pages: RunHeader[][] = [];
  let before: string | undefined;
  do {
    const page = await h.call(PersistenceApi.listRuns, { limit, ...(before ? { before } : {}) });
    pages.push(page.runs);
    before = page.next ?? undefined;
    await between();
  } while (before);
  return pages;
}

describe('persistence.runs.list', () => {
  it('pages newest first by key: each run exactly once, ties and microseconds included, runs started meanwhile left out', async () => {
    // Three runs share one millisecond, two differ by a microsecond only, the rest are a minute apart.
    const instants: [string, string][] = [
      ['run-a', '2020-12-01T03:00:00.000Z'],
      ['run-b', '2020-12-01T03:00:00.000Z'],
      ['run-c', '2020-12-01T03:00:00.000Z'],
      ['run-d', '2020-12-01T03:00:00.000001Z'],
      ['run-e', '2020-12-01T03:00:00.000002Z'],
    ];
    for (let i = 0; i < 18; i += 1)
      instants.push([`run-m${String(i).padStart(2, '0')}`, `2020-12-01T04:${String(i).padStart(2, '0')}:00Z`]);
    for (const [runId, at] of instants) await insertRun(runId, at);

    const fixtures = [...instants]
      .sort(([idA, atA], [idB, atB]) => micros(atB) - micros(atA) || (idB > idA ? 1 : idB < idA ? -1 : 0))
      .map(([runId]) => runId);
    expect(fixtures.slice(-5)).toEqual(['run-e', 'run-d', 'run-c', 'run-b', 'run-a']);
    // Page sizes that put a boundary everywhere (1), inside the three-way tie (7: after run-c), and
    // between the runs a microsecond apart (19: after run-e).
    const started: string[] = [];
    for (const limit of [1, 7, 19, 100]) {
      const earlier = [...started];
      const pages = await allPages(limit, async () => {
        // A run registered between two pages is newer than every cursor: it shows on the first page of a later listing.
        if (started.length === earlier.length) started.unshift((await h.startRun({ trigger: 'api' })).runId);
      });
      const seen = pages.flat().map((r) => r.runId);
      expect(seen, `limit ${limit}`).toEqual([...earlier, ...fixtures]);
      expect(pages.slice(0, -1).every((p) => p.length === limit)).toBe(true);
    }
  });

  it('answers headers with counts, pending, retryOf and the one user; allUsersOnly leaves one-user runs out', async () => {
    await h.seed([realUser('A1'), realUser('B2')]);
    const all = await h.startRun({ trigger: 'schedule' });
    const one = await h.startRun({ trigger: 'cli', userID: 'B2' });
    const { runs, next } = await h.call(PersistenceApi.listRuns, {});
    expect(next).toBeNull();
    expect(runs).toEqual([
      {
        runId: one.runId,
        trigger: 'cli',
        userID: 'B2',
        retryOf: null,
        requestedAt: one.requestedAt,
        completedAt: null,
        total: 1,
        refreshed: 0,
        failed: 0,
        skipped: 0,
        pending: 1,
      },
      expect.objectContaining({ runId: all.runId, trigger: 'schedule', userID: null, total: 2, pending: 2 }),
    ]);
    const everyone = await h.call(PersistenceApi.listRuns, { allUsersOnly: true });
    expect(everyone.runs.map((r) => r.runId)).toEqual([all.runId]);
    expect(runs[0]).not.toHaveProperty('results');
  });

  it('takes 20 by default and at most 100; refuses another limit and a cursor it did not make', async () => {
    for (let i = 0; i < 25; i += 1) await insertRun(`run-${i}`, `2020-12-01T03:${String(i).padStart(2, '0')}:00Z`);
    const first = await h.call(PersistenceApi.listRuns, {});
    expect(first.runs).toHaveLength(20);
    expect(first.next).not.toBeNull();
    expect((await h.call(PersistenceApi.listRuns, { limit: 100 })).runs).toHaveLength(25);

    for (const payload of ['{"limit":101}', '{"limit":0}', '{"limit":2.5}']) {
      expect((await h.raw(PersistenceApi.listRuns, payload)).code).toBe(ServiceErrorCode.BadRequest);
    }
    for (const before of ['bm90IGEgY3Vyc29y', Buffer.from('2026-13-45T00:00:00.000000Z run-1').toString('base64url')]) {
      const refused = await serviceError(h.call(PersistenceApi.listRuns, { before }));
      expect(refused.code).toBe(ServiceErrorCode.BadRequest);
      expect(refused.message).toMatch(/before is not a cursor/);
    }
  });
});

describe('persistence.admin.users.clear-rejections', () => {
  it('lifts one user’s mark, then every remaining one; all-users runs log them in again', async () => {
    await h.seed([realUser('A1'), realUser('B2'), realUser('C3')]);
    await h.markRejected('A1', 'BAD_CREDENTIALS');
    await h.markRejected('B2', 'ACCOUNT_BLOCKED');
    expect((await h.startRun({ trigger: 'api' })).skipped.map((u) => u.userID)).toEqual(['A1', 'B2']);

    expect(await h.call(PersistenceApi.clearRejections, { userID: 'A1' })).toEqual({ cleared: ['A1'] });
    expect(await h.call(PersistenceApi.clearRejections, { userID: 'A1' })).toEqual({ cleared: [] });
    expect(await h.call(PersistenceApi.clearRejections, { userID: 'C3' })).toEqual({ cleared: [] });
    const afterOne = await h.startRun({ trigger: 'api' });
    expect(afterOne.requested.map((u) => u.userID)).toEqual(['A1', 'C3']);
    expect(afterOne.skipped.map((u) => u.userID)).toEqual(['B2']);

    await h.markRejected('C3', 'BAD_TOTP');
    expect(await h.call(PersistenceApi.clearRejections, {})).toEqual({ cleared: ['B2', 'C3'] });
    expect((await h.startRun({ trigger: 'api' })).requested.map((u) => u.userID)).toEqual(['A1', 'B2', 'C3']);
    const marks = await sql<{ n: string }>`select count(*) as n from user_refresh_state where credentials_rejected_at is not null`.execute(
      h.persistence.db,
    );
    expect(Number(marks.rows[0]!.n)).toBe(0);
  });

  it('answers 404 for an unknown user', async () => {
    const refused = await serviceError(h.call(PersistenceApi.clearRejections, { userID: 'NOBODY' }));
    expect(refused.code).toBe(ServiceErrorCode.NotFound);
    expect(refused.message).toBe('user NOBODY not found');
  });
});

/** An ISO instant with up to six decimals, as microseconds since the epoch. */
function micros(at: string): number {
  const match = /^(.*:\d{2})(?:\.(\d{1,6}))?Z$/.exec(at)!;
  return Date.parse(`${match[1]}Z`) * 1000 + Number((match[2] ?? '').padEnd(6, '0'));
}
