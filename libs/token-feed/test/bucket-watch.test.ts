import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { Buckets, Subjects, type TokenRefreshed } from '@refresher/contracts';
import { encodeJson } from '@refresher/platform';
import { startNats, waitFor, type TestNats } from '@refresher/testkit';
import { watchTokens, type TokenWatch } from '../src/index.ts';

/**
 * The feed's watch of the bucket while the bucket does not exist or goes away. These tests create
 * and delete the bucket, so they need a server of their own, which a shared TEST_NATS_URL cannot provide.
 */
describe.skipIf(!!process.env.TEST_NATS_URL)('watchTokens without a bucket, or when its watch ends', () => {
  let server: TestNats;
  let nc: NatsConnection;
  let engine: NatsConnection;

  beforeAll(async () => {
    server = await startNats();
    nc = await connect({ servers: server.url });
    engine = await connect({ servers: server.url });
  });

  afterAll(async () => {
    await engine?.close();
    await nc?.drain();
    await server?.dispose();
  });

  function token(userID: string, loginTime: string): TokenRefreshed {
    return {
      v: 1,
      eventId: randomUUID(),
      runId: null,
      userID,
      token: `tok-${randomUUID()}`,
      tokenValidity: new Date(Date.parse(loginTime) + 12 * 3600_000).toISOString(),
      loginTime,
      source: 'login',
      attempts: 1,
    };
  }

  /** Creates the bucket as the services do (history 1), when it does not exist, and writes the token. */
  async function store(t: TokenRefreshed): Promise<void> {
    const kv = await nc.jetstream().views.kv(Buckets.tokens, { history: 1 });
    await kv.put(t.userID, encodeJson(t));
  }

  function collect(watch: TokenWatch) {
    const seen: TokenRefreshed[] = [];
    const done = (async () => {
      for await (const t of watch) seen.push(t);
    })();
    return { seen, done, eventIds: () => seen.map((t) => t.eventId) };
  }

  it('opens its watch once the bucket exists, and yields a token only written to it', async () => {
    const watch = watchTokens(engine, { userID: 'NB1' });
    const feed = collect(watch);
    await engine.flush();
    // No bucket: no current token, and live tokens are not held back waiting for one.
    const live = token('NB1', '2026-01-01T21:30:05.000Z');
    nc.publish(Subjects.refreshed('NB1'), encodeJson(live));
    await waitFor('the live token', () => feed.seen.length === 1);

    const stored = token('NB1', '2026-01-02T21:30:05.000Z');
    await store(stored);
    await waitFor('the token written to the new bucket', () => feed.seen.length === 2);
    watch.stop();
    await feed.done;
    expect(feed.eventIds()).toEqual([live.eventId, stored.eventId]);
    expect(watch.watchFailures).toBe(0);
  });

  it(
    'opens a new watch when its watch ends by itself (the bucket deleted), and yields what is written then',
    { timeout: 60_000 },
    async () => {
      const first = token('NB2', '2026-01-01T21:30:05.000Z');
      await store(first);
      const watch = watchTokens(engine, { userID: 'NB2' });
      const feed = collect(watch);
      await waitFor('the current token', () => feed.seen.length === 1);

      // The consumer goes with the bucket; nats.js notices the missing heartbeats and fails to recreate it.
      const jsm = await nc.jetstreamManager();
      await jsm.streams.delete(`KV_${Buckets.tokens}`);
      await waitFor('the watch to end', () => watch.watchFailures === 1, 40_000);

      const next = token('NB2', '2026-01-02T21:30:05.000Z');
      await store(next);
      await waitFor('the token written to the bucket made again', () => feed.seen.length === 2);
      watch.stop();
      await feed.done;
      expect(feed.eventIds()).toEqual([first.eventId, next.eventId]);
      expect(watch.watchFailures).toBe(1);
    },
  );
});
