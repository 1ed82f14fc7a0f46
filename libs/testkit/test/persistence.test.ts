import { describe, expect, it } from 'vitest';
import { seedUsers, usePipeline } from '../src/index.ts';

describe('persistence for tests', { timeout: 60_000 }, () => {
  const pipeline = usePipeline();

  it('runs as its own process, answering its health check', async () => {
    expect((await fetch(`http://127.0.0.1:${pipeline.persistence.healthPort}/healthz`)).status).toBe(200);
  });

  it('seeds users (again: updated), readable with SQL; a bad file names the path, not the value', async () => {
    const user = { userID: 'TK1', password: 'pw', appKey: 'key', appSecret: 'secret', totpSecret: 'JBSWY3DPEHPK3PXP' };
    await seedUsers(pipeline.database.url, [user]);
    await seedUsers(pipeline.database.url, [{ ...user, clientName: 'Test Kit', state: 'paused' }]);
    const row = await pipeline.sql.row<{ clientName: string; state: string }>('select * from "IIFLUser" where "userID" = $1', ['TK1']);
    expect(row).toMatchObject({ clientName: 'Test Kit', state: 'paused' });
    const bad = await seedUsers(pipeline.database.url, [{ ...user, userID: 'bad id', password: 'secret-value' }]).catch((e: unknown) => e);
    expect((bad as Error).message).toMatch(/0\.userID/);
    expect((bad as Error).message).not.toContain('secret-value');
  });

  it('starts persistence again after a test stopped it', async () => {
    await pipeline.persistence.stop();
    await pipeline.restartPersistence();
    expect((await fetch(`http://127.0.0.1:${pipeline.persistence.healthPort}/healthz`)).status).toBe(200);
  });
});
