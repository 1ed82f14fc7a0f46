import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { encryptField, keyringFromEnv, type Keyring } from '@refresher/credential-crypto';
import type { SimAccount } from '@refresher/iifl-sim';
import { createTestDatabase, freePort, startNats, waitFor, type TestDatabase } from '@refresher/testkit';
import type { BenchOptions } from './options.ts';
import { spawnProcess, spawnService, waitForLine, waitUntilHealthy, type BenchProcess } from './processes.ts';

export const API_KEY = 'bench-integration-key-0123456789abcdef';
/**
 * The per-key refresh limit (burst 10, 30 a minute) would turn all but the first ten idle probes
 * into 429s: the bench measures latency, not the limiter.
 */
const BENCH_GATEWAY_LIMITS = { REFRESH_BURST: '100000', REFRESH_RATE_PER_MINUTE: '100000' };

/** Everything one bench run starts, and how to reach it. */
export interface BenchSystem {
  natsUrl: string;
  db: TestDatabase;
  sql: pg.Client;
  simUrl: string;
  gatewayUrl: string;
  /** Processes whose CPU and memory are reported (NATS only when this run started it). */
  processes: BenchProcess[];
  /** nats-server's monitoring endpoint (`/varz` message counters), when this run started it. */
  natsMonitorUrl: string | null;
  /** Each iifl-auth replica's health endpoint (it reports the key pairs it made). */
  authHealthUrls: string[];
  stop(): Promise<void>;
}

/** The roles a seeded user has in a run. */
export const UserState = { live: 'live', baseline: 'bench-baseline', probe: 'bench-probe' } as const;

function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

async function startOwnNats(): Promise<{ url: string; monitorUrl: string | null; proc: BenchProcess | null; dispose(): Promise<void> }> {
  if (!hasBinary('nats-server')) {
    const nats = await startNats();
    return { url: nats.url, monitorUrl: null, proc: null, dispose: () => nats.dispose() };
  }
  const [port, monitorPort] = await Promise.all([freePort(), freePort()]);
  const store = mkdtempSync(join(tmpdir(), 'bench-nats-'));
  const proc = spawnProcess(
    'nats-server',
    'nats-server',
    ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), '-js', '-sd', store],
    {},
  );
  await waitForLine(proc, /Server is ready/, 20_000);
  return {
    url: `nats://127.0.0.1:${port}`,
    monitorUrl: `http://127.0.0.1:${monitorPort}`,
    proc,
    dispose: async () => {
      await proc.stop();
      rmSync(store, { recursive: true, force: true });
    },
  };
}

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

export async function startBenchSystem(
  options: BenchOptions,
  sim: { seed: string; count: number },
  users: ReadonlyArray<{ account: SimAccount; state: string }>,
  log: (line: string) => void,
): Promise<BenchSystem> {
  const started: BenchProcess[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const proc of [...started].reverse()) if (proc.name !== 'nats-server') await proc.stop().catch(() => {});
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    const [nats, db] = await Promise.all([startOwnNats(), createTestDatabase()]);
    cleanups.push(
      () => db.dispose(),
      () => nats.dispose(),
    );
    if (nats.proc) started.push(nats.proc);
    log(`nats ${nats.url}, database ${new URL(db.url).pathname.slice(1)}`);

    // One directory per process: its loader thread writes a profile of its own.
    const profArgs = (name: string) => (options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', join(options.cpuProfDir, name)] : []);
    const simProc = spawnService('iifl-sim', 'libs/iifl-sim/src/main.ts', {}, profArgs('iifl-sim'), [
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
    ]);
    started.push(simProc);
    const baseUrl = (await waitForLine(simProc, /IIFL_BASE_URL=(\S+)/))[1]!;
    const simUrl = baseUrl.replace(/\/v1$/, '');

    const [gatewayPort, persistenceHealth, schedulerHealth, ...authHealth] = await Promise.all(
      Array.from({ length: 3 + options.authReplicas }, () => freePort()),
    );
    const env: Record<string, string> = {
      NATS_URL: nats.url,
      DATABASE_URL: db.url,
      IIFL_BASE_URL: baseUrl,
      // Client settings only where a flag asks for them: by default the services' own defaults run.
      ...(options.keyAssociationMs > 0 ? { IIFL_KEY_ASSOCIATION_DELAY_MS: String(options.keyAssociationMs) } : {}),
      ...(options.keyPairPolicy === null ? {} : { IIFL_KEYPAIR_POLICY: options.keyPairPolicy }),
      INTEGRATION_API_KEY: API_KEY,
      LOG_LEVEL: options.logLevel,
      // Never fires during a bench.
      REFRESH_SCHEDULE: '0 0 1 1 *',
      ...(options.authConcurrency === null ? {} : { AUTH_CONCURRENCY: String(options.authConcurrency) }),
    };
    const credentialsKey = randomBytes(32).toString('base64');
    const keyring = keyringFromEnv({ CREDENTIALS_KEY: credentialsKey });
    const service = async (name: string, dir: string, own: Record<string, string>, healthUrl: string) => {
      // Only the services that handle credentials in the clear get the key, as in production.
      const key = dir === 'iifl-auth' || dir === 'gateway' ? { CREDENTIALS_KEY: credentialsKey } : {};
      const proc = spawnService(name, `services/${dir}/src/main.ts`, { ...env, ...key, ...own }, profArgs(name));
      started.push(proc);
      await waitUntilHealthy(proc, healthUrl);
    };

    await service(
      'persistence',
      'persistence',
      { HEALTH_PORT: String(persistenceHealth) },
      `http://127.0.0.1:${persistenceHealth}/healthz`,
    );
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    cleanups.splice(1, 0, () => sql.end());
    await seedUsers(sql, keyring, users);
    await Promise.all([
      ...authHealth.map((port, i) =>
        service(
          options.authReplicas > 1 ? `iifl-auth-${i + 1}` : 'iifl-auth',
          'iifl-auth',
          { HEALTH_PORT: String(port) },
          `http://127.0.0.1:${port}/healthz`,
        ),
      ),
      service('scheduler', 'scheduler', { HEALTH_PORT: String(schedulerHealth) }, `http://127.0.0.1:${schedulerHealth}/healthz`),
      service(
        'gateway',
        'gateway',
        { PORT: String(gatewayPort), HOST: '127.0.0.1', ...BENCH_GATEWAY_LIMITS },
        `http://127.0.0.1:${gatewayPort}/healthz`,
      ),
    ]);
    await waitFor('the services to settle', () => true);
    return {
      natsUrl: nats.url,
      db,
      sql,
      simUrl,
      gatewayUrl: `http://127.0.0.1:${gatewayPort}/api/integration`,
      processes: started,
      authHealthUrls: authHealth.map((port) => `http://127.0.0.1:${port}/healthz`),
      natsMonitorUrl: nats.monitorUrl,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
