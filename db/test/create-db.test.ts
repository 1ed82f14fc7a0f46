import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import { createTestDatabase, waitFor, type TestDatabase } from '@refresher/testkit';
import { createDb, type Database } from '../src/index.ts';

/**
 * A database restart cuts every session with an error message ("terminating connection due to
 * administrator command"). A connection that is checked out but between two queries has no query
 * to hand that error to: without a listener of its own, node-postgres throws it as an uncaught
 * 'error' event and the process dies.
 */
describe('createDb: a session cut by the server', () => {
  let database: TestDatabase;
  let db: Kysely<Database>;
  let admin: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb(database.url, { max: 2 });
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await db?.destroy();
    await database?.dispose();
  });

  it('between two queries of a checked-out connection: the next query fails, the process lives, the pool recovers', async () => {
    let errorAfterCut: unknown;
    await db.connection().execute(async (conn) => {
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn);
      const pid = rows[0]!.pid;
      await admin.query('select pg_terminate_backend($1)', [pid]);
      await waitFor('the backend to be gone', async () => {
        const gone = await admin.query('select 1 from pg_stat_activity where pid = $1', [pid]);
        return gone.rowCount === 0 ? true : undefined;
      });
      // The server's error message reaches the idle client in a later turn of the event loop.
      await new Promise((r) => setTimeout(r, 100));
      errorAfterCut = await sql`select 1`.execute(conn).then(
        () => undefined,
        (err: unknown) => err,
      );
    });

    expect(errorAfterCut).toBeInstanceOf(Error);
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db);
    expect(rows).toEqual([{ one: 1 }]);
  });
});
