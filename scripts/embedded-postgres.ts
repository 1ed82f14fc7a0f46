/**
 * The embedded database of `pnpm demo` and `pnpm start` on a machine without PostgreSQL: PGlite
 * (PostgreSQL compiled to WebAssembly, in this process) with its data under `.data/`, served over
 * the Postgres wire protocol on a free loopback port, so the services, the migrations and `psql`
 * use it as any PostgreSQL. For trying the system and for development only: one process, no
 * replication, no backups. Also: what to tell the demo's user when no NATS answers.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ErrorCode, connect as connectNats, type NatsError } from 'nats';
import { ROOT } from './services.ts';

/** The address a local PostgreSQL answers on by default (the services' default DATABASE_URL). */
export const DEFAULT_POSTGRES = { host: '127.0.0.1', port: 5432 } as const;

/**
 * PGlite is one backend: pglite-socket multiplexes its client connections onto it, one statement
 * (or one transaction) at a time. A few connections per pool keep the processes within its limit.
 */
export const EMBEDDED_POOL_MAX = '4';
const MAX_CONNECTIONS = 32;

export interface EmbeddedPostgres {
  /** A DATABASE_URL for it (user postgres, database postgres, no password, no TLS). */
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** Whether something accepts TCP connections at host:port within `timeoutMs`. */
export function answers(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** True when the embedded database should be used: DATABASE_URL unset and nothing on 127.0.0.1:5432. */
export async function needsEmbeddedPostgres(env: NodeJS.ProcessEnv): Promise<boolean> {
  if (env.DATABASE_URL) return false;
  return !(await answers(DEFAULT_POSTGRES.host, DEFAULT_POSTGRES.port));
}

/** The embedded database's directory: EMBEDDED_DATABASE_DIR, else `.data/<name>` in the checkout. */
export function embeddedDataDir(env: NodeJS.ProcessEnv, name: string): string {
  return env.EMBEDDED_DATABASE_DIR || join(ROOT, '.data', name);
}

/**
 * Opens (creating on first use) the PGlite database in `dataDir` and serves it on a free port of
 * 127.0.0.1. Only one process may open a data directory at a time.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  // Loaded here: a run against a real PostgreSQL never loads the WebAssembly build.
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: MAX_CONNECTIONS });
  await server.start();
  return {
    // It speaks no TLS: sslmode=disable keeps psql from asking for it (node-postgres never does).
    url: `postgres://postgres@${server.getServerConn()}/postgres?sslmode=disable`,
    dataDir,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}

/**
 * Undefined when a NATS answers at `natsUrl`; else what to tell the user (how to get nats-server
 * when it is not installed). Other connection errors (a refused login) are thrown as they are.
 */
export async function natsMissing(natsUrl: string): Promise<string | undefined> {
  try {
    await (await connectNats({ servers: natsUrl, timeout: 3_000 })).close();
    return undefined;
  } catch (err) {
    const code = (err as NatsError).code;
    if (code !== ErrorCode.ConnectionRefused && code !== ErrorCode.Timeout) throw err;
    return natsMissingMessage(natsUrl);
  }
}

/** Whether a program is on PATH. */
export function onPath(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

/** What to tell someone whose machine has no NATS to connect to. */
export function natsMissingMessage(natsUrl: string): string {
  if (onPath('nats-server')) {
    return `No NATS answers at ${natsUrl}. Start one with JetStream: nats-server -js (or set NATS_URL).`;
  }
  return [
    `No NATS answers at ${natsUrl}, and nats-server is not installed. Get it in one of these ways, then run nats-server -js:`,
    '  Debian/Ubuntu:  sudo apt-get install nats-server',
    '  macOS:          brew install nats-server',
    '  any system:     the release binary from https://github.com/nats-io/nats-server/releases',
    '  Docker:         docker run --rm -p 4222:4222 nats:2.10-alpine -js',
  ].join('\n');
}
