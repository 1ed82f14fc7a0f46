import { sql, type Kysely } from 'kysely';

/**
 * Where a user's logins leave from (IIFL answers only whitelisted static IPs): a source address or
 * an HTTP(S) proxy URL, checked by the application (`EgressSetting`). A row may now hold an egress
 * without a login flow of its own, so `login_flow` becomes nullable; a row holds at least one.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('user_login_settings').addColumn('egress', 'text').execute();
  await db.schema
    .alterTable('user_login_settings')
    .alterColumn('login_flow', (c) => c.dropNotNull())
    .execute();
  await db.schema
    .alterTable('user_login_settings')
    .addCheckConstraint('user_login_settings_some_setting_check', sql`login_flow is not null or egress is not null`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('user_login_settings').dropConstraint('user_login_settings_some_setting_check').execute();
  await sql`delete from user_login_settings where login_flow is null`.execute(db);
  await db.schema
    .alterTable('user_login_settings')
    .alterColumn('login_flow', (c) => c.setNotNull())
    .execute();
  await db.schema.alterTable('user_login_settings').dropColumn('egress').execute();
}
