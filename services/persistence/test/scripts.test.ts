import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, migrateToLatest } from '@refresher/db';
import { createTestDatabase, runEntryPoint, type TestDatabase } from '@refresher/testkit';
import { upsertUsers } from '../src/index.ts';

const script = (name: string, args: string[], env: Record<string, string>) => runEntryPoint(`services/persistence/src/${name}`, args, env);

// Each script is a Node process loading TypeScript: give them time on a busy machine.
describe('migrate and seed-users scripts', { timeout: 60_000 }, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.dispose();
  });

  it('migrate applies the migrations and says what it applied; seed-users upserts by userID from a relative path', async () => {
    const first = await script('migrate.ts', [], { DATABASE_URL: database.url });
    expect(first.stdout).toContain('applied: 2026113001_legacy_iifl_user');

    const dir = mkdtempSync(join(tmpdir(), 'seed-users-'));
    const users = [
      { clientId: 'DEMO1', clientName: 'Asha Rao', password: 'p1', appKey: 'k1', appSecret: 's1', totpSecret: 't1', dob: 'ignored' },
      { userID: 'DEMO2', password: 'p2', appKey: 'k2', appSecret: 's2', totpSecret: 't2', state: 'paused' },
    ];
    writeFileSync(join(dir, 'users.json'), JSON.stringify(users));
    const seeded = await script('seed-users.ts', ['users.json'], { DATABASE_URL: database.url, INIT_CWD: dir });
    expect(seeded.stdout).toContain('2 created, 0 updated');

    const db = createDb(database.url, { max: 1 });
    try {
      expect(await migrateToLatest(db)).toEqual([]);
      expect(await upsertUsers(db, [{ ...users[0]!, password: 'changed' }])).toEqual({ inserted: 0, updated: 1 });
      const rows = await db.selectFrom('IIFLUser').selectAll().orderBy('userID').execute();
      expect(rows.map((r) => [r.userID, r.clientName, r.password, r.state, r.email])).toEqual([
        ['DEMO1', 'Asha Rao', 'changed', 'live', ''],
        ['DEMO2', 'DEMO2', 'p2', 'paused', ''],
      ]);
    } finally {
      await db.destroy();
    }

    writeFileSync(join(dir, 'bad.json'), JSON.stringify([{ userID: 'bad id', password: 'secret-value' }]));
    const bad = await script('seed-users.ts', [join(dir, 'bad.json')], { DATABASE_URL: database.url });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('invalid users file');
    expect(bad.stderr).not.toContain('secret-value');
  });
});
