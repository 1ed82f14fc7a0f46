import type { Kysely, Transaction } from 'kysely';
import type { Database, UserRefreshStateRow } from '@refresher/db';

type Db = Kysely<Database> | Transaction<Database>;

/** Keeps the latest failure of a user (an older failure delivered late does not replace it). */
export async function recordLastFailure(
  trx: Db,
  input: { userID: string; code: string; message: string; failedAt: Date; eventId: string; now: Date },
): Promise<void> {
  await trx
    .insertInto('user_refresh_state')
    .values({
      user_id: input.userID,
      last_failure_code: input.code,
      last_failure_message: input.message,
      last_failure_at: input.failedAt,
      last_failure_event_id: input.eventId,
      updated_at: input.now,
    })
    .onConflict((oc) =>
      oc
        .column('user_id')
        .doUpdateSet((eb) => ({
          last_failure_code: eb.ref('excluded.last_failure_code'),
          last_failure_message: eb.ref('excluded.last_failure_message'),
          last_failure_at: eb.ref('excluded.last_failure_at'),
          last_failure_event_id: eb.ref('excluded.last_failure_event_id'),
          updated_at: eb.ref('excluded.updated_at'),
        }))
        .where((eb) =>
          eb.or([
            eb('user_refresh_state.last_failure_at', 'is', null),
            eb('user_refresh_state.last_failure_at', '<=', eb.ref('excluded.last_failure_at')),
          ]),
        ),
    )
    .execute();
}

/** The broker rejected these credentials: all-users runs skip the user until they change. */
export async function markCredentialsRejected(
  trx: Db,
  input: { userID: string; code: string; at: Date; fingerprint: string; now: Date },
): Promise<void> {
  const values = {
    credentials_rejected_at: input.at,
    rejected_code: input.code,
    rejected_credentials_hash: input.fingerprint,
    updated_at: input.now,
  };
  await trx
    .insertInto('user_refresh_state')
    .values({ user_id: input.userID, ...values })
    .onConflict((oc) => oc.column('user_id').doUpdateSet(values))
    .execute();
}

/**
 * Lifts the mark: after a successful login that happened after the rejection (`before` given), or
 * when an operator asks (no `before`). Returns whether a mark was lifted.
 */
export async function clearCredentialsRejected(
  trx: Db,
  input: { userID: string; before?: Date; now: Date },
): Promise<boolean> {
  let query = trx
    .updateTable('user_refresh_state')
    .set({ credentials_rejected_at: null, rejected_code: null, rejected_credentials_hash: null, updated_at: input.now })
    .where('user_id', '=', input.userID)
    .where('credentials_rejected_at', 'is not', null);
  if (input.before) query = query.where('credentials_rejected_at', '<=', input.before);
  const result = await query.executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Users whose credentials stand rejected, by userID. */
export async function listRejectedUsers(db: Db): Promise<Map<string, UserRefreshStateRow>> {
  const rows = await db
    .selectFrom('user_refresh_state')
    .selectAll()
    .where('credentials_rejected_at', 'is not', null)
    .execute();
  return new Map(rows.map((r) => [r.user_id, r]));
}

export function findRefreshState(db: Db, userID: string): Promise<UserRefreshStateRow | undefined> {
  return db.selectFrom('user_refresh_state').selectAll().where('user_id', '=', userID).executeTakeFirst();
}
