process.env.TZ = 'Asia/Kolkata';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import { createTestDatabase, type TestDatabase } from '@refresher/testkit';
import { createDb, migrateToLatest, migrations, type Database } from '../src/index.ts';

// Exactly what Prisma generated for the legacy model (no "state" column).
const PRISMA_DDL = `
CREATE TABLE "IIFLUser" (
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
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "IIFLUser_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "IIFLUser_userID_key" ON "IIFLUser"("userID");
`;

/** A Kysely instance on the database for `use`, destroyed after it. */
async function withDb(url: string, use: (db: Kysely<Database>) => Promise<void>): Promise<void> {
  const db = createDb(url, { max: 2 });
  try {
    await use(db);
  } finally {
    await db.destroy();
  }
}

async function columns(url: string): Promise<Record<string, { type: string; nullable: string; def: string | null }>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      `select column_name, data_type, datetime_precision, is_nullable, column_default
         from information_schema.columns where table_name = 'IIFLUser'`,
    );
    return Object.fromEntries(
      rows.map((r) => [
        r.column_name,
        {
          type: r.datetime_precision != null ? `${r.data_type}(${r.datetime_precision})` : r.data_type,
          nullable: r.is_nullable,
          def: r.column_default,
        },
      ]),
    );
  } finally {
    await client.end();
  }
}

describe('migrations on a fresh database', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.dispose();
  });

  it('creates the legacy table as Prisma did, plus state, and the project tables', async () => {
    await withDb(database.url, async (db) => {
      const results = await migrateToLatest(db);
      expect(results.map((r) => [r.migrationName, r.status])).toEqual(Object.keys(migrations).map((name) => [name, 'Success']));
      // Applying again is a no-op.
      expect(await migrateToLatest(db)).toEqual([]);

      const cols = await columns(database.url);
      expect(Object.keys(cols).sort()).toEqual(
        [
          'id',
          'email',
          'phoneNumber',
          'clientName',
          'userID',
          'password',
          'appKey',
          'appSecret',
          'totpSecret',
          'token',
          'tokenValidity',
          'lastLoginTime',
          'tradingStatus',
          'loginStatus',
          'state',
          'createdAt',
          'updatedAt',
        ].sort(),
      );
      expect(cols.tokenValidity).toMatchObject({ type: 'timestamp without time zone(3)', nullable: 'YES' });
      expect(cols.createdAt).toMatchObject({ type: 'timestamp without time zone(3)', nullable: 'NO', def: 'CURRENT_TIMESTAMP' });
      expect(cols.state).toMatchObject({ nullable: 'NO', def: "'live'::text" });

      const { rows: indexes } = await sql<{ indexname: string; indexdef: string }>`
        select indexname, indexdef from pg_indexes where tablename = 'IIFLUser' order by indexname`.execute(db);
      expect(indexes.map((i) => i.indexname)).toEqual(['IIFLUser_pkey', 'IIFLUser_userID_key']);
      expect(indexes[1]!.indexdef).toContain('UNIQUE INDEX');

      const { rows: tables } = await sql<{ tablename: string }>`
        select tablename from pg_tables where schemaname = 'public' order by tablename`.execute(db);
      expect(tables.map((t) => t.tablename)).toEqual(
        expect.arrayContaining(['refresh_runs', 'refresh_outcomes', 'user_refresh_state', 'user_login_settings', 'processed_events']),
      );
    });
  });

  it('reads and writes legacy timestamps as UTC although the process runs in Asia/Kolkata', async () => {
    expect(new Date('2026-01-01T00:00:00Z').getTimezoneOffset()).toBe(-330);
    await withDb(database.url, async (db) => {
      const validity = new Date('2026-11-30T15:00:00.123Z');
      await db
        .insertInto('IIFLUser')
        .values({
          email: '',
          phoneNumber: '',
          clientName: 'T',
          userID: 'TZ1',
          password: 'p',
          appKey: 'k',
          appSecret: 's',
          totpSecret: 't',
          tokenValidity: validity,
          updatedAt: new Date(),
        })
        .execute();
      const row = await db.selectFrom('IIFLUser').selectAll().where('userID', '=', 'TZ1').executeTakeFirstOrThrow();
      expect(row.tokenValidity?.toISOString()).toBe('2026-11-30T15:00:00.123Z');
      // Stored as the UTC wall-clock time, as Prisma stores it.
      const { rows } = await sql<{ text: string; created_drift: number }>`
        select "tokenValidity"::text as text,
               abs(extract(epoch from ("createdAt" - (now() at time zone 'UTC')))) as created_drift
          from "IIFLUser" where "userID" = 'TZ1'`.execute(db);
      expect(rows[0]!.text).toBe('2026-11-30 15:00:00.123');
      expect(Number(rows[0]!.created_drift)).toBeLessThan(60);
      expect(row.createdAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
      expect(row.createdAt.getTime()).toBeLessThan(Date.now() + 60_000);
    });
  });
});

describe('migrations over an existing legacy table', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query(PRISMA_DDL);
    await client.query(`
      INSERT INTO "IIFLUser" ("email","phoneNumber","clientName","userID","password","appKey","appSecret","totpSecret","token","tokenValidity","lastLoginTime","updatedAt")
      VALUES ('a@x.in','99','Real User','28748327','pw','ak','as','ts','eyJtoken','2025-11-21 15:00:00','2025-11-21 03:00:00','2025-11-21 03:00:00'),
             ('','','Avisekh ghosh','2a66c354-2cfa-467c-a14b-da76a6ca13c7','INTEGRATION_MANAGED','INTEGRATION_MANAGED','INTEGRATION_MANAGED','INTEGRATION_MANAGED','INTEGRATION_PLACEHOLDER_TOKEN',NULL,NULL,'2025-11-20 10:00:00')`);
    await client.end();
  });
  afterAll(async () => {
    await database?.dispose();
  });

  it('keeps the table and its rows and adds state', async () => {
    await withDb(database.url, async (db) => {
      await migrateToLatest(db);
      const rows = await db.selectFrom('IIFLUser').selectAll().orderBy('id').execute();
      expect(rows).toHaveLength(2);
      expect(rows[0]).toMatchObject({
        id: 1,
        userID: '28748327',
        clientName: 'Real User',
        password: 'pw',
        token: 'eyJtoken',
        loginStatus: 'pending',
        tradingStatus: 'active',
        state: 'live',
      });
      expect(rows[0]!.tokenValidity?.toISOString()).toBe('2025-11-21T15:00:00.000Z');
      expect(rows[1]).toMatchObject({ id: 2, token: 'INTEGRATION_PLACEHOLDER_TOKEN', state: 'live' });
      const cols = await columns(database.url);
      expect(cols.state).toMatchObject({ type: 'text', def: "'live'::text" });
      // The serial sequence continues after the existing rows.
      const inserted = await db
        .insertInto('IIFLUser')
        .values({
          email: '',
          phoneNumber: '',
          clientName: 'N',
          userID: 'NEW1',
          password: 'p',
          appKey: 'k',
          appSecret: 's',
          totpSecret: 't',
          updatedAt: new Date(),
        })
        .returning(['id', 'state'])
        .executeTakeFirstOrThrow();
      expect(inserted).toEqual({ id: 3, state: 'live' });
    });
  });
});
