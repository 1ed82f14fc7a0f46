import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { PersistenceApi } from '@refresher/contracts';
import { ServiceCallError, callService, loadConfig } from '@refresher/platform';
import { freePort, startNats, type TestNats } from '@refresher/testkit';
import { persistenceConfigSchema, startPersistence, type Persistence } from '../src/index.ts';

describe('without a reachable database', () => {
  let nats: TestNats;
  let persistence: Persistence;
  let nc: NatsConnection;

  beforeAll(async () => {
    nats = await startNats();
    const closedPort = await freePort();
    persistence = await startPersistence(
      loadConfig(persistenceConfigSchema, {
        DATABASE_URL: `postgres://postgres@127.0.0.1:${closedPort}/postgres`,
        NATS_URL: nats.url,
        HEALTH_PORT: '0',
        LOG_LEVEL: 'silent',
        MIGRATE_ON_START: 'false',
      }),
    );
    nc = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await nc?.close();
    await persistence?.stop();
    await nats?.dispose();
  });

  it('reports unhealthy and answers requests with 503', async () => {
    const res = await fetch(`http://127.0.0.1:${persistence.healthPort}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'unavailable', database: false, nats: true });

    const err = await callService(nc, PersistenceApi.getCredentials, {
      userID: 'A1',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceCallError);
    expect((err as ServiceCallError).code).toBe(503);
    expect((err as ServiceCallError).message).toBe('database unavailable');
  });
});
