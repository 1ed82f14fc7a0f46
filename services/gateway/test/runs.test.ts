import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PersistenceApi } from '@refresher/contracts';
import { callService } from '@refresher/platform';
import { realUser, usePipeline } from '@refresher/testkit';
import { API_KEY, startTestGateway, type TestGateway } from './helpers.ts';

// The run list, the latest run and lifting a rejection mark, against the real persistence service
// in its own process (real NATS, fresh Postgres). No login happens: runs are registered and stay pending.

const pipeline = usePipeline({ users: [realUser('R1'), realUser('R2')] });
const ADMIN_KEY = 'runs-test-admin-key-0123456789abcdef';
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway(pipeline.nats.url, {
    API_KEYS: `admin:manage-users:${sha256(ADMIN_KEY)}`,
    CREDENTIALS_KEY: randomBytes(32).toString('base64'),
  });
});

afterAll(async () => {
  await gw?.gateway.stop();
});

const startRun = (userID?: string) => callService(pipeline.nc, PersistenceApi.startRun, { trigger: 'api', ...(userID ? { userID } : {}) });

describe('GET /api/integration/tokens/runs and /tokens/runs/latest', () => {
  it('answers 404 in the usual shape while there is no run', async () => {
    const res = await gw.call('GET', '/api/integration/tokens/runs/latest');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ success: false, error: 'No run yet' });
    const list = await gw.call('GET', '/api/integration/tokens/runs');
    expect(list.body).toEqual({ success: true, runs: [], next: null });
  });

  it('lists every run once, newest first, across pages of `limit`, and `latest` is the newest with its results', async () => {
    const started: string[] = [];
    for (let i = 0; i < 6; i += 1) started.push((await startRun(i % 3 === 0 ? 'R1' : undefined)).runId);

    const pages: { runId: string; requestedAt: string; userID: string | null; results?: unknown }[][] = [];
    let path = '/api/integration/tokens/runs?limit=4';
    for (;;) {
      const res = await gw.call('GET', path);
      expect(res.status).toBe(200);
      pages.push(res.body.runs);
      if (res.body.next === null) break;
      path = `/api/integration/tokens/runs?limit=4&before=${res.body.next}`;
    }
    expect(pages.map((p) => p.length)).toEqual([4, 2]);
    const runs = pages.flat();
    expect(runs.map((r) => r.runId).sort()).toEqual([...started].sort());
    const times = runs.map((r) => Date.parse(r.requestedAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(runs.find((r) => r.runId === started[0])).toMatchObject({ userID: 'R1', total: 1, pending: 1, retryOf: null });
    expect(runs[0]).not.toHaveProperty('results');

    const latest = await gw.call('GET', '/api/integration/tokens/runs/latest');
    expect(latest.status).toBe(200);
    const byId = await gw.call('GET', `/api/integration/tokens/runs/${runs[0]!.runId}`);
    expect(latest.body).toEqual(byId.body);
    expect(latest.body.results.length).toBeGreaterThan(0);
  });

  it('refuses a bad page size, a cursor it did not give and other parameters with 400', async () => {
    const cases: [string, RegExp][] = [
      ['limit=0', /limit must be from 1 to 100/],
      ['limit=101', /limit must be from 1 to 100/],
      ['limit=ten', /limit must be a whole number/],
      ['limit=2&limit=3', /limit must be given once/],
      ['offset=20', /query takes limit and before only/],
      ['before=bm90LWEtY3Vyc29y', /Invalid before: use the next of an earlier page/],
      ['before=a.b', /before must be the next cursor/],
    ];
    for (const [query, message] of cases) {
      const res = await gw.call('GET', `/api/integration/tokens/runs?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.success).toBe(false);
      expect(res.body.error, query).toMatch(message);
    }
  });
});

describe('DELETE /api/integration/users/:userID/rejection', () => {
  const markRejected = (userID: string) =>
    pipeline.sql.rows(
      `insert into user_refresh_state (user_id, credentials_rejected_at, rejected_code, rejected_credentials_hash)
       values ($1, now(), 'ACCOUNT_BLOCKED', 'x') on conflict (user_id) do update set credentials_rejected_at = now()`,
      [userID],
    );
  const marked = async (userID: string) =>
    (
      await pipeline.sql.row<{ at: Date | null }>('select credentials_rejected_at as at from user_refresh_state where user_id = $1', [
        userID,
      ])
    )?.at ?? null;

  it('lifts the mark with scope manage-users, says whether there was one, and 404s an unknown user', async () => {
    await markRejected('R2');
    await markRejected('R1');
    const asAdmin = { auth: `Bearer ${ADMIN_KEY}` };

    const lifted = await gw.call('DELETE', '/api/integration/users/R2/rejection', asAdmin);
    expect(lifted.status).toBe(200);
    expect(lifted.body).toEqual({ success: true, userID: 'R2', cleared: true });
    expect(await marked('R2')).toBeNull();
    expect(await marked('R1')).not.toBeNull();

    const again = await gw.call('DELETE', '/api/integration/users/R2/rejection', asAdmin);
    expect(again.body).toEqual({ success: true, userID: 'R2', cleared: false });

    const unknown = await gw.call('DELETE', '/api/integration/users/NOBODY/rejection', asAdmin);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ success: false, error: 'User not found' });

    // The integration key (refresh, read, push-tokens) may not.
    const forbidden = await gw.call('DELETE', '/api/integration/users/R1/rejection', { auth: `Bearer ${API_KEY}` });
    expect(forbidden.status).toBe(403);
    expect(await marked('R1')).not.toBeNull();
  });
});
