import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connect, type NatsConnection, type Service } from 'nats';
import { IiflAuthApi, LOGIN_REFUSAL_CODES, type LoginRefusal } from '@refresher/contracts';
import { decodeJson, encodeJson } from '@refresher/platform';
import { startNats, type TestNats } from '@refresher/testkit';
import { captureLogger, startTestGateway, type TestGateway } from './helpers.ts';

// The gateway's three login routes over real NATS. iifl-auth is not running: a test service answers
// its two endpoints as the contract says (iifl-auth's own tests and the end-to-end test run the real
// one), so what is checked here is what the gateway asks and how it renders the answers.

let nats: TestNats;
let nc: NatsConnection;
let gw: TestGateway;
let iiflAuth: Service | undefined;
let logLines: string[] = [];
const READER_KEY = 'reader-key-0123456789abcdef';
const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');

type Answer = { body: unknown } | { code: number; reason: string };
const asked: { subject: string; body: Record<string, unknown> }[] = [];
let answer: (subject: string, body: Record<string, unknown>) => Answer = () => ({ code: 500, reason: 'internal error' });

async function startIiflAuthStandIn(): Promise<void> {
  iiflAuth = await nc.services.add({ name: IiflAuthApi.serviceName, version: '0.0.1' });
  for (const { subject } of [IiflAuthApi.loginLink, IiflAuthApi.redeemLogin]) {
    iiflAuth.addEndpoint(subject.replaceAll('.', '-'), {
      subject,
      handler: (_err, msg) => {
        const body = decodeJson(msg.data) as Record<string, unknown>;
        asked.push({ subject, body });
        const a = answer(subject, body);
        if ('body' in a) msg.respond(encodeJson(a.body));
        else msg.respondError(a.code, a.reason);
      },
    });
  }
}

const refusal = (reason: LoginRefusal): Answer => ({ code: LOGIN_REFUSAL_CODES[reason], reason });
const redeemed = (userID: string): Answer => ({
  body: { userID, tokenValidity: '2026-12-01T18:29:00.000Z', loginTime: '2026-12-01T03:00:00.000Z', eventId: 'ev-1' },
});

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  await startIiflAuthStandIn();
  const captured = captureLogger();
  logLines = captured.lines;
  gw = await startTestGateway(nats.url, { API_KEYS: `reader:read:${sha256(READER_KEY)}`, IIFL_AUTH_TIMEOUT_MS: '2000' }, captured.log);
});
afterAll(async () => {
  await gw?.gateway.stop();
  await nc?.close();
  await nats?.dispose();
});
beforeEach(() => {
  asked.length = 0;
});

const logged = () => logLines.join('\n');

describe('GET /api/integration/iifl/login/:userID', () => {
  it("answers 302 to IIFL's login page from iifl-auth's link", async () => {
    const url = 'https://markets.iiflcapital.com/?v=1&appkey=AK&redirecturl=http%3A%2F%2Fgw%2Fcb%3Fnonce%3Dv1.x.y';
    answer = () => ({ body: { userID: 'U1', url, expiresAt: '2026-12-01T03:15:00.000Z' } });
    const res = await fetch(`${gw.base}/api/integration/iifl/login/U1`, {
      headers: { authorization: 'Bearer test-integration-key-0123456789' },
      redirect: 'manual',
    });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(url);
    expect(asked).toEqual([{ subject: IiflAuthApi.loginLink.subject, body: { userID: 'U1' } }]);
  });

  it('needs the API key and the refresh scope; refusals are JSON', async () => {
    expect((await gw.call('GET', '/api/integration/iifl/login/U1', { auth: null })).status).toBe(401);
    expect((await gw.call('GET', '/api/integration/iifl/login/U1', { auth: `Bearer ${READER_KEY}` })).status).toBe(403);
    expect((await gw.call('GET', '/api/integration/iifl/login/bad.id')).status).toBe(400);
    expect(asked).toEqual([]);
    answer = () => refusal('USER_NOT_FOUND');
    expect(await gw.call('GET', '/api/integration/iifl/login/NOPE')).toMatchObject({
      status: 404,
      body: { success: false, error: 'User not found' },
    });
    answer = () => refusal('NOT_CONFIGURED');
    expect(await gw.call('GET', '/api/integration/iifl/login/U1')).toMatchObject({
      status: 503,
      body: { error: 'Login links are not configured' },
    });
    answer = () => refusal('NO_APP_CREDENTIALS');
    expect((await gw.call('GET', '/api/integration/iifl/login/IM1')).status).toBe(409);
  });
});

describe('GET /api/integration/iifl/callback', () => {
  const callback = (query: string, headers: Record<string, string> = {}) =>
    fetch(`${gw.base}/api/integration/iifl/callback?${query}`, { headers, redirect: 'manual' });

  it('takes every spelling of authCode and clientId, without an API key, and answers an HTML page', async () => {
    answer = (_s, body) => redeemed(body.clientId as string);
    const spellings = [
      ['authCode', 'clientId'],
      ['authcode', 'clientid'],
      ['auth_code', 'client_id'],
      ['code', 'clientCode'],
    ];
    for (const [code, client] of spellings) {
      asked.length = 0;
      const res = await callback(`nonce=v1.p.m&${code}=AC-${code}&${client}=U1`);
      expect(res.status, `${code}/${client}`).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      const html = await res.text();
      expect(html).toContain('<h1>Logged in</h1>');
      expect(html).toContain('The IIFL session of U1 is stored, valid until 2026-12-01T18:29:00.000Z');
      expect(html).not.toContain(`AC-${code}`);
      expect(html).not.toContain('v1.p.m');
      expect(asked).toEqual([
        { subject: IiflAuthApi.redeemLogin.subject, body: { nonce: 'v1.p.m', authCode: `AC-${code}`, clientId: 'U1' } },
      ]);
    }
    // A wrong API key changes nothing: the route does not look at it.
    expect((await callback('nonce=n&authCode=a&clientId=U1', { authorization: 'Bearer wrong' })).status).toBe(200);
  });

  it('answers refusals with a clear 4xx page', async () => {
    const cases: [LoginRefusal, number, RegExp][] = [
      ['LINK_INVALID', 400, /not one this service made/],
      ['LINK_EXPIRED', 410, /has expired/],
      ['LINK_USED', 409, /used already/],
      ['WRONG_ACCOUNT', 403, /another account/],
      ['USER_NOT_FOUND', 404, /no longer registered/],
    ];
    for (const [reason, status, text] of cases) {
      answer = () => refusal(reason);
      const res = await callback('nonce=n&authCode=a&clientId=U1');
      expect(res.status, reason).toBe(status);
      expect(await res.text()).toMatch(text);
    }
    answer = () => ({ code: 502, reason: 'BROKER_REJECTED' });
    const broker = await callback('nonce=n&authCode=a&clientId=U1');
    expect(broker.status).toBe(502);
    expect(await broker.text()).toContain('IIFL did not accept the login code (BROKER_REJECTED)');
  });

  it('refuses incomplete or repeated values without asking iifl-auth', async () => {
    for (const query of [
      'authCode=a&clientId=U1',
      'nonce=n&clientId=U1',
      'nonce=n&authCode=a',
      'nonce=n&nonce=m&authCode=a&clientId=U1',
      '',
    ]) {
      const res = await callback(query);
      expect(res.status, query).toBe(400);
      expect(await res.text()).toContain('Login not completed');
    }
    expect((await callback(`nonce=${'x'.repeat(2000)}&authCode=a&clientId=U1`)).status).toBe(400);
    expect(asked).toEqual([]);
  });

  it('escapes what it shows', async () => {
    answer = () => redeemed('U1');
    const res = await callback(`nonce=n&authCode=${encodeURIComponent('<script>alert(1)</script>')}&clientId=U1`);
    expect(await res.text()).not.toContain('<script>');
    const { escapeHtml } = await import('../src/http/login-page.ts');
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('answers 503 when iifl-auth does not answer, and never logs the query', async () => {
    await iiflAuth?.stop();
    try {
      const res = await callback('nonce=NONCE-SECRET&authCode=CODE-SECRET&clientId=U1');
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('could not be completed right now');
    } finally {
      await startIiflAuthStandIn();
    }
    expect(logged()).toContain('/api/integration/iifl/callback');
    expect(logged()).not.toMatch(/NONCE-SECRET|CODE-SECRET/);
  });
});

describe('POST /api/integration/iifl/authcode', () => {
  it('redeems an authCode pasted by hand and answers JSON', async () => {
    answer = (_s, body) => redeemed(body.userID as string);
    const res = await gw.call('POST', '/api/integration/iifl/authcode', { body: { userID: 'U1', authCode: 'PASTED-CODE' } });
    expect(res).toMatchObject({ status: 200, body: { success: true, userID: 'U1', tokenValidity: '2026-12-01T18:29:00.000Z' } });
    expect(res.text).not.toContain('PASTED-CODE');
    expect(asked).toEqual([{ subject: IiflAuthApi.redeemLogin.subject, body: { userID: 'U1', authCode: 'PASTED-CODE' } }]);
    expect(logged()).not.toContain('PASTED-CODE');
  });

  it('validates the body, needs the refresh scope, and renders refusals', async () => {
    expect((await gw.call('POST', '/api/integration/iifl/authcode', { body: { userID: 'U1' } })).status).toBe(400);
    expect((await gw.call('POST', '/api/integration/iifl/authcode', { body: { userID: 'U1', authCode: 'x', extra: 1 } })).status).toBe(400);
    expect(
      (await gw.call('POST', '/api/integration/iifl/authcode', { body: { userID: 'U1', authCode: 'x' }, auth: `Bearer ${READER_KEY}` }))
        .status,
    ).toBe(403);
    expect(asked).toEqual([]);
    answer = () => refusal('WRONG_ACCOUNT');
    expect(
      (await gw.call('POST', '/api/integration/iifl/authcode', { body: { userID: 'U1', authCode: 'x', clientId: 'U2' } })).status,
    ).toBe(403);
    expect(asked[0]!.body).toEqual({ userID: 'U1', authCode: 'x', clientId: 'U2' });
    answer = () => ({ code: 502, reason: 'BAD_CREDENTIALS' });
    expect(await gw.call('POST', '/api/integration/iifl/authcode', { body: { userID: 'U1', authCode: 'x' } })).toMatchObject({
      status: 502,
      body: { success: false, error: 'IIFL refused the authCode', code: 'BAD_CREDENTIALS' },
    });
  });
});
