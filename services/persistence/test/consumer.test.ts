process.env.TZ = 'Asia/Kolkata';

import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { Buckets, DeadLetter, RunCompleted, RunOutcomeRecorded, Subjects, TokenRefreshed, TokenSkipped } from '@refresher/contracts';
import { decodeJson, encodeJson } from '@refresher/platform';
import { waitFor } from '@refresher/testkit';
import { clearCredentialsRejected } from '../src/index.ts';
import { failed, refreshed } from './fixtures.ts';
import { integrationUser, realUser, useHarness } from './harness.ts';

const h = useHarness();

async function publish(subject: string, event: unknown): Promise<void> {
  await h.nc.jetstream().publish(subject, encodeJson(event));
}

/** Collects the run's notices from now on. */
async function watchRun(runId: string) {
  const outcomes: RunOutcomeRecorded[] = [];
  let resolveCompleted!: (c: RunCompleted) => void;
  const completed = new Promise<RunCompleted>((resolve) => (resolveCompleted = resolve));
  const sub = h.nc.subscribe(Subjects.runAll(runId));
  void (async () => {
    for await (const msg of sub) {
      const payload = decodeJson(msg.data);
      if (msg.subject.endsWith('.outcome')) outcomes.push(RunOutcomeRecorded.parse(payload));
      else resolveCompleted(RunCompleted.parse(payload));
    }
  })();
  await h.nc.flush();
  return { outcomes, completed, close: () => sub.unsubscribe() };
}

describe('refreshed events', () => {
  it('write the token as the legacy code did, record the outcome and complete the run', async () => {
    await h.seed([realUser('A1'), integrationUser('IM1')]);
    const run = await h.startRun({ runId: 'run-a', trigger: 'api' });
    const watch = await watchRun('run-a');
    const event = refreshed('A1', 'run-a', '2026-11-30T03:00:05.123Z');
    await publish(Subjects.refreshed('A1'), event);

    expect(await watch.completed).toEqual({ v: 1, runId: 'run-a', total: 2, refreshed: 1, failed: 0, skipped: 1 });
    expect(watch.outcomes).toEqual([
      {
        v: 1,
        runId: 'run-a',
        userID: 'A1',
        outcome: 'refreshed',
        code: null,
        message: null,
        tokenValidity: event.tokenValidity,
        done: 2,
        total: 2,
      },
    ]);
    watch.close();

    const user = await h.userRow('A1');
    expect(user).toMatchObject({ token: event.token, loginStatus: 'success', tradingStatus: 'active' });
    expect(user.tokenValidity?.toISOString()).toBe(event.tokenValidity);
    expect(user.lastLoginTime?.toISOString()).toBe(event.loginTime);
    expect(Math.abs(user.updatedAt.getTime() - Date.now())).toBeLessThan(60_000);
    // Stored as UTC wall-clock time although this process runs in Asia/Kolkata.
    const { rows } = await sql<{ t: string }>`select "lastLoginTime"::text as t from "IIFLUser" where "userID" = 'A1'`.execute(
      h.persistence.db,
    );
    expect(rows[0]!.t).toBe('2026-11-30 03:00:05.123');

    const summary = await h.getRun(run.runId);
    expect(summary).toMatchObject({ total: 2, refreshed: 1, skipped: 1, pending: 0 });
    expect(summary.completedAt).not.toBeNull();
    expect(summary.results[0]).toMatchObject({
      userID: 'A1',
      clientName: 'Client A1',
      outcome: 'refreshed',
      tokenValidity: event.tokenValidity,
    });

    const kv = await h.nc.jetstream().views.kv(Buckets.tokens);
    expect(TokenRefreshed.parse(decodeJson((await kv.get('A1'))!.value))).toEqual(event);
  });

  it('change nothing when delivered twice, and an older token never replaces a newer one', async () => {
    await h.seed([realUser('A1')]);
    await h.startRun({ runId: 'run-b', trigger: 'api' });
    const watch = await watchRun('run-b');
    const newer = refreshed('A1', 'run-b', '2026-11-30T03:00:00.000Z');
    const older = refreshed('A1', null, '2026-11-29T03:00:00.000Z');
    await publish(Subjects.refreshed('A1'), newer);
    await watch.completed;
    const afterFirst = await h.userRow('A1');

    await publish(Subjects.refreshed('A1'), newer);
    await publish(Subjects.refreshed('A1'), older);
    await h.eventsSettled();

    expect(await h.userRow('A1')).toEqual(afterFirst);
    expect(watch.outcomes).toHaveLength(1);
    watch.close();
    const kv = await h.nc.jetstream().views.kv(Buckets.tokens);
    expect(TokenRefreshed.parse(decodeJson((await kv.get('A1'))!.value)).token).toBe(newer.token);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from processed_events`.execute(h.persistence.db);
    expect(rows[0]!.n).toBe(2);
  });
});

describe('failed events', () => {
  it('make later all-users runs skip a user whose credentials were rejected, until they change', async () => {
    await h.seed([realUser('A1'), realUser('B2')]);
    const first = await h.startRun({ runId: 'run-c', trigger: 'schedule' });
    expect(first.requested.map((u) => u.userID)).toEqual(['A1', 'B2']);
    const watch = await watchRun('run-c');
    await publish(Subjects.failed('A1'), failed('A1', 'run-c', 'BAD_CREDENTIALS'));
    await publish(Subjects.failed('B2'), failed('B2', 'run-c', 'TIMEOUT'));
    expect(await watch.completed).toEqual({ v: 1, runId: 'run-c', total: 2, refreshed: 0, failed: 2, skipped: 0 });
    watch.close();

    expect(await h.userRow('A1')).toMatchObject({ loginStatus: 'failed', token: null });
    const summary = await h.getRun('run-c');
    expect(summary.results.map((r) => [r.userID, r.outcome, r.code, r.message])).toEqual([
      ['A1', 'failed', 'BAD_CREDENTIALS', 'login failed: BAD_CREDENTIALS'],
      ['B2', 'failed', 'TIMEOUT', 'login failed: TIMEOUT'],
    ]);

    // A transient failure does not keep B2 out; the rejected credentials keep A1 out.
    const second = await h.startRun({ trigger: 'schedule' });
    expect(second.requested.map((u) => u.userID)).toEqual(['B2']);
    expect(second.skipped).toEqual([{ userID: 'A1', clientName: 'Client A1', reason: 'CREDENTIALS_REJECTED' }]);
    // An explicit request for the user still goes through.
    expect((await h.startRun({ trigger: 'cli', userID: 'A1' })).requested.map((u) => u.userID)).toEqual(['A1']);

    // New credentials in the row: the user is due again.
    await h.seed([realUser('A1', { password: 'a-new-password' })]);
    const third = await h.startRun({ trigger: 'schedule' });
    expect(third.requested.map((u) => u.userID)).toEqual(['A1', 'B2']);
    expect(third.skipped).toEqual([]);
  });

  it('a rejection mark is lifted by an operator or a later successful login', async () => {
    await h.seed([realUser('A1')]);
    await h.startRun({ runId: 'run-d', trigger: 'api' });
    const failedAt = '2026-11-30T03:00:00.000Z';
    await publish(Subjects.failed('A1'), failed('A1', 'run-d', 'BAD_TOTP', failedAt));
    await h.eventsSettled();
    expect((await h.startRun({ trigger: 'api' })).skipped.map((u) => u.reason)).toEqual(['CREDENTIALS_REJECTED']);

    expect(await clearCredentialsRejected(h.persistence.db, { userID: 'A1', now: new Date() })).toBe(true);
    expect((await h.startRun({ trigger: 'api' })).requested.map((u) => u.userID)).toEqual(['A1']);

    await publish(Subjects.failed('A1'), failed('A1', 'run-d', 'BAD_TOTP', failedAt));
    await h.eventsSettled();
    expect((await h.startRun({ trigger: 'api' })).skipped.map((u) => u.reason)).toEqual(['CREDENTIALS_REJECTED']);
    await publish(Subjects.refreshed('A1'), refreshed('A1', null, '2026-11-30T03:05:00.000Z'));
    await h.eventsSettled();
    expect((await h.startRun({ trigger: 'api' })).requested.map((u) => u.userID)).toEqual(['A1']);
  });

  it('never overwrite a newer success, and a user keeps exactly one outcome per run', async () => {
    await h.seed([realUser('A1'), realUser('B2')]);
    await h.startRun({ runId: 'run-e', trigger: 'api' });
    const watch = await watchRun('run-e');
    const success = refreshed('A1', 'run-e', '2026-11-30T03:10:00.000Z');
    await publish(Subjects.refreshed('A1'), success);
    await h.eventsSettled();
    // An older failure of the same user in the same run, delivered late.
    await publish(Subjects.failed('A1'), failed('A1', 'run-e', 'BAD_CREDENTIALS', '2026-11-30T03:05:00.000Z'));
    const skip = TokenSkipped.parse({
      v: 1,
      eventId: randomUUID(),
      runId: 'run-e',
      userID: 'B2',
      reason: 'NOT_LIVE',
      skippedAt: new Date().toISOString(),
    });
    await publish(Subjects.skipped('B2'), skip);
    await h.eventsSettled();
    watch.close();

    expect(await h.userRow('A1')).toMatchObject({ token: success.token, loginStatus: 'success' });
    const summary = await h.getRun('run-e');
    expect(summary.results.map((r) => [r.userID, r.outcome, r.code])).toEqual([
      ['A1', 'refreshed', null],
      ['B2', 'skipped', 'NOT_LIVE'],
    ]);
    expect(summary).toMatchObject({ refreshed: 1, failed: 0, skipped: 1, pending: 0 });
    expect(watch.outcomes.map((o) => [o.userID, o.outcome, o.done, o.total])).toEqual([
      ['A1', 'refreshed', 1, 2],
      ['B2', 'skipped', 2, 2],
    ]);
    // The older rejection does not keep the user out of the next run.
    expect((await h.startRun({ trigger: 'api' })).skipped).toEqual([]);
  });
});

describe('invalid messages', () => {
  it('are dead-lettered with the reason, and the consumer goes on', async () => {
    await h.seed([realUser('A1')]);
    const dlq = h.nc.subscribe(Subjects.deadLetter('persistence'), { max: 3 });
    await h.nc.flush();
    await h.nc.jetstream().publish(Subjects.failed('A1'), new TextEncoder().encode('not json at all'));
    await publish(Subjects.refreshed('A1'), { v: 1, eventId: 'e1', userID: 'A1', token: 'x' });
    await publish(Subjects.refreshed('A1'), refreshed('B2', null, '2026-11-30T03:00:00.000Z'));

    const letters: DeadLetter[] = [];
    for await (const msg of dlq) letters.push(DeadLetter.parse(decodeJson(msg.data)));
    // Processed concurrently: their order is not fixed.
    letters.sort((a, b) => a.reason.localeCompare(b.reason));
    expect(letters.map((l) => [l.source, l.subject])).toEqual([
      ['persistence', 'tokens.refreshed.A1'],
      ['persistence', 'tokens.failed.A1'],
      ['persistence', 'tokens.refreshed.A1'],
    ]);
    expect(letters[0]!.reason).toMatch(/^invalid refreshed event: .*runId/);
    expect(letters[1]!.reason).toBe('payload is not JSON');
    expect(Buffer.from(letters[1]!.payload, 'base64').toString()).toBe('not json at all');
    expect(letters[2]!.reason).toBe('userID of the payload differs from the subject');
    // Stored in the dead-letter stream.
    const jsm = await h.nc.jetstreamManager();
    expect((await jsm.streams.info('TOKEN_DLQ')).state.messages).toBeGreaterThanOrEqual(3);

    // A valid event after them is still processed.
    const good = refreshed('A1', null, '2026-11-30T03:00:00.000Z');
    await publish(Subjects.refreshed('A1'), good);
    await h.eventsSettled();
    expect((await h.userRow('A1')).token).toBe(good.token);
  });
});

describe('database errors', () => {
  it('leave the event unacknowledged: it is redelivered, not dead-lettered, and applied once the database works', async () => {
    await h.seed([realUser('A1')]);
    const dlq = h.nc.subscribe(Subjects.deadLetter('persistence'));
    const db = h.persistence.db;
    await sql`alter table processed_events rename to processed_events_away`.execute(db);
    try {
      const event = refreshed('A1', null, '2026-11-30T03:00:00.000Z');
      await publish(Subjects.refreshed('A1'), event);
      const jsm = await h.nc.jetstreamManager();
      await waitFor('a redelivery', async () => {
        const info = await jsm.consumers.info('TOKEN_EVENTS', 'persistence');
        return info.num_redelivered > 0 ? true : undefined;
      });
      expect((await h.userRow('A1')).token).toBeNull();
    } finally {
      await sql`alter table processed_events_away rename to processed_events`.execute(db);
    }
    await h.eventsSettled();
    expect((await h.userRow('A1')).token).toBe('token-A1-2026-11-30T03:00:00.000Z');
    await h.nc.flush();
    expect(dlq.getReceived()).toBe(0);
    dlq.unsubscribe();
  });
});
