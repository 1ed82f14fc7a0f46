import type { Kysely, Transaction } from 'kysely';
import { CREDENTIAL_FIELDS, isCredentialRejection, isIntegrationManaged } from '@refresher/contracts';
import { credentialsFingerprint } from '@refresher/credential-crypto';
import type { Database } from '@refresher/db';
import { DEFAULT_OUTCOME_OPTIONS, runOutcomeStatement, toEventRow, type OutcomeOptions } from './outcome-statement.ts';
import type { OutcomeEvent } from './parse-event.ts';
import { appliedEvents } from './recorded.ts';
import { splitIntoRounds } from './rounds.ts';
import { withPriorStates, type AppliedWithPrior } from './transitions.ts';

/** One event of a batch: its subject and parsed content. */
export interface EventToApply {
  subject: string;
  outcome: OutcomeEvent;
}

/** An event that could not be applied (nor, after it, its user's later events of the batch): the caller retries it alone. */
export interface NotApplied {
  failed: unknown;
}

/**
 * Applies outcome events, a batch or a lone one, with the effects and guards of applying them one
 * by one in input order (results in input order; see runOutcomeStatement). Idempotent on the event
 * id. The batch goes in rounds that hold each user once, a user's events in their order; in a
 * round, each kind of event (refreshed, failed, skipped) is one statement, applied on its own: when
 * one fails, its events and their users' later ones come back as {@link NotApplied}, the others'
 * results stand. Never rejects.
 */
export async function applyOutcomeEvents(
  db: Kysely<Database>,
  events: readonly EventToApply[],
  now = new Date(),
  options: OutcomeOptions = DEFAULT_OUTCOME_OPTIONS,
): Promise<Array<AppliedWithPrior | NotApplied>> {
  const results = new Array<AppliedWithPrior | NotApplied>(events.length);
  const heldBack = new Map<string, unknown>();
  const userOf = (index: number) => events[index]!.outcome.event.userID;
  for (const round of splitIntoRounds(events.map((e) => e.outcome.event))) {
    for (const kind of ['refreshed', 'failed', 'skipped'] as const) {
      const part = round.filter((i) => events[i]!.outcome.kind === kind);
      for (const i of part.filter((i) => heldBack.has(userOf(i)))) results[i] = { failed: heldBack.get(userOf(i)) };
      const ready = part.filter((i) => !heldBack.has(userOf(i)));
      if (ready.length === 0) continue;
      try {
        const applied = await applyPart(
          db,
          ready.map((i) => events[i]!),
          now,
          options,
        );
        ready.forEach((index, k) => (results[index] = applied[k]!));
      } catch (failed) {
        for (const index of ready) {
          results[index] = { failed };
          heldBack.set(userOf(index), failed);
        }
      }
    }
  }
  return results;
}

/** Events of distinct users in one statement; a credential rejection first needs its user's row. */
async function applyPart(
  db: Kysely<Database>,
  events: readonly EventToApply[],
  now: Date,
  options: OutcomeOptions,
): Promise<AppliedWithPrior[]> {
  const rejected = events.flatMap((e) =>
    e.outcome.kind === 'failed' && isCredentialRejection(e.outcome.event.code) ? [e.outcome.event.userID] : [],
  );
  const apply = async (trx: Kysely<Database>, fingerprints = new Map<string, string>()) => {
    const rows = events.map((e) => toEventRow(e.subject, e.outcome, fingerprints.get(e.outcome.event.userID) ?? null));
    const result = await runOutcomeStatement(trx, rows, now, options);
    return withPriorStates(appliedEvents(rows, result), rows, result.prior);
  };
  if (rejected.length === 0) return apply(db);
  return db.transaction().execute(async (trx) => apply(trx, await fingerprintsOf(trx, rejected)));
}

/**
 * The fingerprints of the users' stored credentials, taken under a row lock that holds them until
 * the statement has run; none for an integration-managed user, whose credentials are no credentials.
 */
async function fingerprintsOf(trx: Transaction<Database>, userIDs: readonly string[]): Promise<Map<string, string>> {
  const rows = await trx
    .selectFrom('IIFLUser')
    .select(['userID', ...CREDENTIAL_FIELDS])
    .where('userID', 'in', userIDs)
    .forUpdate()
    .execute();
  return new Map(rows.flatMap((row) => (isIntegrationManaged(row) ? [] : [[row.userID, credentialsFingerprint(row)] as const])));
}
