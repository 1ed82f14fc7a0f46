import type { Kysely, Transaction } from 'kysely';
import type { Database, UserRefreshStateRow } from '@refresher/db';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Lifts the mark when an operator asks or the credentials change (a later successful login lifts it
 * in the outcome statement, events/outcome-statement.ts). Returns whether a mark was lifted.
 */
export async function clearCredentialsRejected(trx: Db, input: { userID: string; now: Date }): Promise<boolean> {
  const result = await trx
    .updateTable('user_refresh_state')
    .set({ credentials_rejected_at: null, rejected_code: null, rejected_credentials_hash: null, updated_at: input.now })
    .where('user_id', '=', input.userID)
    .where('credentials_rejected_at', 'is not', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Users whose credentials stand rejected, by userID. */
export async function listRejectedUsers(db: Db): Promise<Map<string, UserRefreshStateRow>> {
  const rows = await db.selectFrom('user_refresh_state').selectAll().where('credentials_rejected_at', 'is not', null).execute();
  return new Map(rows.map((r) => [r.user_id, r]));
}
