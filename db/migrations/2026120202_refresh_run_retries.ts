import { sql, type Kysely } from 'kysely';

/**
 * Links a run that retries the failures of an earlier one (a morning's second pass, an operator's
 * `--failed`) to the first run of its chain, so the morning and its passes read as one. Null for
 * every run that retries nothing, which is every run this column finds.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('refresh_runs')
    .addColumn('retry_of', 'text', (c) => c.references('refresh_runs.run_id').onDelete('cascade'))
    .execute();
  await db.schema.createIndex('refresh_runs_retry_of_idx').on('refresh_runs').column('retry_of').execute();
  await db.schema.alterTable('refresh_runs').dropConstraint('refresh_runs_trigger_check').execute();
  await db.schema
    .alterTable('refresh_runs')
    .addCheckConstraint('refresh_runs_trigger_check', sql`trigger in ('schedule', 'api', 'cli', 'watch')`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('refresh_runs').dropConstraint('refresh_runs_trigger_check').execute();
  await db.schema
    .alterTable('refresh_runs')
    .addCheckConstraint('refresh_runs_trigger_check', sql`trigger in ('schedule', 'api', 'cli')`)
    .execute();
  await db.schema.dropIndex('refresh_runs_retry_of_idx').execute();
  await db.schema.alterTable('refresh_runs').dropColumn('retry_of').execute();
}
