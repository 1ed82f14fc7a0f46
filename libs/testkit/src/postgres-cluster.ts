import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.ts';

export interface TestPostgresCluster {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication). */
  url: string;
  port: number;
  /** Stops the server (fast shutdown: sessions are cut) and keeps its data, so `start()` brings it back. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its data directory. */
  dispose(): Promise<void>;
}

/**
 * A private PostgreSQL server for a test that must stop and start the database: `initdb` and
 * `pg_ctl` from the local installation (PG_BIN, else the newest /usr/lib/postgresql/<v>/bin), in a
 * temporary directory, on a free port of 127.0.0.1. Run as root, the binaries run as `postgres`.
 */
export async function startPostgresCluster(): Promise<TestPostgresCluster> {
  const bin = postgresBin();
  const port = await freePort();
  const base = mkdtempSync(join(tmpdir(), 'pg-test-'));
  const dataDir = join(base, 'data');
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gids = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(base, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
    chmodSync(base, 0o700);
  }
  const run = (tool: string, args: string[]) => {
    const command = asRoot ? 'runuser' : join(bin, tool);
    const argv = asRoot ? ['-u', 'postgres', '--', join(bin, tool), ...args] : args;
    const result = spawnSync(command, argv, { encoding: 'utf8', cwd: base });
    if (result.status !== 0) throw new Error(`${tool} failed (${result.status}): ${result.stderr || result.stdout}`);
  };

  run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const options = `-p ${port} -k ${base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

  const start = async () => {
    run('pg_ctl', ['-D', dataDir, '-o', options, '-l', join(base, 'server.log'), '-w', '-t', '30', 'start']);
    await waitFor(`postgres on port ${port}`, () => {
      const ready = spawnSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)]);
      return ready.status === 0 ? true : undefined;
    });
  };
  const stop = async () => {
    if (!existsSync(join(dataDir, 'postmaster.pid'))) return;
    run('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', 'stop']);
  };
  await start();
  return {
    url,
    port,
    start,
    stop,
    dispose: async () => {
      await stop().catch(() => {});
      rmSync(base, { recursive: true, force: true });
    },
  };
}

function postgresBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error('no local PostgreSQL binaries: set PG_BIN to the directory of initdb and pg_ctl');
  return join(root, versions[0]!, 'bin');
}
