import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { Subjects } from '@refresher/contracts';
import { ConfigError, encodeJson, loadConfig } from '@refresher/platform';
import { useServers, waitFor } from '@refresher/testkit';
import { persistenceConfigSchema, startPersistence, upsertUsers, type Persistence } from '../src/index.ts';
import { failed, refreshed } from './fixtures.ts';
import { realUser, useHarness } from './harness.ts';

// The existing system's cron set tradingStatus = 'inactive' for a user whose login failed, and a
// successful login set it 'active' (spec, legacy-system.md, "Its database table").

const FAILED_AT = '2026-11-30T03:00:10.000Z';
const LATER_LOGIN = '2026-11-30T03:20:00.000Z';

describe('a failed login, by default (FAILED_LOGIN_TRADING_STATUS=inactive)', () => {
  const h = useHarness();
  const publish = (subject: string, event: unknown) => h.nc.jetstream().publish(subject, encodeJson(event));

  it('sets tradingStatus inactive with loginStatus failed; a later successful login sets it active again', async () => {
    await h.seed([realUser('T1')]);
    expect((await h.userRow('T1')).tradingStatus).toBe('active');

    await publish(Subjects.failed('T1'), failed('T1', 'run-t1', 'BROKER_UNAVAILABLE', FAILED_AT));
    await h.eventsSettled();
    expect(await h.userRow('T1')).toMatchObject({ loginStatus: 'failed', tradingStatus: 'inactive' });

    await publish(Subjects.refreshed('T1'), refreshed('T1', null, LATER_LOGIN));
    await h.eventsSettled();
    expect(await h.userRow('T1')).toMatchObject({ loginStatus: 'success', tradingStatus: 'active' });
  });

  it('leaves both statuses alone when a later login succeeded already (events out of order)', async () => {
    await h.seed([realUser('T2')]);
    await publish(Subjects.refreshed('T2'), refreshed('T2', null, LATER_LOGIN));
    await h.eventsSettled();
    await publish(Subjects.failed('T2'), failed('T2', 'run-t2', 'TIMEOUT', FAILED_AT));
    await h.eventsSettled();
    expect(await h.userRow('T2')).toMatchObject({ loginStatus: 'success', tradingStatus: 'active' });
  });
});

describe('a failed login with FAILED_LOGIN_TRADING_STATUS=unchanged', () => {
  const servers = useServers();
  let persistence: Persistence;
  let nc: NatsConnection;

  beforeAll(async () => {
    const config = loadConfig(persistenceConfigSchema, {
      DATABASE_URL: servers.database.url,
      NATS_URL: servers.nats.url,
      HEALTH_PORT: '0',
      LOG_LEVEL: 'silent',
      DB_POOL_MAX: '2',
      FAILED_LOGIN_TRADING_STATUS: 'unchanged',
    });
    persistence = await startPersistence(config);
    nc = await connect({ servers: servers.nats.url });
  });
  afterAll(async () => {
    await nc?.close();
    await persistence?.stop();
  });

  const row = (userID: string) =>
    persistence.db.selectFrom('IIFLUser').select(['loginStatus', 'tradingStatus']).where('userID', '=', userID).executeTakeFirstOrThrow();

  it('records the failure and leaves tradingStatus as it was; a later success still sets it active', async () => {
    await upsertUsers(persistence.db, [realUser('U1')]);
    // What a partner or an operator set, kept through the failure.
    await persistence.db.updateTable('IIFLUser').set({ tradingStatus: 'paused' }).where('userID', '=', 'U1').execute();

    await nc.jetstream().publish(Subjects.failed('U1'), encodeJson(failed('U1', 'run-u1', 'BROKER_UNAVAILABLE', FAILED_AT)));
    await waitFor('the failure recorded', async () => ((await row('U1')).loginStatus === 'failed' ? true : undefined));
    expect(await row('U1')).toEqual({ loginStatus: 'failed', tradingStatus: 'paused' });

    await nc.jetstream().publish(Subjects.refreshed('U1'), encodeJson(refreshed('U1', null, LATER_LOGIN)));
    await waitFor('the login recorded', async () => ((await row('U1')).loginStatus === 'success' ? true : undefined));
    expect(await row('U1')).toEqual({ loginStatus: 'success', tradingStatus: 'active' });
  });

  it('refuses any other value at start', () => {
    expect(() => loadConfig(persistenceConfigSchema, { FAILED_LOGIN_TRADING_STATUS: 'off' })).toThrow(ConfigError);
  });
});
