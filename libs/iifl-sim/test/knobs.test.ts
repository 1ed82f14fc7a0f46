import { describe, expect, it } from 'vitest';
import { demoAccounts, ENDPOINTS, IIFL_MESSAGES, startSimulator, type EndpointName } from '../src/index.ts';
import { bearer, ENDPOINT_PATHS, useFixture } from './fixture.ts';
import { call, checksum, clientKey, envelope, login, totp, type Reply } from './protocol-client.ts';

const fx = useFixture();

const post = fx.post;

describe('latency', () => {
  it('delays every API call by at least latencyMs', async () => {
    fx.sim.setKnobs({ latencyMs: 150 });
    const started = performance.now();
    const reply = await post('/get/enckey', { ceData: clientKey().clientPub });
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    expect(reply.body['cPubKey']).toEqual(expect.any(String));
  });
});

describe('rate limits', () => {
  it('answers 429 past the default of 3 profile calls per second per session, and admits again a second later', async () => {
    const session = await fx.session();
    const profile = () => call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer(session));
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await profile()).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const other = await fx.session();
    expect((await call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer(other))).status).toBe(200);
    fx.clock.t += 1000;
    expect((await profile()).status).toBe(200);
    const stats = fx.sim.stats();
    expect(stats.rateLimited).toBe(1);
    expect(stats.responses['429']).toBe(1);
    expect(stats.failuresByCode['HTTP 429']).toBe(1);
  });

  it('limits per client id, for any endpoint given a limit', async () => {
    fx.sim.setKnobs({ rateLimits: { validatepassword: 1 } });
    const [a, b] = [fx.fresh(), fx.fresh()];
    const serverPub = (await post('/get/enckey', { ceData: clientKey().clientPub })).body['cPubKey'] as string;
    const pw = (who: typeof a) =>
      post('/validatepassword', {
        cEncData: envelope(clientKey().clientPub, serverPub, JSON.stringify({ clientId: who.clientId, password: who.password })),
      });
    expect((await pw(a)).status).toBe(200);
    const limited = await pw(a);
    expect(limited.status).toBe(429);
    expect(limited.body['status']).toBe('Not_Ok');
    expect((await pw(b)).status).toBe(200);
    expect(fx.sim.stats().clients[a.clientId]!.failures).toEqual({ 'HTTP 429': 1 });
  });

  it('keeps getusersession at 3 per second by default', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await post('/getusersession', { checkSum: 'f'.repeat(64) })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe('errorRate', () => {
  it('answers 500, 502 or 503 to the given share of calls', async () => {
    fx.sim.setKnobs({ errorRate: 1 });
    for (let i = 0; i < 5; i++) {
      const reply = await post('/get/enckey', { ceData: clientKey().clientPub });
      expect([500, 502, 503]).toContain(reply.status);
      expect(reply.body['status']).toBe('Not_Ok');
    }
    expect(fx.sim.stats().simulatedErrors).toBe(5);
    fx.sim.setKnobs({ errorRate: 0 });
    expect((await post('/get/enckey', { ceData: clientKey().clientPub })).status).toBe(200);
  });

  it('ends the login whose step it failed', async () => {
    const account = fx.fresh();
    const serverPub = (await post('/get/enckey', { ceData: clientKey().clientPub })).body['cPubKey'] as string;
    const pw = await post('/validatepassword', {
      cEncData: envelope(clientKey().clientPub, serverPub, JSON.stringify({ clientId: account.clientId, password: account.password })),
    });
    fx.sim.setKnobs({ errorRate: 1 });
    const body = { clientId: account.clientId, totp: totp(account.totpSecret, fx.clock.t), appKey: account.appKey };
    expect((await post('/validatetotp', body, bearer(pw.body['result'].token))).status).toBeGreaterThanOrEqual(500);
    fx.sim.setKnobs({ errorRate: 0 });
    expect((await post('/validatetotp', body, bearer(pw.body['result'].token))).status).toBe(401);
    expect((await login(fx.sim.baseUrl, account, fx.clock.t)).ok).toBe(true);
    expect(fx.sim.stats().maxConcurrentLoginsPerClient).toBe(1);
  });
});

describe('hangRate', () => {
  it('holds the call until the client gives up', async () => {
    fx.sim.setKnobs({ hangRate: 1 });
    const outcome = await call(fx.sim.baseUrl, 'POST', '/get/enckey', { ceData: clientKey().clientPub }, {}, AbortSignal.timeout(300)).then(
      () => 'answered',
      (err: Error) => err.name,
    );
    expect(outcome).toBe('TimeoutError');
    expect(fx.sim.stats().hungRequests).toBe(1);
    fx.sim.setKnobs({ hangRate: 0 });
    expect((await post('/get/enckey', { ceData: clientKey().clientPub })).status).toBe(200);
  });

  it('lets close() release held calls', async () => {
    const sim = await startSimulator({ accounts: demoAccounts(), knobs: { hangRate: 1 } });
    const pending = call(sim.baseUrl, 'POST', '/get/enckey', { ceData: clientKey().clientPub }).then(
      () => 'answered',
      () => 'connection closed',
    );
    await expect.poll(() => sim.stats().hungRequests).toBe(1);
    await sim.close();
    expect(await pending).toBe('connection closed');
  });
});

describe('minKeyAssociationMs', () => {
  it('refuses a password step sooner than that after the key exchange with EC062, then accepts it', async () => {
    fx.sim.setKnobs({ minKeyAssociationMs: 10_000 });
    const account = fx.fresh();
    const pub = clientKey().clientPub;
    const serverPub = (await post('/get/enckey', { ceData: pub })).body['cPubKey'] as string;
    const text = JSON.stringify({ clientId: account.clientId, password: account.password });
    fx.clock.t += 9_999;
    const early = await post('/validatepassword', { cEncData: envelope(pub, serverPub, text) });
    expect(early.body).toEqual({ status: 'EC062', message: 'Illegal or Expired Encryption key', result: null });
    fx.clock.t += 1;
    expect((await post('/validatepassword', { cEncData: envelope(pub, serverPub, text) })).body['status']).toBe('Ok');
  });
});

describe('outage', () => {
  it('answers 503 to every API call, while admin still works', async () => {
    fx.sim.setKnobs({ outage: true });
    const session = 'x';
    const replies = await Promise.all([
      post('/get/enckey', { ceData: clientKey().clientPub }),
      post('/validatepassword', { cEncData: 'x' }),
      post('/validatetotp', {}),
      post('/getusersession', {}),
      call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer(session)),
      post('/profile/logout', {}, bearer(session)),
    ]);
    expect(replies.map((r) => r.status)).toEqual([503, 503, 503, 503, 503, 503]);
    const admin = await call(fx.sim.url, 'GET', '/admin/stats');
    expect(admin.status).toBe(200);
    expect(admin.body['result'].simulatedErrors).toBe(6);
  });
});

describe('inject', () => {
  const codes = Object.keys(IIFL_MESSAGES);
  const anyBody = { ceData: 'x', cEncData: 'x', clientId: 'A1', totp: '1', appKey: 'k', checkSum: 'c', vendor: 'v', userId: 'A1' };
  const jsonEndpoints = ENDPOINTS.filter((e) => e !== 'login-page' && e !== 'login-submit');

  function ask(endpoint: EndpointName): Promise<Reply> {
    const target = ENDPOINT_PATHS[endpoint];
    const base = target.idaas ? fx.sim.idaasUrl : fx.sim.baseUrl;
    return call(base, target.method, target.path, target.method === 'GET' ? undefined : anyBody);
  }

  it.each(jsonEndpoints)("forces every code of the table on %s, the code in status with IIFL's text", async (endpoint) => {
    for (const code of codes) {
      fx.sim.setKnobs({ inject: [{ endpoint, code, remaining: 1 }] });
      const reply = await ask(endpoint);
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ status: code, message: IIFL_MESSAGES[code], result: null });
    }
    expect(fx.sim.stats().injectedFaults).toBe(codes.length);
    expect(fx.sim.knobs().inject).toEqual([]);
  });

  it('answers a code outside the table with its message, or a generic one', async () => {
    fx.sim.setKnobs({
      inject: [
        { endpoint: 'enckey', code: 'EC901', remaining: 1 },
        { endpoint: 'enckey', code: 'EC010', message: 'x is empty', remaining: 1 },
      ],
    });
    expect((await ask('enckey')).body).toEqual({ status: 'EC901', message: 'Request failed', result: null });
    expect((await ask('enckey')).body).toEqual({ status: 'EC010', message: 'x is empty', result: null });
  });

  it('applies `remaining` times, then the real answer comes back', async () => {
    fx.sim.setKnobs({ inject: [{ endpoint: 'enckey', code: 'EC003', remaining: 2 }] });
    const exchange = () => post('/get/enckey', { ceData: clientKey().clientPub });
    expect((await exchange()).body['status']).toBe('EC003');
    expect(fx.sim.knobs().inject).toEqual([{ endpoint: 'enckey', code: 'EC003', remaining: 1 }]);
    expect((await exchange()).body['status']).toBe('EC003');
    expect((await exchange()).body).toEqual({ cPubKey: expect.any(String) });
  });

  it('without remaining, applies until replaced', async () => {
    fx.sim.setKnobs({ inject: [{ endpoint: 'enckey', code: 'EC003' }] });
    for (let i = 0; i < 3; i++) expect((await post('/get/enckey', { ceData: clientKey().clientPub })).body['status']).toBe('EC003');
    fx.sim.setKnobs({ inject: [] });
    expect((await post('/get/enckey', { ceData: clientKey().clientPub })).body['cPubKey']).toEqual(expect.any(String));
  });

  it('can target one client id, and set an HTTP status and message', async () => {
    const [target, bystander] = [fx.fresh(), fx.fresh()];
    fx.sim.setKnobs({
      inject: [
        { endpoint: 'validatepassword', clientId: target.clientId, code: 'EC069', httpStatus: 403, message: 'Password has expired' },
      ],
    });
    const failed = await login(fx.sim.baseUrl, target, fx.clock.t);
    expect(failed.failedAt).toBe('validatepassword');
    expect(failed.reply.status).toBe(403);
    expect(failed.reply.body).toEqual({ status: 'EC069', message: 'Password has expired', result: null });
    expect((await login(fx.sim.baseUrl, bystander, fx.clock.t)).ok).toBe(true);
    expect(fx.sim.stats().clients[target.clientId]!.failures).toEqual({ EC069: 1 });
  });

  it('can answer a bare HTTP status (401 on profile, 429 on getusersession), without a code', async () => {
    const session = await fx.session();
    fx.sim.setKnobs({
      inject: [
        { endpoint: 'profile', httpStatus: 401 },
        { endpoint: 'getusersession', httpStatus: 429 },
      ],
    });
    const profile = await call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer(session));
    expect(profile.status).toBe(401);
    expect(profile.body).toEqual({ status: 'Not_Ok', message: 'Unauthorized', result: null });
    expect((await post('/getusersession', { checkSum: 'x' })).status).toBe(429);
    expect(fx.sim.stats().failuresByCode).toMatchObject({ 'HTTP 401': 1, 'HTTP 429': 1 });
  });

  it('on the TOTP step, an injected EC036 leaves the login token usable and any other fault spends it', async () => {
    const account = fx.fresh();
    const serverPub = (await post('/get/enckey', { ceData: clientKey().clientPub })).body['cPubKey'] as string;
    const text = JSON.stringify({ clientId: account.clientId, password: account.password });
    const token = (await post('/validatepassword', { cEncData: envelope(clientKey().clientPub, serverPub, text) })).body['result'].token;
    fx.sim.setKnobs({
      inject: [
        { endpoint: 'validatetotp', code: 'EC036', remaining: 1 },
        { endpoint: 'validatetotp', code: 'EC003', remaining: 1 },
      ],
    });
    const body = { clientId: account.clientId, totp: totp(account.totpSecret, fx.clock.t), appKey: account.appKey };
    expect((await post('/validatetotp', body, bearer(token))).body['status']).toBe('EC036');
    expect((await post('/validatetotp', body, bearer(token))).body['status']).toBe('EC003');
    expect((await post('/validatetotp', body, bearer(token))).body['status']).toBe('EC044');
  });

  it('on getusersession, targets the client behind the checksum, and spends that authCode', async () => {
    const account = fx.fresh();
    fx.sim.setKnobs({ inject: [{ endpoint: 'getusersession', clientId: account.clientId, code: 'EC003', remaining: 1 }] });
    const failed = await login(fx.sim.baseUrl, account, fx.clock.t);
    expect(failed.body['status']).toBe('EC003');
    const again = await post('/getusersession', { checkSum: checksum(account.clientId, failed.authCode!, account.appSecret) });
    expect(again.body).toEqual({ status: 'Not_Ok', message: 'Invalid checksum or authCode', result: null });
  });
});
