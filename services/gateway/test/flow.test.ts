import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PersistenceApi,
  RefreshRequested,
  Subjects,
  TokenFailed,
  TokenRefreshed,
  type RefreshRequested as RefreshRequestedEvent,
} from '@refresher/contracts';
import { decodeJson, encodeJson } from '@refresher/platform';
import { integrationUser, realUser, usePipeline, waitFor } from '@refresher/testkit';
import { startTestGateway, type TestGateway } from './helpers.ts';

// The gateway against the real persistence service, in its own process (real NATS, fresh Postgres
// database). iifl-auth is not running: no login happens. Where a test needs a run to finish, it
// publishes the outcome event that iifl-auth would, for the request the gateway published.

const pipeline = usePipeline({
  users: [realUser('R1'), realUser('R2'), realUser('DORMANT', { state: 'inactive' }), integrationUser('IM1')],
});
/** Waits only briefly: refresh calls come back with 202 while their users are pending. */
let shortWait: TestGateway;
/** Waits long enough for a test to answer the run's requests. */
let longWait: TestGateway;
const seenRequests: RefreshRequestedEvent[] = [];

beforeAll(async () => {
  shortWait = await startTestGateway(pipeline.nats.url, { REFRESH_WAIT_MS: '300' });
  longWait = await startTestGateway(pipeline.nats.url, { REFRESH_WAIT_MS: '20000' });
  pipeline.nc.subscribe(Subjects.refreshRequestedAll, {
    callback: (_err, msg) => {
      const parsed = RefreshRequested.safeParse(decodeJson(msg.data));
      if (parsed.success) seenRequests.push(parsed.data);
    },
  });
  await pipeline.nc.flush();
});

afterAll(async () => {
  await shortWait?.gateway.stop();
  await longWait?.gateway.stop();
});

/** The request published for `userID` in a run other than those in `except`. */
function requestFor(userID: string, except: ReadonlySet<string> = new Set()): Promise<RefreshRequestedEvent> {
  return waitFor(`a refresh request for ${userID}`, () => seenRequests.find((r) => r.userID === userID && !except.has(r.runId)));
}

async function publishRefreshed(request: RefreshRequestedEvent, token: string): Promise<TokenRefreshed> {
  const now = new Date();
  const event = TokenRefreshed.parse({
    v: 1,
    eventId: randomUUID(),
    runId: request.runId,
    userID: request.userID,
    token,
    tokenValidity: new Date(now.getTime() + 12 * 3600_000).toISOString(),
    loginTime: now.toISOString(),
    source: 'login',
    attempts: 1,
  });
  await pipeline.nc.jetstream().publish(Subjects.refreshed(request.userID), encodeJson(event), { msgID: event.eventId });
  return event;
}

function publishFailed(request: RefreshRequestedEvent): Promise<unknown> {
  const event = TokenFailed.parse({
    v: 1,
    eventId: randomUUID(),
    runId: request.runId,
    userID: request.userID,
    code: 'BROKER_UNAVAILABLE',
    brokerCode: 'HTTP 503',
    message: 'Broker unavailable',
    retryable: true,
    attempts: 3,
    failedAt: new Date().toISOString(),
  });
  return pipeline.nc.jetstream().publish(Subjects.failed(request.userID), encodeJson(event), { msgID: event.eventId });
}

describe('token status', () => {
  it('answers a known user without a token', async () => {
    const res = await shortWait.call('GET', '/api/integration/users/R1/token');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, userID: 'R1', hasToken: false, tokenPreview: null, tokenValidity: null });
  });

  it('answers 404 for an unknown user', async () => {
    const res = await shortWait.call('GET', '/api/integration/users/NOBODY/token');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ success: false, error: 'User not found' });
  });
});

describe('partner token pushes', () => {
  it('refuses /broker/token for a user that is not registered', async () => {
    const res = await shortWait.call('POST', '/api/integration/broker/token', { body: { userID: 'NOBODY', token: 'tok' } });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ success: false, error: 'User not registered' });
    const status = await shortWait.call('GET', '/api/integration/users/NOBODY/token');
    expect(status.status).toBe(404);
  });

  it('stores a /broker/token push, announces it on tokens.refreshed and shows only its preview', async () => {
    const token = `pushed-token-${randomUUID()}`;
    const validity = Date.parse('2030-01-02T03:04:05.000Z');
    const announced = pipeline.nc.subscribe(Subjects.refreshed('R2'), { max: 1 });
    await pipeline.nc.flush();

    const res = await shortWait.call('POST', '/api/integration/broker/token', {
      body: { userID: 'R2', token, tokenValidity: validity, loginStatus: 'success', tradingStatus: 'active', extra: 'ignored' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, userID: 'R2', tokenValidity: '2030-01-02T03:04:05.000Z' });

    let event: TokenRefreshed | undefined;
    for await (const msg of announced) event = TokenRefreshed.parse(decodeJson(msg.data));
    expect(event).toMatchObject({ userID: 'R2', token, source: 'push', runId: null, tokenValidity: '2030-01-02T03:04:05.000Z' });

    const status = await shortWait.call('GET', '/api/integration/users/R2/token');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      success: true,
      userID: 'R2',
      hasToken: true,
      tokenPreview: `${token.slice(0, 16)}...`,
      tokenValidity: '2030-01-02T03:04:05.000Z',
    });
    expect(status.text).not.toContain(token);
  });

  it('creates an integration-managed user on /tokens/sync, taking encryptedToken as the token', async () => {
    const res = await shortWait.call('POST', '/api/integration/tokens/sync', {
      body: { userId: 'SYNC-1', encryptedToken: 'synced-token-value-1234567890', clientName: 'Synced Partner' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, userID: 'SYNC-1', created: true });

    const status = await shortWait.call('GET', '/api/integration/users/SYNC-1/token');
    expect(status.body).toMatchObject({ success: true, hasToken: true, clientName: 'Synced Partner', tokenPreview: 'synced-token-val...' });

    const again = await shortWait.call('POST', '/api/integration/tokens/sync', {
      body: { userId: 'SYNC-1', accessToken: 'synced-token-value-2' },
    });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ success: true, created: false });

    const refresh = await shortWait.call('POST', '/api/integration/tokens/refresh/SYNC-1');
    expect(refresh.status).toBe(200);
    expect(refresh.body).toMatchObject({ success: false, message: 'Cannot refresh token for integration-managed user' });
  });
});

describe('one-user refresh', () => {
  it('answers 404 for an unknown user', async () => {
    const res = await shortWait.call('POST', '/api/integration/tokens/refresh/NOBODY');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ success: false, error: 'User not found' });
  });

  it('refuses an integration-managed user with the legacy answer', async () => {
    const res = await shortWait.call('POST', '/api/integration/tokens/refresh/IM1');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      success: false,
      message: 'Cannot refresh token for integration-managed user',
      reason: 'INTEGRATION_MANAGED',
      userID: 'IM1',
      runId: expect.any(String),
    });
    const run = await shortWait.call('GET', `/api/integration/tokens/runs/${res.body.runId}`);
    expect(run.body).toMatchObject({ success: true, skipped: 1, pending: 0 });
  });

  it('answers 202 with the run id when the login has not finished in time', async () => {
    const res = await shortWait.call('POST', '/api/integration/tokens/refresh/R1');
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ success: true, message: 'Token refresh still running', userID: 'R1' });
    expect(res.headers.get('location')).toBe(`/api/integration/tokens/runs/${res.body.runId}`);
    const request = await requestFor('R1', new Set(seenRequests.filter((r) => r.runId !== res.body.runId).map((r) => r.runId)));
    expect(request).toMatchObject({ runId: res.body.runId, trigger: 'api' });
  });

  it('answers 200 with the token validity once the user is refreshed, from the notice alone', async () => {
    // Summary reads of the run: the wait may read it once as it starts, but answers from the
    // outcome notice, not from a read after it.
    const summaryReads: string[] = [];
    const reads = pipeline.nc.subscribe(PersistenceApi.getRun.subject);
    void (async () => {
      for await (const msg of reads) summaryReads.push(String((decodeJson(msg.data) as { runId?: unknown }).runId));
    })();
    await pipeline.nc.flush();

    const earlier = new Set(seenRequests.map((r) => r.runId));
    const pending = longWait.call('POST', '/api/integration/tokens/refresh/R1');
    const request = await requestFor('R1', earlier);
    const event = await publishRefreshed(request, `fresh-token-${randomUUID()}`);
    const res = await pending;
    await pipeline.nc.flush();
    reads.unsubscribe();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      message: 'Token refreshed successfully',
      userID: 'R1',
      clientName: 'Client R1',
      tokenValidity: event.tokenValidity,
      runId: request.runId,
    });
    expect(summaryReads.filter((runId) => runId === request.runId).length).toBeLessThanOrEqual(1);
  });

  it('answers 500 with the failure code and message when the login failed', async () => {
    const earlier = new Set(seenRequests.map((r) => r.runId));
    const pending = longWait.call('POST', '/api/integration/tokens/refresh/R1');
    const request = await requestFor('R1', earlier);
    await publishFailed(request);
    const res = await pending;
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      success: false,
      error: 'BROKER_UNAVAILABLE: Broker unavailable',
      code: 'BROKER_UNAVAILABLE',
      userID: 'R1',
      runId: request.runId,
    });
  });
});

describe('one-user refresh, asynchronously', () => {
  it('answers Prefer: respond-async with 202 at once', async () => {
    const res = await longWait.call('POST', '/api/integration/tokens/refresh/R1', {
      headers: { prefer: 'wait=5, respond-async' },
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('preference-applied')).toBe('respond-async');
    const statusUrl = `/api/integration/tokens/runs/${res.body.runId}`;
    expect(res.headers.get('location')).toBe(statusUrl);
    expect(res.body).toEqual({
      success: true,
      message: 'Token refresh started',
      runId: expect.any(String),
      userID: 'R1',
      requested: 1,
      skipped: 0,
      statusUrl,
    });
  });
});

describe('refresh of all users', () => {
  it('answers Prefer: respond-async with 202 at once, and the run can be read', async () => {
    const res = await longWait.call('POST', '/api/integration/tokens/refresh-all', { headers: { prefer: 'respond-async' } });
    expect(res.status).toBe(202);
    expect(res.headers.get('preference-applied')).toBe('respond-async');
    const statusUrl = `/api/integration/tokens/runs/${res.body.runId}`;
    expect(res.headers.get('location')).toBe(statusUrl);
    // R1 and R2 are live real users; IM1 and SYNC-1 are integration-managed; DORMANT is not live.
    expect(res.body).toEqual({
      success: true,
      message: 'Token refresh started',
      runId: expect.any(String),
      requested: 2,
      skipped: 2,
      statusUrl,
    });

    const run = await longWait.call('GET', statusUrl);
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ success: true, runId: res.body.runId, trigger: 'api', pending: 2, skipped: 2 });
    const outcomes = Object.fromEntries(run.body.results.map((r: { userID: string; outcome: string }) => [r.userID, r.outcome]));
    expect(outcomes).toEqual({ R1: 'pending', R2: 'pending', IM1: 'skipped', 'SYNC-1': 'skipped' });
    await requestFor('R1', new Set(seenRequests.filter((r) => r.runId !== res.body.runId).map((r) => r.runId)));
  });

  it('answers 202 with partial counts when the wait runs out', async () => {
    const res = await shortWait.call('POST', '/api/integration/tokens/refresh-all');
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      success: true,
      message: 'Token refresh still running',
      refreshed: 0,
      failed: 0,
      total: 2,
      pending: 2,
      skipped: 2,
      results: [],
      statusUrl: `/api/integration/tokens/runs/${res.body.runId}`,
    });
  });

  it('answers like the legacy API once every user has an outcome', async () => {
    const earlier = new Set(seenRequests.map((r) => r.runId));
    const pending = longWait.call('POST', '/api/integration/tokens/refresh-all');
    const r1 = await requestFor('R1', earlier);
    const r2 = await requestFor('R2', earlier);
    expect(r2.runId).toBe(r1.runId);
    await publishRefreshed(r1, `fresh-token-${randomUUID()}`);
    await publishFailed(r2);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      success: true,
      message: 'Token refresh completed',
      refreshed: 1,
      failed: 1,
      total: 2,
      skipped: 2,
      runId: r1.runId,
    });
    expect(res.body.pending).toBeUndefined();
    expect(res.body.results).toHaveLength(2);
    expect(res.body.results).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ success: true, userID: 'R1', clientName: 'Client R1' }),
        expect.objectContaining({ success: false, userID: 'R2', error: 'BROKER_UNAVAILABLE: Broker unavailable' }),
      ]),
    );
  });

  it('answers 404 for an unknown run', async () => {
    const res = await shortWait.call('GET', '/api/integration/tokens/runs/no-such-run');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ success: false, error: 'Run not found' });
  });
});

describe('shutdown', () => {
  it('answers a waiting refresh with 202 and its run id when the gateway stops', async () => {
    const gw = await startTestGateway(pipeline.nats.url, { REFRESH_WAIT_MS: '60000' });
    const earlier = new Set(seenRequests.map((r) => r.runId));
    const pending = gw.call('POST', '/api/integration/tokens/refresh/R2');
    const request = await requestFor('R2', earlier);
    await gw.gateway.stop();
    const res = await pending;
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ success: true, userID: 'R2', runId: request.runId });
  });
});
