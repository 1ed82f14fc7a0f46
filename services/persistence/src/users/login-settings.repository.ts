import type { Kysely, Transaction } from 'kysely';
import type { LoginFlow } from '@refresher/contracts';
import type { Database } from '@refresher/db';

type Db = Kysely<Database> | Transaction<Database>;

/** A user's own login settings; null in each: the deployment default. */
export interface LoginSettings {
  flow: LoginFlow | null;
  /** Where the user's logins leave from (an IP literal or an http(s) proxy URL). */
  egress: string | null;
}

const NONE: LoginSettings = { flow: null, egress: null };

/** The user's own login flow and egress; nulls when the user follows the deployment defaults. */
export async function findLoginSettings(db: Db, userID: string): Promise<LoginSettings> {
  const row = await db.selectFrom('user_login_settings').select(['login_flow', 'egress']).where('user_id', '=', userID).executeTakeFirst();
  return row ? { flow: row.login_flow, egress: row.egress } : NONE;
}

/** The user's own login flow; null when the user logs in with the deployment default. */
export async function findLoginFlow(db: Db, userID: string): Promise<LoginFlow | null> {
  return (await findLoginSettings(db, userID)).flow;
}

/** Sets the user's settings; both null removes the row: the user then follows the deployment defaults. */
export async function writeLoginSettings(trx: Db, input: LoginSettings & { userID: string; now: Date }): Promise<void> {
  if (input.flow === null && input.egress === null) {
    await trx.deleteFrom('user_login_settings').where('user_id', '=', input.userID).execute();
    return;
  }
  const values = { login_flow: input.flow, egress: input.egress, updated_at: input.now };
  await trx
    .insertInto('user_login_settings')
    .values({ user_id: input.userID, ...values })
    .onConflict((oc) => oc.column('user_id').doUpdateSet(values))
    .execute();
}
