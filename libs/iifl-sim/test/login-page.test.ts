import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useFixture } from './fixture.ts';
import { call, checksum, totp, type LoginAccount } from './protocol-client.ts';

const fx = useFixture();
/** The app's redirect target: records the query of every request it gets. */
let app: { server: Server; url: string; seen: URLSearchParams[] };

beforeAll(async () => {
  const seen: URLSearchParams[] = [];
  const server = createServer((req, res) => {
    seen.push(new URL(req.url ?? '/', 'http://app.local').searchParams);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('app got it');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  app = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
});
afterAll(async () => {
  await new Promise<void>((resolve) => app.server.close(() => resolve()));
});
beforeEach(() => {
  app.seen.length = 0;
});

const page = (query: string) => fetch(`${fx.sim.loginPageUrl}?${query}`);

function submit(fields: Record<string, string>, redirect: 'manual' | 'follow' = 'manual'): Promise<Response> {
  return fetch(fx.sim.loginPageUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    redirect,
  });
}

const formOf = (account: LoginAccount, redirecturl: string, extra: Record<string, string> = {}) => ({
  v: '1',
  appkey: account.appKey,
  redirecturl,
  clientId: account.clientId,
  password: account.password,
  totp: totp(account.totpSecret, fx.clock.t),
  ...extra,
});

async function redeem(account: LoginAccount, authCode: string) {
  return call(fx.sim.baseUrl, 'POST', '/getusersession', { checkSum: checksum(account.clientId, authCode, account.appSecret) });
}

describe('the login page', () => {
  it('serves a form that posts clientId, password and TOTP to /, the app parameters as hidden fields', async () => {
    const account = fx.fresh();
    const res = await page(`v=1&appkey=${encodeURIComponent(account.appKey)}&redirecturl=${encodeURIComponent(`${app.url}/cb`)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toMatch(/<form method="post" action="\/">/);
    for (const name of ['clientId', 'password', 'totp']) expect(html).toContain(`name="${name}"`);
    expect(html).toContain(`name="appkey" value="${account.appKey}"`);
    expect(html).toContain(`name="redirecturl" value="${app.url}/cb"`);
    expect(html).toMatch(/<button type="submit">/);
    const camel = await (await page(`appkey=${account.appKey}&redirectUrl=${encodeURIComponent(`${app.url}/x`)}`)).text();
    expect(camel).toContain(`name="redirecturl" value="${app.url}/x"`);
  });

  it('logs in end to end: POST, 302 to the app with authCode and clientId (its own query kept), then getusersession', async () => {
    const account = fx.fresh();
    const res = await submit(formOf(account, `${app.url}/cb?state=abc`));
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(`${app.url}/cb`);
    expect([...location.searchParams.keys()]).toEqual(['state', 'authCode', 'clientId']);
    fx.clock.t += 30_000;
    const other = fx.fresh();
    const followed = await submit(formOf(other, `${app.url}/cb`), 'follow');
    expect(followed.status).toBe(200);
    expect(await followed.text()).toBe('app got it');
    const got = app.seen[0]!;
    expect(got.get('clientId')).toBe(other.clientId);
    const session = await redeem(other, got.get('authCode')!);
    expect(session.body).toEqual({ status: 'Ok', userSession: expect.any(String) });
    expect((await redeem(account, location.searchParams.get('authCode')!)).body['status']).toBe('Ok');
    expect(fx.sim.stats().clients[other.clientId]).toMatchObject({ passwordAttempts: 1, totpAttempts: 1, sessionsIssued: 1 });
  });

  it('without a redirect URL shows the authCode on a page', async () => {
    const account = fx.fresh();
    const res = await submit(formOf(account, ''));
    expect(res.status).toBe(200);
    const authCode = /<code id="authCode">([0-9a-f]+)<\/code>/.exec(await res.text())?.[1];
    expect(authCode).toBeDefined();
    expect((await redeem(account, authCode!)).body['status']).toBe('Ok');
    expect((await redeem(account, authCode!)).body['status']).toBe('Not_Ok');
  });

  it("re-serves the form with IIFL's message for a wrong password or TOTP, and counts the attempts", async () => {
    const account = fx.fresh();
    const wrongPassword = await submit(formOf(account, `${app.url}/cb`, { password: 'nope' }));
    expect(wrongPassword.status).toBe(200);
    const html = await wrongPassword.text();
    expect(html).toContain('Invalid userId or password');
    expect(html).toContain(`name="clientId" value="${account.clientId}"`);
    const wrongCode = totp(account.totpSecret, fx.clock.t) === '000000' ? '111111' : '000000';
    expect(await (await submit(formOf(account, `${app.url}/cb`, { totp: wrongCode }))).text()).toContain('Invalid T-OTP');
    expect(await (await submit(formOf(account, `${app.url}/cb`, { totp: '' }))).text()).toContain('&#39;totp&#39; cannot be empty');
    expect(fx.sim.stats().clients[account.clientId]).toMatchObject({
      passwordAttempts: 3,
      totpAttempts: 2,
      totpAttemptSteps: [Math.floor(fx.clock.t / 30_000), Math.floor(fx.clock.t / 30_000)],
      failures: { EC016: 1, EC036: 1, EC034: 1 },
    });
    expect(app.seen).toHaveLength(0);
  });

  it('refuses an unknown appkey (EC054), an empty one (EC053), and an appkey of another account (EC054)', async () => {
    const [account, other] = [fx.fresh(), fx.fresh()];
    const unknown = await page('v=1&appkey=nobody');
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('EC054');
    expect(await (await page('v=1')).text()).toContain('EC053');
    const mismatch = await submit(formOf(account, `${app.url}/cb`, { appkey: other.appKey }));
    expect(mismatch.status).toBe(400);
    expect(await mismatch.text()).toMatch(/EC054.*appkey incorrect/);
    expect(fx.sim.stats().maxConcurrentLoginsPerClient).toBe(1);
  });

  it('escapes everything it echoes', async () => {
    const account = fx.fresh();
    const hostile = `${app.url}/cb?x="><script>alert(1)</script>`;
    const html = await (await page(`appkey=${encodeURIComponent(account.appKey)}&redirecturl=${encodeURIComponent(hostile)}`)).text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('&quot;&gt;&lt;script&gt;');
    const refused = await (await submit(formOf(account, `${app.url}/cb`, { clientId: '<b>me</b>', password: 'x' }))).text();
    expect(refused).not.toContain('<b>me</b>');
    expect(refused).toContain('&lt;b&gt;me&lt;/b&gt;');
    expect((await page(`appkey=${encodeURIComponent(account.appKey)}&redirecturl=javascript:alert(1)`)).status).toBe(400);
  });

  it('answers injected faults as error pages', async () => {
    const account = fx.fresh();
    fx.sim.setKnobs({
      inject: [
        { endpoint: 'login-submit', code: 'EC003', remaining: 1 },
        { endpoint: 'login-page', httpStatus: 503, remaining: 1 },
      ],
    });
    const res = await submit(formOf(account, `${app.url}/cb`));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('Something Went Wrong, Please Try After Sometime');
    expect((await page(`appkey=${account.appKey}`)).status).toBe(503);
    expect(fx.sim.stats().failuresByCode).toEqual({ EC003: 1, 'HTTP 503': 1 });
  });
});
