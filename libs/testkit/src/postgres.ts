import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestDatabase {
  url: string;
  dispose(): Promise<void>;
}

const LOCAL_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A fresh, empty database for one test file. `TEST_DATABASE_URL` names the server to create it on
 * (any database there, used as the admin connection); else the local Postgres; else, when neither
 * answers and a Docker engine does, a testcontainers Postgres.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.TEST_DATABASE_URL ?? LOCAL_ADMIN_URL;
  if (await answers(adminUrl)) return createOn(adminUrl);
  if (process.env.TEST_DATABASE_URL) throw new Error('TEST_DATABASE_URL does not answer');
  const { PostgreSqlContainer } = await import('./postgres-container.ts');
  const container = await PostgreSqlContainer();
  const db = await createOn(container.url);
  return {
    url: db.url,
    dispose: async () => {
      await db.dispose();
      await container.stop();
    },
  };
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function createOn(adminUrl: string): Promise<TestDatabase> {
  const name = `refresher_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    dispose: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`drop database if exists "${name}" with (force)`);
      await client.end();
    },
  };
}
