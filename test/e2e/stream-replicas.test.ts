import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckPolicy, connect, StorageType, type NatsConnection } from 'nats';
import { Buckets, Streams } from '@refresher/contracts';
import { ensureBucket, ensureTopology, STREAM_CONFIGS } from '@refresher/platform';
import { startNatsCluster, waitFor, type TestNatsCluster } from '@refresher/testkit';

/**
 * STREAM_REPLICAS on a three-node cluster: a deployment that started on one copy is brought to
 * three in place by the next start, keeping its messages, and durable consumers follow.
 */
describe('STREAM_REPLICAS', () => {
  let cluster: TestNatsCluster;
  let nc: NatsConnection;

  beforeAll(async () => {
    cluster = await startNatsCluster(3);
    nc = await connect({ servers: cluster.url.split(',') });
  }, 60_000);
  afterAll(async () => {
    await nc?.close();
    await cluster?.dispose();
  });

  const replicasOf = async (stream: string) => {
    const info = await (await nc.jetstreamManager()).streams.info(stream);
    return { config: info.config.num_replicas, peers: 1 + (info.cluster?.replicas?.length ?? 0), messages: info.state.messages };
  };

  it('creates every stream and bucket with one copy, then brings them to three without losing a message', async () => {
    await ensureTopology(nc, 1);
    const checks = await ensureBucket(nc, Buckets.tokenChecks, { history: 1, storage: StorageType.File }, 1);
    const jsm = await nc.jetstreamManager();
    await jsm.consumers.add(Streams.requests.name, { durable_name: 'replicas-test', ack_policy: AckPolicy.Explicit });
    const js = nc.jetstream();
    for (let i = 0; i < 20; i++) await js.publish(`tokens.refresh.requested.U${i}`, new Uint8Array([i]));
    const tokens = await js.views.kv(Buckets.tokens, { bindOnly: true });
    await tokens.put('U1', new Uint8Array([1]));
    await checks.put('U1', new Uint8Array([2]));

    const streams = [...Object.values(STREAM_CONFIGS).map((c) => c.name!), `KV_${Buckets.tokens}`, `KV_${Buckets.tokenChecks}`];
    for (const name of streams) expect((await replicasOf(name)).config, name).toBe(1);

    await ensureTopology(nc, 3);
    await ensureBucket(nc, Buckets.tokenChecks, { history: 1, storage: StorageType.File }, 3);

    for (const name of streams) {
      const seen = await waitFor(`${name} on three peers`, async () => {
        const r = await replicasOf(name);
        return r.peers === 3 ? r : undefined;
      });
      expect(seen.config, name).toBe(3);
    }
    expect((await replicasOf(Streams.requests.name)).messages).toBe(20);
    expect([...((await tokens.get('U1'))?.value ?? [])]).toEqual([1]);
    expect([...((await checks.get('U1'))?.value ?? [])]).toEqual([2]);
    const consumer = await waitFor('the consumer on three peers', async () => {
      const info = await jsm.consumers.info(Streams.requests.name, 'replicas-test');
      return 1 + (info.cluster?.replicas?.length ?? 0) === 3 ? info : undefined;
    });
    expect(consumer.num_pending).toBe(20);
  }, 60_000);

  it('leaves a stream alone when its count is already right', async () => {
    const jsm = await nc.jetstreamManager();
    const before = await jsm.streams.info(Streams.events.name);
    await ensureTopology(nc, 3);
    const after = await jsm.streams.info(Streams.events.name);
    expect(after.config).toEqual(before.config);
    expect(after.created).toEqual(before.created);
  });
});
