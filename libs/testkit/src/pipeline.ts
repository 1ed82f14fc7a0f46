import { afterAll, beforeAll } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { startNats, type TestNats } from './nats-server.ts';
import { createTestDatabase, type TestDatabase } from './postgres.ts';
import { openTestSql, seedUsers, startPersistenceProcess, type PersistenceProcess, type TestSql, type TestUser } from './persistence.ts';

/**
 * What the tests of a service that asks persistence over NATS stand on: a NATS server, a fresh
 * database, the persistence service in its own process over both, seeded users, a client
 * connection and read access to the database.
 */
export interface TestPipeline {
  nats: TestNats;
  database: TestDatabase;
  persistence: PersistenceProcess;
  /** The test's own connection to the server. */
  nc: NatsConnection;
  /** Read access to the database, for assertions on what a service stored. */
  sql: TestSql;
  /** Starts persistence again, as at first, after a test stopped it (`persistence.stop()`). */
  restartPersistence(): Promise<void>;
  /** Stops persistence and closes and removes everything else; what was not started is passed over. */
  dispose(): Promise<void>;
}

export interface TestPipelineOptions {
  /** Seeded through persistence's `seed-users` once it is up. */
  users?: readonly TestUser[];
  /** More of persistence's variables (EVENT_CONCURRENCY, ...). */
  persistenceEnv?: Record<string, string>;
}

/** Starts a pipeline; call `dispose()` when done (a failed start disposes of what it began). */
export async function startTestPipeline(options: TestPipelineOptions = {}): Promise<TestPipeline> {
  const pipeline = {} as TestPipeline;
  try {
    await fillPipeline(pipeline, options);
  } catch (err) {
    await pipeline.dispose();
    throw err;
  }
  return pipeline;
}

/**
 * A pipeline for the test file (or the describe block) it is called in: started before the first
 * test, disposed of after the last one, after the file's own `afterAll` hooks (they run in reverse).
 * The object is filled in by the hook, so use it inside hooks and tests only.
 */
export function usePipeline(options: TestPipelineOptions = {}): TestPipeline {
  const pipeline = {} as TestPipeline;
  beforeAll(() => fillPipeline(pipeline, options));
  afterAll(() => pipeline.dispose?.());
  return pipeline;
}

/** A NATS server and a fresh database for the block it is called in, disposed of after its tests. */
export function useServers(): { nats: TestNats; database: TestDatabase } {
  const servers = {} as { nats: TestNats; database: TestDatabase };
  beforeAll(async () => {
    [servers.nats, servers.database] = await Promise.all([startNats(), createTestDatabase()]);
  });
  afterAll(() => Promise.allSettled([servers.nats?.dispose(), servers.database?.dispose()]));
  return servers;
}

async function fillPipeline(pipeline: TestPipeline, options: TestPipelineOptions): Promise<void> {
  const start = () =>
    startPersistenceProcess({ natsUrl: pipeline.nats.url, databaseUrl: pipeline.database.url, env: options.persistenceEnv ?? {} });
  pipeline.dispose = async () => {
    await pipeline.sql?.close();
    await pipeline.nc?.close();
    await pipeline.persistence?.stop();
    await Promise.all([pipeline.database?.dispose(), pipeline.nats?.dispose()]);
  };
  pipeline.restartPersistence = async () => {
    await pipeline.persistence.stop();
    pipeline.persistence = await start();
  };
  [pipeline.nats, pipeline.database] = await Promise.all([startNats(), createTestDatabase()]);
  pipeline.persistence = await start();
  if (options.users?.length) await seedUsers(pipeline.database.url, options.users);
  pipeline.nc = await connect({ servers: pipeline.nats.url });
  pipeline.sql = openTestSql(pipeline.database.url);
}
