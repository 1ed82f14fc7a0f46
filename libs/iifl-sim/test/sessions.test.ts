import { describe, expect, it } from 'vitest';
import { nextIstMidnight } from '../src/index.ts';
import { bearer, useFixture } from './fixture.ts';
import { call, login } from './protocol-client.ts';
import { expectCode, v1Steps } from './v1-steps.ts';

const fx = useFixture();

const { post, passwordStep } = v1Steps(fx);

describe('sessions', () => {
  it('answer /profile while valid and 401 EC044 once logged out', async () => {
    const account = fx.fresh();
    const session = (await login(fx.sim.baseUrl, account, fx.clock.t)).userSession!;
    const profile = await call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer(session));
    expect(profile.status).toBe(200);
    expect(profile.body).toEqual({
      status: 'Ok',
      message: 'Success',
      result: {
        clientId: account.clientId,
        clientName: expect.any(String),
        isTotpEnabled: true,
        accountStatus: 'Active',
        exchanges: ['NSEEQ', 'NSEFO', 'BSEEQ'],
      },
    });
    const out = await post('/profile/logout', undefined, bearer(session));
    expect(out.body).toEqual({ status: 'Ok', message: 'Success', result: { status: 'Success', message: 'Success' } });
    expectCode(await call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer(session)), 'EC044', 401);
    expectCode(await post('/profile/logout', {}, bearer(session)), 'EC044', 401);
    expectCode(await call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer('x.y.z')), 'EC044', 401);
    expectCode(await call(fx.sim.baseUrl, 'GET', '/profile'), 'EC044', 401);
  });

  it('end when a newer session is issued for the same client', async () => {
    const account = fx.fresh();
    const first = (await login(fx.sim.baseUrl, account, fx.clock.t)).userSession!;
    fx.clock.t += 30_000;
    const second = (await login(fx.sim.baseUrl, account, fx.clock.t)).userSession!;
    expect(second).not.toBe(first);
    expectCode(await call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer(first)), 'EC044', 401);
    expect((await call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer(second))).status).toBe(200);
  });

  it('of a client in profileRefuses fail profile (401 EC044) from their issue; other clients and logout are unaffected', async () => {
    const refused = fx.fresh();
    const other = fx.fresh();
    fx.sim.setKnobs({ profileRefuses: [refused.clientId] });
    const session = (await login(fx.sim.baseUrl, refused, fx.clock.t)).userSession!;
    const otherSession = (await login(fx.sim.baseUrl, other, fx.clock.t)).userSession!;
    expectCode(await call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer(session)), 'EC044', 401);
    expect((await call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer(otherSession))).status).toBe(200);
    expect(fx.sim.stats().clients[refused.clientId]).toMatchObject({ sessionsIssued: 1, failures: { EC044: 1 } });
    fx.sim.setKnobs({ profileRefuses: [] });
    expect((await call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer(session))).status).toBe(200);
  });

  it('die at midnight in India', async () => {
    const account = fx.fresh();
    const session = (await login(fx.sim.baseUrl, account, fx.clock.t)).userSession!;
    fx.clock.t = nextIstMidnight(fx.clock.t) - 1;
    expect((await call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer(session))).status).toBe(200);
    fx.clock.t += 1;
    expectCode(await call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer(session)), 'EC044', 401);
  });
});

describe('nextIstMidnight', () => {
  it('is the first 18:30 UTC strictly after the time', () => {
    expect(nextIstMidnight(Date.UTC(2025, 0, 6, 3, 0))).toBe(Date.UTC(2025, 0, 6, 18, 30));
    expect(nextIstMidnight(Date.UTC(2025, 0, 6, 18, 29, 59, 999))).toBe(Date.UTC(2025, 0, 6, 18, 30));
    expect(nextIstMidnight(Date.UTC(2025, 0, 6, 18, 30))).toBe(Date.UTC(2025, 0, 7, 18, 30));
    expect(nextIstMidnight(Date.UTC(2025, 0, 6, 23, 0))).toBe(Date.UTC(2025, 0, 7, 18, 30));
  });
});

describe('logins in progress', () => {
  it('records the highest overlap per client and which client', async () => {
    const account = fx.fresh();
    const a = await passwordStep(account.clientId, account.password);
    const b = await passwordStep(account.clientId, account.password);
    expect(a.body['status']).toBe('Ok');
    expect(b.body['status']).toBe('Ok');
    const stats = fx.sim.stats();
    expect(stats.maxConcurrentLoginsPerClient).toBe(2);
    expect(stats.maxConcurrentLoginsClientId).toBe(account.clientId);
    expect(stats.clients[account.clientId]!.maxConcurrentLogins).toBe(2);
    expect(stats.loginsStarted).toBe(2);
  });

  it('counts one at a time for sequential logins, and forgets abandoned ones when their token expires', async () => {
    const account = fx.fresh();
    expect((await login(fx.sim.baseUrl, account, fx.clock.t)).ok).toBe(true);
    fx.clock.t += 30_000;
    expect((await login(fx.sim.baseUrl, account, fx.clock.t)).ok).toBe(true);
    expect(fx.sim.stats().maxConcurrentLoginsPerClient).toBe(1);
    fx.sim.setKnobs({ loginTokenTtlMs: 20_000 });
    await passwordStep(account.clientId, account.password); // abandoned after the password step
    fx.clock.t += 20_000;
    await passwordStep(account.clientId, account.password);
    expect(fx.sim.stats().maxConcurrentLoginsPerClient).toBe(1);
    await passwordStep(account.clientId, account.password);
    expect(fx.sim.stats().maxConcurrentLoginsPerClient).toBe(2);
  });

  it('does not count a refused password as still in progress', async () => {
    const account = fx.fresh();
    await passwordStep(account.clientId, 'wrong');
    await passwordStep(account.clientId, 'wrong');
    expect(fx.sim.stats().maxConcurrentLoginsPerClient).toBe(1);
  });
});
