import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { PersistenceApi, UpsertUserRequest } from '@refresher/contracts';
import { encrypted } from './fixtures.ts';
import { useHarness } from './harness.ts';

const h = useHarness();

const upsert = (body: UpsertUserRequest) => h.call(PersistenceApi.upsertUser, body);
const credentials = (userID: string) => h.call(PersistenceApi.getCredentials, { userID });
const settingRows = async () =>
  (
    await sql<{ user_id: string; login_flow: string | null; egress: string | null }>`
      select user_id, login_flow, egress from user_login_settings order by user_id`.execute(h.persistence.db)
  ).rows;

describe('egress setting', () => {
  it('stores a source address with the user and serves it with the credentials', async () => {
    const creds = encrypted();
    const res = await upsert({ userID: 'E1', mode: 'create', credentials: creds, egress: '127.0.0.2' });
    expect(res.changed).toContain('egress');
    expect(await credentials('E1')).toEqual({ userID: 'E1', clientName: 'E1', loginFlow: null, credentials: creds, egress: '127.0.0.2' });
    expect(await settingRows()).toEqual([{ user_id: 'E1', login_flow: null, egress: '127.0.0.2' }]);
  });

  it('changes it to a proxy, keeps it when unchanged, and null goes back to the defaults', async () => {
    await upsert({ userID: 'E1', mode: 'create', credentials: encrypted(), egress: '127.0.0.2', loginFlow: 'headless-v2' });
    expect((await upsert({ userID: 'E1', mode: 'update', egress: 'http://proxy.internal:3128' })).changed).toEqual(['egress']);
    expect((await upsert({ userID: 'E1', mode: 'update', egress: 'http://proxy.internal:3128' })).changed).toEqual([]);
    expect((await credentials('E1')).egress).toBe('http://proxy.internal:3128');
    // Null: the flow stays, the egress goes; with neither left, the row goes.
    expect((await upsert({ userID: 'E1', mode: 'update', egress: null })).changed).toEqual(['egress']);
    expect(await credentials('E1')).not.toHaveProperty('egress');
    expect(await settingRows()).toEqual([{ user_id: 'E1', login_flow: 'headless-v2', egress: null }]);
    await upsert({ userID: 'E1', mode: 'update', loginFlow: null });
    expect(await settingRows()).toEqual([]);
  });

  it('refuses what is neither an IP address nor an http(s) URL', async () => {
    for (const egress of ['localhost', '300.1.1.1', 'socks5://proxy:1080', 'default']) {
      const reply = await h.raw(
        PersistenceApi.upsertUser,
        JSON.stringify({ userID: 'E2', mode: 'create', credentials: encrypted(), egress }),
      );
      expect(reply.code).toBe(400);
    }
    expect(await settingRows()).toEqual([]);
  });

  it('lifts a rejection mark when the egress changes (an address refused says nothing of another)', async () => {
    await upsert({ userID: 'E1', mode: 'create', credentials: encrypted(), egress: '127.0.0.3' });
    await h.markRejected('E1', 'IP_NOT_AUTHORISED');
    expect((await h.startRun({ runId: 'before', trigger: 'api' })).skipped).toEqual([
      { userID: 'E1', clientName: 'E1', reason: 'CREDENTIALS_REJECTED' },
    ]);
    await upsert({ userID: 'E1', mode: 'update', egress: '127.0.0.2' });
    expect((await h.startRun({ runId: 'after', trigger: 'api' })).requested).toEqual([{ userID: 'E1', clientName: 'E1' }]);
  });
});
