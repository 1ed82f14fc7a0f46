import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { Buckets, Subjects, TokenRefreshed } from '@refresher/contracts';
import { encodeJson, ensureTopology } from '@refresher/platform';
import { startNats, startTcpProxy, waitFor, type TcpProxy, type TestNats } from '@refresher/testkit';
import { watchTokens, type TokenWatch } from '../src/index.ts';

/**
 * The engine's connection runs through a TCP proxy that the tests cut; tokens are written and
 * published over a direct connection while the engine is away.
 */
const ENGINE_INBOX = '_INBOX_engine';
let server: TestNats;
let nc: NatsConnection;
let proxy: TcpProxy;
let engine: NatsConnection;
/** What the engine's connection reported, in order. */
let statuses: string[];
/** `onReconnect`, set by a test, runs synchronously on the engine's next reconnect (before the feed opens its watch again). */
const hooks: { onReconnect?: (() => void) | undefined } = {};

beforeAll(async () => {
  server = await startNats();
  nc = await connect({ servers: server.url });
  await ensureTopology(nc, 1);
});

afterAll(async () => {
  await nc?.drain();
  await server?.dispose();
});

async function connectEngine(): Promise<void> {
  proxy = await startTcpProxy(server.url);
  engine = await connect({
    servers: proxy.url,
    inboxPrefix: ENGINE_INBOX,
    reconnectTimeWait: 50,
    reconnectJitter: 0,
    maxReconnectAttempts: -1,
  });
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
  await publish(t);
  expect(await store(t)).toBe(true);
}

/** As iifl-auth does it: the outcome is published (persistence stores it afterwards). */
async function publish(t: TokenRefreshed): Promise<void> {
  await nc.jetstream().publish(Subjects.refreshed(t.userID), encodeJson(t));
}

/**
 * As persistence stores a token: only when the bucket holds no token of the same or a later login,
 * with compare-and-set on the entry's revision. Returns whether it was written.
 */
async function store(t: TokenRefreshed): Promise<boolean> {
  const kv = await nc.jetstream().views.kv(Buckets.tokens);
  const entry = await kv.get(t.userID);
  if (entry && entry.operation === 'PUT') {
    const held = TokenRefreshed.parse(entry.json());
    if (Date.parse(held.loginTime) >= Date.parse(t.loginTime)) return false;
    await kv.update(t.userID, encodeJson(t), entry.revision);
  } else {
    await kv.create(t.userID, encodeJson(t));
  }
  return true;
}

function collect(watch: TokenWatch) {
  const seen: TokenRefreshed[] = [];
  const done = (async () => {
    for await (const t of watch) seen.push(t);
  })();
  return { seen, done };
}

const ids = (seen: TokenRefreshed[], userID: string) => seen.filter((t) => t.userID === userID).map((t) => t.eventId);

/** The engine's consumers on the bucket that it still listens to: the watches it has open, as the server sees them. */
async function openEngineWatches(): Promise<number> {
  const jsm = await nc.jetstreamManager();
  let open = 0;
  for await (const consumer of jsm.consumers.list(`KV_${Buckets.tokens}`)) {
    if (consumer.push_bound && consumer.config.deliver_subject?.startsWith(`${ENGINE_INBOX}.`)) open += 1;
  }
  return open;
}

/** Cuts the proxy and waits until the engine has noticed. */
async function cutEngine(): Promise<void> {
  const before = statuses.filter((s) => s === 'disconnect').length;
  proxy.cut();
  await waitFor('the engine to notice the cut', () => statuses.filter((s) => s === 'disconnect').length > before);
}

describe('watchTokens across a reconnect', () => {
  it('yields the newest token written while it was away once it reconnects', async () => {
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
    expect(watch.watchFailures).toBe(0);
  });

  it('keeps the feed when its watch cannot be opened after a reconnect, and opens it at the next reconnect', async () => {
    await connectEngine();
    const first = token('RC2', '2026-01-01T21:30:05.000Z');
    await refresh(first);
    const watch = watchTokens(engine, { userID: 'RC2' });
    const { seen, done } = collect(watch);
    await waitFor('the current token', () => seen.length === 1);

    await cutEngine();
    const missed = token('RC2', '2026-01-02T21:30:05.000Z');
    await refresh(missed);
    // The connection drops again the moment it is back, so opening the watch never gets an answer;
    // while it stays down, no other attempt is made.
    hooks.onReconnect = () => proxy.cut();
    proxy.restore();
    await waitFor('opening the watch after the reconnect to fail', () => watch.watchFailures === 1, 20_000);
    expect(seen.map((t) => t.eventId)).toEqual([first.eventId]);

    proxy.restore();
    await waitFor('the missed token at the next reconnect', () => seen.some((t) => t.eventId === missed.eventId));
    watch.stop();
    await done;
    expect(seen.map((t) => t.eventId)).toEqual([first.eventId, missed.eventId]);
    expect(watch.watchFailures).toBe(1);
  });

  it('ends at stop() while its watch is being opened after a reconnect, and leaves no watch open', async () => {
    await connectEngine();
    const first = token('RC3', '2026-01-01T21:30:05.000Z');
    await refresh(first);
    const watch = watchTokens(engine, { userID: 'RC3' });
    const { seen, done } = collect(watch);
    await waitFor('the current token', () => seen.length === 1);

    await cutEngine();
    await refresh(token('RC3', '2026-01-02T21:30:05.000Z'));
    let reopening = false;
    hooks.onReconnect = () => {
      proxy.cut(); // opening the watch now waits for answers that do not come
      reopening = true;
    };
    proxy.restore();
    await waitFor('the reconnect', () => reopening);
    watch.stop();
    await done;
    expect(seen.map((t) => t.eventId)).toEqual([first.eventId]);

    proxy.restore();
    await waitFor('the engine to be back', () => statuses.filter((s) => s === 'reconnect').length === 2);
    // A newer token reaches a new feed on the same connection; the stopped one yields nothing more.
    const third = token('RC3', '2026-01-03T21:30:05.000Z');
    await refresh(third);
    const again = watchTokens(engine, { userID: 'RC3' });
    const later = collect(again);
    await waitFor('the newest token at a new feed', () => ids(later.seen, 'RC3').includes(third.eventId));
    again.stop();
    await later.done;
    expect(seen.map((t) => t.eventId)).toEqual([first.eventId]);
    expect(watch.watchFailures).toBe(0);
    await waitFor('no watch of the engine left open', async () => (await openEngineWatches()) === 0);
  });

  it('yields a token published while it was cut off but stored in the bucket only after it read the bucket again', async () => {
    await connectEngine();
    const first = token('GAP1', '2026-01-01T21:30:05.000Z');
    await refresh(first);
    const everyone = collect(watchTokens(engine));
    const one = collect(watchTokens(engine, { userID: 'GAP1' }));
    await waitFor('the current token', () => ids(everyone.seen, 'GAP1').length === 1 && one.seen.length === 1);

    await cutEngine();
    // iifl-auth publishes the new token while the engine is away; persistence has not stored it yet.
    const late = token('GAP1', '2026-01-02T21:30:05.000Z');
    await publish(late);
    // Another user's token is stored meanwhile: once the engine holds it, it has read the bucket again.
    const marker = token('GAP-MARK', '2026-01-02T21:30:06.000Z');
    await refresh(marker);
    proxy.restore();
    await waitFor('the engine to read the bucket again', () => ids(everyone.seen, 'GAP-MARK').includes(marker.eventId));
    expect(ids(everyone.seen, 'GAP1')).toEqual([first.eventId]);
    expect(ids(one.seen, 'GAP1')).toEqual([first.eventId]);

    // Now persistence stores it: the engine gets it without another reconnect.
    expect(await store(late)).toBe(true);
    await waitFor('the late-stored token at the engine', () => [everyone, one].every((c) => ids(c.seen, 'GAP1').includes(late.eventId)));
    expect(statuses.filter((s) => s === 'reconnect')).toHaveLength(1);
    for (const c of [everyone, one]) expect(ids(c.seen, 'GAP1')).toEqual([first.eventId, late.eventId]);
  });
});
