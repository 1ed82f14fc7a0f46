import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  openTestSql,
  seedUsers,
  startNats,
  startPersistenceProcess,
  type PersistenceProcess,
  type TestDatabase,
  type TestNats,
  type TestSql,
} from '../src/index.ts';

describe('persistence for tests', { timeout: 60_000 }, () => {
  let nats: TestNats;
  let db: TestDatabase;
  let persistence: PersistenceProcess;
  let sql: TestSql;
  beforeAll(async () => {
    [nats, db] = await Promise.all([startNats(), createTestDatabase()]);
    persistence = await startPersistenceProcess({ natsUrl: nats.url, databaseUrl: db.url });
    sql = openTestSql(db.url);
  });
  afterAll(async () => {
    await sql?.close();
    await persistence?.stop();
    await Promise.all([nats?.dispose(), db?.dispose()]);
  });

  it('runs as its own process, answering its health check', async () => {
    expect((await fetch(`http://127.0.0.1:${persistence.healthPort}/healthz`)).status).toBe(200);
  });

  it('seeds users (again: updated), readable with SQL; a bad file names the path, not the value', async () => {
    const user = { userID: 'TK1', password: 'pw', appKey: 'key', appSecret: 'secret', totpSecret: 'JBSWY3DPEHPK3PXP' };
    await seedUsers(db.url, [user]);
    await seedUsers(db.url, [{ ...user, clientName: 'Test Kit', state: 'paused' }]);
    const row = await sql.row<{ clientName: string; state: string }>('select * from "IIFLUser" where "userID" = $1', ['TK1']);
    expect(row).toMatchObject({ clientName: 'Test Kit', state: 'paused' });
    const bad = await seedUsers(db.url, [{ ...user, userID: 'bad id', password: 'secret-value' }]).catch((e: unknown) => e);
    expect((bad as Error).message).toMatch(/0\.userID/);
    expect((bad as Error).message).not.toContain('secret-value');
  });
});
