import type { Kysely, Transaction } from 'kysely';
import type { Database, UserRefreshStateRow } from '@refresher/db';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Lifts the mark when an operator asks or the credentials change (a later successful login lifts it
 * in the outcome statement, events/outcome-statement.ts). Returns whether a mark was lifted.
 */
export async function clearCredentialsRejected(trx: Db, input: { userID: string; now: Date }): Promise<boolean> {
  return (await liftRejectionMarks(trx, input)).length > 0;
}

/** Lifts the marks of one user, or of every user without `userID`; returns the users whose mark was lifted, sorted. */
export async function liftRejectionMarks(trx: Db, input: { userID?: string | undefined; now: Date }): Promise<string[]> {
  let query = trx
    .updateTable('user_refresh_state')
    .set({ credentials_rejected_at: null, rejected_code: null, rejected_credentials_hash: null, updated_at: input.now })
    .where('credentials_rejected_at', 'is not', null);
  if (input.userID !== undefined) query = query.where('user_id', '=', input.userID);
  const lifted = await query.returning('user_id').execute();
  return lifted.map((row) => row.user_id).sort();
}

/** Users whose credentials stand rejected, by userID. */
export async function listRejectedUsers(db: Db): Promise<Map<string, UserRefreshStateRow>> {
  const rows = await db.selectFrom('user_refresh_state').selectAll().where('credentials_rejected_at', 'is not', null).execute();
  return new Map(rows.map((r) => [r.user_id, r]));
}
