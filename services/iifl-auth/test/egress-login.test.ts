import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PersistenceApi, Subjects, TokenFailed, type RunSummary } from '@refresher/contracts';
import { generateAccounts, startSimulator, type SimAccount, type Simulator } from '@refresher/iifl-sim';
import { callService, createLogger, decodeJson, loadConfig } from '@refresher/platform';
import { startRefreshRun } from '@refresher/refresh-runs';
import { usePipeline } from '@refresher/testkit';
import { inProcessAuthEnv, userOf } from './fixtures.ts';
import { iiflAuthConfigSchema, startIiflAuth, type IiflAuth } from '../src/index.ts';

// Two egress addresses on loopback: every 127.0.0.0/8 address reaches the simulator on 127.0.0.1.
const [ownSetting, byAppKey, byDefault, wrong] = generateAccounts(4, 'egress') as [SimAccount, SimAccount, SimAccount, SimAccount];
const pipeline = usePipeline({ users: [ownSetting, byAppKey, byDefault, wrong].map(userOf) });

let sim: Simulator;
let auth: IiflAuth;
const failures: TokenFailed[] = [];

beforeAll(async () => {
  sim = await startSimulator({
    port: 0,
    accounts: [ownSetting, byAppKey, byDefault, wrong],
    knobs: {
      allowedSources: {
        [ownSetting.clientId]: ['127.0.0.2'],
        [byAppKey.clientId]: ['127.0.0.3'],
        [byDefault.clientId]: ['127.0.0.2'],
        [wrong.clientId]: ['127.0.0.2'],
      },
    },
  });
  // The user settings go through persistence's users API, as `pnpm users --egress` sends them.
  for (const [account, egress] of [
    [ownSetting, '127.0.0.2'],
    [wrong, '127.0.0.3'],
  ] as const) {
    await callService(pipeline.nc, PersistenceApi.upsertUser, { userID: account.clientId, mode: 'update', egress });
  }
  const dir = mkdtempSync(join(tmpdir(), 'egress-login-'));
  const mapFile = join(dir, 'egress-map.json');
  // The map would send ownSetting elsewhere: the user's own setting wins.
  writeFileSync(mapFile, JSON.stringify({ [byAppKey.appKey]: '127.0.0.3', [ownSetting.appKey]: '127.0.0.3' }));
  pipeline.nc.subscribe(Subjects.failedAll, { callback: (_err, msg) => failures.push(TokenFailed.parse(decodeJson(msg.data))) });
  await pipeline.nc.flush();
  const config = loadConfig(
    iiflAuthConfigSchema,
    inProcessAuthEnv(pipeline.nats.url, sim.baseUrl, {
      LOG_LEVEL: 'warn',
      IIFL_EGRESS_MAP_FILE: mapFile,
      IIFL_EGRESS_DEFAULT: '127.0.0.2',
    }),
  );
  auth = await startIiflAuth(config, { log: createLogger('iifl-auth', config.LOG_LEVEL, { write: () => undefined }) });
});

afterAll(async () => {
  await auth?.stop();
  await sim?.close();
});

/** A run of every user, followed to its end. */
async function runAll(): Promise<{ runId: string; summary: RunSummary }> {
  const run = await startRefreshRun(pipeline.nc, { trigger: 'cli' });
  const { completed, summary } = await run.waitForCompletion(30_000);
  run.close();
  expect(completed).toBe(true);
  return { runId: run.start.runId, summary };
}

describe('egress per account', { timeout: 60_000 }, () => {
  it("each account's logins leave from its own address; a wrong address is refused once, never retried", async () => {
    const { runId, summary } = await runAll();
    const result = (a: SimAccount) => summary.results.find((r) => r.userID === a.clientId);
    for (const account of [ownSetting, byAppKey, byDefault]) expect(result(account)).toMatchObject({ outcome: 'refreshed' });
    expect(result(wrong)).toMatchObject({ outcome: 'failed', code: 'IP_NOT_AUTHORISED' });

    const clients = sim.stats().clients;
    // Every call that named the client came from its address: user setting, app-key map, default.
    expect(clients[ownSetting.clientId]?.sources).toEqual({ '127.0.0.2': expect.any(Number) });
    expect(clients[byAppKey.clientId]?.sources).toEqual({ '127.0.0.3': expect.any(Number) });
    expect(clients[byDefault.clientId]?.sources).toEqual({ '127.0.0.2': expect.any(Number) });
    // The wrong address: one call at the password step, a bare 403, no TOTP, no session.
    expect(clients[wrong.clientId]).toMatchObject({
      sources: { '127.0.0.3': 1 },
      passwordAttempts: 1,
      totpAttempts: 0,
      sessionsIssued: 0,
      failures: { 'HTTP 403': 1 },
    });
    const failed = failures.find((f) => f.userID === wrong.clientId && f.runId === runId);
    expect(failed).toMatchObject({ code: 'IP_NOT_AUTHORISED', retryable: false, attempts: 1 });

    // A credential rejection mark: the next all-users run does not ask for the account again.
    const next = await callService(pipeline.nc, PersistenceApi.startRun, { trigger: 'cli' });
    expect(next.skipped).toContainEqual(expect.objectContaining({ userID: wrong.clientId, reason: 'CREDENTIALS_REJECTED' }));
    expect(next.requested.map((u) => u.userID)).not.toContain(wrong.clientId);
    expect(sim.stats().clients[wrong.clientId]?.passwordAttempts).toBe(1);
  });
});
