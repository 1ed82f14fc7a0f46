import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PersistenceApi, RefreshRequested, Subjects, TokenFailed, type RunSummary } from '@refresher/contracts';
import { generateAccounts, startSimulator, type SimAccount, type Simulator } from '@refresher/iifl-sim';
import { callService, createLogger, decodeJson, encodeJson, loadConfig } from '@refresher/platform';
import { usePipeline, waitFor } from '@refresher/testkit';
import { iiflAuthConfigSchema, startIiflAuth, type IiflAuth } from '../src/index.ts';

// Two egress addresses on loopback: every 127.0.0.0/8 address reaches the simulator on 127.0.0.1.
const [ownSetting, byAppKey, byDefault, wrong] = generateAccounts(4, 'egress') as [SimAccount, SimAccount, SimAccount, SimAccount];
const userOf = (a: SimAccount) => ({
  userID: a.clientId,
  password: a.password,
  appKey: a.appKey,
  appSecret: a.appSecret,
  totpSecret: a.totpSecret,
});
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
  const config = loadConfig(iiflAuthConfigSchema, {
    NATS_URL: pipeline.nats.url,
    LOG_LEVEL: 'warn',
    HEALTH_PORT: '0',
    IIFL_BASE_URL: sim.baseUrl,
    IIFL_KEY_ASSOCIATION_DELAY_MS: '0',
    AUTH_RETRY_BASE_MS: '50',
    AUTH_RETRY_MAX_DELAY_MS: '200',
    CREDENTIALS_KEY: randomBytes(32).toString('base64'),
    IIFL_EGRESS_MAP_FILE: mapFile,
    IIFL_EGRESS_DEFAULT: '127.0.0.2',
  });
  auth = await startIiflAuth(config, { log: createLogger('iifl-auth', config.LOG_LEVEL, { write: () => undefined }) });
});

afterAll(async () => {
  await auth?.stop();
  await sim?.close();
});

async function runAll(): Promise<{ runId: string; summary: RunSummary }> {
  const start = await callService(pipeline.nc, PersistenceApi.startRun, { trigger: 'cli' });
  const js = pipeline.nc.jetstream();
  for (const { userID } of start.requested) {
    const event = RefreshRequested.parse({
      v: 1,
      eventId: randomUUID(),
      runId: start.runId,
      userID,
      trigger: 'cli',
      requestedAt: new Date().toISOString(),
    });
    await js.publish(Subjects.refreshRequested(userID), encodeJson(event), { msgID: `${start.runId}:${userID}` });
  }
  const summary = await waitFor(
    'the run to complete',
    async () => {
      const s: RunSummary = await callService(pipeline.nc, PersistenceApi.getRun, { runId: start.runId });
      return s.pending === 0 ? s : undefined;
    },
    30_000,
  );
  return { runId: start.runId, summary };
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
