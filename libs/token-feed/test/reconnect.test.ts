import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { Buckets, Subjects, type TokenRefreshed } from '@refresher/contracts';
import { encodeJson, ensureTopology } from '@refresher/platform';
import { startNats, startTcpProxy, waitFor, type TcpProxy, type TestNats } from '@refresher/testkit';
import { watchTokens, type TokenWatch } from '../src/index.ts';

/**
 * The engine's connection runs through a TCP proxy that the tests cut; tokens are written and
 * published over a direct connection while the engine is away.
 */
let server: TestNats;
let nc: NatsConnection;
let proxy: TcpProxy;
let engine: NatsConnection;
/** What the engine's connection reported, in order. */
let statuses: string[];
/** `onReconnect`, set by a test, runs synchronously on the engine's next reconnect (before any of its reads is sent). */
const hooks: { onReconnect?: (() => void) | undefined } = {};

beforeAll(async () => {
  server = await startNats();
  nc = await connect({ servers: server.url });
  await ensureTopology(nc);
});

afterAll(async () => {
  await nc?.drain();
  await server?.dispose();
});

async function connectEngine(): Promise<void> {
  proxy = await startTcpProxy(server.url);
  engine = await connect({ servers: proxy.url, reconnectTimeWait: 50, reconnectJitter: 0, maxReconnectAttempts: -1 });
  statuses = [];
  hooks.onReconnect = undefined;
  void (async () => {
    for await (const s of engine.status()) {
      statuses.push(s.type);
      const run = hooks.onReconnect;
      if (s.type === 'reconnect' && run) {
        hooks.onReconnect = undefined;
        run();
      }
    }
  })();
}

afterEach(async () => {
  await engine?.close();
  await proxy?.close();
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

/** As the pipeline does it: published, and stored in the bucket. */
async function refresh(t: TokenRefreshed): Promise<void> {
  await nc.jetstream().publish(Subjects.refreshed(t.userID), encodeJson(t));
  const kv = await nc.jetstream().views.kv(Buckets.tokens);
  await kv.put(t.userID, encodeJson(t));
}

function collect(watch: TokenWatch) {
  const seen: TokenRefreshed[] = [];
  const done = (async () => {
    for await (const t of watch) seen.push(t);
  })();
  return { seen, done };
}

/** Cuts the proxy and waits until the engine has noticed. */
async function cutEngine(): Promise<void> {
  const before = statuses.filter((s) => s === 'disconnect').length;
  proxy.cut();
  await waitFor('the engine to notice the cut', () => statuses.filter((s) => s === 'disconnect').length > before);
}

describe('watchTokens across a reconnect', () => {
  it('reads the bucket again after a reconnect and yields the newest token missed meanwhile', async () => {
    await connectEngine();
    const first = token('RC1', '2026-01-01T21:30:05.000Z');
    await refresh(first);
    const watch = watchTokens(engine, { userID: 'RC1' });
    const { seen, done } = collect(watch);
    await waitFor('the current token', () => seen.length === 1);

    await cutEngine();
    const second = token('RC1', '2026-01-02T21:30:05.000Z');
    const third = token('RC1', '2026-01-03T21:30:05.000Z');
    await refresh(second);
    await refresh(third);
    // The engine is away: the publications did not reach it.
    expect(seen.map((t) => t.eventId)).toEqual([first.eventId]);

    proxy.restore();
    await waitFor('the newest token after the reconnect', () => seen.some((t) => t.eventId === third.eventId));
    expect(statuses).toContain('reconnect');
    watch.stop();
    await done;
    expect(seen.map((t) => t.eventId)).toEqual([first.eventId, third.eventId]);
    expect(watch.failedRereads).toBe(0);
  });

  it('keeps the feed when a read after a reconnect fails, and reads again at the next reconnect', async () => {
    await connectEngine();
    const first = token('RC2', '2026-01-01T21:30:05.000Z');
    await refresh(first);
    const watch = watchTokens(engine, { userID: 'RC2' });
    const { seen, done } = collect(watch);
    await waitFor('the current token', () => seen.length === 1);

    await cutEngine();
    const missed = token('RC2', '2026-01-02T21:30:05.000Z');
    await refresh(missed);
    // The connection drops again the moment it is back, so the read it starts never gets an answer.
    hooks.onReconnect = () => proxy.cut();
    proxy.restore();
    await waitFor('the read after the reconnect to fail', () => watch.failedRereads === 1, 20_000);
    expect(seen.map((t) => t.eventId)).toEqual([first.eventId]);

    proxy.restore();
    await waitFor('the missed token at the next reconnect', () => seen.some((t) => t.eventId === missed.eventId));
    watch.stop();
    await done;
    expect(seen.map((t) => t.eventId)).toEqual([first.eventId, missed.eventId]);
    expect(watch.failedRereads).toBe(1);
  });

  it('ends at stop() while a read after a reconnect is under way, and yields nothing after', async () => {
    await connectEngine();
    const first = token('RC3', '2026-01-01T21:30:05.000Z');
    await refresh(first);
    const watch = watchTokens(engine, { userID: 'RC3' });
    const { seen, done } = collect(watch);
    await waitFor('the current token', () => seen.length === 1);

    await cutEngine();
    await refresh(token('RC3', '2026-01-02T21:30:05.000Z'));
    let readUnderWay = false;
    hooks.onReconnect = () => {
      proxy.cut(); // the read now waits for an answer that does not come
      readUnderWay = true;
    };
    proxy.restore();
    await waitFor('the reconnect', () => readUnderWay);
    watch.stop();
    await done;
    // The read had not finished (it fails only at its request timeout) when the iteration ended.
    expect(watch.failedRereads).toBe(0);
    proxy.restore();
    await waitFor('the read to fail', () => watch.failedRereads === 1, 20_000);
    await waitFor('the engine to be back', () => statuses.filter((s) => s === 'reconnect').length === 2);
    await engine.flush();
    expect(seen.map((t) => t.eventId)).toEqual([first.eventId]);
  });
});
