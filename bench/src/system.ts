import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { encryptField, keyringFromEnv, type Keyring } from '@refresher/credential-crypto';
import type { SimAccount } from '@refresher/iifl-sim';
import { createTestDatabase, freePort, waitFor, type TestDatabase } from '@refresher/testkit';
import { iiflClientEnv } from './iifl-settings.ts';
import { startBenchNats, type BenchNats, type WatchedProcess } from './nats-server.ts';
import type { BenchOptions } from './options.ts';
import { spawnService, waitForLine, waitUntilHealthy, type BenchProcess } from './processes.ts';

export const API_KEY = 'bench-integration-key-0123456789abcdef';
/**
 * The per-key refresh limit (burst 10, 30 a minute) would turn all but the first ten idle probes
 * into 429s: the bench measures latency, not the limiter.
 */
const BENCH_GATEWAY_LIMITS = { REFRESH_BURST: '100000', REFRESH_RATE_PER_MINUTE: '100000' };

/** Everything one bench run starts, and how to reach it. */
export interface BenchSystem {
  /** NATS_URL as the services have it (every server of a cluster, comma-separated). */
  natsUrl: string;
  db: TestDatabase;
  sql: pg.Client;
  simUrl: string;
  /** The simulator's process id (its CPU during the ceiling). */
  simPid: number;
  gatewayUrl: string;
  /** Processes whose CPU and memory are reported (NATS's servers only when this run started them). */
  processes: WatchedProcess[];
  /** Each nats-server's monitoring endpoint (`/varz`, `/routez` message counters), when this run started them. */
  natsMonitorUrls: string[];
  /** The streams' replicas (STREAM_REPLICAS): 1, or the NATS cluster's size. */
  streamReplicas: number;
  /** Each iifl-auth replica's health endpoint (it reports the key pairs it made). */
  authHealthUrls: string[];
  stop(): Promise<void>;
}

/** The roles a seeded user has in a run. */
export const UserState = { live: 'live', baseline: 'bench-baseline', probe: 'bench-probe' } as const;

/**
 * Inserts users with one statement per 1,000 (the bench may write its own database directly), their
 * credentials encrypted as the users tool stores them, so iifl-auth opens them as in production.
 */
async function seedUsers(sql: pg.Client, keyring: Keyring, users: ReadonlyArray<{ account: SimAccount; state: string }>): Promise<void> {
  for (let i = 0; i < users.length; i += 1_000) {
    const chunk = users.slice(i, i + 1_000);
    const column = (pick: (u: { account: SimAccount; state: string }) => string) => chunk.map(pick);
    const sealed = (name: 'password' | 'appKey' | 'appSecret' | 'totpSecret') =>
      column((u) => encryptField(keyring, u.account[name], { table: 'IIFLUser', column: name, row: u.account.clientId }));
    await sql.query(
      `insert into "IIFLUser" ("userID", "clientName", email, "phoneNumber", password, "appKey", "appSecret", "totpSecret", state, "updatedAt")
       select u, 'Bench ' || u, '', '', p, k, s, t, st, now()
       from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) as x(u, p, k, s, t, st)`,
      [
        column((u) => u.account.clientId),
        sealed('password'),
        sealed('appKey'),
        sealed('appSecret'),
        sealed('totpSecret'),
        column((u) => u.state),
      ],
    );
  }
}

/** What a run started so far, and how to stop it all: the processes last started first, then the cleanups in reverse (NATS among them). */
interface Teardown {
  started: BenchProcess[];
  cleanups: Array<() => Promise<unknown>>;
  stop(): Promise<void>;
}

function createTeardown(): Teardown {
  const started: BenchProcess[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const proc of [...started].reverse()) await proc.stop().catch(() => {});
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  return { started, cleanups, stop };
}

/** Node flags for a process: with `--cpu-prof`, one directory per process (its loader thread writes a profile of its own). */
function profileArgs(cpuProfDir: string | null): (name: string) => string[] {
  return (name) => (cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', join(cpuProfDir, name)] : []);
}

/** The simulator's command line: the seeded accounts and the latencies the options ask for. */
function simulatorArgs(options: BenchOptions, sim: { seed: string; count: number }): string[] {
  return [
    '--port',
    '0',
    '--generate',
    String(sim.count),
    '--seed',
    sim.seed,
    '--latency-ms',
    String(options.latencyMs),
    '--jitter-ms',
    String(options.jitterMs),
    '--key-association-ms',
    String(options.keyAssociationMs),
  ];
}

/** The environment every service shares. */
function servicesEnv(options: BenchOptions, nats: BenchNats, databaseUrl: string, iiflBaseUrl: string): Record<string, string> {
  return {
    NATS_URL: nats.url,
    STREAM_REPLICAS: String(nats.streamReplicas),
    DATABASE_URL: databaseUrl,
    // Client settings only where a flag asks for them: by default the services' own defaults run.
    ...iiflClientEnv(options, iiflBaseUrl),
    INTEGRATION_API_KEY: API_KEY,
    LOG_LEVEL: options.logLevel,
    // Never fires during a bench.
    REFRESH_SCHEDULE: '0 0 1 1 *',
    // The day watch would check every stored token with IIFL's profile: load that is not the run's.
    TOKEN_CHECK_INTERVAL_MS: '0',
    ...(options.authConcurrency === null ? {} : { AUTH_CONCURRENCY: String(options.authConcurrency) }),
  };
}

/** The ports a run's services listen on: the gateway's, and each other service's health port. */
interface ServicePorts {
  gateway: number;
  persistenceHealth: number;
  schedulerHealth: number;
  authHealth: number[];
}

async function allocateServicePorts(authReplicas: number): Promise<ServicePorts> {
  const [gateway, persistenceHealth, schedulerHealth, ...authHealth] = await Promise.all(
    Array.from({ length: 3 + authReplicas }, () => freePort()),
  );
  return { gateway: gateway!, persistenceHealth: persistenceHealth!, schedulerHealth: schedulerHealth!, authHealth };
}

const healthzUrl = (port: number) => `http://127.0.0.1:${port}/healthz`;

/** Starts one service as a process and waits until its health endpoint answers. */
type LaunchService = (name: string, dir: string, own: Record<string, string>, healthUrl: string) => Promise<void>;

function serviceLauncher(
  env: Record<string, string>,
  credentialsKey: string,
  profArgs: (name: string) => string[],
  started: BenchProcess[],
): LaunchService {
  return async (name, dir, own, healthUrl) => {
    // Only the services that handle credentials in the clear get the key, as in production.
    const key = dir === 'iifl-auth' || dir === 'gateway' ? { CREDENTIALS_KEY: credentialsKey } : {};
    const proc = spawnService(name, `services/${dir}/src/main.ts`, { ...env, ...key, ...own }, profArgs(name));
    started.push(proc);
    await waitUntilHealthy(proc, healthUrl);
  };
}

/** The iifl-auth replicas, the scheduler and the gateway, side by side (persistence is up and the users seeded). */
async function startServicesAfterSeeding(launch: LaunchService, authReplicas: number, ports: ServicePorts): Promise<void> {
  await Promise.all([
    ...ports.authHealth.map((port, i) =>
      launch(authReplicas > 1 ? `iifl-auth-${i + 1}` : 'iifl-auth', 'iifl-auth', { HEALTH_PORT: String(port) }, healthzUrl(port)),
    ),
    launch('scheduler', 'scheduler', { HEALTH_PORT: String(ports.schedulerHealth) }, healthzUrl(ports.schedulerHealth)),
    launch('gateway', 'gateway', { PORT: String(ports.gateway), HOST: '127.0.0.1', ...BENCH_GATEWAY_LIMITS }, healthzUrl(ports.gateway)),
  ]);
}

/**
 * NATS, a fresh database, the simulator and the four services as processes, with the users seeded
 * once persistence is up. Whatever started is stopped again when a step fails.
 */
export async function startBenchSystem(
  options: BenchOptions,
  sim: { seed: string; count: number },
  users: ReadonlyArray<{ account: SimAccount; state: string }>,
  log: (line: string) => void,
): Promise<BenchSystem> {
  const teardown = createTeardown();
  try {
    const [nats, db] = await Promise.all([startBenchNats(options.natsCluster), createTestDatabase()]);
    teardown.cleanups.push(
      () => db.dispose(),
      () => nats.dispose(),
    );
    log(`nats ${nats.url} (stream replicas ${nats.streamReplicas}), database ${new URL(db.url).pathname.slice(1)}`);

    const profArgs = profileArgs(options.cpuProfDir);
    const simProc = spawnService('iifl-sim', 'libs/iifl-sim/src/main.ts', {}, profArgs('iifl-sim'), simulatorArgs(options, sim));
    teardown.started.push(simProc);
    const baseUrl = (await waitForLine(simProc, /IIFL_BASE_URL=(\S+)/))[1]!;

    const ports = await allocateServicePorts(options.authReplicas);
    const credentialsKey = randomBytes(32).toString('base64');
    const keyring = keyringFromEnv({ CREDENTIALS_KEY: credentialsKey });
    const launch = serviceLauncher(servicesEnv(options, nats, db.url, baseUrl), credentialsKey, profArgs, teardown.started);

    await launch('persistence', 'persistence', { HEALTH_PORT: String(ports.persistenceHealth) }, healthzUrl(ports.persistenceHealth));
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    teardown.cleanups.splice(1, 0, () => sql.end());
    await seedUsers(sql, keyring, users);
    await startServicesAfterSeeding(launch, options.authReplicas, ports);
    await waitFor('the services to settle', () => true);
    return {
      natsUrl: nats.url,
      db,
      sql,
      simUrl: baseUrl.replace(/\/v1$/, ''),
      simPid: simProc.pid,
      gatewayUrl: `http://127.0.0.1:${ports.gateway}/api/integration`,
      processes: [...nats.watched, ...teardown.started],
      authHealthUrls: ports.authHealth.map(healthzUrl),
      natsMonitorUrls: nats.monitorUrls,
      streamReplicas: nats.streamReplicas,
      stop: teardown.stop,
    };
  } catch (err) {
    await teardown.stop();
    throw err;
  }
}
