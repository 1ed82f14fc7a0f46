import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PersistenceApi, Subjects, TokenInvalidated, TokenRefreshed } from '@refresher/contracts';
import { createIiflClient, parseIiflClientConfig, type Egress } from '@refresher/iifl-client';
import { generateAccounts, startSimulator, type SimAccount, type Simulator } from '@refresher/iifl-sim';
import { callService, createLogger, decodeJson, loadConfig } from '@refresher/platform';
import { startRefreshRun } from '@refresher/refresh-runs';
import { usePipeline, waitFor } from '@refresher/testkit';
import { inProcessAuthEnv, userOf } from './fixtures.ts';
import { iiflAuthConfigSchema, startIiflAuth, type IiflAuth } from '../src/index.ts';
import { createAccountEgress } from '../src/account-egress.ts';
import { createEgressPolicy } from '../src/egress.ts';
import { checkUser, type TokenCheckDeps } from '../src/token-check.ts';

// Each account is whitelisted for one loopback address only (every 127.0.0.0/8 address reaches the
// simulator on 127.0.0.1): its own setting, and the app-key map. A call from elsewhere gets a bare 403.
const [ownSetting, byAppKey] = generateAccounts(2, 'egress-watch') as [SimAccount, SimAccount];
const whitelisted = new Map([
  [ownSetting.clientId, '127.0.0.2'],
  [byAppKey.clientId, '127.0.0.3'],
]);
const pipeline = usePipeline({ users: [ownSetting, byAppKey].map(userOf) });

let sim: Simulator;
let auth: IiflAuth;
const tokens = new Map<string, TokenRefreshed>();
const invalidated = new Map<string, TokenInvalidated>();

beforeAll(async () => {
  sim = await startSimulator({
    port: 0,
    accounts: [ownSetting, byAppKey],
    knobs: { allowedSources: Object.fromEntries([...whitelisted].map(([id, address]) => [id, [address]])) },
  });
  await callService(pipeline.nc, PersistenceApi.upsertUser, { userID: ownSetting.clientId, mode: 'update', egress: '127.0.0.2' });
  const mapFile = join(mkdtempSync(join(tmpdir(), 'egress-watch-')), 'egress-map.json');
  // The map would send ownSetting elsewhere: the user's own setting wins, for the watch as for logins.
  writeFileSync(mapFile, JSON.stringify({ [byAppKey.appKey]: '127.0.0.3', [ownSetting.appKey]: '127.0.0.3' }));
  pipeline.nc.subscribe(Subjects.refreshedAll, {
    callback: (_err, msg) => {
      const token = TokenRefreshed.parse(decodeJson(msg.data));
      tokens.set(token.userID, token);
    },
  });
  pipeline.nc.subscribe(Subjects.invalidatedAll, {
    callback: (_err, msg) => {
      const event = TokenInvalidated.parse(decodeJson(msg.data));
      invalidated.set(event.userID, event);
    },
  });
  await pipeline.nc.flush();
  const config = loadConfig(
    iiflAuthConfigSchema,
    inProcessAuthEnv(pipeline.nats.url, sim.baseUrl, {
      LOG_LEVEL: 'warn',
      IIFL_EGRESS_MAP_FILE: mapFile,
      // Each stored token is checked every second; a refresh after a dead one is not waited for on stop.
      TOKEN_CHECK_INTERVAL_MS: '1000',
      AUTH_SHUTDOWN_GRACE_MS: '0',
    }),
  );
  auth = await startIiflAuth(config, { log: createLogger('iifl-auth', config.LOG_LEVEL, { write: () => undefined }) });
});

afterAll(async () => {
  await auth?.stop();
  await sim?.close();
});

const profileCalls = () => sim.stats().requests['profile'] ?? 0;

describe('the day watch leaves from the account egress', { timeout: 60_000 }, () => {
  it('checks each stored token from the address its logins use, and so finds a token IIFL ended', async () => {
    const run = await startRefreshRun(pipeline.nc, { trigger: 'cli' });
    const { completed, summary } = await run.waitForCompletion(30_000);
    run.close();
    expect(completed).toBe(true);
    expect(summary.results.map((r) => r.outcome)).toEqual(['refreshed', 'refreshed']);

    // The watch uses the live tokens (one profile call per login so far, then the checks).
    const afterLogins = profileCalls();
    await waitFor('the watch checking the live tokens', () => profileCalls() >= afterLogins + 2, 10_000);
    expect(invalidated.size).toBe(0);

    // IIFL stops accepting both sessions. The simulator still knows whose they are, so its whitelist
    // still applies: from the whitelisted address profile answers 401 EC044, from any other a bare
    // 403, no verdict. (A logged-out session is unknown to it and answers 401 from anywhere.)
    sim.setKnobs({ profileRefuses: [...whitelisted.keys()] });
    for (const [userID] of whitelisted) {
      const event = await waitFor(`the dead token of ${userID} announced`, () => invalidated.get(userID), 10_000);
      expect(event).toMatchObject({ loginTime: tokens.get(userID)!.loginTime, reason: 'SESSION_INVALID', brokerCode: 'EC044' });
    }

    // A logout leaves from the account's egress too (from elsewhere: a 403).
    const client = createIiflClient(parseIiflClientConfig({ IIFL_BASE_URL: sim.baseUrl }));
    try {
      for (const [userID, address] of whitelisted) {
        const egress: Egress = { localAddress: address };
        await client.logout(tokens.get(userID)!.token, undefined, egress);
      }
    } finally {
      await client.close();
    }

    // Every call about each client, the watch's and the logout included, came from its whitelisted address.
    const clients = sim.stats().clients;
    for (const [userID, address] of whitelisted) {
      expect(clients[userID]?.sources).toEqual({ [address]: expect.any(Number) });
      expect(clients[userID]?.failures['HTTP 403']).toBeUndefined();
    }
  });
});

describe("a user's egress for the watch", () => {
  it('comes from persistence by the login rule: the own setting, then the app-key map; an unknown user has none', async () => {
    const policy = createEgressPolicy({ map: { [byAppKey.appKey]: '127.0.0.3', [ownSetting.appKey]: '127.0.0.3' }, fallback: '127.0.0.4' });
    const egressOf = createAccountEgress({ nc: pipeline.nc, keyring: null, policy, timeoutMs: 2_000 });
    expect(await egressOf(ownSetting.clientId)).toEqual({ localAddress: '127.0.0.2' });
    expect(await egressOf(byAppKey.clientId)).toEqual({ localAddress: '127.0.0.3' });
    await expect(egressOf('NOBODY')).rejects.toThrow('login settings unavailable (404)');
  });

  it('is what the check leaves from; when it cannot be read the token is not used, and asked about next interval', async () => {
    const token = TokenRefreshed.parse({
      v: 1,
      eventId: '00000000-0000-4000-8000-000000000001',
      runId: null,
      userID: 'U1',
      token: 'token-of-U1',
      tokenValidity: '2999-01-01T00:00:00.000Z',
      loginTime: '2026-12-02T03:00:00.000Z',
      source: 'login',
      attempts: 1,
    });
    const calls: Array<Egress | undefined> = [];
    let egress: Promise<Egress | undefined> = Promise.resolve({ localAddress: '127.0.0.9' });
    const deps: TokenCheckDeps = {
      tokensKv: { get: async () => ({ operation: 'PUT', json: () => token }) as never },
      marks: {
        claim: async (_userID, loginTime, now) => {
          const mark = { v: 1, checkedAt: now.toISOString(), loginTime, invalidatedAt: null, retryAt: null } as const;
          return { mark, revision: 1 };
        },
        record: async () => null,
      },
      client: { checkToken: async (_token, _signal, via) => (calls.push(via), { clientId: 'U1' }) },
      egressOf: () => egress,
      publishInvalidated: async () => {},
      refresh: async () => null,
      refreshWaitMs: 60_000,
      detach: () => {},
      now: () => new Date(),
      log: createLogger('egress-watch-test', 'silent'),
    };
    const signal = new AbortController().signal;
    expect(await checkUser(deps, 'U1', signal)).toBe('alive');
    expect(calls).toEqual([{ localAddress: '127.0.0.9' }]);
    egress = Promise.reject(new Error('login settings unavailable (TIMEOUT)'));
    expect(await checkUser(deps, 'U1', signal)).toBe('unknown');
    expect(calls).toHaveLength(1);
  });
});
