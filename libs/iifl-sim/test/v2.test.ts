import { describe, expect, it } from 'vitest';
import { bearer, useFixture } from './fixture.ts';
import {
  call,
  checksum,
  clientKey,
  envelope,
  freshClientKey,
  login,
  loginV2,
  opened,
  totp,
  type ClientKey,
  type LoginAccount,
} from './protocol-client.ts';

const fx = useFixture();

const api = fx.post;
const idaas = (path: string, body: unknown, headers: Record<string, string> = {}) => call(fx.sim.idaasUrl, 'POST', path, body, headers);
const DEVICE = { deviceId: 'd1', appName: 'IIFLMARKETSWEB', osName: 'WEBINTERNAL' };

async function serverPub(key: ClientKey = clientKey()): Promise<string> {
  return (await idaas('/get/encKey', { ceData: key.clientPub })).body['cPubKey'] as string;
}

/** The v2 password step; answers the reply and the opened body. */
async function passwordV2(account: LoginAccount, password = account.password, key = clientKey()) {
  const text = JSON.stringify({ userId: account.clientId, password, ...DEVICE, versionNo: 'A.0.0.1' });
  const reply = await idaas('/pwd/validate', { cEncData: envelope(key.clientPub, await serverPub(key), text) });
  return { reply, body: opened(reply, key.privateKey) };
}

async function totpV2(account: LoginAccount, token: string, code = totp(account.totpSecret, fx.clock.t), key = clientKey()) {
  const text = JSON.stringify({ userId: account.clientId, totp: code, ...DEVICE });
  const reply = await idaas('/topt/verify', { cEncData: envelope(key.clientPub, await serverPub(key), text) }, bearer(token));
  return { reply, body: opened(reply, key.privateKey) };
}

describe('the second headless variant', () => {
  it('logs in end to end: vendor details, encKey, pwd/validate, topt/verify, vendor authorize, getusersession', async () => {
    const account = fx.fresh();
    const result = await loginV2(fx.sim, account, fx.clock.t);
    expect(result.ok).toBe(true);
    expect(result.reply.body).toEqual({ status: 'Ok', userSession: result.userSession });
    expect((await call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer(result.userSession!))).status).toBe(200);
    const stats = fx.sim.stats();
    expect(stats.requests).toMatchObject({
      'vendor-details': 1,
      'v2-enckey': 1,
      'v2-password': 1,
      'v2-totp': 1,
      'vendor-authorize': 1,
      getusersession: 1,
    });
    expect(stats.clients[account.clientId]).toMatchObject({ passwordAttempts: 1, totpAttempts: 1, sessionsIssued: 1 });
    expect(fx.sim.idaasUrl).toBe(`${fx.sim.url}/v2/access`);
  });

  it('answers each step in the documented layout; every idaas answer after the key exchange is sealed', async () => {
    const account = fx.fresh();
    const details = await api('/sso/vendor/details', { vendor: account.appKey });
    expect(details.body).toEqual({ status: 'Ok', message: 'Success', result: expect.objectContaining({ vendor: account.appKey }) });
    expect((await idaas('/get/encKey', { ceData: clientKey().clientPub })).body).toEqual({ cPubKey: expect.any(String) });
    const pw = await passwordV2(account);
    expect(Object.keys(pw.reply.body)).toEqual(['cRespEncData']);
    expect(pw.body).toEqual({ status: 'Ok', message: 'Success', result: { token: expect.any(String), status: 'Success' } });
    const tt = await totpV2(account, pw.body['result'].token);
    expect(Object.keys(tt.reply.body)).toEqual(['cRespEncData']);
    expect(tt.body).toEqual({ result: { accessToken: expect.any(String), status: 'Success' }, status: 'Ok', message: 'Success' });
    const authorize = await api(
      '/sso/vendor/authorize',
      { userId: account.clientId, vendor: account.appKey },
      bearer(tt.body['result'].accessToken),
    );
    expect(authorize.body).toEqual({ status: 'Ok', message: 'Success', result: { authCode: expect.any(String) } });
    const session = await api('/getusersession', {
      checkSum: checksum(account.clientId, authorize.body['result'].authCode, account.appSecret),
    });
    expect(session.body).toEqual({ status: 'Ok', userSession: expect.any(String) });
  });

  it('refuses a wrong password (EC016), an unknown client (EC002) and a blocked account (EC004), sealed', async () => {
    const account = fx.fresh();
    expect((await passwordV2(account, 'wrong')).body).toEqual({ status: 'EC016', message: 'Invalid userId or password', result: null });
    expect((await passwordV2({ ...account, clientId: 'NOSUCH2' })).body['status']).toBe('EC002');
    expect((await passwordV2(fx.blocked)).body).toEqual({ status: 'EC004', message: 'User blocked', result: null });
    expect(fx.sim.stats().clients[account.clientId]).toMatchObject({ passwordAttempts: 1, failures: { EC016: 1 } });
  });

  it('shares TOTP rules with v1: one step per client, the step either side, a reused step refused with EC036', async () => {
    const [a, b] = [fx.fresh(), fx.fresh()];
    expect((await login(fx.sim.baseUrl, a, fx.clock.t)).ok).toBe(true);
    const reused = await loginV2(fx.sim, a, fx.clock.t);
    expect(reused.failedAt).toBe('v2-totp');
    expect(reused.body).toEqual({ status: 'EC036', message: 'Invalid T-OTP', result: null });
    expect(fx.sim.stats().totpStepReuse).toBe(1);
    expect((await loginV2(fx.sim, b, fx.clock.t, { totp: totp(b.totpSecret, fx.clock.t, 1) })).ok).toBe(true);
    const empty = await totpV2(b, (await passwordV2(b)).body['result'].token, '');
    expect(empty.body['status']).toBe('EC034');
  });

  it("leaves the v2 login token usable after a refused code: the next step's code then logs in", async () => {
    const account = fx.fresh();
    const token = (await passwordV2(account)).body['result'].token as string;
    const wrong = totp(account.totpSecret, fx.clock.t) === '000000' ? '111111' : '000000';
    expect((await totpV2(account, token, wrong)).body['status']).toBe('EC036');
    fx.clock.t += 30_000;
    expect((await totpV2(account, token)).body['result']).toEqual({ accessToken: expect.any(String), status: 'Success' });
    expect(fx.sim.stats().clients[account.clientId]).toMatchObject({ passwordAttempts: 1, totpAttempts: 2, maxConcurrentLogins: 1 });
  });

  it('answers 401 EC044 to topt/verify without a valid v2 login token, and to authorize without an access token', async () => {
    const account = fx.fresh();
    const tt = await totpV2(account, 'made-up');
    expect(tt.reply.status).toBe(401);
    expect(tt.body).toEqual({ status: 'EC044', message: 'Error : Token is not valid', result: null });
    const pub = (await api('/get/enckey', { ceData: clientKey().clientPub })).body['cPubKey'] as string;
    const v1Text = JSON.stringify({ clientId: account.clientId, password: account.password });
    const v1 = await api('/validatepassword', { cEncData: envelope(clientKey().clientPub, pub, v1Text) });
    expect((await totpV2(account, v1.body['result'].token)).reply.status).toBe(401);
    const pwToken = (await passwordV2(account)).body['result'].token as string;
    const wrongKind = await api('/sso/vendor/authorize', { userId: account.clientId, vendor: account.appKey }, bearer(pwToken));
    expect(wrongKind.status).toBe(401);
    expect(wrongKind.body['status']).toBe('EC044');
  });

  it('refuses a wrong vendor at authorize (EC054) and ends that login; details refuses unknown (EC054) and empty (EC053)', async () => {
    const account = fx.fresh();
    const pw = await passwordV2(account);
    const access = (await totpV2(account, pw.body['result'].token)).body['result'].accessToken as string;
    const wrong = await api('/sso/vendor/authorize', { userId: account.clientId, vendor: 'other' }, bearer(access));
    expect(wrong.body).toEqual({ status: 'EC054', message: 'appkey incorrect', result: null });
    const again = await api('/sso/vendor/authorize', { userId: account.clientId, vendor: account.appKey }, bearer(access));
    expect(again.status).toBe(401);
    expect((await api('/sso/vendor/details', { vendor: 'nobody' })).body['status']).toBe('EC054');
    expect((await api('/sso/vendor/details', { vendor: '' })).body['status']).toBe('EC053');
  });

  it('makes no key-association wait, and refuses an unknown key (EC062, in clear) and an empty cEncData (EC057)', async () => {
    fx.sim.setKnobs({ minKeyAssociationMs: 10_000 });
    const account = fx.fresh();
    expect((await passwordV2(account)).body['status']).toBe('Ok');
    const unknown = freshClientKey();
    const text = JSON.stringify({ userId: account.clientId, password: account.password });
    const reply = await idaas('/pwd/validate', { cEncData: envelope(unknown.clientPub, await serverPub(), text) });
    expect(reply.body).toEqual({ status: 'EC062', message: 'Illegal or Expired Encryption key', result: null });
    expect((await idaas('/pwd/validate', { cEncData: '' })).body['status']).toBe('EC057');
    expect((await idaas('/get/encKey', { ceData: '' })).body['status']).toBe('EC056');
  });

  it('answers injected faults sealed, in the current shape', async () => {
    const account = fx.fresh();
    fx.sim.setKnobs({ answerShape: 'legacy', inject: [{ endpoint: 'v2-password', code: 'EC003', remaining: 1 }] });
    const failed = await passwordV2(account);
    expect(Object.keys(failed.reply.body)).toEqual(['cRespEncData']);
    const text = 'Something Went Wrong, Please Try After Sometime';
    expect(failed.body).toEqual({ status: 'Not_Ok', message: text, result: [{ status: 'EC003', message: text }] });
    expect((await passwordV2(account)).body['result'].status).toBe('Success');
  });
});

describe('totpAttemptSteps', () => {
  it('records the clock step of each TOTP attempt, v1 and v2, the last 20', async () => {
    const account = fx.fresh();
    const step = Math.floor(fx.clock.t / 30_000);
    expect((await login(fx.sim.baseUrl, account, fx.clock.t)).ok).toBe(true);
    fx.clock.t += 30_000;
    expect((await loginV2(fx.sim, account, fx.clock.t)).ok).toBe(true);
    expect(fx.sim.stats().clients[account.clientId]!.totpAttemptSteps).toEqual([step, step + 1]);
    for (let i = 0; i < 25; i++) {
      fx.clock.t += 30_000;
      await login(fx.sim.baseUrl, account, fx.clock.t, { totp: '000000' });
    }
    const steps = fx.sim.stats().clients[account.clientId]!.totpAttemptSteps;
    expect(steps).toHaveLength(20);
    expect(steps.at(-1)).toBe(step + 26);
    expect(fx.sim.stats().clients[account.clientId]!.totpAttempts).toBe(27);
  });
});
