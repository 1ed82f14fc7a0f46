import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  freePort,
  startNats,
  startServiceProcess,
  waitFor,
  type ServiceProcess,
  type TestDatabase,
  type TestNats,
} from '@refresher/testkit';
import { crashesInARow, restartDelay } from '../../scripts/supervisor.ts';

describe('the supervisor of pnpm start, its decisions', () => {
  const backoff = { baseMs: 1_000, maxDelayMs: 30_000 };
  it.each([
    // crashes before, how long the run lasted, crashes in a row after, wait before the restart
    [0, 5_000, 1, 1_000],
    [1, 5_000, 2, 2_000],
    [4, 5_000, 5, 16_000],
    [5, 5_000, 6, 30_000],
    [9, 5_000, 10, 30_000],
    [9, 60_000, 1, 1_000],
  ])('after %i crashes, a run of %i ms: crash %i in a row, restart in %i ms', (before, ranMs, crashes, delay) => {
    expect(crashesInARow(before, ranMs, 60_000)).toBe(crashes);
    expect(restartDelay(backoff, crashes)).toBe(delay);
  });
});

/** `pnpm start` (scripts/start-all.ts) as a process, over a real NATS and Postgres. */
describe('pnpm start', { timeout: 120_000 }, () => {
  let nats: TestNats;
  let db: TestDatabase;
  let start: ServiceProcess;
  let health: Record<'persistence' | 'iifl-auth' | 'scheduler' | 'gateway', string>;

  beforeAll(async () => {
    [nats, db] = await Promise.all([startNats(), createTestDatabase()]);
    const [gateway, persistence, scheduler, auth, notifier] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    health = {
      persistence: `http://127.0.0.1:${persistence}/healthz`,
      'iifl-auth': `http://127.0.0.1:${auth}/healthz`,
      scheduler: `http://127.0.0.1:${scheduler}/healthz`,
      gateway: `http://127.0.0.1:${gateway}/healthz`,
    };
    start = await startServiceProcess({
      name: 'pnpm start',
      entry: 'scripts/start-all.ts',
      env: {
        NATS_URL: nats.url,
        DATABASE_URL: db.url,
        PORT: String(gateway),
        PERSISTENCE_HEALTH_PORT: String(persistence),
        SCHEDULER_HEALTH_PORT: String(scheduler),
        IIFL_AUTH_HEALTH_PORT: String(auth),
        NOTIFIER_HEALTH_PORT: String(notifier),
        INTEGRATION_API_KEY: 'start-all-integration-key-0123456789',
        CREDENTIALS_KEY: randomBytes(32).toString('base64'),
        LOG_LEVEL: 'warn',
      },
      readyLine: /gateway started \(pid \d+\)/,
      timeoutMs: 90_000,
    });
  }, 120_000);

  afterAll(async () => {
    await start?.stop('SIGKILL');
    await Promise.allSettled([nats?.dispose(), db?.dispose()]);
  });

  const pidsOf = (name: string) =>
    [...start.output().matchAll(new RegExp(`${name} started \\(pid (\\d+)\\)`, 'g'))].map((m) => Number(m[1]));
  const healthy = async (url: string) => ((await fetch(url).catch(() => undefined))?.ok ? true : undefined);
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('starts a service that dies again after its back-off, and says so', async () => {
    for (const url of Object.values(health)) await waitFor(`${url} to answer`, () => healthy(url), 60_000, 200);
    const [first] = pidsOf('iifl-auth');
    process.kill(first!, 'SIGKILL');
    await waitFor(
      'the restart announced',
      () => /iifl-auth exited by signal SIGKILL; restarting in 1 s \(crash 1 in a row\)/.test(start.output()) || undefined,
    );
    const second = await waitFor('iifl-auth started again', () => pidsOf('iifl-auth')[1], 30_000, 100);
    expect(second).not.toBe(first);
    await waitFor('iifl-auth healthy again', () => healthy(health['iifl-auth']), 60_000, 200);
    expect(pidsOf('persistence')).toHaveLength(1);
  });

  it('stops every service on SIGINT and exits 0', async () => {
    const pids = ['persistence', 'iifl-auth', 'scheduler', 'gateway'].map((name) => pidsOf(name).at(-1)!);
    expect(await start.stop('SIGINT')).toBe(0);
    expect(start.output()).toMatch(/SIGINT: stopping every service/);
    expect(pids.filter(alive)).toEqual([]);
  });
});
