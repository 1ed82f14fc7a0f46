import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { INTEGRATION_MANAGED } from '@refresher/contracts';
import { decryptField, keyringFromEnv } from '@refresher/credential-crypto';
import { usePipeline } from '@refresher/testkit';
import { runUsersCli, type Output, type UsersIo } from '../src/index.ts';

// `pnpm users ...` in-process against the real persistence service (its own process) over real NATS and Postgres.
const pipeline = usePipeline();
const CREDENTIALS_KEY = randomBytes(32).toString('base64');
const keyring = keyringFromEnv({ CREDENTIALS_KEY });

const creds = { password: 'cli-pass-plain', appKey: 'cli-appkey-plain', appSecret: 'cli-secret-plain', totpSecret: 'JBSWY3DPEHPK3PXR' };

async function users(argv: string[], files: Record<string, unknown> = {}, env: Record<string, string> = { CREDENTIALS_KEY }) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const output: Output = { out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
  const io: UsersIo = {
    read: (path) => {
      if (!(path in files)) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      return JSON.stringify(files[path]);
    },
  };
  const code = await runUsersCli(argv, { NATS_URL: pipeline.nats.url, ...env }, output, io);
  const text = [...stdout, ...stderr].join('\n');
  for (const secret of [...Object.values(creds), CREDENTIALS_KEY]) expect(text).not.toContain(secret);
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

interface UserRow {
  clientName: string;
  password: string;
  appKey: string;
  appSecret: string;
  totpSecret: string;
  state: string;
}
const row = (userID: string) => pipeline.sql.row<UserRow>('select * from "IIFLUser" where "userID" = $1', [userID]);

describe('pnpm users', () => {
  it('adds a user with credentials encrypted before they leave the command', async () => {
    const res = await users(['add', 'CLI1', '--client-name', 'Cli One', '--credentials-file', 'c.json'], { 'c.json': creds });
    expect(res).toMatchObject({ code: 0 });
    expect(res.stdout).toMatch(/Added user CLI1/);
    const stored = (await row('CLI1'))!;
    expect(stored.clientName).toBe('Cli One');
    for (const column of ['password', 'appKey', 'appSecret', 'totpSecret'] as const) {
      expect(stored[column]).toMatch(/^enc:v1:k1:/);
      expect(decryptField(keyring, stored[column], { table: 'IIFLUser', column, row: 'CLI1' })).toBe(creds[column]);
    }
    const again = await users(['add', 'CLI1', '--credentials-file', 'c.json'], { 'c.json': creds });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists already/);
  });

  it('updates a password alone, and the profile without any key', async () => {
    await users(['add', 'CLI2', '--credentials-file', 'c.json'], { 'c.json': creds });
    const before = (await row('CLI2'))!;
    expect((await users(['update', 'CLI2', '--credentials-file', 'p.json'], { 'p.json': { password: 'new-plain-pass' } })).code).toBe(0);
    const after = (await row('CLI2'))!;
    expect(decryptField(keyring, after.password, { table: 'IIFLUser', column: 'password', row: 'CLI2' })).toBe('new-plain-pass');
    expect(after.appSecret).toBe(before.appSecret);
    expect((await users(['update', 'CLI2', '--state', 'paused'], {}, {})).code).toBe(0);
    expect((await row('CLI2'))!.state).toBe('paused');
    expect((await users(['update', 'NOBODY', '--state', 'x'], {}, {})).code).toBe(1);
  });

  it('removes a user', async () => {
    await users(['add', 'CLI3', '--credentials-file', 'c.json'], { 'c.json': creds });
    expect((await users(['remove', 'CLI3'], {}, {})).code).toBe(0);
    expect(await row('CLI3')).toBeUndefined();
    const missing = await users(['remove', 'CLI3'], {}, {});
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/User not found: CLI3/);
  });

  it('imports a users file: real users encrypted, integration-managed ones kept as such', async () => {
    const file = [
      { clientId: 'IMP1', clientName: 'Imported', ...creds },
      {
        userID: 'IMP2',
        password: INTEGRATION_MANAGED,
        appKey: INTEGRATION_MANAGED,
        appSecret: INTEGRATION_MANAGED,
        totpSecret: INTEGRATION_MANAGED,
      },
      // The password alone decides: real values in the other columns do not make a real user.
      { userID: 'IMP3', ...creds, password: INTEGRATION_MANAGED },
    ];
    const res = await users(['import', 'users.json'], { 'users.json': file });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/Imported 3 user\(s\): 3 created, 0 updated/);
    expect((await row('IMP1'))!.totpSecret).toMatch(/^enc:v1:/);
    expect((await row('IMP2'))!.totpSecret).toBe(INTEGRATION_MANAGED);
    const imp3 = (await row('IMP3'))!;
    expect([imp3.password, imp3.appKey, imp3.totpSecret]).toEqual([INTEGRATION_MANAGED, INTEGRATION_MANAGED, INTEGRATION_MANAGED]);
    expect((await users(['import', 'users.json'], { 'users.json': file })).stdout).toMatch(/0 created, 3 updated/);
  });

  it('adds a redirect-flow user with appKey and appSecret alone, and changes the login flow', async () => {
    const flow = async (userID: string) =>
      (await pipeline.sql.row<{ login_flow: string }>('select login_flow from user_login_settings where user_id = $1', [userID]))
        ?.login_flow;
    const app = { appKey: creds.appKey, appSecret: creds.appSecret };
    const without = await users(['add', 'CLIR1', '--credentials-file', 'a.json'], { 'a.json': app });
    expect(without.code).toBe(2);
    expect(without.stderr).toMatch(/appKey and appSecret alone with --login-flow redirect/);
    expect((await users(['add', 'CLIR1', '--login-flow', 'browser', '--credentials-file', 'a.json'], { 'a.json': app })).code).toBe(2);

    const added = await users(['add', 'CLIR1', '--login-flow', 'redirect', '--credentials-file', 'a.json'], { 'a.json': app });
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/Added user CLIR1 \(.*loginFlow\)/);
    expect(await flow('CLIR1')).toBe('redirect');
    expect((await row('CLIR1'))!.password).toBe('');

    // Back to the default needs a password and a TOTP seed.
    const refused = await users(['update', 'CLIR1', '--login-flow', 'default'], {}, {});
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/password and a TOTP seed/);
    const rest = { password: creds.password, totpSecret: creds.totpSecret };
    expect((await users(['update', 'CLIR1', '--login-flow', 'default', '--credentials-file', 'r.json'], { 'r.json': rest })).code).toBe(0);
    expect(await flow('CLIR1')).toBeUndefined();
    expect((await users(['update', 'CLIR1', '--login-flow', 'headless-v2'], {}, {})).code).toBe(0);
    expect(await flow('CLIR1')).toBe('headless-v2');

    const imported = await users(['import', 'u.json'], {
      'u.json': [
        { userID: 'IMPR1', loginFlow: 'redirect', ...app },
        { userID: 'IMPR2', ...app },
      ],
    });
    expect(imported.code).toBe(2);
    expect(imported.stderr).toMatch(/1: password and totpSecret are required, except with loginFlow "redirect"/);
    expect((await users(['import', 'u.json'], { 'u.json': [{ userID: 'IMPR1', loginFlow: 'redirect', ...app }] })).code).toBe(0);
    expect(await flow('IMPR1')).toBe('redirect');
  });

  it("sets, changes and clears a user's egress with --egress, and refuses one that is neither address nor URL", async () => {
    const egress = async (userID: string) =>
      (await pipeline.sql.row<{ egress: string | null }>('select egress from user_login_settings where user_id = $1', [userID]))?.egress;
    expect((await users(['add', 'CLIE1', '--egress', '127.0.0.2', '--credentials-file', 'c.json'], { 'c.json': creds })).code).toBe(0);
    expect(await egress('CLIE1')).toBe('127.0.0.2');
    const changed = await users(['update', 'CLIE1', '--egress', 'http://proxy.internal:3128'], {}, {});
    expect(changed.code).toBe(0);
    expect(changed.stdout).toMatch(/egress/);
    expect(await egress('CLIE1')).toBe('http://proxy.internal:3128');
    const bad = await users(['update', 'CLIE1', '--egress', 'eth0'], {}, {});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--egress must be an IPv4 or IPv6 address, an http\(s\):\/\/ proxy URL, or default/);
    expect((await users(['update', 'CLIE1', '--egress', 'default'], {}, {})).code).toBe(0);
    expect(await egress('CLIE1')).toBeUndefined();
    expect((await users(['import', 'u.json'], { 'u.json': [{ userID: 'CLIE2', egress: '127.0.0.3', ...creds }] })).code).toBe(0);
    expect(await egress('CLIE2')).toBe('127.0.0.3');
  });

  it('refuses without a key, with credentials on the wrong shape, or with bad arguments', async () => {
    const noKey = await users(['add', 'X1', '--credentials-file', 'c.json'], { 'c.json': creds }, {});
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/CREDENTIALS_KEY is not set/);
    const partial = await users(['add', 'X1', '--credentials-file', 'c.json'], { 'c.json': { password: creds.password } });
    expect(partial.code).toBe(2);
    const badFile = await users(['import', 'u.json'], { 'u.json': [{ userID: 'bad id', ...creds }] });
    expect(badFile.code).toBe(2);
    expect(badFile.stderr).toMatch(/0\.userID/);
    expect((await users(['add', 'X1', '--password', 'p'])).code).toBe(2);
    expect((await users(['add', 'bad.id', '--credentials-file', 'c.json'], { 'c.json': creds })).code).toBe(2);
    expect(await row('X1')).toBeUndefined();
  });
});
