import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import pg from 'pg';
import { INTEGRATION_MANAGED, type LoginFlow } from '@refresher/contracts';
import { startSimulator, type SimAccount, type Simulator } from '@refresher/iifl-sim';
import {
  createTestDatabase,
  freePort,
  startNats,
  startServiceProcess,
  type ServiceProcess,
  type TestDatabase,
  type TestNats,
  runEntryPoint,
} from '@refresher/testkit';

export interface SeedUser {
  clientId: string;
  clientName: string;
  password: string;
  appKey: string;
  appSecret: string;
  totpSecret: string;
  state?: string;
}

/** A user who logs in on IIFL's page through a login link: the app's key and secret only. */
export interface RedirectSeedUser {
  clientId: string;
  clientName: string;
  loginFlow: Extract<LoginFlow, 'redirect'>;
  appKey: string;
  appSecret: string;
  state?: string;
}

export function redirectUser(account: { clientId: string; appKey: string; appSecret: string }, clientName: string): RedirectSeedUser {
  return { clientId: account.clientId, clientName, loginFlow: 'redirect', appKey: account.appKey, appSecret: account.appSecret };
}

export function integrationManaged(clientId: string, clientName: string): SeedUser {
  return {
    clientId,
    clientName,
    password: INTEGRATION_MANAGED,
    appKey: INTEGRATION_MANAGED,
    appSecret: INTEGRATION_MANAGED,
    totpSecret: INTEGRATION_MANAGED,
  };
}

export interface System {
  nats: TestNats;
  db: TestDatabase;
  sim: Simulator;
  nc: NatsConnection;
  sql: pg.Client;
  gatewayUrl: string;
  /** Where the services without an HTTP API of their own answer /healthz, /readyz and /metrics. */
  healthUrls: { persistence: string; 'iifl-auth': string; scheduler: string };
  /** The gateway's callback for IIFL's login page (iifl-auth's IIFL_REDIRECT_URL). */
  callbackUrl: string;
  apiKey: string;
  /** The credentials key the services and tools of this system share (generated per system). */
  credentialsKey: string;
  /** iifl-auth's LOGIN_LINK_SECRET (generated per system). */
  loginLinkSecret: string;
  env: Record<string, string>;
  services: ServiceProcess[];
  /** Runs a TypeScript entry point to its end: exit code and output. */
  run(entry: string, args: string[], extraEnv?: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/**
 * The four services as separate processes over a real NATS and Postgres, with the simulator as IIFL.
 * `simAccounts` are what IIFL knows; `users` what the database holds (they may differ on purpose).
 */
export async function startSystem(
  simAccounts: SimAccount[],
  users: Array<SeedUser | RedirectSeedUser>,
  extraEnv: Record<string, string> = {},
): Promise<System> {
  const [nats, db] = await Promise.all([startNats(), createTestDatabase()]);
  const sim = await startSimulator({ port: 0, accounts: simAccounts });
  const apiKey = 'e2e-integration-key-0123456789abcdef';
  const credentialsKey = randomBytes(32).toString('base64');
  const [gatewayPort, persistenceHealth, authHealth, schedulerHealth] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const env: Record<string, string> = {
    NATS_URL: nats.url,
    DATABASE_URL: db.url,
    IIFL_BASE_URL: sim.baseUrl,
    IIFL_KEY_ASSOCIATION_DELAY_MS: '0',
    INTEGRATION_API_KEY: apiKey,
    CREDENTIALS_KEY: credentialsKey,
    LOG_LEVEL: 'info',
    // The browser redirect login: IIFL's page is the simulator's, and it sends browsers back to the gateway.
    IIFL_LOGIN_URL: sim.loginPageUrl,
    IIFL_REDIRECT_URL: `http://127.0.0.1:${gatewayPort}/api/integration/iifl/callback`,
    ...extraEnv,
  };
  const loginLinkSecret = randomBytes(32).toString('base64');
  const services: ServiceProcess[] = [];
  const start = async (name: string, own: Record<string, string>, healthUrl: string) => {
    services.push(
      await startServiceProcess({ name, entry: `services/${name}/src/main.ts`, env: envFor(name, { ...env, ...own }), healthUrl }),
    );
  };
  const system: System = {
    nats,
    db,
    sim,
    nc: undefined as unknown as NatsConnection,
    sql: new pg.Client({ connectionString: db.url }),
    gatewayUrl: `http://127.0.0.1:${gatewayPort}/api/integration`,
    healthUrls: {
      persistence: `http://127.0.0.1:${persistenceHealth}`,
      'iifl-auth': `http://127.0.0.1:${authHealth}`,
      scheduler: `http://127.0.0.1:${schedulerHealth}`,
    },
    callbackUrl: env.IIFL_REDIRECT_URL!,
    apiKey,
    credentialsKey,
    loginLinkSecret,
    env,
    services,
    run: (entry, args, more = {}) => runEntryPoint(entry, args, { ...env, ...more }),
    stop: async () => {
      await Promise.allSettled(services.map((s) => s.stop('SIGTERM')));
      await system.nc?.close().catch(() => {});
      await system.sql.end().catch(() => {});
      await sim.close();
      await Promise.allSettled([nats.dispose(), db.dispose()]);
    },
  };
  try {
    await start('persistence', { HEALTH_PORT: String(persistenceHealth) }, `http://127.0.0.1:${persistenceHealth}/healthz`);
    const dir = mkdtempSync(join(tmpdir(), 'e2e-users-'));
    writeFileSync(join(dir, 'users.json'), JSON.stringify(users), { mode: 0o600 });
    // As an operator would: the users tool encrypts the credentials, persistence stores ciphertext.
    const seeded = await system.run('services/cli/src/users-main.ts', ['import', join(dir, 'users.json')]);
    if (seeded.code !== 0) throw new Error(`seeding failed: ${seeded.stderr}`);
    await Promise.all([
      start('iifl-auth', { HEALTH_PORT: String(authHealth), LOGIN_LINK_SECRET: loginLinkSecret }, `http://127.0.0.1:${authHealth}/healthz`),
      start('scheduler', { HEALTH_PORT: String(schedulerHealth) }, `http://127.0.0.1:${schedulerHealth}/healthz`),
      start('gateway', { PORT: String(gatewayPort) }, `http://127.0.0.1:${gatewayPort}/healthz`),
    ]);
    system.nc = await connect({ servers: nats.url });
    await system.sql.connect();
    return system;
  } catch (err) {
    await system.stop();
    throw err;
  }
}

/** A system for the describe block, with what most of its tests read it through. */
export interface UsedSystem extends System {
  /** Every event published on `tokens.*.*` since the system started, as it arrived. */
  events: { subject: string; data: unknown }[];
  /** The gateway's integration API, called with the system's key and JSON bodies. */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** A user's row in "IIFLUser", or undefined. */
  row(userID: string): Promise<any>;
}

/**
 * `startSystem` for the describe block it is called in: started before its tests, stopped after.
 * Filled in by the hook, so use it inside tests only.
 */
export function useSystem(...args: Parameters<typeof startSystem>): UsedSystem {
  const events: UsedSystem['events'] = [];
  const system = {
    events,
    api: (path: string, init: RequestInit = {}) =>
      fetch(`${system.gatewayUrl}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${system.apiKey}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
      }),
    row: async (userID: string) => (await system.sql.query('select * from "IIFLUser" where "userID" = $1', [userID])).rows[0],
  } as UsedSystem;
  beforeAll(async () => {
    Object.assign(system, await startSystem(...args));
    system.nc.subscribe('tokens.*.*', {
      callback: (_err, msg) => events.push({ subject: msg.subject, data: JSON.parse(new TextDecoder().decode(msg.data)) }),
    });
    await system.nc.flush();
  }, 120_000);
  afterAll(() => system.stop?.());
  return system;
}

/** Only the services that read or write credentials in the clear are given the credentials key. */
function envFor(name: string, env: Record<string, string>): Record<string, string> {
  if (name === 'iifl-auth' || name === 'gateway') return env;
  const { CREDENTIALS_KEY: _key, CREDENTIALS_KEY_ID: _id, CREDENTIALS_OLD_KEYS: _old, ...rest } = env;
  return rest;
}
