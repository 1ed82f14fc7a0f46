import { beforeEach, describe, expect, it } from 'vitest';
import { IIFL_MESSAGES } from '../src/index.ts';
import { bearer, useFixture } from './fixture.ts';
import { call, clientKey, envelope, freshClientKey, login, openResponse, opened, totp, type Reply } from './protocol-client.ts';

const fx = useFixture();

const post = fx.post;
const pwText = (account: { clientId: string; password: string }) =>
  JSON.stringify({ clientId: account.clientId, password: account.password });

describe('legacy shape', () => {
  beforeEach(() => fx.sim.setKnobs({ answerShape: 'legacy' }));

  it('answers the key in result[0].seData, the token, authCode and session in result[0]', async () => {
    const account = fx.fresh();
    const enc = await post('/get/enckey', { ceData: clientKey().clientPub });
    expect(enc.body).toEqual({ status: 'Ok', message: 'Success', result: [{ seData: expect.any(String) }] });
    const serverPub = enc.body['result'][0].seData as string;
    const pw = await post('/validatepassword', { cEncData: envelope(clientKey().clientPub, serverPub, pwText(account)) });
    expect(pw.body).toEqual({ status: 'Ok', message: 'Success', result: [{ token: expect.any(String) }] });
    const totpBody = { clientId: account.clientId, totp: totp(account.totpSecret, fx.clock.t), appKey: account.appKey };
    const tt = await post('/validatetotp', totpBody, bearer(pw.body['result'][0].token));
    expect(tt.body).toEqual({ status: 'Ok', message: 'Success', result: [{ authCode: expect.any(String) }] });
    fx.clock.t += 30_000;
    const again = await login(fx.sim.baseUrl, account, fx.clock.t);
    expect(again.ok).toBe(true);
    expect(again.reply.body).toEqual({ status: 'Ok', message: 'Success', result: [{ userSession: again.userSession }] });
  });

  it('answers failures as Not_Ok with the code in result[0].status', async () => {
    const account = fx.fresh();
    const failed = await login(fx.sim.baseUrl, { ...account, password: 'wrong' }, fx.clock.t);
    expect(failed.failedAt).toBe('validatepassword');
    const text = IIFL_MESSAGES['EC016'];
    expect(failed.reply.body).toEqual({ status: 'Not_Ok', message: text, result: [{ status: 'EC016', message: text }] });
    const dead = await call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer('x.y.z'));
    expect(dead.status).toBe(401);
    expect(dead.body['result']).toEqual([{ status: 'EC044', message: 'Error : Token is not valid' }]);
    expect(fx.sim.stats().failuresByCode).toEqual({ EC016: 1, EC044: 1 });
  });

  it('answers injected faults in the same layout', async () => {
    fx.sim.setKnobs({ inject: [{ endpoint: 'enckey', code: 'EC003', remaining: 1 }] });
    const reply = await post('/get/enckey', { ceData: clientKey().clientPub });
    const text = 'Something Went Wrong, Please Try After Sometime';
    expect(reply.body).toEqual({ status: 'Not_Ok', message: text, result: [{ status: 'EC003', message: text }] });
  });
});

describe('sealed shape', () => {
  beforeEach(() => fx.sim.setKnobs({ answerShape: 'sealed' }));

  function sealedBody(reply: Reply, key = clientKey()): Record<string, unknown> {
    expect(Object.keys(reply.body)).toEqual(['cRespEncData']);
    return opened(reply, key.privateKey);
  }

  it('keeps the key exchange in clear and seals the password, TOTP and session answers for the client key', async () => {
    const account = fx.fresh();
    const key = freshClientKey();
    const enc = await post('/get/enckey', { ceData: key.clientPub });
    expect(enc.body).toEqual({ cPubKey: expect.any(String) });
    const pw = await post('/validatepassword', { cEncData: envelope(key.clientPub, enc.body['cPubKey'], pwText(account)) });
    const pwBody = sealedBody(pw, key) as { result: { token: string } };
    expect(pwBody).toEqual({ status: 'Ok', message: 'Success', result: { token: expect.any(String) } });
    // The simulator's own public key travels in the envelope's first slot.
    expect(openResponse(pw.body['cRespEncData'], key.privateKey).senderPub).toBe(enc.body['cPubKey']);
    const totpBody = { clientId: account.clientId, totp: totp(account.totpSecret, fx.clock.t), appKey: account.appKey };
    const tt = sealedBody(await post('/validatetotp', totpBody, bearer(pwBody.result.token)), key) as { result: { authCode: string } };
    expect(tt).toEqual({ status: 'Ok', message: 'Success', result: { authCode: expect.any(String) } });
    fx.clock.t += 30_000;
    const full = await login(fx.sim.baseUrl, account, fx.clock.t, { key });
    expect(full.ok).toBe(true);
    expect(sealedBody(full.reply, key)).toEqual({ status: 'Ok', userSession: full.userSession });
  });

  it('seals failures when it knows the client key, and answers in clear when it does not', async () => {
    const account = fx.fresh();
    const failed = await login(fx.sim.baseUrl, { ...account, password: 'wrong' }, fx.clock.t);
    expect(sealedBody(failed.reply)).toEqual({ status: 'EC016', message: 'Invalid userId or password', result: null });
    const serverPub = (await post('/get/enckey', { ceData: clientKey().clientPub })).body['cPubKey'] as string;
    const unknownKey = freshClientKey().clientPub;
    const unknown = await post('/validatepassword', { cEncData: envelope(unknownKey, serverPub, pwText(account)) });
    expect(unknown.body).toEqual({ status: 'EC062', message: 'Illegal or Expired Encryption key', result: null });
    expect((await post('/get/enckey', { ceData: '' })).body).toEqual({
      status: 'EC056',
      message: "'ceData' cannot be empty",
      result: null,
    });
  });

  it('keeps profile and logout in clear', async () => {
    const account = fx.fresh();
    const session = (await login(fx.sim.baseUrl, account, fx.clock.t)).userSession!;
    const profile = await call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer(session));
    expect(profile.body['result']).toMatchObject({ clientId: account.clientId });
    expect((await post('/profile/logout', undefined, bearer(session))).body['result']).toEqual({ status: 'Success', message: 'Success' });
    expect((await call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer(session))).body['status']).toBe('EC044');
  });

  it('seals injected faults where the client key is known, and leaves a code-less HTTP status in clear', async () => {
    const account = fx.fresh();
    fx.sim.setKnobs({
      inject: [
        { endpoint: 'validatepassword', code: 'EC003', remaining: 1 },
        { endpoint: 'enckey', code: 'EC003', remaining: 1 },
      ],
    });
    const clear = await post('/get/enckey', { ceData: clientKey().clientPub });
    expect(clear.body).toEqual({ status: 'EC003', message: IIFL_MESSAGES['EC003'], result: null });
    const failed = await login(fx.sim.baseUrl, account, fx.clock.t);
    expect(failed.failedAt).toBe('validatepassword');
    expect(sealedBody(failed.reply)).toEqual({ status: 'EC003', message: IIFL_MESSAGES['EC003'], result: null });
    fx.sim.setKnobs({ inject: [{ endpoint: 'validatepassword', httpStatus: 502, remaining: 1 }] });
    const bare = await login(fx.sim.baseUrl, account, fx.clock.t);
    expect(bare.reply.status).toBe(502);
    expect(bare.reply.body).toEqual({ status: 'Not_Ok', message: 'Bad Gateway', result: null });
  });
});

describe('passwordForbidden', () => {
  it('answers the v1 and v2 password steps with a bare 403 and counts the attempt', async () => {
    const account = fx.fresh();
    fx.sim.setKnobs({ passwordForbidden: true });
    const failed = await login(fx.sim.baseUrl, account, fx.clock.t);
    expect(failed.failedAt).toBe('validatepassword');
    expect(failed.reply.status).toBe(403);
    expect(failed.reply.text).toBe('Forbidden');
    expect(failed.reply.headers.get('content-type')).toMatch(/^text\/plain/);
    const serverPub = (await call(fx.sim.idaasUrl, 'POST', '/get/encKey', { ceData: clientKey().clientPub })).body['cPubKey'] as string;
    const v2Text = JSON.stringify({ userId: account.clientId, password: account.password });
    const v2 = await call(fx.sim.idaasUrl, 'POST', '/pwd/validate', { cEncData: envelope(clientKey().clientPub, serverPub, v2Text) });
    expect([v2.status, v2.text]).toEqual([403, 'Forbidden']);
    const garbage = await post('/validatepassword', '{not json');
    expect([garbage.status, garbage.text]).toEqual([403, 'Forbidden']);
    const stats = fx.sim.stats();
    expect(stats.clients[account.clientId]).toMatchObject({ passwordAttempts: 2, failures: { 'HTTP 403': 2 } });
    expect(stats.failuresByCode).toEqual({ 'HTTP 403': 3 });
    expect(stats.loginsStarted).toBe(0);
    fx.sim.setKnobs({ passwordForbidden: false });
    expect((await login(fx.sim.baseUrl, account, fx.clock.t)).ok).toBe(true);
  });
});
