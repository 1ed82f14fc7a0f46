import { describe, expect, it } from 'vitest';
import {
  Buckets,
  PersistenceApi,
  PushTokenRequest,
  RUN_RESULTS_PAGE_MAX,
  RunCompleted,
  Subjects,
  TokenRefreshed,
} from '@refresher/contracts';
import { ServiceCallError, decodeJson } from '@refresher/platform';
import { integrationUser, realUser, useHarness } from './harness.ts';

const h = useHarness();

async function serviceError(promise: Promise<unknown>): Promise<ServiceCallError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ServiceCallError);
  return err as ServiceCallError;
}

describe('persistence.runs.start', () => {
  it('covers every live user, skipping integration-managed ones, and records the run before answering', async () => {
    await h.seed([
      realUser('A1'),
      realUser('B2'),
      realUser('C3', { state: 'paused' }),
      integrationUser('2a66c354-2cfa-467c-a14b-da76a6ca13c7'),
    ]);
    const res = await h.startRun({ trigger: 'api' });
    expect(res.created).toBe(true);
    expect(res.runId).toMatch(/^run-\d{14}-[0-9a-f]{8}$/);
    expect(res.requested).toEqual([
      { userID: 'A1', clientName: 'Client A1' },
      { userID: 'B2', clientName: 'Client B2' },
    ]);
    expect(res.skipped).toEqual([
      {
        userID: '2a66c354-2cfa-467c-a14b-da76a6ca13c7',
        clientName: 'Partner 2a66c354-2cfa-467c-a14b-da76a6ca13c7',
        reason: 'INTEGRATION_MANAGED',
      },
    ]);

    const summary = await h.getRun(res.runId);
    expect(summary).toMatchObject({
      runId: res.runId,
      trigger: 'api',
      completedAt: null,
      total: 3,
      refreshed: 0,
      failed: 0,
      skipped: 1,
      pending: 2,
    });
    expect(summary.requestedAt).toBe(res.requestedAt);
    expect(summary.results.map((r) => [r.userID, r.outcome, r.code])).toEqual([
      ['A1', 'pending', null],
      ['B2', 'pending', null],
      ['2a66c354-2cfa-467c-a14b-da76a6ca13c7', 'skipped', 'INTEGRATION_MANAGED'],
    ]);
  });

  it('is idempotent on runId, also when two starts race', async () => {
    await h.seed([realUser('A1'), integrationUser('IM1')]);
    const [first, second] = await Promise.all([
      h.startRun({ runId: 'schedule-20261130-0300', trigger: 'schedule' }),
      h.startRun({ runId: 'schedule-20261130-0300', trigger: 'schedule' }),
    ]);
    expect([first!.created, second!.created].sort()).toEqual([false, true]);
    await h.seed([realUser('Z9')]);
    const again = await h.startRun({ runId: 'schedule-20261130-0300', trigger: 'schedule' });
    expect(again.created).toBe(false);
    expect(again.requestedAt).toBe(first!.requestedAt);
    expect(again.requested).toEqual([{ userID: 'A1', clientName: 'Client A1' }]);
    expect(again.skipped).toEqual([{ userID: 'IM1', clientName: 'Partner IM1', reason: 'INTEGRATION_MANAGED' }]);
    expect((await h.getRun('schedule-20261130-0300')).total).toBe(2);
  });

  it('with a userID covers that user whatever its state', async () => {
    await h.seed([realUser('A1'), realUser('P1', { state: 'paused' })]);
    const res = await h.startRun({ trigger: 'cli', userID: 'P1' });
    expect(res.requested).toEqual([{ userID: 'P1', clientName: 'Client P1' }]);
    expect(res.skipped).toEqual([]);
    expect((await h.getRun(res.runId)).total).toBe(1);
  });

  it('answers 404 for an unknown user and records no run', async () => {
    const err = await serviceError(h.startRun({ runId: 'r-unknown', trigger: 'api', userID: 'NOPE' }));
    expect(err.code).toBe(404);
    expect(err.message).toContain('NOPE');
    expect((await serviceError(h.getRun('r-unknown'))).code).toBe(404);
  });

  it('completes a run without requested users at once and announces it', async () => {
    await h.seed([integrationUser('IM1')]);
    const completed = h.nc.subscribe(Subjects.runCompleted('r-im-only'), { max: 1 });
    await h.nc.flush();
    const res = await h.startRun({ runId: 'r-im-only', trigger: 'api', userID: 'IM1' });
    expect(res.requested).toEqual([]);
    expect(res.skipped).toEqual([{ userID: 'IM1', clientName: 'Partner IM1', reason: 'INTEGRATION_MANAGED' }]);
    const summary = await h.getRun('r-im-only');
    expect(summary).toMatchObject({ total: 1, skipped: 1, pending: 0 });
    expect(summary.completedAt).not.toBeNull();
    for await (const msg of completed) {
      expect(RunCompleted.parse(decodeJson(msg.data))).toEqual({ v: 1, runId: 'r-im-only', total: 1, refreshed: 0, failed: 0, skipped: 1 });
    }
  });
});

describe('persistence.runs.get', () => {
  it('answers a run of 6,000 users a page at a time, one user, or the counts alone', async () => {
    const users = Array.from({ length: 6_000 }, (_, i) => realUser(`U${String(i).padStart(5, '0')}`));
    await h.seed(users);
    const { runId, requested } = await h.startRun({ trigger: 'api' });
    expect(requested).toHaveLength(6_000);

    // Every result in one answer would pass NATS's 1 MiB: pages of at most RUN_RESULTS_PAGE_MAX.
    const seen: string[] = [];
    let pages = 0;
    let page = await h.call(PersistenceApi.getRun, { runId });
    for (;;) {
      pages++;
      expect(page).toMatchObject({ total: 6_000, pending: 6_000 });
      expect(page.results.length).toBeLessThanOrEqual(RUN_RESULTS_PAGE_MAX);
      seen.push(...page.results.map((r) => r.userID));
      if (page.resultsNext === null) break;
      page = await h.call(PersistenceApi.getRun, { runId, results: { after: page.resultsNext } });
    }
    expect(pages).toBe(Math.ceil(6_000 / RUN_RESULTS_PAGE_MAX));
    expect(seen).toEqual(requested.map((u) => u.userID));

    const small = await h.call(PersistenceApi.getRun, { runId, results: { limit: 2 } });
    expect(small.results.map((r) => r.userID)).toEqual(['U00000', 'U00001']);
    const next = await h.call(PersistenceApi.getRun, { runId, results: { after: small.resultsNext!, limit: 2 } });
    expect(next.results.map((r) => r.userID)).toEqual(['U00002', 'U00003']);

    const one = await h.call(PersistenceApi.getRun, { runId, results: { userID: 'U04321' } });
    expect(one.results).toEqual([expect.objectContaining({ userID: 'U04321', outcome: 'pending' })]);
    expect(one.resultsNext).toBeNull();
    const counts = await h.call(PersistenceApi.getRun, { runId, results: 'none' });
    expect(counts).toMatchObject({ runId, total: 6_000, pending: 6_000, results: [], resultsNext: null });
  });
});

describe('persistence.credentials.get', () => {
  it('returns a real user’s credentials, null for an integration-managed user, 404 for an unknown one', async () => {
    await h.seed([realUser('A1'), integrationUser('IM1')]);
    const call = (userID: string) => h.call(PersistenceApi.getCredentials, { userID });
    expect(await call('A1')).toEqual({
      userID: 'A1',
      clientName: 'Client A1',
      loginFlow: null,
      credentials: { password: 'pw-A1', appKey: 'key-A1', appSecret: 'secret-A1', totpSecret: 'JBSWY3DPEHPK3PXP' },
    });
    expect(await call('IM1')).toEqual({ userID: 'IM1', clientName: 'Partner IM1', loginFlow: null, credentials: null });
    expect((await serviceError(call('NOPE'))).code).toBe(404);
  });
});

describe('persistence.tokens.push and persistence.users.token-status', () => {
  const push = (body: PushTokenRequest) => h.call(PersistenceApi.pushToken, body);
  const status = (userID: string) => h.call(PersistenceApi.tokenStatus, { userID });

  it('refuses an unknown user without createIfMissing', async () => {
    expect((await serviceError(push({ userID: 'NEW1', token: 'tok' }))).code).toBe(404);
    expect((await serviceError(status('NEW1'))).code).toBe(404);
  });

  it('reports a user without a token', async () => {
    await h.seed([realUser('A1')]);
    expect(await status('A1')).toEqual({
      userID: 'A1',
      clientName: 'Client A1',
      hasToken: false,
      tokenPreview: null,
      tokenValidity: null,
      lastLoginTime: null,
      loginStatus: 'pending',
      tradingStatus: 'active',
    });
  });

  it('creates an integration-managed user, stores the token, publishes it and puts it in the KV bucket', async () => {
    const published = h.nc.subscribe(Subjects.refreshed('partner-7'), { max: 1 });
    await h.nc.flush();
    const token = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.partner';
    const before = Date.now();
    const res = await push({ userID: 'partner-7', token, createIfMissing: { clientName: 'Avisekh ghosh' } });
    expect(res.created).toBe(true);
    expect(Date.parse(res.tokenValidity) - before).toBeGreaterThanOrEqual(12 * 3600_000 - 1000);
    expect(Date.parse(res.tokenValidity) - Date.now()).toBeLessThanOrEqual(12 * 3600_000);

    const row = await h.persistence.db.selectFrom('IIFLUser').selectAll().where('userID', '=', 'partner-7').executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      clientName: 'Avisekh ghosh',
      email: '',
      phoneNumber: '',
      password: 'INTEGRATION_MANAGED',
      appKey: 'INTEGRATION_MANAGED',
      appSecret: 'INTEGRATION_MANAGED',
      totpSecret: 'INTEGRATION_MANAGED',
      token,
      state: 'live',
      loginStatus: 'success',
      tradingStatus: 'active',
    });
    expect(row.tokenValidity?.toISOString()).toBe(res.tokenValidity);

    for await (const msg of published) {
      const event = TokenRefreshed.parse(decodeJson(msg.data));
      expect(event).toMatchObject({
        eventId: res.eventId,
        runId: null,
        userID: 'partner-7',
        token,
        source: 'push',
        tokenValidity: res.tokenValidity,
      });
      expect(msg.headers?.get('Nats-Msg-Id')).toBe(res.eventId);
    }
    const kv = await h.nc.jetstream().views.kv(Buckets.tokens);
    const entry = await kv.get('partner-7');
    expect(TokenRefreshed.parse(decodeJson(entry!.value)).eventId).toBe(res.eventId);

    expect(await status('partner-7')).toMatchObject({
      hasToken: true,
      tokenPreview: `${token.slice(0, 16)}...`,
      tokenValidity: res.tokenValidity,
      loginStatus: 'success',
    });
    // Pushing again for the same user updates it.
    const again = await push({
      userID: 'partner-7',
      token: 'second-token-value',
      tokenValidity: '2026-12-01T15:00:00.000Z',
      loginStatus: 'manual',
      createIfMissing: {},
    });
    expect(again.created).toBe(false);
    expect(await status('partner-7')).toMatchObject({
      tokenPreview: 'second-token-val...',
      tokenValidity: '2026-12-01T15:00:00.000Z',
      loginStatus: 'manual',
    });
    await h.eventsSettled();
    expect(TokenRefreshed.parse(decodeJson((await kv.get('partner-7'))!.value)).token).toBe('second-token-value');
  });
});

describe('bad requests', () => {
  it('answers 400 for a body that is not JSON or does not match the schema', async () => {
    const notJson = await h.raw(PersistenceApi.startRun, 'refresh everyone');
    expect(notJson).toMatchObject({ code: 400, description: 'request body is not JSON' });

    const badUser = await h.raw(PersistenceApi.getCredentials, JSON.stringify({ userID: 'a.b' }));
    expect(badUser.code).toBe(400);
    expect(badUser.description).toContain('userID');

    const extraKey = await h.raw(PersistenceApi.tokenStatus, JSON.stringify({ userID: 'A1', password: 'x' }));
    expect(extraKey.code).toBe(400);

    const badTrigger = await h.raw(PersistenceApi.startRun, JSON.stringify({ trigger: 'cron' }));
    expect(badTrigger.code).toBe(400);
    expect(badTrigger.description).toContain('trigger');

    const missing = await h.raw(PersistenceApi.pushToken, JSON.stringify({ userID: 'A1' }));
    expect(missing.code).toBe(400);
    expect(missing.description).toContain('token');
  });

  it('reports healthy while NATS and the database answer', async () => {
    const res = await fetch(`http://127.0.0.1:${h.persistence.healthPort}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', nats: true, database: true });
  });

  it('is a NATS service that answers PING', async () => {
    const reply = await h.nc.request('$SRV.PING.persistence', new Uint8Array(), { timeout: 5000 });
    expect(decodeJson(reply.data)).toMatchObject({ name: 'persistence', version: '1.0.0' });
  });
});
