import type { Kysely, Transaction } from 'kysely';
import type { LoginFlow } from '@refresher/contracts';
import type { Database } from '@refresher/db';

type Db = Kysely<Database> | Transaction<Database>;

/** The user's own login flow; null when the user logs in with the deployment default. */
export async function findLoginFlow(db: Db, userID: string): Promise<LoginFlow | null> {
  const row = await db.selectFrom('user_login_settings').select('login_flow').where('user_id', '=', userID).executeTakeFirst();
  return row?.login_flow ?? null;
}

/** Sets the user's login flow, or (null) removes it: the user then follows the deployment default. */
export async function writeLoginFlow(trx: Db, input: { userID: string; flow: LoginFlow | null; now: Date }): Promise<void> {
  if (input.flow === null) {
    await trx.deleteFrom('user_login_settings').where('user_id', '=', input.userID).execute();
    return;
  }
  await trx
    .insertInto('user_login_settings')
    .values({ user_id: input.userID, login_flow: input.flow, updated_at: input.now })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ login_flow: input.flow!, updated_at: input.now }))
    .execute();
}
