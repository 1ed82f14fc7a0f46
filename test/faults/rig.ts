import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import pg from 'pg';
import { Streams } from '@refresher/contracts';
import { startRefreshRun } from '@refresher/refresh-runs';
import { decodeJson } from '@refresher/platform';
import { generateAccounts, startSimulator, type SimAccount, type SimStats, type Simulator } from '@refresher/iifl-sim';
import {
  createTestDatabase,
  freePort,
  startNats,
  startNatsCluster,
  startPostgresCluster,
  startServiceProcess,
  waitFor,
  type ServiceProcess,
  type TestNats,
  type TestNatsCluster,
  type TestPostgresCluster,
  runEntryPoint,
} from '@refresher/testkit';

/**
 * The services as separate processes (as deployed) over a real NATS and Postgres, with the
 * simulator as IIFL, for tests that inject faults into them while a run is in flight.
 */
export interface Rig {
  /** The rig's own nats-server, which the test may stop and start (with `natsCluster`: the cluster's URLs only). */
  nats: TestNats;
  /** With `natsCluster`: the three servers, each of which the test may stop and start. */
  cluster: TestNatsCluster | null;
  /** With `database: 'private-server'`: the rig's own PostgreSQL server, which the test may stop and start. */
  postgres: TestPostgresCluster | null;
  dbUrl: string;
  sim: Simulator;
  /** The test's own connection (reconnects forever, like the services'). */
  nc: NatsConnection;
  /** Short-lived connections: survives the database going away. */
  sql: pg.Pool;
  env: Record<string, string>;
  accounts: SimAccount[];
  services: ServiceProcess[];
  /** Starts a service process; `port` is its HTTP port (the gateway's API, the others' health). */
  start(
    name: 'persistence' | 'iifl-auth' | 'scheduler' | 'gateway',
    env?: Record<string, string>,
  ): Promise<ServiceProcess & { port: number }>;
  /** Kills the services and disposes of the simulator, NATS and the database. */
  stop(): Promise<void>;
}

export interface RigOptions {
  users: number;
  prefix: string;
  /**
   * `fresh-database` (default): a throw-away database on the local PostgreSQL;
   * `private-server`: a PostgreSQL server of the rig's own (`rig.postgres`).
   */
  database?: 'fresh-database' | 'private-server';
  /** Users stored with a password the broker refuses (the last ones). */
  wrongPasswords?: number;
  /** A three-node JetStream cluster instead of one server; the services get STREAM_REPLICAS=3. */
  natsCluster?: boolean;
  env?: Record<string, string>;
}

/** Starts NATS, a database, the simulator and persistence, and seeds the users. */
export async function startRig(options: RigOptions): Promise<Rig> {
  const privateServer = options.database === 'private-server';
  const [{ nats, cluster }, database] = await Promise.all([
    options.natsCluster ? clusterNats() : startNats().then((one) => ({ nats: one, cluster: null })),
    privateServer ? startPostgresCluster() : createTestDatabase(),
  ]);
  const accounts = generateAccounts(options.users, options.prefix);
  const sim = await startSimulator({ port: 0, accounts });
  const env: Record<string, string> = {
    NATS_URL: nats.url,
    DATABASE_URL: database.url,
    IIFL_BASE_URL: sim.baseUrl,
    IIFL_KEY_ASSOCIATION_DELAY_MS: '0',
    INTEGRATION_API_KEY: 'faults-integration-key-0123456789abcdef',
    ...(cluster ? { STREAM_REPLICAS: '3' } : {}),
    LOG_LEVEL: 'warn',
    DB_POOL_MAX: '4',
    // Key pairs reused for 10 minutes: the machine's CPU goes to the faults, not to RSA keygen.
    IIFL_KEYPAIR_MAX_AGE_MS: '600000',
    ...options.env,
  };
  // Only iifl-auth and the gateway hold the credentials key (the users are seeded in plain text,
  // as legacy rows are; encrypted rows are covered by the e2e and iifl-auth tests).
  const keyEnv: Record<string, string> = { CREDENTIALS_KEY: randomBytes(32).toString('base64') };
  const sql = new pg.Pool({ connectionString: database.url, max: 2, connectionTimeoutMillis: 2_000 });
  sql.on('error', () => {}); // an idle connection cut by a database restart
  const services: ServiceProcess[] = [];
  let nc: NatsConnection | undefined;

  const start: Rig['start'] = async (name, own = {}) => {
    const port = String(await freePort());
    const service = await startServiceProcess({
      name,
      entry: `services/${name}/src/main.ts`,
      env: {
        ...env,
        ...(name === 'iifl-auth' || name === 'gateway' ? keyEnv : {}),
        ...(name === 'gateway' ? { PORT: port } : { HEALTH_PORT: port }),
        ...own,
      },
      healthUrl: `http://127.0.0.1:${port}/healthz`,
      timeoutMs: 60_000,
    });
    services.push(service);
    return Object.assign(service, { port: Number(port) });
  };
  const rig: Rig = {
    nats,
    cluster,
    postgres: privateServer ? (database as TestPostgresCluster) : null,
    dbUrl: database.url,
    sim,
    nc: undefined as unknown as NatsConnection,
    sql,
    env,
    accounts,
    services,
    start,
    stop: async () => {
      await Promise.allSettled(services.map((s) => s.stop('SIGKILL')));
      await nc?.close().catch(() => {});
      await sql.end().catch(() => {});
      await sim.close();
      await Promise.allSettled([nats.dispose(), database.dispose()]);
    },
  };
  try {
    await start('persistence');
    const wrong = options.wrongPasswords ?? 0;
    const users = accounts.map((a, i) => ({
      clientId: a.clientId,
      clientName: `Client ${i}`,
      password: i >= accounts.length - wrong ? 'not-the-password' : a.password,
      appKey: a.appKey,
      appSecret: a.appSecret,
      totpSecret: a.totpSecret,
    }));
    const dir = mkdtempSync(join(tmpdir(), 'faults-users-'));
    writeFileSync(join(dir, 'users.json'), JSON.stringify(users));
    const seeded = await runEntryPoint('services/persistence/src/seed-users.ts', [join(dir, 'users.json')], env);
    if (seeded.code !== 0) throw new Error(`seed-users exited ${seeded.code}: ${seeded.stderr}`);
    nc = await connect({ servers: nats.url.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    rig.nc = nc;
    return rig;
  } catch (err) {
    await rig.stop();
    throw err;
  }
}

async function clusterNats(): Promise<{ nats: TestNats; cluster: TestNatsCluster }> {
  const cluster = await startNatsCluster(3);
  const whole = async () => {
    throw new Error('a cluster is stopped and started node by node: rig.cluster.nodes');
  };
  return { nats: { url: cluster.url, stop: whole, start: whole, dispose: () => cluster.dispose() }, cluster };
}

/**
 * For faults that cut logins off half-way (an iifl-auth replica or nats-server killed): a login
 * abandoned by them expires at the broker within 4 s, before the lock of its account does (9 s,
 * so >= 6 s after the fault), and a new login never overlaps it.
 */
export const CUT_LOGINS = {
  env: { AUTH_CONCURRENCY: '12', AUTH_ACK_WAIT_MS: '5000', AUTH_LOGIN_LOCK_TTL_MS: '9000', AUTH_FETCH_EXPIRES_MS: '1000' },
  knobs: { latencyMs: 25, jitterMs: 25, loginTokenTtlMs: 4_000, authCodeTtlMs: 4_000 },
};

/**
 * A rig for the describe block it is called in: started before its tests (then `setUp`, for the
 * block's own services and knobs), stopped after them. Filled in by the hook: use it inside tests.
 */
export function useRig(options: RigOptions, setUp?: (rig: Rig) => Promise<unknown> | void): Rig {
  const rig = {} as Rig;
  beforeAll(async () => {
    Object.assign(rig, await startRig(options));
    await setUp?.(rig);
  }, 120_000);
  afterAll(() => rig.stop?.());
  return rig;
}

/**
 * Starts a refresh of every user and waits until a fifth of them are refreshed: the moment the
 * fault tests strike, with some users done and many in flight or queued.
 */
export async function startRunAndWaitForAFifth(rig: Rig): Promise<{ runId: string; requested: string[]; refreshedSoFar: number }> {
  const run = await startRefreshRun(rig.nc, { trigger: 'cli' });
  run.close();
  const runId = run.start.runId;
  const requested = run.start.requested.map((u) => u.userID);
  await waitFor(
    'a fifth of the run done',
    async () => {
      const c = await outcomeCounts(rig.sql, runId);
      return (c['refreshed'] ?? 0) >= requested.length / 5 ? true : undefined;
    },
    60_000,
    50,
  );
  const refreshedSoFar = (await outcomeCounts(rig.sql, runId))['refreshed'] ?? 0;
  return { runId, requested, refreshedSoFar };
}

/**
 * A run of every user struck by `fault` once a fifth of them are refreshed, followed to its end:
 * its figures, the simulator's figures, and how many users were refreshed when the fault struck.
 */
export async function runThroughFault(rig: Rig, fault: () => Promise<unknown>) {
  const { runId, requested, refreshedSoFar } = await startRunAndWaitForAFifth(rig);
  expect(requested).toHaveLength(rig.accounts.length);
  await fault();
  await waitForRun(rig, runId, 150_000);
  const figures = await runFigures(rig, runId, requested);
  return { runId, requested, doneAtFault: refreshedSoFar, figures, sim: rig.sim.stats() };
}

/** Outcome rows of a run, by outcome. */
export async function outcomeCounts(sql: pg.Pool, runId: string): Promise<Record<string, number>> {
  const { rows } = await sql.query<{ outcome: string; n: string }>(
    'select outcome, count(*) as n from refresh_outcomes where run_id = $1 group by outcome',
    [runId],
  );
  return Object.fromEntries(rows.map((r) => [r.outcome, Number(r.n)]));
}

/**
 * Waits until no outcome of the run is pending (the database may be away for a while meanwhile).
 * On timeout the error says where the run stands: its outcome counts, the consumers' backlogs and
 * the tail of every service's log (services log at warn and redact secrets).
 */
export async function waitForRun(rig: Rig, runId: string, timeoutMs: number): Promise<Record<string, number>> {
  try {
    return await waitFor(
      `run ${runId} to complete`,
      async () => {
        const counts = await outcomeCounts(rig.sql, runId).catch(() => undefined);
        return counts && Object.keys(counts).length > 0 && !counts['pending'] ? counts : undefined;
      },
      timeoutMs,
      250,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await whereTheRunStands(rig, runId)}`, { cause: err });
  }
}

async function whereTheRunStands(rig: Rig, runId: string): Promise<string> {
  const lines: string[] = [];
  const counts = await outcomeCounts(rig.sql, runId).catch((e: Error) => `unreadable: ${e.message}`);
  lines.push(`outcomes: ${JSON.stringify(counts)}`);
  try {
    const jsm = await rig.nc.jetstreamManager();
    for await (const stream of jsm.streams.list()) {
      for await (const c of jsm.consumers.list(stream.config.name)) {
        lines.push(
          `consumer ${stream.config.name}/${c.name}: pending ${c.num_pending}, ack pending ${c.num_ack_pending}, ` +
            `redelivered ${c.num_redelivered}, waiting pulls ${c.num_waiting}`,
        );
      }
    }
  } catch (e) {
    lines.push(`consumers unreadable: ${(e as Error).message}`);
  }
  for (const s of rig.services) {
    lines.push(`--- ${s.name} (pid ${s.child.pid}, exit ${s.child.exitCode ?? s.child.signalCode ?? 'running'}), last lines:`);
    lines.push(s.output().split('\n').slice(-15).join('\n'));
  }
  return lines.join('\n');
}

export interface StoredOutcome {
  subject: string;
  runId: string | null;
  userID: string;
  eventId: string;
  payload: Record<string, unknown>;
}

/** Every outcome event the events stream holds (what was published and acknowledged). */
export async function storedOutcomes(nc: NatsConnection): Promise<StoredOutcome[]> {
  const jsm = await nc.jetstreamManager();
  const { state } = await jsm.streams.info(Streams.events.name);
  const out: StoredOutcome[] = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const msg = await jsm.streams.getMessage(Streams.events.name, { seq }).catch(() => null);
    if (!msg) continue;
    const payload = decodeJson(msg.data) as Record<string, unknown>;
    out.push({
      subject: msg.subject,
      runId: (payload['runId'] as string | null) ?? null,
      userID: payload['userID'] as string,
      eventId: payload['eventId'] as string,
      payload,
    });
  }
  return out;
}

/**
 * The figures every fault test reports and checks: per (run, user), how many outcome events were
 * published (duplicates: more than one, harmless when the run row records exactly one), and how
 * many requested users have no recorded outcome (losses).
 */
export async function runFigures(rig: Rig, runId: string, requested: string[]) {
  const { rows } = await rig.sql.query<{
    user_id: string;
    outcome: string;
    code: string | null;
    message: string | null;
    attempts: number | null;
  }>('select user_id, outcome, code, message, attempts from refresh_outcomes where run_id = $1', [runId]);
  const byUser = new Map(rows.map((r) => [r.user_id, r]));
  const events = (await storedOutcomes(rig.nc)).filter((e) => e.runId === runId);
  const perUser = new Map<string, number>();
  for (const e of events) perUser.set(e.userID, (perUser.get(e.userID) ?? 0) + 1);
  const outcomes = { refreshed: 0, failed: 0, skipped: 0, pending: 0 };
  for (const r of rows) outcomes[r.outcome as keyof typeof outcomes]++;
  const losses = requested.filter((u) => !byUser.has(u) || byUser.get(u)!.outcome === 'pending').length;
  const duplicates = [...perUser.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0);
  const withoutEvent = requested.filter((u) => !perUser.has(u)).length;
  const failures: Record<string, number> = {};
  for (const r of rows) if (r.outcome === 'failed') failures[r.code ?? '?'] = (failures[r.code ?? '?'] ?? 0) + 1;
  // Per user, the token of the latest login announced: what its row must hold in the end.
  const newestLogins = new Map<string, { token: string; loginTime: number }>();
  for (const e of events) {
    if (!e.subject.startsWith('tokens.refreshed.')) continue;
    const loginTime = Date.parse(String(e.payload['loginTime']));
    if (loginTime > (newestLogins.get(e.userID)?.loginTime ?? 0))
      newestLogins.set(e.userID, { token: String(e.payload['token']), loginTime });
  }
  return { rows, byUser, events, outcomes, failures, losses, duplicates, withoutEvent, distinctOutcomes: byUser.size, newestLogins };
}

export type RunFigures = Awaited<ReturnType<typeof runFigures>>;

/** The outcome figures every fault test reports. */
export function outcomeFigures(f: RunFigures) {
  return {
    outcomes: f.outcomes,
    failures: f.failures,
    distinctOutcomes: f.distinctOutcomes,
    outcomeEvents: f.events.length,
    duplicates: f.duplicates,
    losses: f.losses,
  };
}

/** What the broker saw: sessions, logins of one account at once, TOTP steps used twice, rate limits hit. */
export function brokerFigures(sim: SimStats) {
  return {
    sessionsIssued: sim.sessionsIssued,
    maxConcurrentLoginsPerClient: sim.maxConcurrentLoginsPerClient,
    totpStepReuse: sim.totpStepReuse,
    rateLimited: sim.rateLimited,
  };
}

/** Every requested user refreshed, with exactly one recorded outcome and at least one event. */
export function expectEveryUserRefreshed(f: RunFigures, users: number): void {
  expect(f.losses).toBe(0);
  expect(f.distinctOutcomes).toBe(users);
  expect(f.outcomes).toEqual({ refreshed: users, failed: 0, skipped: 0, pending: 0 });
  expect(f.withoutEvent).toBe(0);
}

/**
 * The broker's rules held across replicas: never two logins of one account at once, never one TOTP
 * step used twice, and the spec's per-session rate limits (the simulator's defaults) never hit.
 */
export function expectBrokerRulesKept(sim: SimStats): void {
  expect(sim.maxConcurrentLoginsPerClient).toBeLessThanOrEqual(1);
  expect(sim.totpStepReuse).toBe(0);
  expect(sim.rateLimited).toBe(0);
}

/** One line per fault test, copied into docs/reliability.md. */
export function report(test: string, figures: Record<string, unknown>): void {
  console.log(`[fault-figures] ${test}: ${JSON.stringify(figures)}`);
}
