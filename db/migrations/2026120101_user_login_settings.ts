import { sql, type Kysely } from 'kysely';

/**
 * How each user logs in at IIFL, when it is not the deployment default: one row per user with a
 * setting. The legacy table is shared with the trading code and is left as it is. The names are
 * written out here (a migration never imports application code): a new flow is a new migration.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('user_login_settings')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('login_flow', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('user_login_settings_flow_check', sql`login_flow in ('headless-v1', 'headless-v2', 'redirect')`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('user_login_settings').execute();
}
