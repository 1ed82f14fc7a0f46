import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Subjects, TokenFailed, TokenSkipped } from '@refresher/contracts';
import { generateAccounts, startSimulator, type SimAccount, type Simulator } from '@refresher/iifl-sim';
import { createLogger, decodeJson, loadConfig } from '@refresher/platform';
import { startRefreshRun } from '@refresher/refresh-runs';
import { usePipeline, waitFor } from '@refresher/testkit';
import { inProcessAuthEnv, userOf } from './fixtures.ts';
import { publishRequest } from './publish-request.ts';
import { iiflAuthConfigSchema, startIiflAuth, type IiflAuth } from '../src/index.ts';

// Rows that must never reach IIFL: the marker in the password with real values elsewhere (the
// password alone decides: integration-managed), and a row missing a credential (fails at once).
const [good, mixed, incomplete] = generateAccounts(3, 'stored-rows') as [SimAccount, SimAccount, SimAccount];
const pipeline = usePipeline({ users: [userOf(good), { ...userOf(mixed), password: 'INTEGRATION_MANAGED' }, userOf(incomplete)] });

let sim: Simulator;
let auth: IiflAuth;
const lines: string[] = [];
const received: Array<{ subject: string; payload: unknown }> = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0, accounts: [good, mixed, incomplete] });
  // seed-users refuses an empty column; the legacy table holds such rows all the same.
  await pipeline.sql.rows(`update "IIFLUser" set "totpSecret" = '' where "userID" = $1`, [incomplete.clientId]);
  for (const subject of [Subjects.refreshedAll, Subjects.failedAll, Subjects.skippedAll]) {
    pipeline.nc.subscribe(subject, { callback: (_err, msg) => received.push({ subject: msg.subject, payload: decodeJson(msg.data) }) });
  }
  await pipeline.nc.flush();
  const config = loadConfig(
    iiflAuthConfigSchema,
    // Were a 409 handed back, it would come again within the test's wait.
    inProcessAuthEnv(pipeline.nats.url, sim.baseUrl, { LOG_LEVEL: 'info', AUTH_NAK_DELAY_MS: '100' }),
  );
  auth = await startIiflAuth(config, { log: createLogger('iifl-auth', config.LOG_LEVEL, { write: (l: string) => void lines.push(l) }) });
});

afterAll(async () => {
  await auth?.stop();
  await sim?.close();
});

const eventFor = (subject: string, runId: string) =>
  waitFor(
    `an event on ${subject}`,
    () => received.find((r) => r.subject === subject && (r.payload as { runId: string }).runId === runId)?.payload,
    20_000,
  );
const logLinesOf = (runId: string) => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.runId === runId);

describe('stored rows that are not sent to IIFL', { timeout: 40_000 }, () => {
  it('a run skips a row whose password is INTEGRATION_MANAGED and fails an incomplete row at once', async () => {
    const run = await startRefreshRun(pipeline.nc, { trigger: 'cli' });
    const { start } = run;
    expect(start.skipped).toEqual([{ userID: mixed.clientId, clientName: mixed.clientId, reason: 'INTEGRATION_MANAGED' }]);
    expect(start.requested.map((u) => u.userID).sort()).toEqual([good.clientId, incomplete.clientId].sort());
    const { completed, summary } = await run.waitForCompletion(20_000);
    run.close();
    expect(completed).toBe(true);
    const result = (userID: string) => summary.results.find((r) => r.userID === userID);
    expect(result(good.clientId)).toMatchObject({ outcome: 'refreshed' });
    expect(result(mixed.clientId)).toMatchObject({ outcome: 'skipped', code: 'INTEGRATION_MANAGED' });
    expect(result(incomplete.clientId)).toMatchObject({ outcome: 'failed', code: 'CREDENTIALS_INCOMPLETE' });

    // One delivery, no login attempt, not retryable; the message names the column, never a value.
    const failed = TokenFailed.parse(await eventFor(Subjects.failed(incomplete.clientId), start.runId));
    expect(failed).toMatchObject({ code: 'CREDENTIALS_INCOMPLETE', retryable: false, attempts: 0 });
    expect(failed.message).toMatch(/missing totpSecret/);
    for (const value of [incomplete.password, incomplete.appKey, incomplete.appSecret]) expect(failed.message).not.toContain(value);
    const handled = logLinesOf(start.runId).filter((l) => l.userID === incomplete.clientId && l.outcome !== undefined);
    expect(handled.map((l) => ({ outcome: l.outcome, deliveries: l.deliveries, code: l.code }))).toContainEqual({
      outcome: 'failed',
      deliveries: 1,
      code: 'CREDENTIALS_INCOMPLETE',
    });
    expect(handled.filter((l) => l.outcome === 'handed-back')).toEqual([]);
    // IIFL never saw it: no rejection mark, so the next run tries the row again.
    const mark = await pipeline.sql.row<{ rejected_credentials_hash: string | null }>(
      'select rejected_credentials_hash from user_refresh_state where user_id = $1',
      [incomplete.clientId],
    );
    expect(mark?.rejected_credentials_hash ?? null).toBeNull();

    const stats = sim.stats();
    expect(stats.clients[mixed.clientId]).toBeUndefined();
    expect(stats.clients[incomplete.clientId]).toBeUndefined();
    expect(stats.clients[good.clientId]?.sessionsIssued).toBe(1);
  });

  it('a request that reaches iifl-auth for such a row is skipped without a call to IIFL', async () => {
    const before = sim.stats();
    const req = await publishRequest(pipeline.nc, mixed.clientId);
    const event = TokenSkipped.parse(await eventFor(Subjects.skipped(mixed.clientId), req.runId));
    expect(event.reason).toBe('INTEGRATION_MANAGED');
    const after = sim.stats();
    expect(after.clients[mixed.clientId]).toBeUndefined();
    expect({ keyExchanges: after.keyExchanges, loginsStarted: after.loginsStarted }).toEqual({
      keyExchanges: before.keyExchanges,
      loginsStarted: before.loginsStarted,
    });
  });
});
