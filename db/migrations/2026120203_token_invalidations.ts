import { type Kysely } from 'kysely';

/**
 * The last time iifl-auth's day watch found a user's stored login token dead at IIFL (while the
 * row still held that token): when, why (`SESSION_INVALID`, `WRONG_CLIENT`) and IIFL's own code.
 * A later `"lastLoginTime"` on the user's row means the mark is history: a newer token is stored.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('user_refresh_state')
    .addColumn('token_invalidated_at', 'timestamptz')
    .addColumn('token_invalidated_reason', 'text')
    .addColumn('token_invalidated_broker_code', 'text')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('user_refresh_state')
    .dropColumn('token_invalidated_at')
    .dropColumn('token_invalidated_reason')
    .dropColumn('token_invalidated_broker_code')
    .execute();
}
