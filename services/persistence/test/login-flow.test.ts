import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { PersistenceApi, UpsertUserRequest } from '@refresher/contracts';
import { encrypted, fakeCiphertext, refusal } from './fixtures.ts';
import { useHarness } from './harness.ts';

const h = useHarness();

const appOnly = () => ({ appKey: fakeCiphertext(), appSecret: fakeCiphertext() });

const upsert = (body: UpsertUserRequest) => h.call(PersistenceApi.upsertUser, body);
const credentials = (userID: string) => h.call(PersistenceApi.getCredentials, { userID });
const flowRows = async () =>
  (
    await sql<{ user_id: string; login_flow: string }>`select user_id, login_flow from user_login_settings order by user_id`.execute(
      h.persistence.db,
    )
  ).rows;

describe('login flow setting', () => {
  it('registers a redirect user with appKey and appSecret only, and serves just those', async () => {
    const app = appOnly();
    const res = await upsert({ userID: 'R1', mode: 'create', clientName: 'Redirect One', loginFlow: 'redirect', credentials: app });
    expect(res).toEqual({
      userID: 'R1',
      created: true,
      changed: ['clientName', 'appKey', 'appSecret', 'password', 'totpSecret', 'loginFlow'],
    });
    expect(await credentials('R1')).toEqual({ userID: 'R1', clientName: 'Redirect One', loginFlow: 'redirect', credentials: app });
    // Nothing is stored for the password and TOTP seed: never the INTEGRATION_MANAGED marker.
    const row = await h.userRow('R1');
    expect([row.password, row.totpSecret]).toEqual(['', '']);
    expect(await flowRows()).toEqual([{ user_id: 'R1', login_flow: 'redirect' }]);
  });

  it('keeps headless users as they were: no setting, all four credentials, loginFlow null', async () => {
    const creds = encrypted();
    await upsert({ userID: 'H1', mode: 'create', credentials: creds });
    expect(await credentials('H1')).toEqual({ userID: 'H1', clientName: 'H1', loginFlow: null, credentials: creds });
    await upsert({ userID: 'H2', mode: 'create', credentials: encrypted(), loginFlow: 'headless-v2' });
    expect((await credentials('H2')).loginFlow).toBe('headless-v2');
    expect(await flowRows()).toEqual([{ user_id: 'H2', login_flow: 'headless-v2' }]);
  });

  it('refuses a headless user without password or TOTP seed, and a redirect user without the app key', async () => {
    expect((await refusal(upsert({ userID: 'X1', mode: 'create', credentials: appOnly() }))).code).toBe(400);
    expect((await refusal(upsert({ userID: 'X2', mode: 'create', loginFlow: 'headless-v1', credentials: appOnly() }))).code).toBe(400);
    const noKey = await refusal(
      upsert({ userID: 'X3', mode: 'create', loginFlow: 'redirect', credentials: { appSecret: fakeCiphertext() } }),
    );
    expect(noKey).toMatchObject({ code: 400, message: expect.stringMatching(/appKey and appSecret/) });
    const managed = await h.raw(
      PersistenceApi.upsertUser,
      JSON.stringify({ userID: 'X4', mode: 'create', integrationManaged: true, loginFlow: 'redirect' }),
    );
    expect(managed.code).toBe(400);
    expect((await h.raw(PersistenceApi.upsertUser, JSON.stringify({ userID: 'X5', mode: 'create', loginFlow: 'browser' }))).code).toBe(400);
    expect(await flowRows()).toEqual([]);
  });

  it('switches a redirect user to a headless flow only with a password and a TOTP seed', async () => {
    await upsert({ userID: 'R1', mode: 'create', loginFlow: 'redirect', credentials: appOnly() });
    const refused = await refusal(upsert({ userID: 'R1', mode: 'update', loginFlow: 'headless-v1' }));
    expect(refused).toMatchObject({ code: 400, message: expect.stringMatching(/password and a TOTP seed/) });
    // Back to the default (null) is a headless flow as far as the row is concerned.
    expect((await refusal(upsert({ userID: 'R1', mode: 'update', loginFlow: null }))).code).toBe(400);
    expect((await credentials('R1')).loginFlow).toBe('redirect');

    const password = fakeCiphertext();
    const totpSecret = fakeCiphertext();
    const res = await upsert({ userID: 'R1', mode: 'update', loginFlow: null, credentials: { password, totpSecret } });
    expect(res.changed).toEqual(['password', 'totpSecret', 'loginFlow']);
    const answer = await credentials('R1');
    expect(answer).toMatchObject({ loginFlow: null, credentials: { password, totpSecret } });
    expect(await flowRows()).toEqual([]);
  });

  it('switches a headless user to the redirect (credentials kept, only the app ones served) and lifts a rejection mark', async () => {
    const creds = encrypted();
    await upsert({ userID: 'H1', mode: 'create', credentials: creds });
    await h.markRejected('H1', 'APP_NOT_AUTHORISED');
    expect((await h.startRun({ runId: 'before', trigger: 'api' })).skipped).toEqual([
      { userID: 'H1', clientName: 'H1', reason: 'CREDENTIALS_REJECTED' },
    ]);
    expect(await upsert({ userID: 'H1', mode: 'update', loginFlow: 'redirect' })).toEqual({
      userID: 'H1',
      created: false,
      changed: ['loginFlow'],
    });
    expect(await credentials('H1')).toEqual({
      userID: 'H1',
      clientName: 'H1',
      loginFlow: 'redirect',
      credentials: { appKey: creds.appKey, appSecret: creds.appSecret },
    });
    // The redirect user is asked for in all-users runs again (iifl-auth sends a login link).
    expect((await h.startRun({ runId: 'after', trigger: 'api' })).requested).toEqual([{ userID: 'H1', clientName: 'H1' }]);
    // Setting the flow it has already changes nothing.
    expect((await upsert({ userID: 'H1', mode: 'update', loginFlow: 'redirect' })).changed).toEqual([]);
  });

  it('makes an integration-managed user a redirect user with the app credentials, and back', async () => {
    await upsert({ userID: 'P1', mode: 'create', integrationManaged: true });
    expect((await refusal(upsert({ userID: 'P1', mode: 'update', loginFlow: 'redirect' }))).code).toBe(409);
    await upsert({ userID: 'P1', mode: 'update', loginFlow: 'redirect', credentials: appOnly() });
    expect((await credentials('P1')).loginFlow).toBe('redirect');
    await upsert({ userID: 'P1', mode: 'update', integrationManaged: true });
    expect(await credentials('P1')).toMatchObject({ loginFlow: null, credentials: null });
    expect(await flowRows()).toEqual([]);
  });

  it('forgets the setting with the user', async () => {
    await upsert({ userID: 'R1', mode: 'create', loginFlow: 'redirect', credentials: appOnly() });
    await h.call(PersistenceApi.removeUser, { userID: 'R1' });
    expect(await flowRows()).toEqual([]);
  });

  it('answers 409 for a redirect row whose app credentials are missing, never a half answer', async () => {
    await upsert({ userID: 'R1', mode: 'create', loginFlow: 'redirect', credentials: appOnly() });
    await sql`update "IIFLUser" set "appSecret" = '' where "userID" = 'R1'`.execute(h.persistence.db);
    expect((await refusal(credentials('R1'))).code).toBe(409);
  });
});
