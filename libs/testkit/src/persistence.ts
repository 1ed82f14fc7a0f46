import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.ts';
import { runEntryPoint, startServiceProcess, type ServiceProcess } from './processes.ts';

/**
 * The persistence service for the tests of the services that ask it over NATS: its own process,
 * started from its entry point as deployed (a test never imports another service), and the
 * database it owns, seeded and read with plain SQL.
 */
export interface PersistenceProcess extends ServiceProcess {
  healthPort: number;
}

/** Starts `services/persistence` (migrating the database first) and waits for its health check. */
export async function startPersistenceProcess(options: {
  natsUrl: string;
  databaseUrl: string;
  /** More of its variables (LOG_LEVEL, DB_POOL_MAX, EVENT_CONCURRENCY, ...). */
  env?: Record<string, string>;
}): Promise<PersistenceProcess> {
  const healthPort = await freePort();
  const service = await startServiceProcess({
    name: 'persistence',
    entry: 'services/persistence/src/main.ts',
    env: {
      NATS_URL: options.natsUrl,
      DATABASE_URL: options.databaseUrl,
      HEALTH_PORT: String(healthPort),
      LOG_LEVEL: 'warn',
      DB_POOL_MAX: '4',
      ...options.env,
    },
    healthUrl: `http://127.0.0.1:${healthPort}/healthz`,
    timeoutMs: 60_000,
  });
  return Object.assign(service, { healthPort });
}

/** A user row as `seed-users` takes it: plain or already encrypted credentials, stored as given. */
export interface TestUser {
  userID: string;
  clientName?: string;
  email?: string;
  phoneNumber?: string;
  password: string;
  appKey: string;
  appSecret: string;
  totpSecret: string;
  /** `live` unless given. */
  state?: string;
}

/** A live user with credentials of its own (`pw-<userID>`, ...) and the name `Client <userID>`. */
export function realUser(userID: string, extra: Partial<TestUser> = {}): TestUser {
  return {
    userID,
    clientName: `Client ${userID}`,
    password: `pw-${userID}`,
    appKey: `key-${userID}`,
    appSecret: `secret-${userID}`,
    totpSecret: 'JBSWY3DPEHPK3PXP',
    ...extra,
  };
}

/** A user whose token a partner pushes (every credential `INTEGRATION_MANAGED`), named `Partner <userID>`. */
export function integrationUser(userID: string): TestUser {
  return {
    userID,
    clientName: `Partner ${userID}`,
    password: 'INTEGRATION_MANAGED',
    appKey: 'INTEGRATION_MANAGED',
    appSecret: 'INTEGRATION_MANAGED',
    totpSecret: 'INTEGRATION_MANAGED',
  };
}

/**
 * Inserts or updates users through persistence's own `seed-users` program (the database must be
 * migrated: start persistence first). The file it reads is private to the call and removed after.
 */
export async function seedUsers(databaseUrl: string, users: readonly TestUser[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'testkit-users-'));
  try {
    const file = join(dir, 'users.json');
    writeFileSync(file, JSON.stringify(users), { mode: 0o600 });
    const seeded = await runEntryPoint('services/persistence/src/seed-users.ts', [file], { DATABASE_URL: databaseUrl });
    // stderr only: seed-users names paths, never values.
    if (seeded.code !== 0) throw new Error(`seed-users exited with ${seeded.code}: ${seeded.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Read access to a test database, for assertions on what a service stored. */
export interface TestSql {
  rows<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
  /** The first row, or undefined. */
  row<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row | undefined>;
  close(): Promise<void>;
}

export function openTestSql(databaseUrl: string): TestSql {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  pool.on('error', () => {}); // an idle connection cut by a database that went away
  const rows = async <Row>(text: string, params: unknown[] = []) => (await pool.query(text, params)).rows as Row[];
  return {
    rows,
    row: async <Row>(text: string, params: unknown[] = []) => (await rows<Row>(text, params))[0],
    close: () => pool.end(),
  };
}
