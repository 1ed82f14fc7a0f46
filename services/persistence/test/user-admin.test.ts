import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { PersistenceApi, UpsertUserRequest } from '@refresher/contracts';
import { encrypted, fakeCiphertext, refusal } from './fixtures.ts';
import { realUser, useHarness } from './harness.ts';

const h = useHarness();

const upsert = (body: UpsertUserRequest) => h.call(PersistenceApi.upsertUser, body);
const remove = (userID: string) => h.call(PersistenceApi.removeUser, { userID });
const credentials = (userID: string) => h.call(PersistenceApi.getCredentials, { userID });

describe('persistence.admin.users.upsert', () => {
  it('creates a user with encrypted credentials and serves them back unchanged', async () => {
    const creds = encrypted();
    const res = await upsert({ userID: 'U1', mode: 'create', clientName: 'One', credentials: creds });
    expect(res).toMatchObject({ userID: 'U1', created: true });
    expect(await credentials('U1')).toEqual({ userID: 'U1', clientName: 'One', loginFlow: null, credentials: creds });
  });

  it('refuses plain-text credentials with 400, naming the field but never the value', async () => {
    const answer = await h.raw(
      PersistenceApi.upsertUser,
      JSON.stringify({ userID: 'U1', mode: 'create', credentials: { ...encrypted(), password: 'hunter2-plain' } }),
    );
    expect(answer.code).toBe(400);
    expect(answer.description).toMatch(/credentials\.password/);
    expect(answer.description).not.toContain('hunter2-plain');
    const stored = await sql<{ n: number }>`select count(*)::int as n from "IIFLUser"`.execute(h.persistence.db);
    expect(stored.rows[0]!.n).toBe(0);
  });

  it('answers 409 to create for an existing user and 404 to update for a missing one', async () => {
    await upsert({ userID: 'U1', mode: 'create', credentials: encrypted() });
    expect((await refusal(upsert({ userID: 'U1', mode: 'create', credentials: encrypted() }))).code).toBe(409);
    expect((await refusal(upsert({ userID: 'U2', mode: 'update', clientName: 'x' }))).code).toBe(404);
    expect((await refusal(upsert({ userID: 'U3', mode: 'upsert', credentials: { password: fakeCiphertext() } }))).code).toBe(400);
  });

  it('updates some credentials and the profile, leaving the rest as they were', async () => {
    const creds = encrypted();
    await upsert({ userID: 'U1', mode: 'create', credentials: creds });
    const password = fakeCiphertext();
    const res = await upsert({ userID: 'U1', mode: 'update', clientName: 'Renamed', state: 'paused', credentials: { password } });
    expect(res).toEqual({ userID: 'U1', created: false, changed: ['clientName', 'state', 'password'] });
    expect(await credentials('U1')).toEqual({ userID: 'U1', clientName: 'Renamed', loginFlow: null, credentials: { ...creds, password } });
  });

  it('registers an integration-managed user, who has no credentials to serve', async () => {
    await upsert({ userID: 'P1', mode: 'upsert', integrationManaged: true, clientName: 'Partner' });
    expect((await credentials('P1')).credentials).toBeNull();
    expect((await refusal(upsert({ userID: 'P1', mode: 'update', credentials: { password: fakeCiphertext() } }))).code).toBe(409);
  });

  it('a row with the marker in its password alone is integration-managed; a real password makes it a real user', async () => {
    const creds = encrypted();
    await upsert({ userID: 'MX', mode: 'create', credentials: creds });
    await sql`update "IIFLUser" set password = 'INTEGRATION_MANAGED' where "userID" = 'MX'`.execute(h.persistence.db);
    expect((await credentials('MX')).credentials).toBeNull();
    // Its other columns hold real values: a password is all it lacks.
    const password = fakeCiphertext();
    await upsert({ userID: 'MX', mode: 'update', credentials: { password } });
    expect((await credentials('MX')).credentials).toEqual({ ...creds, password });
    // A marker in a column the flow needs is no value: 409, naming the column and nothing else.
    await sql`update "IIFLUser" set "appKey" = 'INTEGRATION_MANAGED', "totpSecret" = '' where "userID" = 'MX'`.execute(h.persistence.db);
    const refused = await refusal(credentials('MX'));
    expect(refused).toMatchObject({ code: 409 });
    expect(refused.message).toMatch(/missing appKey, totpSecret$/);
    expect(refused.message).not.toContain(creds.appSecret);
  });

  it('new credentials lift a "credentials rejected" mark', async () => {
    await upsert({ userID: 'U1', mode: 'create', credentials: encrypted() });
    await h.markRejected('U1', 'BAD_CREDENTIALS');
    const start = (runId: string) => h.call(PersistenceApi.startRun, { runId, trigger: 'api' });
    expect((await start('run-before')).skipped).toEqual([{ userID: 'U1', clientName: 'U1', reason: 'CREDENTIALS_REJECTED' }]);
    await upsert({ userID: 'U1', mode: 'update', credentials: { password: fakeCiphertext() } });
    expect((await start('run-after')).requested).toEqual([{ userID: 'U1', clientName: 'U1' }]);
  });
});

describe('persistence.admin.users.remove', () => {
  it('removes the user and its refresh state; a second removal is 404', async () => {
    await h.seed([realUser('U1')]);
    await sql`insert into user_refresh_state (user_id, last_failure_code) values ('U1', 'TIMEOUT')`.execute(h.persistence.db);
    expect(await remove('U1')).toEqual({ userID: 'U1', removed: true });
    expect((await refusal(credentials('U1'))).code).toBe(404);
    const state = await sql<{ n: number }>`select count(*)::int as n from user_refresh_state`.execute(h.persistence.db);
    expect(state.rows[0]!.n).toBe(0);
    expect((await refusal(remove('U1'))).code).toBe(404);
  });
});
