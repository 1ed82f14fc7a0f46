import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptField, keyringFromEnv } from '@refresher/credential-crypto';
import { ConfigError, loadConfig } from '@refresher/platform';
import { realUser, usePipeline } from '@refresher/testkit';
import { gatewayConfigSchema } from '../src/index.ts';
import { createFailureSlowdown } from '../src/failure-slowdown.ts';
import { API_KEY, captureLogger, startTestGateway, type TestGateway } from './helpers.ts';

const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');
const KEYS = {
  reader: 'reader-key-0123456789abcdef',
  refresher: 'refresher-key-0123456789abcdef',
  pusher: 'pusher-key-0123456789abcdef',
  admin: 'admin-key-0123456789abcdef',
  adminNext: 'admin-key-next-0123456789abcdef',
};
const API_KEYS = [
  `reader:read:${sha256(KEYS.reader)}`,
  `refresher:refresh+read:${sha256(KEYS.refresher)}`,
  `pusher:push-tokens:${sha256(KEYS.pusher)}`,
  `admin:manage-users:${sha256(KEYS.admin)}`,
  // The same caller's next key, valid at the same time (rotation without downtime).
  `admin:manage-users:${sha256(KEYS.adminNext)}`,
].join(',');
const CREDENTIALS_KEY = randomBytes(32).toString('base64');
const bearer = (key: string) => `Bearer ${key}`;

const pipeline = usePipeline({ users: [realUser('R1')] });
let gw: TestGateway;
const captured = captureLogger();

beforeAll(async () => {
  gw = await startTestGateway(
    pipeline.nats.url,
    { API_KEYS, CREDENTIALS_KEY, CREDENTIALS_KEY_ID: 'k7', REFRESH_BURST: '2', REFRESH_RATE_PER_MINUTE: '1', LOG_LEVEL: 'trace' },
    captured.log,
  );
});
afterAll(() => gw?.gateway.stop());

describe('API key scopes', () => {
  it.each([
    ['reader', 'GET', '/api/integration/users/R1/token', 200],
    ['reader', 'POST', '/api/integration/tokens/refresh/R1', 403],
    ['reader', 'POST', '/api/integration/broker/token', 403],
    ['pusher', 'GET', '/api/integration/users/R1/token', 403],
    ['pusher', 'POST', '/api/integration/broker/token', 400],
    ['refresher', 'DELETE', '/api/integration/users/R1', 403],
    ['admin', 'GET', '/api/integration/users/R1/token', 403],
    ['admin', 'POST', '/api/integration/tokens/refresh-all', 403],
    ['legacy', 'DELETE', '/api/integration/users/R1', 403],
    ['legacy', 'PUT', '/api/integration/users/R1', 403],
    ['legacy', 'GET', '/api/integration/users/R1/token', 200],
  ] as const)('%s key: %s %s answers %i', async (who, method, path, status) => {
    const key = who === 'legacy' ? API_KEY : KEYS[who];
    const res = await gw.call(method, path, { auth: bearer(key), ...(method === 'POST' || method === 'PUT' ? { body: {} } : {}) });
    expect(res.status).toBe(status);
    if (status === 403) expect(res.body).toEqual({ success: false, error: 'Forbidden' });
  });

  it('accepts an old and a new key of one caller at the same time, and only the configured ones', async () => {
    for (const key of [KEYS.admin, KEYS.adminNext]) {
      const res = await gw.call('PUT', '/api/integration/users/NOBODY', { auth: bearer(key), body: { clientName: 'x' } });
      expect(res.status).toBe(404);
    }
    // After the rotation the old key is dropped from API_KEYS: it is then an unknown key.
    const rotated = await startTestGateway(pipeline.nats.url, {
      API_KEYS: `admin:manage-users:${sha256(KEYS.adminNext)}`,
      INTEGRATION_API_KEY: '',
      CREDENTIALS_KEY,
    }).catch((err: unknown) => err);
    expect(rotated).toBeInstanceOf(ConfigError);
    const after = await startTestGateway(pipeline.nats.url, { API_KEYS: `admin:manage-users:${sha256(KEYS.adminNext)}`, CREDENTIALS_KEY });
    try {
      expect((await after.call('PUT', '/api/integration/users/NOBODY', { auth: bearer(KEYS.admin), body: {} })).status).toBe(401);
      expect(
        (await after.call('PUT', '/api/integration/users/NOBODY', { auth: bearer(KEYS.adminNext), body: { state: 'x' } })).status,
      ).toBe(404);
    } finally {
      await after.gateway.stop();
    }
  });
});

describe('401', () => {
  it('is byte for byte the same whatever was wrong', async () => {
    const answers = await Promise.all(
      [null, '', 'Bearer', 'Bearer wrong', `Bearer ${KEYS.admin}x`, `Basic ${KEYS.admin}`, KEYS.admin, `Bearer ${sha256(KEYS.admin)}`].map(
        (auth) => gw.call('POST', '/api/integration/tokens/refresh-all', { auth }),
      ),
    );
    for (const res of answers) {
      expect(res.status).toBe(401);
      expect(res.text).toBe(answers[0]!.text);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(res.headers.get('content-length')).toBe(answers[0]!.headers.get('content-length'));
    }
    expect(JSON.parse(answers[0]!.text)).toEqual({ success: false, error: 'Unauthorized' });
  });

  it('is slowed down after repeated failures from one client, and stays the same 401', async () => {
    const slow = await startTestGateway(pipeline.nats.url, {
      AUTH_FREE_FAILURES: '2',
      AUTH_FAILURE_DELAY_MS: '400',
      AUTH_FAILURE_MAX_DELAY_MS: '400',
    });
    try {
      const bodies: string[] = [];
      for (let i = 0; i < 2; i++) bodies.push((await slow.call('GET', '/api/integration/users/R1/token', { auth: 'Bearer nope' })).text);
      const started = Date.now();
      const third = await slow.call('GET', '/api/integration/users/R1/token', { auth: 'Bearer nope' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(390);
      expect(third.status).toBe(401);
      expect(third.text).toBe(bodies[0]);
      // A right key is not held back.
      expect((await slow.call('GET', '/api/integration/users/R1/token')).status).toBe(200);
    } finally {
      await slow.gateway.stop();
    }
  });

  it('slow-down: free failures, then doubling delays up to the cap, counted per client and per window', () => {
    const s = createFailureSlowdown({ freeFailures: 2, baseDelayMs: 100, maxDelayMs: 350, windowMs: 1000, maxClients: 2 });
    expect([s.fail('a', 0), s.fail('a', 1), s.fail('a', 2), s.fail('a', 3), s.fail('a', 4)]).toEqual([0, 0, 100, 200, 350]);
    expect(s.fail('b', 5)).toBe(0);
    expect(s.fail('a', 2000)).toBe(0);
    s.fail('c', 2001);
    s.fail('d', 2002); // forgets the oldest client
    expect(s.fail('b', 2003)).toBe(0);
  });
});

describe('refresh rate limit per key', () => {
  it('answers 429 with Retry-After past the burst, per key', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await gw.call('POST', '/api/integration/tokens/refresh/NOBODY', { auth: bearer(KEYS.refresher) });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(res.body).toEqual({ success: false, error: 'Too many refresh requests, try again later' });
      }
    }
    expect(statuses).toEqual([404, 404, 429]);
    // Reads are not limited, and another key has its own bucket.
    expect((await gw.call('GET', '/api/integration/users/R1/token', { auth: bearer(KEYS.refresher) })).status).toBe(200);
    expect((await gw.call('POST', '/api/integration/tokens/refresh/NOBODY')).status).toBe(404);
  });
});

/** A user row's credential columns as Postgres holds them. */
type StoredUser = Record<'password' | 'appKey' | 'appSecret' | 'totpSecret', string>;

describe('user management', () => {
  const secrets = {
    password: 'Pa55-word-plain',
    appKey: 'app-key-plain-1',
    appSecret: 'app-secret-plain-1',
    totpSecret: 'JBSWY3DPEHPK3PXQ',
  };

  it('registers, updates and removes a user; Postgres only ever holds ciphertext and no answer carries a secret', async () => {
    const created = await gw.call('POST', '/api/integration/users/NEW1', {
      auth: bearer(KEYS.admin),
      body: { clientName: 'New One', ...secrets },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ success: true, userID: 'NEW1', created: true });
    const keyring = keyringFromEnv({ CREDENTIALS_KEY, CREDENTIALS_KEY_ID: 'k7' });
    const row = (await pipeline.sql.row<StoredUser>('select * from "IIFLUser" where "userID" = $1', ['NEW1']))!;
    for (const column of ['password', 'appKey', 'appSecret', 'totpSecret'] as const) {
      expect(row[column]).toMatch(/^enc:v1:k7:/);
      expect(decryptField(keyring, row[column], { table: 'IIFLUser', column, row: 'NEW1' })).toBe(secrets[column]);
    }

    expect((await gw.call('POST', '/api/integration/users/NEW1', { auth: bearer(KEYS.admin), body: { ...secrets } })).status).toBe(409);

    const updated = await gw.call('PUT', '/api/integration/users/NEW1', {
      auth: bearer(KEYS.adminNext),
      body: { password: 'Changed-pass-plain', state: 'paused' },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toEqual({ success: true, userID: 'NEW1', created: false, changed: ['state', 'password'] });
    const after = (await pipeline.sql.row<StoredUser>('select * from "IIFLUser" where "userID" = $1', ['NEW1']))!;
    expect(decryptField(keyring, after.password, { table: 'IIFLUser', column: 'password', row: 'NEW1' })).toBe('Changed-pass-plain');
    expect(after.appSecret).toBe(row.appSecret);

    const removed = await gw.call('DELETE', '/api/integration/users/NEW1', { auth: bearer(KEYS.admin) });
    expect(removed.body).toEqual({ success: true, userID: 'NEW1', removed: true });
    expect((await gw.call('DELETE', '/api/integration/users/NEW1', { auth: bearer(KEYS.admin) })).status).toBe(404);

    const everything = [created.text, updated.text, removed.text, captured.lines.join('\n')].join('\n');
    for (const secret of [...Object.values(secrets), 'Changed-pass-plain', ...Object.values(KEYS), API_KEY, CREDENTIALS_KEY]) {
      expect(everything).not.toContain(secret);
    }
  });

  it('registers a redirect-flow user with appKey and appSecret alone, and changes the login flow', async () => {
    const admin = { auth: bearer(KEYS.admin) };
    const app = { appKey: secrets.appKey, appSecret: secrets.appSecret };
    const noFlow = await gw.call('POST', '/api/integration/users/RD1', { ...admin, body: app });
    expect(noFlow.status).toBe(400);
    expect(noFlow.body.error).toMatch(/password and totpSecret are required, except with loginFlow "redirect"/);
    expect((await gw.call('POST', '/api/integration/users/RD1', { ...admin, body: { ...app, loginFlow: 'browser' } })).status).toBe(400);

    const created = await gw.call('POST', '/api/integration/users/RD1', { ...admin, body: { ...app, loginFlow: 'redirect' } });
    expect(created).toMatchObject({ status: 201, body: { success: true, userID: 'RD1', changed: expect.arrayContaining(['loginFlow']) } });
    const row = (await pipeline.sql.row<StoredUser>('select * from "IIFLUser" where "userID" = $1', ['RD1']))!;
    expect([row.password, row.totpSecret]).toEqual(['', '']);
    expect(row.appKey).toMatch(/^enc:v1:k7:/);
    const flow = async () =>
      (await pipeline.sql.row<{ login_flow: string }>('select login_flow from user_login_settings where user_id = $1', ['RD1']))
        ?.login_flow;
    expect(await flow()).toBe('redirect');

    const headless = await gw.call('PUT', '/api/integration/users/RD1', { ...admin, body: { loginFlow: 'headless-v1' } });
    expect(headless.status).toBe(400);
    expect(headless.body.error).toMatch(/password and a TOTP seed/);
    const back = await gw.call('PUT', '/api/integration/users/RD1', {
      ...admin,
      body: { loginFlow: null, password: secrets.password, totpSecret: secrets.totpSecret },
    });
    expect(back.body).toEqual({ success: true, userID: 'RD1', created: false, changed: ['password', 'totpSecret', 'loginFlow'] });
    expect(await flow()).toBeUndefined();
    for (const res of [created, headless, back]) for (const secret of Object.values(secrets)) expect(res.text).not.toContain(secret);
  });

  it("sets and clears a user's egress, and refuses one that is neither an address nor an http(s) URL", async () => {
    const admin = { auth: bearer(KEYS.admin) };
    const egress = async () =>
      (await pipeline.sql.row<{ egress: string | null }>('select egress from user_login_settings where user_id = $1', ['EG1']))?.egress;
    const created = await gw.call('POST', '/api/integration/users/EG1', { ...admin, body: { ...secrets, egress: '127.0.0.2' } });
    expect(created).toMatchObject({ status: 201, body: { changed: expect.arrayContaining(['egress']) } });
    expect(await egress()).toBe('127.0.0.2');
    const bad = await gw.call('PUT', '/api/integration/users/EG1', { ...admin, body: { egress: 'eth0' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/egress must be an IPv4 or IPv6 address, an http\(s\):\/\/ proxy URL, or null/);
    const proxy = await gw.call('PUT', '/api/integration/users/EG1', { ...admin, body: { egress: 'http://proxy.internal:3128' } });
    expect(proxy.body).toEqual({ success: true, userID: 'EG1', created: false, changed: ['egress'] });
    expect(await egress()).toBe('http://proxy.internal:3128');
    expect((await gw.call('PUT', '/api/integration/users/EG1', { ...admin, body: { egress: null } })).body.changed).toEqual(['egress']);
    expect(await egress()).toBeUndefined();
  });

  it('refuses bad bodies with 400 naming fields, never values', async () => {
    const res = await gw.call('POST', '/api/integration/users/NEW2', {
      auth: bearer(KEYS.admin),
      body: { password: 'only-this-secret', extra: 'field-value' },
    });
    expect(res.status).toBe(400);
    expect(res.text).not.toContain('only-this-secret');
    expect(res.text).not.toContain('field-value');
    expect(res.body.error).toMatch(/appKey/);
  });
});

describe('errors and headers', () => {
  it('never shows a stack trace or an internal message, and sets the security headers', async () => {
    const malformed = await gw.call('POST', '/api/integration/broker/token', { auth: bearer(KEYS.pusher), rawBody: '{"userID":' });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual({ success: false, error: 'Malformed JSON body' });
    const huge = await gw.call('POST', '/api/integration/broker/token', {
      auth: bearer(KEYS.pusher),
      rawBody: JSON.stringify({ token: 'x'.repeat(40_000) }),
    });
    expect(huge.status).toBe(413);
    for (const res of [malformed, huge]) {
      expect(res.text).not.toMatch(/at .*\.(ts|js):\d+|node_modules|SyntaxError/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('strict-transport-security')).toBeTruthy();
      expect(res.headers.get('x-powered-by')).toBeNull();
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
  });
});

describe('configuration', () => {
  it('needs some key, valid API_KEYS entries, and CREDENTIALS_KEY when a key may manage users', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(gatewayConfigSchema, env);
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({})).toEqual([expect.stringMatching(/INTEGRATION_API_KEY or API_KEYS is required/)]);
    expect(problems({ API_KEYS: 'ops:everything:abc' })[0]).toMatch(/API_KEYS entry 1 is not name:scope/);
    expect(problems({ API_KEYS: `ops:read+root:${sha256('x')}` })[0]).toMatch(/unknown scope "root"/);
    expect(problems({ API_KEYS: `ops:manage-users:${sha256('x')}` })[0]).toMatch(/CREDENTIALS_KEY is not set.*manage-users/);
    const config = loadConfig(gatewayConfigSchema, { INTEGRATION_API_KEY: 'short', API_KEYS: `ops:read:${sha256('x')}` });
    expect(config.apiKeys.map((k) => [k.name, [...k.scopes]])).toEqual([
      ['legacy', ['refresh', 'read', 'push-tokens']],
      ['ops', ['read']],
    ]);
    expect(JSON.stringify(config)).not.toContain('short');
  });
});
