import { sql, type Kysely, type Transaction } from 'kysely';
import { isCredentialRejection, isIntegrationManaged } from '@refresher/contracts';
import { credentialsFingerprint } from '@refresher/credential-crypto';
import type { Database } from '@refresher/db';
import { clearCredentialsRejected, markCredentialsRejected, recordLastFailure } from '../users/refresh-state.repository.ts';
import { findUserForUpdate, markLoginFailed, writeLoginToken } from '../users/user.repository.ts';
import { recordOutcome, type RecordedOutcome } from '../runs/run.repository.ts';
import { applyLoginTokens, isLoginToken } from './apply-logins.ts';
import type { OutcomeEvent } from './parse-event.ts';

export interface AppliedEvent {
  /** The event id was processed before: nothing was changed. */
  duplicate: boolean;
  /** The run outcome this event recorded, when it changed a pending row. */
  recorded: RecordedOutcome | null;
}

/**
 * Applies one outcome event in one transaction. Idempotent on the event id (processed_events), and
 * each effect is guarded on its own too: a token never goes back to an older login, and a run's
 * outcome row changes only while it is pending.
 */
export async function applyOutcomeEvent(
  db: Kysely<Database>,
  subject: string,
  outcome: OutcomeEvent,
  now = new Date(),
): Promise<AppliedEvent> {
  if (isLoginToken(outcome)) return (await applyLoginTokens(db, [{ subject, outcome }], now))[0]!;
  return db.transaction().execute(async (trx) => {
    const first = await trx
      .insertInto('processed_events')
      .values({ event_id: outcome.event.eventId, subject, processed_at: now })
      .onConflict((oc) => oc.column('event_id').doNothing())
      .returning('event_id')
      .executeTakeFirst();
    if (!first) return { duplicate: true, recorded: null };

    switch (outcome.kind) {
      case 'refreshed':
        return { duplicate: false, recorded: await applyRefreshed(trx, outcome.event, now) };
      case 'failed':
        return { duplicate: false, recorded: await applyFailed(trx, outcome.event, now) };
      case 'skipped':
        return { duplicate: false, recorded: await applySkipped(trx, outcome.event, now) };
    }
  });
}

async function applyRefreshed(
  trx: Transaction<Database>,
  event: Extract<OutcomeEvent, { kind: 'refreshed' }>['event'],
  now: Date,
): Promise<RecordedOutcome | null> {
  // A pushed token was written by the push endpoint before the event was published.
  if (event.source === 'push') return null;
  const loginTime = new Date(event.loginTime);
  await writeLoginToken(trx, {
    userID: event.userID,
    token: event.token,
    tokenValidity: new Date(event.tokenValidity),
    loginTime,
    now,
  });
  await clearCredentialsRejected(trx, { userID: event.userID, before: loginTime, now });
  if (!event.runId) return null;
  return recordOutcome(trx, {
    runId: event.runId,
    userID: event.userID,
    outcome: 'refreshed',
    code: null,
    message: null,
    eventId: event.eventId,
    attempts: event.attempts,
    tokenValidity: new Date(event.tokenValidity),
    recordedAt: now,
  });
}

async function applyFailed(
  trx: Transaction<Database>,
  event: Extract<OutcomeEvent, { kind: 'failed' }>['event'],
  now: Date,
): Promise<RecordedOutcome | null> {
  const failedAt = new Date(event.failedAt);
  const user = await findUserForUpdate(trx, event.userID);
  if (user) {
    const newerSuccess = user.lastLoginTime !== null && user.lastLoginTime >= failedAt;
    await markLoginFailed(trx, { userID: event.userID, failedAt, now });
    await recordLastFailure(trx, {
      userID: event.userID,
      code: event.code,
      message: event.message,
      failedAt,
      eventId: event.eventId,
      now,
    });
    if (isCredentialRejection(event.code) && !newerSuccess && !isIntegrationManaged(user)) {
      await markCredentialsRejected(trx, {
        userID: event.userID,
        code: event.code,
        at: failedAt,
        fingerprint: credentialsFingerprint(user),
        now,
      });
    }
  }
  return recordOutcome(trx, {
    runId: event.runId,
    userID: event.userID,
    outcome: 'failed',
    code: event.code,
    message: event.message,
    eventId: event.eventId,
    attempts: event.attempts,
    tokenValidity: null,
    recordedAt: now,
  });
}

function applySkipped(
  trx: Transaction<Database>,
  event: Extract<OutcomeEvent, { kind: 'skipped' }>['event'],
  now: Date,
): Promise<RecordedOutcome | null> {
  return recordOutcome(trx, {
    runId: event.runId,
    userID: event.userID,
    outcome: 'skipped',
    code: event.reason,
    message: null,
    eventId: event.eventId,
    attempts: null,
    tokenValidity: null,
    recordedAt: now,
  });
}

/** One event of a batch: its subject and parsed content. */
export interface EventToApply {
  subject: string;
  outcome: OutcomeEvent;
}

/** An event of a batch whose group could not be applied: the caller retries it alone. */
export interface NotApplied {
  failed: unknown;
}

/**
 * Applies a batch of outcome events with the same effects and guards as {@link applyOutcomeEvent}
 * applied one by one (results in input order). The common case, a login token for a user who
 * appears once in the batch, is applied for all such users in one statement (applyLoginTokens);
 * any other event (failures, skips, pushed tokens, several events of one user) goes one by one
 * through one transaction. The two groups share no user and are applied independently: when one
 * fails, its events come back as {@link NotApplied} and the other group's results stand. Never
 * rejects.
 */
export async function applyOutcomeEvents(
  db: Kysely<Database>,
  events: readonly EventToApply[],
  now = new Date(),
): Promise<Array<AppliedEvent | NotApplied>> {
  const perUser = new Map<string, number>();
  for (const e of events) perUser.set(e.outcome.event.userID, (perUser.get(e.outcome.event.userID) ?? 0) + 1);
  const together: number[] = [];
  const oneByOne: number[] = [];
  events.forEach((e, i) => (isLoginToken(e.outcome) && perUser.get(e.outcome.event.userID) === 1 ? together : oneByOne).push(i));

  const results = new Array<AppliedEvent | NotApplied>(events.length);
  const applyGroup = async (indices: number[], apply: (group: EventToApply[]) => Promise<AppliedEvent[]>) => {
    if (indices.length === 0) return;
    try {
      const applied = await apply(indices.map((i) => events[i]!));
      indices.forEach((index, k) => (results[index] = applied[k]!));
    } catch (failed) {
      for (const index of indices) results[index] = { failed };
    }
  };
  await Promise.all([
    applyGroup(together, (group) => applyLoginTokens(db, group, now)),
    applyGroup(oneByOne, (group) => applyOneByOne(db, group, now)),
  ]);
  return results;
}

/** Events in one transaction, one after another; a repeated event id counts once. */
async function applyOneByOne(db: Kysely<Database>, events: readonly EventToApply[], now: Date): Promise<AppliedEvent[]> {
  return db.transaction().execute(async (trx) => {
    const inserted = await sql<{ event_id: string }>`
      insert into processed_events (event_id, subject, processed_at)
      select * from unnest(${events.map((e) => e.outcome.event.eventId)}::text[], ${events.map((e) => e.subject)}::text[]) as v(event_id, subject),
        (select ${now.toISOString()}::timestamptz) as t(processed_at)
      on conflict (event_id) do nothing
      returning event_id`.execute(trx);
    const fresh = new Set(inserted.rows.map((r) => r.event_id));
    const results: AppliedEvent[] = [];
    for (const { outcome } of events) {
      // The first copy of an event id in the batch is the one that counts.
      if (!fresh.delete(outcome.event.eventId)) {
        results.push({ duplicate: true, recorded: null });
        continue;
      }
      const recorded =
        outcome.kind === 'refreshed'
          ? await applyRefreshed(trx, outcome.event, now)
          : outcome.kind === 'failed'
            ? await applyFailed(trx, outcome.event, now)
            : await applySkipped(trx, outcome.event, now);
      results.push({ duplicate: false, recorded });
    }
    return results;
  });
}
