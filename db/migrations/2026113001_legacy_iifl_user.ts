import { sql, type Kysely } from 'kysely';

/**
 * Adopts the legacy table exactly as Prisma created it. An existing table and its rows are left
 * as they are; only the `state` column the legacy code filters on is added when it is missing.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE IF NOT EXISTS "IIFLUser" (
      "id" SERIAL NOT NULL,
      "email" TEXT NOT NULL,
      "phoneNumber" TEXT NOT NULL,
      "clientName" TEXT NOT NULL,
      "userID" TEXT NOT NULL,
      "password" TEXT NOT NULL,
      "appKey" TEXT NOT NULL,
      "appSecret" TEXT NOT NULL,
      "totpSecret" TEXT NOT NULL,
      "token" TEXT,
      "tokenValidity" TIMESTAMP(3),
      "lastLoginTime" TIMESTAMP(3),
      "tradingStatus" TEXT NOT NULL DEFAULT 'active',
      "loginStatus" TEXT NOT NULL DEFAULT 'pending',
      "state" TEXT NOT NULL DEFAULT 'live',
      "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
      "updatedAt" TIMESTAMP(3) NOT NULL,
      CONSTRAINT "IIFLUser_pkey" PRIMARY KEY ("id")
    )
  `.execute(db);
  await sql`CREATE UNIQUE INDEX IF NOT EXISTS "IIFLUser_userID_key" ON "IIFLUser"("userID")`.execute(db);
  await sql`ALTER TABLE "IIFLUser" ADD COLUMN IF NOT EXISTS "state" TEXT DEFAULT 'live'`.execute(db);
}

/** The legacy table belongs to the trading system as well: it is never dropped by a rollback. */
export async function down(): Promise<void> {}
