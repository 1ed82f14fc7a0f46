import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '@refresher/platform';
import { startNats, type TestNats } from '@refresher/testkit';
import { gatewayConfigSchema } from '../src/index.ts';
import { API_KEY, captureLogger, startTestGateway, type TestGateway } from './helpers.ts';

// A real NATS and no persistence: everything the gateway decides by itself, and what it answers
// when persistence does not.
let nats: TestNats;
let gw: TestGateway;
let logLines: string[];

beforeAll(async () => {
  nats = await startNats();
  const { log, lines } = captureLogger();
  logLines = lines;
  gw = await startTestGateway(nats.url, {}, log);
});

afterAll(async () => {
  await gw?.gateway.stop();
  await nats?.dispose();
});

const UNAUTHORIZED = { success: false, error: 'Unauthorized' };

describe('configuration', () => {
  it('refuses to start without an API key, reporting every problem at once', () => {
    let error: unknown;
    try {
      loadConfig(gatewayConfigSchema, { PORT: 'x', REFRESH_WAIT_MS: '-1' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/INTEGRATION_API_KEY/);
    expect(problems).toMatch(/PORT/);
    expect(problems).toMatch(/REFRESH_WAIT_MS/);
  });

  it('has the legacy defaults', () => {
    const config = loadConfig(gatewayConfigSchema, { INTEGRATION_API_KEY: 'k' });
    expect(config.PORT).toBe(3001);
    expect(config.REFRESH_WAIT_MS).toBe(120_000);
  });
});

describe('authentication', () => {
  it.each([
    ['missing', null],
    ['wrong', 'Bearer not-the-key-at-all'],
    ['malformed', `Token ${API_KEY}`],
    ['scheme only', 'Bearer'],
  ])('answers the same 401 for a %s key', async (_what, auth) => {
    const res = await gw.call('GET', '/api/integration/users/U1/token', { auth });
    expect(res.status).toBe(401);
    expect(res.body).toEqual(UNAUTHORIZED);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('checks the key before reading the body or matching the route', async () => {
    const huge = await gw.call('POST', '/api/integration/broker/token', { auth: null, rawBody: 'x'.repeat(100_000) });
    expect(huge.status).toBe(401);
    const unknown = await gw.call('GET', '/api/integration/nope', { auth: 'Bearer wrong' });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(UNAUTHORIZED);
  });
});

describe('health and plumbing', () => {
  it('answers /healthz without a key while connected', async () => {
    const res = await gw.call('GET', '/healthz', { auth: null });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok' });
  });

  it('sets security headers and no x-powered-by', async () => {
    const res = await gw.call('GET', '/api/integration/users/a.b/token');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('answers unknown routes with 404 JSON', async () => {
    for (const [method, path] of [
      ['GET', '/api/integration/nope'],
      ['GET', '/api/integration/tokens/refresh-all'],
      ['DELETE', '/api/integration/users/U1/token'],
      // `/` is the status page (its own tests: status-page.test.ts); other paths outside the API are not found.
      ['GET', '/nope'],
    ] as const) {
      const res = await gw.call(method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body).toEqual({ success: false, error: 'Not found' });
    }
  });
});

describe('validation', () => {
  const badIds = ['a.b', 'a*', 'a>', 'a b', 'x'.repeat(65), 'tokens.refresh.requested.>', 'é'];

  it.each(badIds)('refuses the user id %j on every route that takes one', async (id) => {
    const segment = encodeURIComponent(id);
    for (const [method, path] of [
      ['POST', `/api/integration/tokens/refresh/${segment}`],
      ['GET', `/api/integration/users/${segment}/token`],
    ] as const) {
      const res = await gw.call(method, path);
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(res.body.success).toBe(false);
      expect(res.body.error).toMatch(/^Invalid userID: userID must be 1-64 characters/);
    }
    const pushed = await gw.call('POST', '/api/integration/broker/token', { body: { userID: id, token: 't' } });
    expect(pushed.status).toBe(400);
    expect(pushed.body.error).toMatch(/userID/);
  });

  it('refuses a malformed run id', async () => {
    const res = await gw.call('GET', `/api/integration/tokens/runs/${encodeURIComponent('run.1')}`);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: expect.stringMatching(/^Invalid runId/) });
  });

  it('refuses a malformed %-escape in the path with 400 JSON', async () => {
    const res = await gw.call('POST', '/api/integration/tokens/refresh/%E0%A4%A');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: 'Bad request' });
  });

  it('names every missing field of /broker/token', async () => {
    const res = await gw.call('POST', '/api/integration/broker/token', { body: {} });
    expect(res.status).toBe(400);
    expect(res.body.success).toBe(false);
    expect(res.body.error).toMatch(/userID is required/);
    expect(res.body.error).toMatch(/token is required/);
  });

  it.each([
    ['a token that is not a string', { userID: 'U1', token: 42 }, /token must be a string/],
    ['an empty token', { userID: 'U1', token: '' }, /token must not be empty/],
    ['a token that is too long', { userID: 'U1', token: 't'.repeat(8193) }, /token is too long/],
    ['a validity that is not a date', { userID: 'U1', token: 't', tokenValidity: 'tomorrow' }, /tokenValidity/],
    ['a status that is too long', { userID: 'U1', token: 't', loginStatus: 'x'.repeat(33) }, /loginStatus/],
  ])('refuses /broker/token with %s', async (_what, body, message) => {
    const res = await gw.call('POST', '/api/integration/broker/token', { body });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(message);
  });

  it('never echoes a token in a validation error', async () => {
    const res = await gw.call('POST', '/api/integration/broker/token', {
      body: { userID: 'bad.id', token: 'SECRET-TOKEN-VALUE' },
    });
    expect(res.status).toBe(400);
    expect(res.text).not.toContain('SECRET-TOKEN-VALUE');
  });

  it('names what /tokens/sync is missing', async () => {
    const res = await gw.call('POST', '/api/integration/tokens/sync', { body: { clientName: 'x' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/userId is required/);
    expect(res.body.error).toMatch(/accessToken or encryptedToken is required/);
  });

  it.each([
    ['a JSON array', '[1,2]', 'application/json'],
    ['a JSON string', '"x"', 'application/json'],
    ['a form body', 'userID=U1&token=t', 'application/x-www-form-urlencoded'],
  ])('refuses %s as a body', async (_what, rawBody, contentType) => {
    const res = await gw.call('POST', '/api/integration/broker/token', { rawBody, headers: { 'content-type': contentType } });
    expect(res.status).toBe(400);
    expect(res.body.success).toBe(false);
  });

  it('answers malformed JSON with 400 and does not echo it', async () => {
    const res = await gw.call('POST', '/api/integration/broker/token', { rawBody: '{"userID": "U1", "token": "SECRET-PART' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: 'Malformed JSON body' });
  });

  it('answers a body over the limit with 413', async () => {
    const res = await gw.call('POST', '/api/integration/broker/token', {
      body: { userID: 'U1', token: 'x'.repeat(20_000) },
    });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ success: false, error: 'Request body too large' });
  });
});

describe('persistence unavailable', () => {
  const UNAVAILABLE = { success: false, error: 'Service unavailable, try again' };

  it.each([
    ['POST', '/api/integration/tokens/refresh-all', undefined],
    ['POST', '/api/integration/tokens/refresh/U1', undefined],
    ['GET', '/api/integration/tokens/runs/run-1', undefined],
    ['GET', '/api/integration/users/U1/token', undefined],
    ['POST', '/api/integration/broker/token', { userID: 'U1', token: 'tok' }],
    ['POST', '/api/integration/tokens/sync', { userId: 'U1', accessToken: 'tok' }],
  ])('%s %s answers 503', async (method, path, body) => {
    const res = await gw.call(method, path, body === undefined ? {} : { body });
    expect(res.status).toBe(503);
    expect(res.body).toEqual(UNAVAILABLE);
  });

  it('answers 503 for a Prefer: respond-async refresh too', async () => {
    const res = await gw.call('POST', '/api/integration/tokens/refresh-all', { headers: { prefer: 'respond-async' } });
    expect(res.status).toBe(503);
    expect(res.body).toEqual(UNAVAILABLE);
  });
});

describe('logging', () => {
  it('logs requests without the key, tokens or bodies', async () => {
    await gw.call('POST', '/api/integration/broker/token', {
      body: { userID: 'U1', token: 'LOGGED-TOKEN-CANARY' },
    });
    await gw.call('GET', '/api/integration/users/U1/token', { auth: 'Bearer WRONG-KEY-CANARY' });
    const text = logLines.join('');
    expect(text).toContain('"path":"/api/integration/broker/token"');
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain('LOGGED-TOKEN-CANARY');
    expect(text).not.toContain('WRONG-KEY-CANARY');
  });
});
