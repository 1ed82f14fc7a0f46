import { describe, expect, it } from 'vitest';
import { connect } from 'nats';
import pg from 'pg';
import { useServers } from '../src/index.ts';

describe('test servers', () => {
  const servers = useServers();

  it('gives a NATS server with JetStream', async () => {
    const nc = await connect({ servers: servers.nats.url });
    const jsm = await nc.jetstreamManager();
    const info = await jsm.getAccountInfo();
    expect(info.limits).toBeDefined();
    await nc.close();
  });

  it('gives an empty database', async () => {
    const client = new pg.Client({ connectionString: servers.database.url });
    await client.connect();
    const { rows } = await client.query("select count(*)::int as n from information_schema.tables where table_schema = 'public'");
    expect(rows[0].n).toBe(0);
    await client.end();
  });
});
