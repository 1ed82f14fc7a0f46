import { sql, type Kysely } from 'kysely';

/**
 * Runs and their per-user outcomes. One row per (run, user): a user's outcome in a run is recorded
 * once, moving from 'pending' to a final value and never again.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('refresh_runs')
    .addColumn('run_id', 'text', (c) => c.primaryKey())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('completed_at', 'timestamptz')
    .addColumn('total', 'integer', (c) => c.notNull())
    .addColumn('requested_count', 'integer', (c) => c.notNull())
    .addColumn('refreshed_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('failed_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('skipped_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addCheckConstraint('refresh_runs_trigger_check', sql`trigger in ('schedule', 'api', 'cli')`)
    .addCheckConstraint(
      'refresh_runs_counts_check',
      sql`refreshed_count + failed_count + skipped_count <= total and requested_count <= total`,
    )
    .execute();
  await db.schema.createIndex('refresh_runs_requested_at_idx').on('refresh_runs').column('requested_at').execute();

  await db.schema
    .createTable('refresh_outcomes')
    .addColumn('run_id', 'text', (c) => c.notNull().references('refresh_runs.run_id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('client_name', 'text', (c) => c.notNull())
    .addColumn('requested', 'boolean', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('code', 'text')
    .addColumn('message', 'text')
    .addColumn('event_id', 'text')
    .addColumn('attempts', 'integer')
    .addColumn('token_validity', 'timestamptz')
    .addColumn('recorded_at', 'timestamptz')
    .addPrimaryKeyConstraint('refresh_outcomes_pkey', ['run_id', 'user_id'])
    .addCheckConstraint('refresh_outcomes_outcome_check', sql`outcome in ('pending', 'refreshed', 'failed', 'skipped')`)
    .execute();
  await db.schema.createIndex('refresh_outcomes_user_id_idx').on('refresh_outcomes').column('user_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('refresh_outcomes').execute();
  await db.schema.dropTable('refresh_runs').execute();
}
