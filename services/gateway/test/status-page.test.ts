import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Subjects } from '@refresher/contracts';
import { encodeJson } from '@refresher/platform';
import { realUser, usePipeline } from '@refresher/testkit';
import { API_KEY, captureLogger, startTestGateway, type TestGateway } from './helpers.ts';

// The status page's access design over HTTP (the browser tests in test/browser drive the page itself):
// the sign-in form, the session cookie, the CSRF check, the CSP, and the API left as it was.

const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');
const KEYS = { reader: 'status-reader-key-0123456789', pusher: 'status-pusher-key-0123456789' };
const pipeline = usePipeline({ users: [realUser('S1'), realUser('S2')] });
const captured = captureLogger();
let gw: TestGateway;

beforeAll(async () => {
  const API_KEYS = [`reader:read:${sha256(KEYS.reader)}`, `pusher:push-tokens:${sha256(KEYS.pusher)}`].join(',');
  gw = await startTestGateway(pipeline.nats.url, { API_KEYS, LOG_LEVEL: 'info' }, captured.log);
});
afterAll(() => gw?.gateway.stop());

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

async function signIn(key: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.base}/status/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gw.base, ...headers },
    body: form({ key }),
  });
  return { res, text: await res.text(), cookie: res.headers.get('set-cookie') };
}

/** A signed-in session: its cookie and the CSRF token its page carries. */
async function session(key = API_KEY): Promise<{ cookie: string; csrf: string }> {
  const { res, cookie } = await signIn(key);
  expect(res.status).toBe(303);
  const pair = cookie!.split(';')[0]!;
  const page = await (await fetch(`${gw.base}/status`, { headers: { cookie: pair } })).text();
  return { cookie: pair, csrf: /name="csrf-token" content="([^"]+)"/.exec(page)![1]! };
}

describe('the status page', () => {
  it('answers the sign-in form with a strict CSP, and the legacy API as before', async () => {
    const res = await fetch(`${gw.base}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('action="/status/sign-in"');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('cache-control')).toBe('no-store');
    // The API keeps helmet's defaults and knows nothing of the page.
    const api = await gw.call('GET', '/api/integration/users/S1/token');
    expect(api.status).toBe(200);
    expect(api.headers.get('content-security-policy')).not.toContain("default-src 'none'");
  });

  it('refuses a wrong key, a key that cannot read and a form from another site; sets no cookie then', async () => {
    const wrong = await signIn('not-a-key-at-all');
    expect(wrong.res.status).toBe(401);
    expect(wrong.text).toContain('That key was not accepted.');
    expect(wrong.text).not.toContain('not-a-key-at-all');
    expect(wrong.cookie).toBeNull();
    const pusher = await signIn(KEYS.pusher);
    expect(pusher.res.status).toBe(403);
    expect(pusher.cookie).toBeNull();
    const elsewhere = await signIn(API_KEY, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    expect(elsewhere.res.status).toBe(403);
    expect(elsewhere.cookie).toBeNull();
    expect(captured.lines.join('\n')).not.toContain(API_KEY);
  });

  it('signs in with an HttpOnly, SameSite=Strict cookie that the API does not take as a key', async () => {
    const { cookie } = await signIn(API_KEY);
    expect(cookie).toMatch(/^refresher_status=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\//);
    const pair = cookie!.split(';')[0]!;
    const page = await fetch(`${gw.base}/status`, { headers: { cookie: pair } });
    const html = await page.text();
    expect(html).toContain('data-user="S1"');
    expect(html).not.toContain(API_KEY);
    const api = await gw.call('GET', '/api/integration/users/S1/token', { auth: null, headers: { cookie: pair } });
    expect(api.status).toBe(401);
  });

  it('refuses state-changing requests without the CSRF token or from another site', async () => {
    const { cookie, csrf } = await session();
    const post = (headers: Record<string, string>) =>
      fetch(`${gw.base}/status/api/tokens/refresh/S1`, { method: 'POST', headers: { cookie, prefer: 'respond-async', ...headers } });
    expect((await post({})).status).toBe(403);
    expect((await post({ 'x-csrf-token': 'x'.repeat(43) })).status).toBe(403);
    expect((await post({ 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await post({ 'x-csrf-token': csrf, origin: 'https://evil.example' })).status).toBe(403);
    const started = await post({ 'x-csrf-token': csrf, 'sec-fetch-site': 'same-origin' });
    expect(started.status).toBe(202);
    expect(await started.json()).toMatchObject({ success: true, userID: 'S1', runId: expect.any(String) });
    // Without a session: 401, whatever the headers.
    const anonymous = await fetch(`${gw.base}/status/api/tokens/refresh/S1`, { method: 'POST', headers: { 'x-csrf-token': csrf } });
    expect(anonymous.status).toBe(401);
  });

  it('holds a session to its key: a read-only key may look, not refresh or lift marks', async () => {
    const { cookie, csrf } = await session(KEYS.reader);
    const data = await fetch(`${gw.base}/status/data`, { headers: { cookie } });
    expect(data.status).toBe(200);
    const view = (await data.json()) as { may: unknown; accounts: { userID: string }[] };
    expect(view.may).toEqual({ refresh: false, manageUsers: false });
    expect(view.accounts.map((a) => a.userID)).toEqual(['S1', 'S2']);
    const headers = { cookie, 'x-csrf-token': csrf };
    expect((await fetch(`${gw.base}/status/api/tokens/refresh/S1`, { method: 'POST', headers })).status).toBe(403);
    expect((await fetch(`${gw.base}/status/api/users/S1/rejection`, { method: 'DELETE', headers })).status).toBe(403);
  });

  it('streams outcomes as server-sent events', async () => {
    const { cookie } = await session();
    const notice = {
      v: 1,
      runId: 'run-sse-1',
      userID: 'S2',
      outcome: 'failed',
      code: 'BAD_CREDENTIALS',
      message: 'Invalid password',
      done: 1,
      total: 1,
    };
    const text = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${gw.base}/status/events`, { headers: { cookie } }, (res) => {
        expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8');
          // Announced once the gateway's subscription is in place: persistence's notice then reaches the page.
          if (text.endsWith(': listening\n\n')) pipeline.nc.publish(Subjects.runOutcome('run-sse-1'), encodeJson(notice));
          if (text.includes('event: outcome')) {
            req.destroy();
            resolve(text);
          }
        });
      });
      req.on('error', reject);
      req.end();
    });
    expect(text).toContain(`event: outcome\ndata: ${JSON.stringify(notice)}\n\n`);
  });

  it('signs out: the session is gone at once', async () => {
    const { cookie, csrf } = await session();
    const out = await fetch(`${gw.base}/status/sign-out`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, origin: gw.base, 'content-type': 'application/x-www-form-urlencoded' },
      body: form({ csrf }),
    });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/^refresher_status=;/);
    expect((await fetch(`${gw.base}/status/data`, { headers: { cookie } })).status).toBe(401);
  });

  it('answers POST /api/integration/tokens/refresh-failed with nobody to retry before any failure', async () => {
    const res = await gw.call('POST', '/api/integration/tokens/refresh-failed');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, message: 'Nobody failed', runId: null, requested: 0, skipped: 0 });
  });
});
