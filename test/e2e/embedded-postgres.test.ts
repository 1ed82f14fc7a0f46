import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { PersistenceApi, Subjects, TokenRefreshed } from '@refresher/contracts';
import { callService, encodeJson } from '@refresher/platform';
import {
  openTestSql,
  realUser,
  seedUsers,
  startNats,
  startPersistenceProcess,
  waitFor,
  type PersistenceProcess,
  type TestNats,
} from '@refresher/testkit';
import { EMBEDDED_POOL_MAX, startEmbeddedPostgres, type EmbeddedPostgres } from '../../scripts/embedded-postgres.ts';

/**
 * The embedded database of `pnpm demo` and `pnpm start` (PGlite over pglite-socket) under the
 * persistence service as deployed: its migrations (check constraints, foreign keys, timestamptz),
 * its queries (unnest with ordinality, distinct on, batched transactions over a pool of several
 * connections), and a data directory that keeps what was written.
 */
describe('the embedded database', { timeout: 120_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'embedded-postgres-'));
  let embedded: EmbeddedPostgres | undefined;
  let nats: TestNats;
  let persistence: PersistenceProcess | undefined;
  let nc: NatsConnection;

  beforeAll(async () => {
    [embedded, nats] = await Promise.all([startEmbeddedPostgres(dataDir), startNats()]);
    persistence = await startPersistenceProcess({
      natsUrl: nats.url,
      databaseUrl: embedded.url,
      env: { DB_POOL_MAX: EMBEDDED_POOL_MAX },
    });
    nc = await connect({ servers: nats.url });
  }, 120_000);

  afterAll(async () => {
    await nc?.close();
    await persistence?.stop();
    await embedded?.stop();
    await nats?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is migrated by persistence, which starts a run and records its outcome', async () => {
    await seedUsers(embedded!.url, [realUser('EMB1')]);
    const run = await callService(nc, PersistenceApi.startRun, { runId: 'run-embedded', trigger: 'api' }, 10_000);
    expect(run.requested.map((u) => u.userID)).toEqual(['EMB1']);

    const event = TokenRefreshed.parse({
      v: 1,
      eventId: randomUUID(),
      runId: 'run-embedded',
      userID: 'EMB1',
      token: 'token-embedded-1',
      tokenValidity: '2026-12-01T18:30:00.000Z',
      loginTime: '2026-12-01T03:00:05.123Z',
      source: 'login',
      attempts: 1,
    });
    await nc.jetstream().publish(Subjects.refreshed('EMB1'), encodeJson(event));
    const summary = await waitFor(
      'the run to complete',
      async () => {
        const s = await callService(nc, PersistenceApi.getRun, { runId: 'run-embedded' }, 10_000);
        return s.completedAt ? s : undefined;
      },
      30_000,
      200,
    );
    expect(summary).toMatchObject({ total: 1, refreshed: 1, failed: 0, pending: 0 });
    expect(summary.results).toMatchObject([{ userID: 'EMB1', outcome: 'refreshed' }]);
  });

  it('keeps what was written in its data directory across a restart', async () => {
    await persistence!.stop();
    persistence = undefined;
    await embedded!.stop();
    embedded = await startEmbeddedPostgres(dataDir);
    const sql = openTestSql(embedded.url);
    try {
      const user = await sql.row<{ token: string; tokenValidity: Date; loginStatus: string }>(
        'select token, "tokenValidity", "loginStatus" from "IIFLUser" where "userID" = $1',
        ['EMB1'],
      );
      expect(user).toEqual({ token: 'token-embedded-1', tokenValidity: expect.any(Date), loginStatus: 'success' });
      // "tokenValidity" is a TIMESTAMP holding UTC wall-clock time, as on a PostgreSQL server.
      const stored = await sql.row<{ t: string }>(`select "tokenValidity"::text as t from "IIFLUser" where "userID" = 'EMB1'`);
      expect(stored?.t).toBe('2026-12-01 18:30:00');
    } finally {
      await sql.close();
    }
  });
});
