import { describe, expect, it } from 'vitest';
import { PersistenceApi, Subjects, type StartRunResponse } from '@refresher/contracts';
import { encodeJson } from '@refresher/platform';
import { failed, refreshed, refusal } from './fixtures.ts';
import { integrationUser, realUser, useHarness } from './harness.ts';

const ids = (r: StartRunResponse) => r.requested.map((u) => u.userID).sort();

describe('runs that retry the failures of an earlier run', () => {
  const h = useHarness();
  const publish = (subject: string, event: unknown) => h.nc.jetstream().publish(subject, encodeJson(event));
  const later = () => new Date(Date.now() + 1_000).toISOString();

  /** A morning: U1 and U3 fail transiently, U2's password is refused, U4 is refreshed, U5 fails but logs in elsewhere later. */
  async function morningWithFailures(): Promise<void> {
    await h.seed(['U1', 'U2', 'U3', 'U4', 'U5'].map((id) => realUser(id)));
    expect((await h.startRun({ runId: 'm1', trigger: 'schedule' })).requested).toHaveLength(5);
    await publish(Subjects.failed('U1'), failed('U1', 'm1', 'BROKER_UNAVAILABLE'));
    await publish(Subjects.failed('U2'), failed('U2', 'm1', 'BAD_CREDENTIALS'));
    await publish(Subjects.failed('U3'), failed('U3', 'm1', 'TIMEOUT'));
    await publish(Subjects.refreshed('U4'), refreshed('U4', 'm1', later()));
    await publish(Subjects.failed('U5'), failed('U5', 'm1', 'BROKER_UNAVAILABLE'));
    await h.eventsSettled();
    // An operator's one-user run (outside the morning) logs U5 in.
    await publish(Subjects.refreshed('U5'), refreshed('U5', null, later()));
    await h.eventsSettled();
  }

  it('a pass takes the transient failures only, is linked to the morning, and a pass of a pass still is', async () => {
    await morningWithFailures();
    const pass = await h.startRun({ runId: 'm1-p2', trigger: 'schedule', retry: { of: 'm1', failures: 'transient' } });
    expect(ids(pass)).toEqual(['U1', 'U3']);
    expect(pass.skipped).toEqual([]);
    expect((await h.getRun('m1-p2')).retryOf).toBe('m1');
    expect((await h.getRun('m1')).retryOf).toBeNull();

    await publish(Subjects.refreshed('U1'), refreshed('U1', 'm1-p2', later()));
    await publish(Subjects.failed('U3'), failed('U3', 'm1-p2', 'RATE_LIMITED'));
    await h.eventsSettled();
    // Asked of the pass, the next one covers what is still failing and points at the morning.
    const third = await h.startRun({ runId: 'm1-p3', trigger: 'schedule', retry: { of: 'm1-p2', failures: 'transient' } });
    expect(ids(third)).toEqual(['U3']);
    expect((await h.getRun('m1-p3')).retryOf).toBe('m1');
  });

  it('an operator retry takes every failure; a refused user whose mark stands is skipped, not logged in', async () => {
    await morningWithFailures();
    const retry = await h.startRun({ trigger: 'cli', retry: { of: 'm1', failures: 'all' } });
    expect(ids(retry)).toEqual(['U1', 'U3']);
    expect(retry.skipped).toEqual([{ userID: 'U2', clientName: expect.any(String), reason: 'CREDENTIALS_REJECTED' }]);
  });

  it('a retry of an unknown run is a 404', async () => {
    const err = await refusal(h.startRun({ trigger: 'cli', retry: { of: 'no-such-run', failures: 'all' } }));
    expect(err.code).toBe(404);
  });

  it("the morning's status counts who needs a person, across its passes", async () => {
    expect(await h.call(PersistenceApi.morningStatus, {})).toMatchObject({ status: 'none', runId: null });
    await morningWithFailures();
    expect(await h.call(PersistenceApi.morningStatus, {})).toMatchObject({
      status: 'degraded',
      runId: 'm1',
      passes: 0,
      users: 5,
      refreshed: 2,
      needsAttention: 3,
      pending: 0,
    });
    await h.startRun({ runId: 'm1-p2', trigger: 'schedule', retry: { of: 'm1', failures: 'transient' } });
    expect(await h.call(PersistenceApi.morningStatus, {})).toMatchObject({ passes: 1, needsAttention: 3, pending: 2 });
    await publish(Subjects.refreshed('U1'), refreshed('U1', 'm1-p2', later()));
    await publish(Subjects.refreshed('U3'), refreshed('U3', 'm1-p2', later()));
    await h.eventsSettled();
    // U2's refused password is left: the morning stays degraded until someone acts.
    expect(await h.call(PersistenceApi.morningStatus, {})).toMatchObject({ status: 'degraded', refreshed: 4, needsAttention: 1 });
  });

  it('an integration-managed user is skipped by rule: a morning of such users alone is ok', async () => {
    await h.seed([integrationUser('N1')]);
    const { requested, skipped } = await h.startRun({ runId: 'm2', trigger: 'schedule' });
    expect(requested).toEqual([]);
    expect(skipped.map((s) => s.reason)).toEqual(['INTEGRATION_MANAGED']);
    expect(await h.call(PersistenceApi.morningStatus, {})).toMatchObject({
      status: 'ok',
      runId: 'm2',
      users: 1,
      skippedByRule: 1,
      needsAttention: 0,
    });
  });
});

describe('a one-user run the day watch starts', () => {
  const h = useHarness();

  it('follows the rules of any run: a standing rejection or a user no longer live is skipped, not logged in', async () => {
    await h.seed([realUser('W1'), realUser('W2'), { ...realUser('W3'), state: 'paused' }]);
    await h.markRejected('W2', 'BAD_CREDENTIALS');
    const reason = async (userID: string) => (await h.startRun({ trigger: 'watch', userID })).skipped[0]?.reason ?? 'requested';
    expect(await reason('W1')).toBe('requested');
    expect(await reason('W2')).toBe('CREDENTIALS_REJECTED');
    expect(await reason('W3')).toBe('NOT_LIVE');
    // A person's one-user refresh still logs the rejected user in: they asked for it.
    expect((await h.startRun({ trigger: 'cli', userID: 'W2' })).requested).toHaveLength(1);
  });
});
