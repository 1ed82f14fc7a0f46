import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptEnvelope, splitEnvelope } from '../src/envelope.ts';
import { bearer, START, useFixture } from './fixture.ts';
import { checksum, clientKey, envelope, freshClientKey, login, totp } from './protocol-client.ts';
import { expectCode, v1Steps } from './v1-steps.ts';

const fx = useFixture();

const { post, exchange, passwordStep, totpStep } = v1Steps(fx);

describe('key exchange', () => {
  it('answers the server public key alone in cPubKey, as base64 SPKI DER', async () => {
    const reply = await post('/get/enckey', { ceData: clientKey().clientPub });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ cPubKey: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/) });
    // Always the same key: one pair per simulator, not per request.
    const again = await post('/get/enckey', { ceData: freshClientKey().clientPub });
    expect(again.body['cPubKey']).toBe(reply.body['cPubKey']);
    expect(fx.sim.stats().keyExchanges).toBe(2);
  });

  it('refuses empty ceData with EC056 and a ceData that is not an RSA key with EC062', async () => {
    expectCode(await post('/get/enckey', { ceData: '' }), 'EC056');
    expectCode(await post('/get/enckey', { ceData: 'bm90IGEga2V5' }), 'EC062');
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

  it('is refused with EC062 when it is not an envelope, is cut short, or was sealed for another key', async () => {
    const account = fx.fresh();
    await exchange();
    expectCode(await post('/validatepassword', { cEncData: Buffer.from('garbage').toString('base64') }), 'EC062');
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const otherPub = other.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const text = JSON.stringify({ clientId: account.clientId, password: account.password });
    expectCode(await post('/validatepassword', { cEncData: envelope(clientKey().clientPub, otherPub, text) }), 'EC062');
    const good = Buffer.from(envelope(clientKey().clientPub, await exchange(), text), 'base64');
    expectCode(await post('/validatepassword', { cEncData: good.subarray(0, good.length - 7).toString('base64') }), 'EC062');
    expect(fx.sim.stats().clients[account.clientId]).toBeUndefined();
  });

  it('is refused with EC057 when empty', async () => {
    expectCode(await post('/validatepassword', { cEncData: '' }), 'EC057');
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
    expect(renewed.body).toEqual({ status: 'Ok', message: 'Success', result: { token: expect.any(String) } });
  });
});

describe('password step', () => {
  it('answers a login token in result.token', async () => {
    const account = fx.fresh();
    const reply = await passwordStep(account.clientId, account.password);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ status: 'Ok', message: 'Success', result: { token: expect.any(String) } });
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
    expect(reply.body).toEqual({ status: 'Ok', message: 'Success', result: { authCode: expect.any(String) } });
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

  it("answers 401 EC044 without a valid login token, with another client's, or with an expired one", async () => {
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

  it("leaves the login token usable after a refused code (EC036, EC034): the next step's code then logs in", async () => {
    const account = fx.fresh();
    const token = (await passwordStep(account.clientId, account.password)).body['result'].token as string;
    const body = { clientId: account.clientId, appKey: account.appKey };
    const wrong = totp(account.totpSecret, fx.clock.t) === '000000' ? '111111' : '000000';
    expectCode(await post('/validatetotp', { ...body, totp: wrong }, bearer(token)), 'EC036');
    expectCode(await post('/validatetotp', { ...body, totp: '' }, bearer(token)), 'EC034');
    fx.clock.t += 30_000;
    const next = await post('/validatetotp', { ...body, totp: totp(account.totpSecret, fx.clock.t) }, bearer(token));
    expect(next.body['result']).toEqual({ authCode: expect.any(String) });
    expect(fx.sim.stats()).toMatchObject({ loginsStarted: 1, maxConcurrentLoginsPerClient: 1 });
  });

  it('ends the login when it fails otherwise: the login token cannot be tried again', async () => {
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
    expect(result.reply.body).toEqual({ status: 'Ok', userSession: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/) });
    expect(fx.sim.stats().clients[account.clientId]).toMatchObject({ passwordAttempts: 1, totpAttempts: 1, sessionsIssued: 1 });
  });

  it('refuses a checksum made with the wrong appSecret, or in upper case', async () => {
    const account = fx.fresh();
    const authCode = (await totpStep(account)).body['result'].authCode as string;
    const wrongSecret = await post('/getusersession', { checkSum: checksum(account.clientId, authCode, 'nope') });
    expect(wrongSecret.body).toEqual({ status: 'Not_Ok', message: 'Invalid checksum or authCode', result: null });
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

  it('signs an RS256 JWT whose exp is the next midnight in India, the client in preferred_username', async () => {
    const at = START + 3 * 86_400_000; // 08:30 IST on 9 January 2025
    expect(fx.clock.t).toBeLessThan(at);
    fx.clock.t = at;
    const account = fx.fresh();
    const result = await login(fx.sim.baseUrl, account, fx.clock.t);
    const [header, payload] = result
      .userSession!.split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT' });
    expect(payload).toEqual({
      sub: account.clientId,
      preferred_username: account.clientId,
      iat: at / 1000,
      exp: Date.UTC(2025, 0, 9, 18, 30) / 1000,
      jti: expect.any(String),
    });
  });
});
