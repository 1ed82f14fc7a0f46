import { afterAll, beforeAll, beforeEach } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { sql } from 'kysely';
import {
  Buckets,
  Consumers,
  PersistenceApi,
  Streams,
  type Endpoint,
  type EndpointRequest,
  type EndpointResponse,
  type RunSummary,
  type StartRunRequest,
  type StartRunResponse,
} from '@refresher/contracts';
import { credentialsFingerprint } from '@refresher/credential-crypto';
import { callService, decodeJson, encodeJson, loadConfig } from '@refresher/platform';
import { createTestDatabase, startNats, waitFor, type TestDatabase, type TestNats } from '@refresher/testkit';
import { persistenceConfigSchema, startPersistence, upsertUsers, type Persistence, type SeedUser } from '../src/index.ts';

export interface Harness {
  nats: TestNats;
  database: TestDatabase;
  persistence: Persistence;
  nc: NatsConnection;
  call<E extends Endpoint>(endpoint: E, body: EndpointRequest<E>): Promise<EndpointResponse<E>>;
  /** Sends a raw payload and returns the service error (code, description) or the decoded answer. */
  raw(endpoint: Endpoint, payload: string): Promise<{ code: number | null; description: string | null; body: unknown }>;
  /** The run API and a user's stored row, as most tests use them. */
  startRun(body: StartRunRequest): Promise<StartRunResponse>;
  getRun(runId: string): Promise<RunSummary>;
  userRow(userID: string): ReturnType<typeof selectUser>;
  seed(users: SeedUser[]): Promise<void>;
  /** Marks the user's stored credentials rejected by the broker, as a failure event with `code` would. */
  markRejected(userID: string, code: string): Promise<void>;
  /** Waits until the persistence consumer has acked or terminated everything in the events stream. */
  eventsSettled(): Promise<void>;
  clear(): Promise<void>;
  dispose(): Promise<void>;
}

export { integrationUser, realUser } from '@refresher/testkit';

function selectUser(db: Persistence['db'], userID: string) {
  return db.selectFrom('IIFLUser').selectAll().where('userID', '=', userID).executeTakeFirstOrThrow();
}

/**
 * A harness for the test file: started before its first test, cleared before each one, disposed of
 * after the last. The object is filled in by the first hook, so use it inside tests only.
 */
export function useHarness(): Harness {
  const h = {} as Harness;
  beforeAll(async () => {
    Object.assign(h, await startHarness());
  });
  afterAll(async () => {
    await h.dispose?.();
  });
  beforeEach(async () => {
    await h.clear();
  });
  return h;
}

export async function startHarness(): Promise<Harness> {
  const nats = await startNats();
  const database = await createTestDatabase();
  const config = loadConfig(persistenceConfigSchema, {
    DATABASE_URL: database.url,
    NATS_URL: nats.url,
    HEALTH_PORT: '0',
    LOG_LEVEL: 'silent',
    DB_POOL_MAX: '4',
    EVENT_CONCURRENCY: '8',
  });
  const persistence = await startPersistence(config);
  const nc = await connect({ servers: nats.url });
  const db = persistence.db;
  const jsm = await nc.jetstreamManager();
  const call: Harness['call'] = (endpoint, body) => callService(nc, endpoint, body, 10_000);

  return {
    nats,
    database,
    persistence,
    nc,
    call,
    startRun: (body) => call(PersistenceApi.startRun, body),
    getRun: (runId) => call(PersistenceApi.getRun, { runId }),
    userRow: (userID) => selectUser(db, userID),
    raw: async (endpoint, payload) => {
      const reply = await nc.request(endpoint.subject, new TextEncoder().encode(payload), { timeout: 10_000 });
      const code = reply.headers?.get('Nats-Service-Error-Code');
      return {
        code: code ? Number(code) : null,
        description: reply.headers?.get('Nats-Service-Error') || null,
        body: reply.data.length ? decodeJson(reply.data) : null,
      };
    },
    seed: async (users) => {
      await upsertUsers(db, users);
    },
    markRejected: async (userID, code) => {
      const fingerprint = credentialsFingerprint(await selectUser(db, userID));
      await sql`insert into user_refresh_state (user_id, credentials_rejected_at, rejected_code, rejected_credentials_hash)
        values (${userID}, now(), ${code}, ${fingerprint})`.execute(db);
    },
    eventsSettled: async () => {
      await waitFor('the persistence consumer to settle', async () => {
        const info = await jsm.consumers.info(Streams.events.name, Consumers.persistence);
        return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
      });
    },
    clear: async () => {
      const kv = await nc.jetstream().views.kv(Buckets.tokens);
      for await (const key of await kv.keys()) await kv.purge(key);
      await sql`truncate "IIFLUser", refresh_runs, refresh_outcomes, user_refresh_state, user_login_settings, processed_events restart identity`.execute(
        db,
      );
    },
    dispose: async () => {
      await nc.close();
      await persistence.stop();
      await nats.dispose();
      await database.dispose();
    },
  };
}

export { encodeJson };
