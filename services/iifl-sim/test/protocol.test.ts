import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decryptEnvelope, splitEnvelope } from '../src/envelope.ts';
import { nextIstMidnight } from '../src/index.ts';
import { startFixture, START, type Fixture } from './fixture.ts';
import { call, checksum, clientKey, envelope, freshClientKey, login, totp, type Reply } from './protocol-client.ts';

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(() => fx.sim.close());
beforeEach(() => fx.reset());

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  call(fx.sim.baseUrl, 'POST', path, body, headers);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function expectCode(reply: Reply, code: string, httpStatus = 200): void {
  expect(reply.status).toBe(httpStatus);
  expect(reply.body['status']).toBe('Not_Ok');
  expect(reply.body['code']).toBe(code);
  expect(reply.body['message']).toMatch(new RegExp(`^${code} \\S`));
  expect(reply.body).toHaveProperty('result', null);
}

async function exchange(clientPub = clientKey().clientPub): Promise<string> {
  const reply = await post('/get/enckey', { ceData: clientPub });
  expect(reply.body['status']).toBe('Ok');
  return reply.body['cPubKey'] as string;
}

async function passwordStep(clientId: string, password: string, clientPub = clientKey().clientPub): Promise<Reply> {
  const serverPub = await exchange(clientPub);
  return post('/validatepassword', { cEncData: envelope(clientPub, serverPub, JSON.stringify({ clientId, password })) });
}

/** Up to and including the TOTP step; returns the login token's reply and the TOTP reply. */
async function totpStep(
  account: { clientId: string; password: string; appKey: string; totpSecret: string },
  body: Partial<{ totp: string; appKey: string }> = {},
): Promise<Reply> {
  const pw = await passwordStep(account.clientId, account.password);
  expect(pw.body['status']).toBe('Ok');
  return post(
    '/validatetotp',
    { clientId: account.clientId, totp: totp(account.totpSecret, fx.clock.t), appKey: account.appKey, ...body },
    bearer(pw.body['result'].token),
  );
}

describe('key exchange', () => {
  it('answers the server public key in cPubKey and result[0].seData, as base64 SPKI DER', async () => {
    const reply = await post('/get/enckey', { ceData: clientKey().clientPub });
    expect(reply.status).toBe(200);
    expect(reply.body['status']).toBe('Ok');
    expect(reply.body['result'][0].seData).toBe(reply.body['cPubKey']);
    expect(reply.body['cPubKey']).toMatch(/^[A-Za-z0-9+/]+=*$/);
    // Always the same key: one pair per simulator, not per request.
    const again = await post('/get/enckey', { ceData: freshClientKey().clientPub });
    expect(again.body['cPubKey']).toBe(reply.body['cPubKey']);
    expect(fx.sim.stats().keyExchanges).toBe(2);
  });

  it('refuses empty (EC056) and non-key (EC057) ceData', async () => {
    expectCode(await post('/get/enckey', { ceData: '' }), 'EC056');
    expectCode(await post('/get/enckey', { ceData: 'bm90IGEga2V5' }), 'EC057');
  });
});

describe('the envelope', () => {
  it('round-trips: the layout of the spec opens to the same text and client key', () => {
    const server = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const serverPub = server.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const text = JSON.stringify({ clientId: 'AB123', password: 'p@ss wörd' });
    const parts = splitEnvelope(envelope(clientKey().clientPub, serverPub, text));
    expect(parts.clientPub).toBe(clientKey().clientPub);
    expect(parts.iv).toHaveLength(16);
    expect(parts.encryptedKey).toHaveLength(256);
    expect(decryptEnvelope(server.privateKey, parts)).toBe(text);
  });

  it('is refused with EC057 when it is not an envelope, is cut short, or was sealed for another key', async () => {
    const account = fx.fresh();
    await exchange();
    expectCode(await post('/validatepassword', { cEncData: Buffer.from('garbage').toString('base64') }), 'EC057');
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const otherPub = other.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const text = JSON.stringify({ clientId: account.clientId, password: account.password });
    expectCode(await post('/validatepassword', { cEncData: envelope(clientKey().clientPub, otherPub, text) }), 'EC057');
    const good = Buffer.from(envelope(clientKey().clientPub, await exchange(), text), 'base64');
    expectCode(await post('/validatepassword', { cEncData: good.subarray(0, good.length - 7).toString('base64') }), 'EC057');
    expect(fx.sim.stats().clients[account.clientId]).toBeUndefined();
  });

  it('is refused with EC056 when empty', async () => {
    expectCode(await post('/validatepassword', { cEncData: '' }), 'EC056');
  });

  it('is refused with EC062 for a client key that was never exchanged, or whose exchange expired', async () => {
    const account = fx.fresh();
    const serverPub = await exchange();
    const text = JSON.stringify({ clientId: account.clientId, password: account.password });
    const unknownKey = freshClientKey().clientPub;
    expectCode(await post('/validatepassword', { cEncData: envelope(unknownKey, serverPub, text) }), 'EC062');

    fx.sim.setKnobs({ serverKeyTtlMs: 60_000 });
    const pub = freshClientKey().clientPub;
    await exchange(pub);
    fx.clock.t += 60_001;
    expectCode(await post('/validatepassword', { cEncData: envelope(pub, serverPub, text) }), 'EC062');
    await exchange(pub);
    const renewed = await post('/validatepassword', { cEncData: envelope(pub, serverPub, text) });
    expect(renewed.body['status']).toBe('Ok');
  });
});

describe('password step', () => {
  it('answers a login token in result.token', async () => {
    const account = fx.fresh();
    const reply = await passwordStep(account.clientId, account.password);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ status: 'Ok', result: { token: expect.any(String) } });
  });

  it('answers EC002 for an unknown client, EC016 for a wrong password, EC004 for a blocked account', async () => {
    const account = fx.fresh();
    expectCode(await passwordStep('NOSUCH1', 'x'), 'EC002');
    expectCode(await passwordStep(account.clientId, `${account.password}x`), 'EC016');
    expectCode(await passwordStep(fx.blocked.clientId, fx.blocked.password), 'EC004');
    const stats = fx.sim.stats();
    expect(stats.failuresByCode).toMatchObject({ EC002: 1, EC016: 1, EC004: 1 });
    expect(stats.clients[account.clientId]).toMatchObject({ passwordAttempts: 1, failures: { EC016: 1 } });
  });
});

describe('TOTP step', () => {
  it('answers an authCode in result.authCode for the current code', async () => {
    const reply = await totpStep(fx.fresh());
    expect(reply.body).toMatchObject({ status: 'Ok', result: { authCode: expect.any(String) } });
  });

  it('accepts the previous and the next step, not two steps away', async () => {
    const [a, b, c, d] = [fx.fresh(), fx.fresh(), fx.fresh(), fx.fresh()];
    expect((await totpStep(a, { totp: totp(a.totpSecret, fx.clock.t, -1) })).body['status']).toBe('Ok');
    expect((await totpStep(b, { totp: totp(b.totpSecret, fx.clock.t, 1) })).body['status']).toBe('Ok');
    expectCode(await totpStep(c, { totp: totp(c.totpSecret, fx.clock.t, -2) }), 'EC036');
    expectCode(await totpStep(d, { totp: totp(d.totpSecret, fx.clock.t, 2) }), 'EC036');
  });

  it('refuses a wrong code, an empty code (EC034), a wrong appKey (EC054) and an empty one (EC053)', async () => {
    const account = fx.fresh();
    const wrong = totp(account.totpSecret, fx.clock.t) === '000000' ? '111111' : '000000';
    expectCode(await totpStep(account, { totp: wrong }), 'EC036');
    expectCode(await totpStep(account, { totp: '' }), 'EC034');
    expectCode(await totpStep(account, { appKey: 'not-the-key' }), 'EC054');
    expectCode(await totpStep(account, { appKey: '' }), 'EC053');
    expect(fx.sim.stats().clients[account.clientId]).toMatchObject({
      totpAttempts: 4,
      failures: { EC036: 1, EC034: 1, EC054: 1, EC053: 1 },
    });
  });

  it('refuses a code already accepted for that client (EC036) and counts the reuse', async () => {
    const account = fx.fresh();
    expect((await totpStep(account)).body['status']).toBe('Ok');
    expectCode(await totpStep(account), 'EC036');
    // A code of an earlier step than the one accepted is a reuse too.
    expectCode(await totpStep(account, { totp: totp(account.totpSecret, fx.clock.t, -1) }), 'EC036');
    expect(fx.sim.stats().totpStepReuse).toBe(2);
    fx.clock.t += 30_000;
    expect((await totpStep(account)).body['status']).toBe('Ok');
  });

  it('answers 401 EC044 without a valid login token, with another client\'s, or with an expired one', async () => {
    const account = fx.fresh();
    const body = { clientId: account.clientId, totp: totp(account.totpSecret, fx.clock.t), appKey: account.appKey };
    expectCode(await post('/validatetotp', body), 'EC044', 401);
    expectCode(await post('/validatetotp', body, bearer('made-up')), 'EC044', 401);
    const other = fx.fresh();
    const otherToken = (await passwordStep(other.clientId, other.password)).body['result'].token as string;
    expectCode(await post('/validatetotp', body, bearer(otherToken)), 'EC044', 401);

    fx.sim.setKnobs({ loginTokenTtlMs: 10_000 });
    const token = (await passwordStep(account.clientId, account.password)).body['result'].token as string;
    fx.clock.t += 10_000;
    expectCode(await post('/validatetotp', { ...body, totp: totp(account.totpSecret, fx.clock.t) }, bearer(token)), 'EC044', 401);
  });

  it('ends the login when it fails: the login token cannot be tried again', async () => {
    const account = fx.fresh();
    const token = (await passwordStep(account.clientId, account.password)).body['result'].token as string;
    const body = { clientId: account.clientId, totp: totp(account.totpSecret, fx.clock.t), appKey: 'wrong' };
    expectCode(await post('/validatetotp', body, bearer(token)), 'EC054');
    expectCode(await post('/validatetotp', { ...body, appKey: account.appKey }, bearer(token)), 'EC044', 401);
  });
});

describe('session step', () => {
  it('issues userSession for sha256_hex(clientId + authCode + appSecret)', async () => {
    const account = fx.fresh();
    const result = await login(fx.sim.baseUrl, account, fx.clock.t);
    expect(result.ok).toBe(true);
    expect(result.reply.body).toMatchObject({ status: 'Ok', userSession: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/) });
    expect(fx.sim.stats().clients[account.clientId]).toMatchObject({ passwordAttempts: 1, totpAttempts: 1, sessionsIssued: 1 });
  });

  it('refuses a checksum made with the wrong appSecret, or in upper case', async () => {
    const account = fx.fresh();
    const authCode = (await totpStep(account)).body['result'].authCode as string;
    const wrongSecret = await post('/getusersession', { checkSum: checksum(account.clientId, authCode, 'nope') });
    expect(wrongSecret.body).toMatchObject({ status: 'Not_Ok', message: 'Invalid checksum or authCode' });
    const upper = await post('/getusersession', { checkSum: checksum(account.clientId, authCode, account.appSecret).toUpperCase() });
    expect(upper.body['status']).toBe('Not_Ok');
    const right = await post('/getusersession', { checkSum: checksum(account.clientId, authCode, account.appSecret) });
    expect(right.body['status']).toBe('Ok');
  });

  it('takes an authCode once', async () => {
    const account = fx.fresh();
    const authCode = (await totpStep(account)).body['result'].authCode as string;
    const sum = checksum(account.clientId, authCode, account.appSecret);
    expect((await post('/getusersession', { checkSum: sum })).body['status']).toBe('Ok');
    expect((await post('/getusersession', { checkSum: sum })).body).toMatchObject({ status: 'Not_Ok' });
  });

  it('refuses an authCode older than authCodeTtlMs', async () => {
    fx.sim.setKnobs({ authCodeTtlMs: 5_000 });
    const account = fx.fresh();
    const authCode = (await totpStep(account)).body['result'].authCode as string;
    fx.clock.t += 5_000;
    const reply = await post('/getusersession', { checkSum: checksum(account.clientId, authCode, account.appSecret) });
    expect(reply.body).toMatchObject({ status: 'Not_Ok', message: 'authCode expired' });
  });

  it('signs a JWT whose exp is the next midnight in India', async () => {
    const at = START + 3 * 86_400_000; // 08:30 IST on 9 January 2025
    expect(fx.clock.t).toBeLessThan(at);
    fx.clock.t = at;
    const account = fx.fresh();
    const result = await login(fx.sim.baseUrl, account, fx.clock.t);
    const [header, payload] = result
      .userSession!.split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    expect(header).toMatchObject({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toMatchObject({ sub: account.clientId, iat: at / 1000, exp: Date.UTC(2025, 0, 9, 18, 30) / 1000 });
    expect(payload.jti).toEqual(expect.any(String));
  });
});

describe('sessions', () => {
  it('answer /profile while valid and 401 EC044 once logged out', async () => {
    const account = fx.fresh();
    const session = (await login(fx.sim.baseUrl, account, fx.clock.t)).userSession!;
    const profile = await call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer(session));
    expect(profile.status).toBe(200);
    expect(profile.body).toMatchObject({ status: 'Ok', result: { clientId: account.clientId } });
    const out = await post('/profile/logout', {}, bearer(session));
    expect(out.body['status']).toBe('Ok');
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
