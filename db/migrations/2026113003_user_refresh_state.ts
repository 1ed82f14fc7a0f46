import { sql, type Kysely } from 'kysely';

/**
 * What the pipeline remembers about a user between runs: the last failure, and whether the broker
 * rejected the stored credentials (then all-users runs skip the user until they change).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('user_refresh_state')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('last_failure_code', 'text')
    .addColumn('last_failure_message', 'text')
    .addColumn('last_failure_at', 'timestamptz')
    .addColumn('last_failure_event_id', 'text')
    .addColumn('credentials_rejected_at', 'timestamptz')
    .addColumn('rejected_code', 'text')
    .addColumn('rejected_credentials_hash', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('processed_events')
    .addColumn('event_id', 'text', (c) => c.primaryKey())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('processed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('processed_events_processed_at_idx').on('processed_events').column('processed_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('processed_events').execute();
  await db.schema.dropTable('user_refresh_state').execute();
}
