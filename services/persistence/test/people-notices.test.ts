import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Notice, Streams, Subjects, TokenInvalidated, type RunCompletedNotice } from '@refresher/contracts';
import { decodeJson, encodeJson } from '@refresher/platform';
import { waitFor } from '@refresher/testkit';
import { applyOutcomeEvents, type EventToApply } from '../src/events/apply-events.ts';
import type { OutcomeEvent } from '../src/events/parse-event.ts';
import { readRunReport } from '../src/events/run-report.ts';
import { transitionNotice } from '../src/events/transitions.ts';
import { failed, refreshed } from './fixtures.ts';
import { realUser, useHarness } from './harness.ts';

const h = useHarness();
const at = (minute: number) => new Date(Date.UTC(2026, 11, 2, 3, minute)).toISOString();

const failure = (userID: string, code: Parameters<typeof failed>[2], minute: number): OutcomeEvent => ({
  kind: 'failed',
  event: failed(userID, 'r1', code, at(minute)),
});
const login = (userID: string, minute: number): OutcomeEvent => ({ kind: 'refreshed', event: refreshed(userID, null, at(minute)) });
const toApply = (outcome: OutcomeEvent): EventToApply => ({
  subject: outcome.kind === 'failed' ? Subjects.failed(outcome.event.userID) : Subjects.refreshed(outcome.event.userID),
  outcome,
});

/** Applies the events together (one batch), and returns the notice each made: its type and previous code, or null. */
async function transitions(...outcomes: OutcomeEvent[]): Promise<Array<string | null>> {
  const applied = await applyOutcomeEvents(h.persistence.db, outcomes.map(toApply));
  return applied.map((result, i) => {
    if ('failed' in result) throw result.failed;
    const notice = transitionNotice(outcomes[i]!, result.prior, new Date());
    if (!notice) return null;
    return notice.type === 'tokens.user.failed'
      ? `failed ${notice.code} after ${notice.previousCode}`
      : `recovered from ${notice.failure.code}`;
  });
}

/** Every notice in the stream, in order, with its message id. */
async function storedNotices(): Promise<Array<{ msgId: string | undefined; notice: Notice }>> {
  const jsm = await h.nc.jetstreamManager();
  const { state } = await jsm.streams.info(Streams.notices.name);
  const out = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const msg = await jsm.streams.getMessage(Streams.notices.name, { seq });
    out.push({ msgId: msg.header.get('Nats-Msg-Id') || undefined, notice: Notice.parse(decodeJson(msg.data)) });
  }
  return out;
}

async function purgeNotices(): Promise<void> {
  await (await h.nc.jetstreamManager()).streams.purge(Streams.notices.name);
}

describe('transitions of a user, from the state the outcome statement found', () => {
  it('a failure of a user not failing is a notice; the same failure again is not; another code is; a newer login recovers', async () => {
    await h.seed([realUser('T1')]);
    expect(await transitions(failure('T1', 'BROKER_UNAVAILABLE', 1))).toEqual(['failed BROKER_UNAVAILABLE after null']);
    expect(await transitions(failure('T1', 'BROKER_UNAVAILABLE', 2))).toEqual([null]);
    expect(await transitions(failure('T1', 'BAD_CREDENTIALS', 3))).toEqual(['failed BAD_CREDENTIALS after BROKER_UNAVAILABLE']);
    expect(await transitions(login('T1', 4))).toEqual(['recovered from BAD_CREDENTIALS']);
    expect(await transitions(login('T1', 5))).toEqual([null]);
    // A failure older than the stored login tells nothing about the user now.
    expect(await transitions(failure('T1', 'TIMEOUT', 3))).toEqual([null]);
  });

  it('holds within one batch (a user’s events go in rounds) and never for a repeated event', async () => {
    await h.seed([realUser('T2'), realUser('T3')]);
    const first = failure('T2', 'TIMEOUT', 1);
    expect(await transitions(first, login('T2', 2), failure('T3', 'RATE_LIMITED', 1))).toEqual([
      'failed TIMEOUT after null',
      'recovered from TIMEOUT',
      'failed RATE_LIMITED after null',
    ]);
    const again = await applyOutcomeEvents(h.persistence.db, [toApply(first)]);
    expect(again).toEqual([{ duplicate: true, recorded: null }]);
  });
});

describe('notices on JetStream (TOKEN_NOTICES), published by the consumer after the commit', () => {
  const publish = (subject: string, event: unknown) => h.nc.jetstream().publish(subject, encodeJson(event));

  it('a run with a failure: tokens.user.failed, then the report with the users needing attention; a recovery later', async () => {
    await purgeNotices();
    await h.seed([realUser('N1'), realUser('N2', { clientName: 'Second Client' })]);
    await h.startRun({ runId: 'n-run', trigger: 'schedule' });
    const failedEvent = failed('N2', 'n-run', 'BROKER_UNAVAILABLE');
    await publish(Subjects.refreshed('N1'), refreshed('N1', 'n-run', new Date().toISOString()));
    await publish(Subjects.failed('N2'), failedEvent);
    await h.eventsSettled();
    // A redelivered event changes nothing and makes no second notice.
    await h.nc.jetstream().publish(Subjects.failed('N2'), encodeJson(failedEvent));
    await h.eventsSettled();

    const stored = await waitFor('two notices', async () => ((await storedNotices()).length >= 2 ? storedNotices() : undefined));
    expect(stored.map((s) => [s.msgId, s.notice.type])).toEqual([
      [`user-failed:${failedEvent.eventId}`, 'tokens.user.failed'],
      ['run-completed:n-run', 'tokens.run.completed'],
    ]);
    expect(stored.every((s) => s.msgId === s.notice.id)).toBe(true);
    expect(stored[0]!.notice).toMatchObject({ userID: 'N2', clientName: 'Second Client', code: 'BROKER_UNAVAILABLE', runId: 'n-run' });
    expect(stored[1]!.notice).toMatchObject({
      runId: 'n-run',
      retryOf: null,
      trigger: 'schedule',
      counts: { total: 2, refreshed: 1, failed: 1, skipped: 0 },
      needsAttention: {
        count: 1,
        more: 0,
        users: [{ userID: 'N2', clientName: 'Second Client', outcome: 'failed', code: 'BROKER_UNAVAILABLE', message: failedEvent.message }],
      },
    });

    const recovery = refreshed('N2', null, new Date(Date.now() + 1_000).toISOString());
    await publish(Subjects.refreshed('N2'), recovery);
    await h.eventsSettled();
    const after = await waitFor('the recovery', async () => ((await storedNotices()).length >= 3 ? storedNotices() : undefined));
    expect(after[2]).toMatchObject({
      msgId: `user-recovered:${recovery.eventId}`,
      notice: { type: 'tokens.user.recovered', userID: 'N2', failure: { code: 'BROKER_UNAVAILABLE' } },
    });
  });

  it('a run with nobody to log in is reported at its start; a dead token still stored is tokens.invalidated', async () => {
    await purgeNotices();
    await h.seed([realUser('N3')]);
    await h.markRejected('N3', 'BAD_CREDENTIALS');
    await h.startRun({ runId: 'n-skipped', trigger: 'api' });
    const loginTime = new Date().toISOString();
    await publish(Subjects.refreshed('N3'), refreshed('N3', null, loginTime));
    await h.eventsSettled();
    const dead = TokenInvalidated.parse({
      v: 1,
      eventId: randomUUID(),
      userID: 'N3',
      loginTime,
      invalidatedAt: new Date().toISOString(),
      reason: 'SESSION_INVALID',
      brokerCode: 'EC044',
    });
    await publish(Subjects.invalidated('N3'), dead);
    await h.eventsSettled();
    const stored = await waitFor('two notices', async () => ((await storedNotices()).length >= 2 ? storedNotices() : undefined));
    expect(stored.map((s) => s.notice)).toMatchObject([
      {
        type: 'tokens.run.completed',
        runId: 'n-skipped',
        counts: { total: 1, skipped: 1 },
        needsAttention: { count: 1, users: [{ userID: 'N3', outcome: 'skipped', code: 'CREDENTIALS_REJECTED' }] },
      },
      { type: 'tokens.invalidated', id: `invalidated:${dead.eventId}`, userID: 'N3', clientName: 'Client N3', reason: 'SESSION_INVALID' },
    ]);
  });

  it('a report lists the first 200 users needing attention and counts the rest', async () => {
    const ids = Array.from({ length: 203 }, (_, i) => `C${String(i).padStart(3, '0')}`);
    await h.seed([...ids.map((id) => realUser(id)), realUser('OK1')]);
    await h.startRun({ runId: 'n-big', trigger: 'schedule' });
    const applied = await applyOutcomeEvents(h.persistence.db, [
      ...ids.map((id) => toApply({ kind: 'failed', event: failed(id, 'n-big', 'TIMEOUT') })),
      toApply({ kind: 'refreshed', event: refreshed('OK1', 'n-big', new Date().toISOString()) }),
    ]);
    expect(applied.filter((a) => 'recorded' in a && a.recorded?.completed)).toHaveLength(1);
    const report = (await readRunReport(h.persistence.db, 'n-big')) as RunCompletedNotice;
    expect(report.needsAttention.count).toBe(203);
    expect(report.needsAttention.users).toHaveLength(200);
    expect(report.needsAttention.more).toBe(3);
    expect(report.counts).toEqual({ total: 204, refreshed: 1, failed: 203, skipped: 0 });
    expect(await readRunReport(h.persistence.db, 'no-such-run')).toBeNull();
  });
});
