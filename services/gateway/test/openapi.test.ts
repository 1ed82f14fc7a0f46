import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { RefreshRequested, Subjects, TokenFailed, TokenRefreshed, type RefreshRequested as Request } from '@refresher/contracts';
import { createLogger, decodeJson, encodeJson, loadConfig } from '@refresher/platform';
import { integrationUser, realUser, usePipeline } from '@refresher/testkit';
import { createHttpApp, gatewayConfigSchema } from '../src/index.ts';
import { API_PREFIX } from '../src/legacy-bodies.ts';
import { OPENAPI_PATH } from '../src/openapi/document.ts';
import { startTestGateway, type TestGateway } from './helpers.ts';
import { answerChecker, registeredRoutes, type CheckedAnswer, type OpenApiDoc } from './openapi-check.ts';

// The gateway's OpenAPI document: valid OpenAPI 3.1 by a real validator, listing every route the
// app registers, and describing what the routes answer. The answers come from the gateway against
// the real persistence service (real NATS and Postgres); iifl-auth is not running, so a test plays
// its part by publishing the outcome events for the requests the gateway published.

const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');
const ADMIN_KEY = 'admin-key-0123456789abcdefghij';
const READER_KEY = 'reader-key-0123456789abcdefghi';
const ENV = {
  API_KEYS: `admin:manage-users:${sha256(ADMIN_KEY)},reader:read:${sha256(READER_KEY)}`,
  CREDENTIALS_KEY: randomBytes(32).toString('base64'),
  IIFL_AUTH_TIMEOUT_MS: '500',
};

const pipeline = usePipeline({ users: [realUser('R1'), realUser('R2'), realUser('SLOW'), integrationUser('IM1')] });
let gw: TestGateway;
/** Waits briefly, for the 202 answers. */
let hasty: TestGateway;
let doc: OpenApiDoc;
let checker: ReturnType<typeof answerChecker>;

/** Plays iifl-auth: R1 and SLOW (after 1.5 s) are refreshed, every other user fails. */
function answerRequests(): void {
  pipeline.nc.subscribe(Subjects.refreshRequestedAll, {
    callback: (_err, msg) => {
      const parsed = RefreshRequested.safeParse(decodeJson(msg.data));
      if (!parsed.success) return;
      const request = parsed.data;
      const delay = request.userID === 'SLOW' ? 1_500 : 0;
      setTimeout(() => void publishOutcome(request), delay);
    },
  });
}

async function publishOutcome(request: Request): Promise<void> {
  const now = new Date();
  const base = { v: 1, eventId: randomUUID(), runId: request.runId, userID: request.userID };
  const js = pipeline.nc.jetstream();
  if (request.userID === 'R1' || request.userID === 'SLOW') {
    const event = TokenRefreshed.parse({
      ...base,
      token: `tok-${randomUUID()}`,
      tokenValidity: new Date(now.getTime() + 12 * 3600_000).toISOString(),
      loginTime: now.toISOString(),
      source: 'login',
      attempts: 1,
    });
    await js.publish(Subjects.refreshed(request.userID), encodeJson(event), { msgID: event.eventId });
    return;
  }
  const event = TokenFailed.parse({
    ...base,
    code: 'BROKER_UNAVAILABLE',
    brokerCode: 'HTTP 503',
    message: 'Broker unavailable',
    retryable: true,
    attempts: 1,
    failedAt: now.toISOString(),
  });
  await js.publish(Subjects.failed(request.userID), encodeJson(event), { msgID: event.eventId });
}

type CallInit = Parameters<TestGateway['call']>[2];

/** Calls a route and checks the answer against the document; `route` is the Express pattern the path matches. */
async function call(method: string, route: string, path: string, init?: CallInit, via: TestGateway = gw): Promise<CheckedAnswer> {
  const answer = await via.call(method, path, init);
  checker.check(method, route, answer);
  return answer;
}

const admin = { auth: `Bearer ${ADMIN_KEY}` };

beforeAll(async () => {
  gw = await startTestGateway(pipeline.nats.url, { ...ENV, REFRESH_WAIT_MS: '10000' });
  hasty = await startTestGateway(pipeline.nats.url, { ...ENV, REFRESH_WAIT_MS: '300' });
  answerRequests();
  await pipeline.nc.flush();
  const served = await gw.call('GET', OPENAPI_PATH, { auth: null });
  doc = served.body as OpenApiDoc;
  checker = answerChecker(doc);
  checker.check('GET', OPENAPI_PATH, served);
});

afterAll(async () => {
  await gw?.gateway.stop();
  await hasty?.gateway.stop();
});

describe('the document', () => {
  it('is served without a key and is valid OpenAPI 3.1', async () => {
    const result = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect((doc as unknown as { openapi: string }).openapi).toBe('3.1.0');
  });

  it('lists every route the app registers under the API prefix and the health probes, and no other', () => {
    const config = loadConfig(gatewayConfigSchema, { NATS_URL: pipeline.nats.url, INTEGRATION_API_KEY: 'x'.repeat(32), ...ENV });
    const app = createHttpApp({
      nc: pipeline.nc,
      apiKeys: config.apiKeys,
      keyring: config.keyring,
      waitMs: 1000,
      log: createLogger('gateway', 'silent'),
    });
    const registered = registeredRoutes(app).filter((r) => /^\w+ (\/api\/integration\/|\/healthz$|\/readyz$)/.test(r));
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(registered.length).toBeGreaterThan(10);
    expect(new Set(registered)).toEqual(new Set(documented));
  });
});

describe('the answers match the document', () => {
  const refreshUser = `${API_PREFIX}/tokens/refresh/:userID`;
  const runs = `${API_PREFIX}/tokens/runs`;

  it('runs before the first one, and refreshes', async () => {
    expect((await call('GET', `${runs}/latest`, `${runs}/latest`)).status).toBe(404);
    const failed = `${API_PREFIX}/tokens/refresh-failed`;
    expect((await call('POST', failed, failed)).status).toBe(200);
    expect((await call('POST', refreshUser, `${API_PREFIX}/tokens/refresh/R1`)).status).toBe(200);
    expect((await call('POST', refreshUser, `${API_PREFIX}/tokens/refresh/R2`)).status).toBe(500);
    expect((await call('POST', refreshUser, `${API_PREFIX}/tokens/refresh/IM1`)).body).toMatchObject({ success: false });
    expect((await call('POST', refreshUser, `${API_PREFIX}/tokens/refresh/NOBODY`)).status).toBe(404);
    expect((await call('POST', refreshUser, `${API_PREFIX}/tokens/refresh/bad.id`)).status).toBe(400);
    expect((await call('POST', refreshUser, `${API_PREFIX}/tokens/refresh/R1`, { auth: 'Bearer wrong' })).status).toBe(401);
    const asyncHeaders = { headers: { prefer: 'respond-async' } };
    expect((await call('POST', refreshUser, `${API_PREFIX}/tokens/refresh/R1`, asyncHeaders)).status).toBe(202);
    expect((await call('POST', refreshUser, `${API_PREFIX}/tokens/refresh/SLOW`, {}, hasty)).status).toBe(202);
    const all = `${API_PREFIX}/tokens/refresh-all`;
    expect((await call('POST', all, all, {}, hasty)).status).toBe(202);
    expect((await call('POST', all, all, asyncHeaders)).status).toBe(202);
    expect((await call('POST', all, all)).status).toBe(200);
    expect((await call('POST', failed, failed)).status).toBe(202);
    expect((await call('POST', all, all, { auth: `Bearer ${READER_KEY}` })).status).toBe(403);
  });

  it('runs', async () => {
    const page = await call('GET', runs, `${runs}?limit=2`);
    expect(page.status).toBe(200);
    expect((await call('GET', runs, `${runs}?limit=0`)).status).toBe(400);
    const latest = await call('GET', `${runs}/latest`, `${runs}/latest`);
    expect(latest.status).toBe(200);
    const runId = (latest.body as { runId: string }).runId;
    expect((await call('GET', `${runs}/:runId`, `${runs}/${runId}`)).status).toBe(200);
    expect((await call('GET', `${runs}/:runId`, `${runs}/run-none`)).status).toBe(404);
    expect((await call('GET', `${runs}/:runId`, `${runs}/bad.id`)).status).toBe(400);
  });

  it('token status and pushed tokens', async () => {
    const status = `${API_PREFIX}/users/:userID/token`;
    expect((await call('GET', status, `${API_PREFIX}/users/R1/token`)).status).toBe(200);
    expect((await call('GET', status, `${API_PREFIX}/users/NOBODY/token`)).status).toBe(404);
    const broker = `${API_PREFIX}/broker/token`;
    expect(
      (await call('POST', broker, broker, { body: { userID: 'R1', token: 'pushed-token-1', tokenValidity: Date.now() + 3_600_000 } }))
        .status,
    ).toBe(200);
    expect((await call('POST', broker, broker, { body: { userID: 'NOBODY', token: 'pushed' } })).status).toBe(404);
    expect((await call('POST', broker, broker, { body: { userID: 'R1' } })).status).toBe(400);
    expect((await call('POST', broker, broker, { rawBody: '{' })).status).toBe(400);
    expect((await call('POST', broker, broker, { body: { userID: 'R1', token: 'x'.repeat(20_000) } })).status).toBe(413);
    const sync = `${API_PREFIX}/tokens/sync`;
    expect((await call('POST', sync, sync, { body: { userId: 'PARTNER1', accessToken: 'partner-token', clientName: 'P' } })).status).toBe(
      200,
    );
    expect((await call('POST', sync, sync, { body: { userId: 'PARTNER1' } })).status).toBe(400);
  });

  it('user administration and rejection marks', async () => {
    const user = `${API_PREFIX}/users/:userID`;
    const create = { ...admin, body: { clientName: 'New', password: 'pw', appKey: 'k', appSecret: 's', totpSecret: 'JBSWY3DPEHPK3PXP' } };
    expect((await call('POST', user, `${API_PREFIX}/users/NEW1`, create)).status).toBe(201);
    expect((await call('POST', user, `${API_PREFIX}/users/NEW1`, create)).status).toBe(409);
    expect((await call('POST', user, `${API_PREFIX}/users/NEW2`, { ...admin, body: { appKey: 'k' } })).status).toBe(400);
    expect((await call('PUT', user, `${API_PREFIX}/users/NEW1`, { ...admin, body: { clientName: 'Renamed' } })).status).toBe(200);
    expect((await call('PUT', user, `${API_PREFIX}/users/NOBODY`, { ...admin, body: { clientName: 'X' } })).status).toBe(404);
    const rejection = `${API_PREFIX}/users/:userID/rejection`;
    expect((await call('DELETE', rejection, `${API_PREFIX}/users/NEW1/rejection`, admin)).status).toBe(200);
    expect((await call('DELETE', rejection, `${API_PREFIX}/users/NOBODY/rejection`, admin)).status).toBe(404);
    expect((await call('DELETE', user, `${API_PREFIX}/users/NEW1`, admin)).status).toBe(200);
    expect((await call('DELETE', user, `${API_PREFIX}/users/NEW1`, admin)).status).toBe(404);
    expect((await call('DELETE', user, `${API_PREFIX}/users/R1`)).status).toBe(403);
  });

  it('the IIFL login routes, with iifl-auth away', async () => {
    const login = `${API_PREFIX}/iifl/login/:userID`;
    expect((await call('GET', login, `${API_PREFIX}/iifl/login/bad.id`)).status).toBe(400);
    expect((await call('GET', login, `${API_PREFIX}/iifl/login/R1`)).status).toBe(503);
    const authcode = `${API_PREFIX}/iifl/authcode`;
    expect((await call('POST', authcode, authcode, { body: { userID: 'R1' } })).status).toBe(400);
    expect((await call('POST', authcode, authcode, { body: { userID: 'R1', authCode: 'code' } })).status).toBe(503);
    const callback = `${API_PREFIX}/iifl/callback`;
    expect((await call('GET', callback, `${callback}?nonce=n`, { auth: null })).status).toBe(400);
    expect((await call('GET', callback, `${callback}?nonce=n&authCode=c&clientId=R1`, { auth: null })).status).toBe(503);
  });

  it('the health probes', async () => {
    expect((await call('GET', '/healthz', '/healthz', { auth: null })).status).toBe(200);
    expect((await call('GET', '/readyz', '/readyz', { auth: null })).status).toBe(200);
  });

  it('every documented operation was called', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.filter((op) => !checker.called.has(op))).toEqual([]);
  });
});
