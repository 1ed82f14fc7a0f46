import { sql, type Kysely, type Transaction } from 'kysely';
import { z } from 'zod';
import { INTEGRATION_MANAGED, UserId } from '@refresher/contracts';
import type { Database, IIFLUserRow } from '@refresher/db';

type Db = Kysely<Database> | Transaction<Database>;

export function findUser(db: Db, userID: string): Promise<IIFLUserRow | undefined> {
  return db.selectFrom('IIFLUser').selectAll().where('userID', '=', userID).executeTakeFirst();
}

/** Locks the row for the rest of the transaction. */
export function findUserForUpdate(trx: Transaction<Database>, userID: string): Promise<IIFLUserRow | undefined> {
  return trx.selectFrom('IIFLUser').selectAll().where('userID', '=', userID).forUpdate().executeTakeFirst();
}

/** Users an all-users run covers: `state = 'live'`, as the legacy code selected them. */
export function listLiveUsers(db: Db): Promise<IIFLUserRow[]> {
  return db.selectFrom('IIFLUser').selectAll().where('state', '=', 'live').orderBy('id').execute();
}

/** A token a partner pushed: stored as given, as the legacy push routes did. */
export async function writePushedToken(
  trx: Db,
  input: { userID: string; token: string; tokenValidity: Date; loginStatus: string; tradingStatus: string; now: Date },
): Promise<void> {
  await trx
    .updateTable('IIFLUser')
    .set({
      token: input.token,
      tokenValidity: input.tokenValidity,
      lastLoginTime: input.now,
      loginStatus: input.loginStatus,
      tradingStatus: input.tradingStatus,
      updatedAt: input.now,
    })
    .where('userID', '=', input.userID)
    .execute();
}

/** A user whose token is managed by a partner: never logged in, credentials are the marker literal. */
export async function createIntegrationManagedUser(trx: Db, input: { userID: string; clientName: string; now: Date }): Promise<boolean> {
  const inserted = await trx
    .insertInto('IIFLUser')
    .values({
      userID: input.userID,
      clientName: input.clientName,
      email: '',
      phoneNumber: '',
      password: INTEGRATION_MANAGED,
      appKey: INTEGRATION_MANAGED,
      appSecret: INTEGRATION_MANAGED,
      totpSecret: INTEGRATION_MANAGED,
      state: 'live',
      createdAt: input.now,
      updatedAt: input.now,
    })
    .onConflict((oc) => oc.column('userID').doNothing())
    .executeTakeFirst();
  return (inserted.numInsertedOrUpdatedRows ?? 0n) > 0n;
}

/** A user record as the seeding tool reads it (demo and test data, or an import). */
export const SeedUser = z
  .object({
    clientId: UserId.optional(),
    userID: UserId.optional(),
    clientName: z.string().max(200).optional(),
    email: z.string().max(320).optional(),
    phoneNumber: z.string().max(32).optional(),
    password: z.string().min(1),
    appKey: z.string().min(1),
    appSecret: z.string().min(1),
    totpSecret: z.string().min(1),
    state: z.string().min(1).max(32).optional(),
  })
  .refine((u) => u.userID ?? u.clientId, { message: 'userID or clientId is required' });
export type SeedUser = z.input<typeof SeedUser>;

/**
 * Inserts or updates users by userID. Credentials, names and state are replaced; the token columns
 * are left alone. Returns how many rows were created and how many updated.
 */
export async function upsertUsers(db: Kysely<Database>, users: readonly SeedUser[]): Promise<{ inserted: number; updated: number }> {
  // The last record of a userID wins (one statement cannot touch a row twice).
  const byId = new Map(users.map((u) => SeedUser.parse(u)).map((u) => [(u.userID ?? u.clientId)!, u]));
  const parsed = [...byId.values()];
  const now = new Date();
  // One statement binds at most 65,535 parameters (11 per user): chunks, in one transaction.
  return db.transaction().execute(async (trx) => {
    let inserted = 0;
    for (let i = 0; i < parsed.length; i += UPSERT_CHUNK) {
      const rows = await upsertChunk(trx, parsed.slice(i, i + UPSERT_CHUNK), now);
      inserted += rows.filter((r) => r.inserted).length;
    }
    return { inserted, updated: parsed.length - inserted };
  });
}

const UPSERT_CHUNK = 1_000;

function upsertChunk(db: Kysely<Database>, parsed: readonly SeedUser[], now: Date) {
  return db
    .insertInto('IIFLUser')
    .values(
      parsed.map((u) => ({
        userID: (u.userID ?? u.clientId)!,
        clientName: u.clientName ?? (u.userID ?? u.clientId)!,
        email: u.email ?? '',
        phoneNumber: u.phoneNumber ?? '',
        password: u.password,
        appKey: u.appKey,
        appSecret: u.appSecret,
        totpSecret: u.totpSecret,
        state: u.state ?? 'live',
        createdAt: now,
        updatedAt: now,
      })),
    )
    .onConflict((oc) =>
      oc.column('userID').doUpdateSet((eb) => ({
        clientName: eb.ref('excluded.clientName'),
        email: eb.ref('excluded.email'),
        phoneNumber: eb.ref('excluded.phoneNumber'),
        password: eb.ref('excluded.password'),
        appKey: eb.ref('excluded.appKey'),
        appSecret: eb.ref('excluded.appSecret'),
        totpSecret: eb.ref('excluded.totpSecret'),
        state: eb.ref('excluded.state'),
        updatedAt: eb.ref('excluded.updatedAt'),
      })),
    )
    .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
    .execute();
}
