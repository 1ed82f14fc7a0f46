import { describe, expect, it } from 'vitest';
import { generateAccounts } from '../src/index.ts';
import { useFixture } from './fixture.ts';
import { call, clientKey, login } from './protocol-client.ts';

const fx = useFixture();

const admin = (method: 'GET' | 'POST', path: string, body?: unknown) => call(fx.sim.url, method, path, body);

describe('admin API', () => {
  it('GET /admin/stats answers the stats after logins', async () => {
    const account = fx.fresh();
    expect((await login(fx.sim.baseUrl, account, fx.clock.t)).ok).toBe(true);
    const reply = await admin('GET', '/admin/stats');
    expect(reply.status).toBe(200);
    expect(reply.body['status']).toBe('Ok');
    const stats = reply.body['result'];
    expect(stats).toMatchObject({
      requests: { enckey: 1, validatepassword: 1, validatetotp: 1, getusersession: 1 },
      responses: { '200': 4 },
      failuresByCode: {},
      keyExchanges: 1,
      loginsStarted: 1,
      sessionsIssued: 1,
      maxConcurrentLoginsPerClient: 1,
      maxConcurrentLoginsClientId: account.clientId,
      totpStepReuse: 0,
      clients: {
        [account.clientId]: {
          passwordAttempts: 1,
          totpAttempts: 1,
          totpAttemptSteps: [Math.floor(fx.clock.t / 30_000)],
          sessionsIssued: 1,
          failures: {},
          maxConcurrentLogins: 1,
        },
      },
    });
    expect(stats).toEqual(fx.sim.stats());
  });

  it('POST /admin/reset zeroes the counters', async () => {
    await call(fx.sim.baseUrl, 'POST', '/get/enckey', { ceData: clientKey().clientPub });
    expect(fx.sim.stats().requests['enckey']).toBe(1);
    const reply = await admin('POST', '/admin/reset');
    expect(reply.body['status']).toBe('Ok');
    expect(fx.sim.stats()).toMatchObject({ requests: {}, responses: {}, keyExchanges: 0, clients: {} });
  });

  it('POST /admin/knobs merges a partial patch and answers the knobs; GET /admin/knobs reads them', async () => {
    const reply = await admin('POST', '/admin/knobs', { errorRate: 0.5, rateLimits: { profile: 10, enckey: 7 } });
    expect(reply.status).toBe(200);
    expect(reply.body['result']).toMatchObject({
      errorRate: 0.5,
      hangRate: 0,
      rateLimits: { getusersession: 3, profile: 10, logout: 2, enckey: 7 },
    });
    await admin('POST', '/admin/knobs', { rateLimits: { enckey: 0 } });
    const read = await admin('GET', '/admin/knobs');
    expect(read.body['result'].rateLimits).toEqual({ getusersession: 3, profile: 10, logout: 2 });
    expect(fx.sim.knobs().errorRate).toBe(0.5);
  });

  it('POST /admin/knobs takes answerShape, passwordForbidden and sessionExp, and refuses bad values', async () => {
    const reply = await admin('POST', '/admin/knobs', { answerShape: 'legacy', passwordForbidden: true, sessionExp: 60_000 });
    expect(reply.body['result']).toMatchObject({ answerShape: 'legacy', passwordForbidden: true, sessionExp: 60_000 });
    expect((await admin('POST', '/admin/knobs', { sessionExp: 'none' })).body['result'].sessionExp).toBe('none');
    const bad = await admin('POST', '/admin/knobs', { answerShape: 'xml', sessionExp: 0, passwordForbidden: 'yes' });
    expect(bad.status).toBe(400);
    const issues = bad.body['issues'] as string[];
    for (const knob of ['answerShape', 'sessionExp', 'passwordForbidden']) expect(issues.some((i) => i.startsWith(knob))).toBe(true);
    expect(fx.sim.knobs()).toMatchObject({ answerShape: 'legacy', sessionExp: 'none' });
  });

  it('POST /admin/knobs takes profileRefuses as a list of client ids, replacing the list', async () => {
    expect((await admin('POST', '/admin/knobs', { profileRefuses: ['AB1', 'CD2'] })).body['result'].profileRefuses).toEqual(['AB1', 'CD2']);
    expect((await admin('POST', '/admin/knobs', { profileRefuses: ['EF3'] })).body['result'].profileRefuses).toEqual(['EF3']);
    const bad = await admin('POST', '/admin/knobs', { profileRefuses: 'AB1' });
    expect(bad.status).toBe(400);
    expect((bad.body['issues'] as string[]).some((i) => i.startsWith('profileRefuses'))).toBe(true);
    expect(fx.sim.knobs().profileRefuses).toEqual(['EF3']);
  });

  it('GET /admin/session-key answers the public key of the session tokens as PEM and JWK', async () => {
    const reply = await admin('GET', '/admin/session-key');
    expect(reply.status).toBe(200);
    expect(reply.body['result']).toEqual({
      alg: 'RS256',
      pem: fx.sim.sessionPublicKey,
      jwk: expect.objectContaining({ kty: 'RSA', alg: 'RS256', n: expect.any(String), e: 'AQAB' }),
    });
    expect(fx.sim.sessionPublicKey).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  it('POST /admin/knobs refuses a bad patch with every problem listed, and changes nothing', async () => {
    const reply = await admin('POST', '/admin/knobs', { errorRate: 2, latencyMs: -1, bogus: true, inject: [{ endpoint: 'nope' }] });
    expect(reply.status).toBe(400);
    expect(reply.body['status']).toBe('Not_Ok');
    const issues = reply.body['issues'] as string[];
    expect(issues.some((i) => i.startsWith('errorRate'))).toBe(true);
    expect(issues.some((i) => i.startsWith('latencyMs'))).toBe(true);
    expect(issues.some((i) => i.startsWith('inject.0.endpoint'))).toBe(true);
    expect(issues.some((i) => i.includes('bogus'))).toBe(true);
    expect(fx.sim.knobs().errorRate).toBe(0);
    expect(() => fx.sim.setKnobs({ hangRate: -1 })).toThrow(/hangRate/);
  });

  it('POST /admin/accounts adds accounts that can then log in', async () => {
    const [extra] = generateAccounts(1, 'admin-added');
    const before = await login(fx.sim.baseUrl, { ...extra!, clientId: 'ADMIN1' }, fx.clock.t);
    expect(before.body['status']).toBe('EC002');
    const reply = await admin('POST', '/admin/accounts', [{ ...extra!, clientId: 'ADMIN1' }]);
    expect(reply.status).toBe(200);
    expect(reply.body['result']).toMatchObject({ added: 1 });
    fx.clock.t += 30_000;
    expect((await login(fx.sim.baseUrl, { ...extra!, clientId: 'ADMIN1' }, fx.clock.t)).ok).toBe(true);
    const wrapped = await admin('POST', '/admin/accounts', { accounts: [{ ...extra!, clientId: 'ADMIN2' }] });
    expect(wrapped.body['result']).toMatchObject({ added: 1 });
  });

  it('POST /admin/accounts lists every bad entry and adds none', async () => {
    const [good] = generateAccounts(1, 'admin-bad');
    const reply = await admin('POST', '/admin/accounts', [
      { ...good!, clientId: 'OK1' },
      { ...good!, clientId: 'bad id' },
      { ...good!, clientId: 'OK2', totpSecret: 'not base32!' },
      { clientId: 'OK3' },
    ]);
    expect(reply.status).toBe(400);
    const issues = reply.body['issues'] as string[];
    expect(issues.some((i) => i.startsWith('1.clientId'))).toBe(true);
    expect(issues.some((i) => i.startsWith('2.totpSecret'))).toBe(true);
    expect(issues.some((i) => i.startsWith('3.password'))).toBe(true);
    expect(JSON.stringify(reply.body)).not.toContain(good!.password);
    const login1 = await login(fx.sim.baseUrl, { ...good!, clientId: 'OK1' }, fx.clock.t);
    expect(login1.body['status']).toBe('EC002');
  });

  it('answers 404 for an unknown admin path and 400 for a body that is not JSON', async () => {
    expect((await admin('GET', '/admin/nothing')).status).toBe(404);
    expect((await admin('POST', '/admin/knobs', '{not json')).status).toBe(400);
  });
});

describe('malformed API input', () => {
  const api = (method: 'GET' | 'POST', path: string, body?: unknown) => call(fx.sim.baseUrl, method, path, body);

  it.each([
    ['/get/enckey', '{"ceData":'],
    ['/get/enckey', '[1,2]'],
    ['/get/enckey', '"text"'],
    ['/get/enckey', {}],
    ['/get/enckey', { ceData: 42 }],
    ['/validatepassword', {}],
    ['/validatetotp', { clientId: 'A1', totp: 123456, appKey: 'k' }],
    ['/validatetotp', { clientId: 'A1' }],
    ['/getusersession', { checksum: 'lower-case s is not the field' }],
  ])('POST %s %j answers 400 Not_Ok with a message', async (path, body) => {
    const reply = await api('POST', path, body);
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ status: 'Not_Ok', message: expect.any(String), result: null });
    expect(fx.sim.stats().failuresByCode['HTTP 400']).toBe(1);
  });

  it('answers 400 when the envelope holds JSON without clientId and password', async () => {
    const serverPub = (await api('POST', '/get/enckey', { ceData: clientKey().clientPub })).body['cPubKey'] as string;
    const { envelope } = await import('./protocol-client.ts');
    const reply = await api('POST', '/validatepassword', { cEncData: envelope(clientKey().clientPub, serverPub, '{"user":"x"}') });
    expect(reply.status).toBe(400);
  });

  it('answers 404 for an unknown path, 405 for a wrong method, 413 for a huge body, and keeps serving', async () => {
    expect((await api('GET', '/nothing')).status).toBe(404);
    expect((await api('GET', '/get/enckey')).status).toBe(405);
    expect((await api('POST', '/get/enckey', { ceData: 'x'.repeat(300_000) })).status).toBe(413);
    expect((await api('POST', '/get/enckey', { ceData: clientKey().clientPub })).status).toBe(200);
    expect(fx.sim.stats().requests).toMatchObject({ unknown: 2, enckey: 2 });
  });
});
