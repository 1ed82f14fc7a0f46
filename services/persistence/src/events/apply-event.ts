import { sql, type Kysely, type Transaction } from 'kysely';
import { isCredentialRejection } from '@refresher/contracts';
import type { Database } from '@refresher/db';
import { credentialsFingerprint, isIntegrationManaged } from '../users/credentials.ts';
import { clearCredentialsRejected, markCredentialsRejected, recordLastFailure } from '../users/refresh-state.repository.ts';
import { findUserForUpdate, markLoginFailed, writeLoginToken } from '../users/user.repository.ts';
import { recordOutcome, recordRefreshedOutcomes, type OutcomeToRecord, type RecordedOutcome } from '../runs/run.repository.ts';
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

type RefreshedEvent = Extract<OutcomeEvent, { kind: 'refreshed' }>['event'];

/**
 * Applies a batch of outcome events in one transaction, with the same effects and guards as
 * {@link applyOutcomeEvent} applied one by one (results in input order). The common case, a login
 * token for a user who appears once in the batch, is written with a few multi-row statements
 * (processed ids, tokens, rejection marks, run outcomes, one counter update per run); any other
 * event (failures, skips, pushed tokens, several events of one user) goes through the one-by-one
 * path inside the same transaction.
 */
export async function applyOutcomeEvents(
  db: Kysely<Database>,
  events: readonly EventToApply[],
  now = new Date(),
): Promise<AppliedEvent[]> {
  return db.transaction().execute(async (trx) => {
    const ids = events.map((e) => e.outcome.event.eventId);
    const inserted = await sql<{ event_id: string }>`
      insert into processed_events (event_id, subject, processed_at)
      select * from unnest(${ids}::text[], ${events.map((e) => e.subject)}::text[]) as v(event_id, subject),
        (select ${now.toISOString()}::timestamptz) as t(processed_at)
      on conflict (event_id) do nothing
      returning event_id`.execute(trx);
    const fresh = new Set(inserted.rows.map((r) => r.event_id));

    const results: AppliedEvent[] = events.map(() => ({ duplicate: true, recorded: null }));
    const firstOf = new Map<string, number>();
    const usersSeen = new Map<string, number>();
    events.forEach((e, i) => {
      const id = e.outcome.event.eventId;
      // The first copy of an event id in the batch is the one that counts.
      if (!fresh.has(id) || firstOf.has(id)) return;
      firstOf.set(id, i);
      usersSeen.set(e.outcome.event.userID, (usersSeen.get(e.outcome.event.userID) ?? 0) + 1);
    });

    const bulk: Array<{ index: number; event: RefreshedEvent }> = [];
    const oneByOne: number[] = [];
    for (const index of firstOf.values()) {
      const { outcome } = events[index]!;
      results[index] = { duplicate: false, recorded: null };
      if (outcome.kind === 'refreshed' && outcome.event.source === 'login' && usersSeen.get(outcome.event.userID) === 1) {
        bulk.push({ index, event: outcome.event });
      } else {
        oneByOne.push(index);
      }
    }

    if (bulk.length > 0) {
      const userIDs = bulk.map((b) => b.event.userID);
      const loginTimes = bulk.map((b) => new Date(b.event.loginTime).toISOString());
      // As writeLoginToken: never over a token from a later (or the same) login.
      await sql`
        update "IIFLUser" u set
          token = v.token, "tokenValidity" = v.token_validity, "lastLoginTime" = v.login_time,
          "loginStatus" = 'success', "tradingStatus" = 'active', "updatedAt" = ${now.toISOString()}::timestamp
        from unnest(
          ${userIDs}::text[], ${bulk.map((b) => b.event.token)}::text[],
          ${bulk.map((b) => new Date(b.event.tokenValidity).toISOString())}::timestamp[], ${loginTimes}::timestamp[]
        ) as v(user_id, token, token_validity, login_time)
        where u."userID" = v.user_id and (u."lastLoginTime" is null or u."lastLoginTime" < v.login_time)`.execute(trx);
      // As clearCredentialsRejected with `before`: a login after the rejection lifts the mark.
      await sql`
        update user_refresh_state s set
          credentials_rejected_at = null, rejected_code = null, rejected_credentials_hash = null,
          updated_at = ${now.toISOString()}::timestamptz
        from unnest(${userIDs}::text[], ${loginTimes}::timestamptz[]) as v(user_id, login_time)
        where s.user_id = v.user_id and s.credentials_rejected_at is not null and s.credentials_rejected_at <= v.login_time`.execute(trx);
      const toRecord = new Map<OutcomeToRecord, number>();
      for (const { index, event } of bulk) {
        if (!event.runId) continue;
        toRecord.set(
          { runId: event.runId, userID: event.userID, eventId: event.eventId, attempts: event.attempts, tokenValidity: new Date(event.tokenValidity) },
          index,
        );
      }
      const recorded = await recordRefreshedOutcomes(trx, [...toRecord.keys()], now);
      for (const [input, index] of toRecord) results[index] = { duplicate: false, recorded: recorded.get(input) ?? null };
    }

    for (const index of oneByOne) {
      const { outcome } = events[index]!;
      const recorded =
        outcome.kind === 'refreshed'
          ? await applyRefreshed(trx, outcome.event, now)
          : outcome.kind === 'failed'
            ? await applyFailed(trx, outcome.event, now)
            : await applySkipped(trx, outcome.event, now);
      results[index] = { duplicate: false, recorded };
    }
    return results;
  });
}
