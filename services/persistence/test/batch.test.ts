process.env.TZ = 'Asia/Kolkata';

import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { Buckets, RunCompleted, RunOutcomeRecorded, Subjects, TokenFailed, TokenRefreshed } from '@refresher/contracts';
import { matchesFingerprint } from '@refresher/credential-crypto';
import { decodeJson, encodeJson } from '@refresher/platform';
import { applyOutcomeEvents, type EventToApply } from '../src/events/apply-events.ts';
import type { AppliedEvent } from '../src/events/recorded.ts';
import { failed, refreshed } from './fixtures.ts';
import { integrationUser, realUser, useHarness } from './harness.ts';

const h = useHarness();

const outcomeOf = (runId: string, userID: string) =>
  h.persistence.db
    .selectFrom('refresh_outcomes')
    .selectAll()
    .where('run_id', '=', runId)
    .where('user_id', '=', userID)
    .executeTakeFirstOrThrow();
/** The results of a batch none of whose groups failed. */
async function applyAll(events: EventToApply[]): Promise<AppliedEvent[]> {
  return (await applyOutcomeEvents(h.persistence.db, events)).map((r) => {
    if ('failed' in r) throw new Error(`not applied: ${String(r.failed)}`);
    return r;
  });
}
const runRow = (runId: string) =>
  h.persistence.db.selectFrom('refresh_runs').selectAll().where('run_id', '=', runId).executeTakeFirstOrThrow();

const asRefreshed = (event: TokenRefreshed): EventToApply => ({
  subject: Subjects.refreshed(event.userID),
  outcome: { kind: 'refreshed', event },
});
const asFailed = (event: TokenFailed): EventToApply => ({ subject: Subjects.failed(event.userID), outcome: { kind: 'failed', event } });

describe('a batch of outcome events', () => {
  it('has the effects of the same events applied one by one, guards included', async () => {
    const users = ['B1', 'B2', 'B3', 'B4', 'B5'];
    await h.seed(users.map((u) => realUser(u)));
    await h.startRun({ runId: 'run-batch', trigger: 'api' });
    // B4 already holds a token from a later login than the one in the batch.
    const later = refreshed('B4', null, '2026-11-30T03:10:00.000Z');
    await applyAll([asRefreshed(later)]);
    // B5's event was processed before: a redelivery changes nothing.
    const seen = refreshed('B5', 'run-batch', '2026-11-30T03:00:05.000Z');
    expect((await applyAll([asRefreshed(seen)]))[0]!.recorded).not.toBeNull();

    const b1 = refreshed('B1', 'run-batch', '2026-11-30T03:00:01.000Z');
    // B2 twice in the batch, the newer login first: the newer token stays, the run keeps one outcome.
    const b2new = refreshed('B2', 'run-batch', '2026-11-30T03:00:09.000Z');
    const b2old = refreshed('B2', 'run-batch', '2026-11-30T03:00:02.000Z');
    const b3 = failed('B3', 'run-batch', 'BROKER_UNAVAILABLE', '2026-11-30T03:00:03.000Z');
    const b4 = refreshed('B4', 'run-batch', '2026-11-30T03:00:04.000Z');
    const batch = [
      asRefreshed(b1),
      asRefreshed(b2new),
      asRefreshed(b2old),
      asFailed(b3),
      asRefreshed(b4),
      asRefreshed(seen),
      asRefreshed(b1),
    ];

    const results = await applyAll(batch);

    expect(results.map((r) => r.duplicate)).toEqual([false, false, false, false, false, true, true]);
    expect(results.map((r) => r.recorded?.outcome ?? null)).toEqual(['refreshed', 'refreshed', null, 'failed', 'refreshed', null, null]);
    expect((await h.userRow('B1')).token).toBe(b1.token);
    expect((await h.userRow('B1')).lastLoginTime?.toISOString()).toBe(b1.loginTime);
    expect((await h.userRow('B2')).token).toBe(b2new.token);
    expect((await h.userRow('B3')).loginStatus).toBe('failed');
    expect((await h.userRow('B4')).token).toBe(later.token);
    expect(await outcomeOf('run-batch', 'B2')).toMatchObject({ outcome: 'refreshed', event_id: b2new.eventId });
    expect(await outcomeOf('run-batch', 'B4')).toMatchObject({ outcome: 'refreshed', event_id: b4.eventId });
    expect(await outcomeOf('run-batch', 'B3')).toMatchObject({ outcome: 'failed', code: 'BROKER_UNAVAILABLE' });

    const run = await runRow('run-batch');
    expect(run).toMatchObject({ total: 5, refreshed_count: 4, failed_count: 1, skipped_count: 0 });
    expect(run.completed_at).not.toBeNull();
    // Notices count up as if recorded one by one; exactly one completes the run.
    const recorded = results.flatMap((r) => (r.recorded ? [r.recorded] : []));
    expect(recorded.map((r) => r.refreshed + r.failed + r.skipped).sort()).toEqual([2, 3, 4, 5]);
    expect(recorded.filter((r) => r.completed)).toHaveLength(1);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from processed_events`.execute(h.persistence.db);
    expect(rows[0]!.n).toBe(7); // later, seen, and the five new ids
  });

  it("when the failures' statement fails, the login tokens stand and only the failures come back", async () => {
    await h.seed([realUser('G1'), realUser('G2'), realUser('BOOM')]);
    await h.startRun({ runId: 'run-part', trigger: 'api' });
    // A database fault for one user's failure record only (dropped again below).
    await sql`create function boom() returns trigger language plpgsql as $$
      begin if new.user_id = 'BOOM' then raise exception 'boom'; end if; return new; end $$`.execute(h.persistence.db);
    await sql`create trigger boom before insert or update on user_refresh_state for each row execute function boom()`.execute(
      h.persistence.db,
    );
    try {
      const g1 = refreshed('G1', 'run-part', '2026-11-30T03:00:01.000Z');
      const g2 = refreshed('G2', 'run-part', '2026-11-30T03:00:02.000Z');
      const results = await applyOutcomeEvents(h.persistence.db, [
        asRefreshed(g1),
        asFailed(failed('BOOM', 'run-part', 'BROKER_UNAVAILABLE', '2026-11-30T03:00:03.000Z')),
        asRefreshed(g2),
      ]);
      expect(results.map((r) => ('failed' in r ? 'not applied' : r.recorded?.outcome))).toEqual(['refreshed', 'not applied', 'refreshed']);
      expect((await h.userRow('G1')).token).toBe(g1.token);
      expect((await h.userRow('G2')).token).toBe(g2.token);
      expect(await outcomeOf('run-part', 'BOOM')).toMatchObject({ outcome: 'pending' });
      expect(await runRow('run-part')).toMatchObject({ refreshed_count: 2, failed_count: 0, completed_at: null });
    } finally {
      await sql`drop trigger boom on user_refresh_state`.execute(h.persistence.db);
      await sql`drop function boom()`.execute(h.persistence.db);
    }
  });

  it('lifts a rejection mark only for a login after the rejection', async () => {
    await h.seed([realUser('R1'), realUser('R2')]);
    await h.startRun({ runId: 'run-rej', trigger: 'api' });
    for (const [userID, at] of [
      ['R1', '2026-11-30T03:00:00.000Z'],
      ['R2', '2026-11-30T04:00:00.000Z'],
    ] as const) {
      await sql`insert into user_refresh_state (user_id, credentials_rejected_at, rejected_code, rejected_credentials_hash, updated_at)
        values (${userID}, ${at}::timestamptz, 'BAD_CREDENTIALS', 'x', now())`.execute(h.persistence.db);
    }
    await applyAll([
      asRefreshed(refreshed('R1', 'run-rej', '2026-11-30T03:30:00.000Z')),
      asRefreshed(refreshed('R2', 'run-rej', '2026-11-30T03:30:00.000Z')),
    ]);
    const marks = await h.persistence.db
      .selectFrom('user_refresh_state')
      .select(['user_id', 'credentials_rejected_at'])
      .orderBy('user_id')
      .execute();
    expect(marks.map((m) => [m.user_id, m.credentials_rejected_at === null])).toEqual([
      ['R1', true],
      ['R2', false],
    ]);
  });

  it('failures in one statement: the latest failure kept, a rejection marked only for credentials that can be rejected', async () => {
    await h.seed([realUser('F1'), integrationUser('F2')]);
    await h.startRun({ runId: 'run-fail', trigger: 'api' });
    await sql`insert into user_refresh_state (user_id, last_failure_code, last_failure_at, updated_at)
      values ('F1', 'TIMEOUT', '2026-11-30T04:00:00.000Z'::timestamptz, now())`.execute(h.persistence.db);
    const at = '2026-11-30T03:00:00.000Z';
    await applyAll([asFailed(failed('F1', 'run-fail', 'BAD_CREDENTIALS', at)), asFailed(failed('F2', 'run-fail', 'BAD_CREDENTIALS', at))]);

    const states = await h.persistence.db.selectFrom('user_refresh_state').selectAll().orderBy('user_id').execute();
    expect(states.map((s) => [s.user_id, s.last_failure_code, s.credentials_rejected_at?.toISOString() ?? null])).toEqual([
      ['F1', 'TIMEOUT', at],
      ['F2', 'BAD_CREDENTIALS', null],
    ]);
    expect(matchesFingerprint(await h.userRow('F1'), states[0]!.rejected_credentials_hash!)).toBe(true);
    // F2, integration-managed, was skipped by the run: its failure changes no outcome.
    expect(await runRow('run-fail')).toMatchObject({ failed_count: 1, skipped_count: 1, completed_at: expect.any(Date) });
  });

  it('through the consumer: events published together are all applied, stored in the KV bucket and announced once each', async () => {
    const users = Array.from({ length: 300 }, (_, i) => `M${String(i).padStart(3, '0')}`);
    await h.seed(users.map((u) => realUser(u)));
    await h.startRun({ runId: 'run-many', trigger: 'api' });
    const notices = h.nc.subscribe(Subjects.runAll('run-many'));
    const done: number[] = [];
    const validity = new Map<string, string | null | undefined>();
    let completions = 0;
    const watching = (async () => {
      for await (const msg of notices) {
        const payload = decodeJson(msg.data);
        const outcome = RunOutcomeRecorded.safeParse(payload);
        if (outcome.success) {
          done.push(outcome.data.done);
          validity.set(outcome.data.userID, outcome.data.tokenValidity);
        } else if (RunCompleted.safeParse(payload).success && ++completions === 1) break;
      }
    })();
    await h.nc.flush();
    const js = h.nc.jetstream();
    const events = users.map((u, i) => refreshed(u, 'run-many', new Date(Date.UTC(2026, 10, 30, 3, 0, 0, i)).toISOString()));
    await Promise.all(events.map((e) => js.publish(Subjects.refreshed(e.userID), encodeJson(e))));
    await watching;
    await h.eventsSettled();

    expect(done.sort((a, b) => a - b)).toEqual(users.map((_, i) => i + 1));
    expect(events.every((e) => validity.get(e.userID) === e.tokenValidity)).toBe(true);
    expect(await runRow('run-many')).toMatchObject({ refreshed_count: 300, failed_count: 0 });
    const kv = await h.nc.jetstream().views.kv(Buckets.tokens);
    for (const e of [events[0]!, events[150]!, events[299]!]) {
      expect(TokenRefreshed.parse(decodeJson((await kv.get(e.userID))!.value)).token).toBe(e.token);
    }
    expect((await h.userRow('M299')).token).toBe(events[299]!.token);
  });
});
