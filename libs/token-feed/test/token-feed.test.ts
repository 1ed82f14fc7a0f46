import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { Buckets, Subjects, type TokenRefreshed } from '@refresher/contracts';
import { encodeJson, ensureTopology } from '@refresher/platform';
import { startNats, waitFor, type TestNats } from '@refresher/testkit';
import { getCurrentToken, InvalidUserIdError, watchTokens, type TokenWatch } from '../src/index.ts';

let server: TestNats;
let nc: NatsConnection;

beforeAll(async () => {
  server = await startNats();
  nc = await connect({ servers: server.url });
  await ensureTopology(nc, 1);
});

afterAll(async () => {
  await nc?.drain();
  await server?.dispose();
});

function token(userID: string, loginTime: string, value = `tok-${randomUUID()}`): TokenRefreshed {
  return {
    v: 1,
    eventId: randomUUID(),
    runId: null,
    userID,
    token: value,
    tokenValidity: new Date(Date.parse(loginTime) + 12 * 3600_000).toISOString(),
    loginTime,
    source: 'login',
    attempts: 1,
  };
}

async function putKv(t: TokenRefreshed): Promise<void> {
  const kv = await nc.jetstream().views.kv(Buckets.tokens);
  await kv.put(t.userID, encodeJson(t));
}

async function publish(t: TokenRefreshed | unknown, userID: string): Promise<void> {
  await nc.jetstream().publish(Subjects.refreshed(userID), encodeJson(t));
}

/** Collects what a watch yields, in the background. */
function collect(watch: TokenWatch) {
  const seen: TokenRefreshed[] = [];
  const done = (async () => {
    for await (const t of watch) seen.push(t);
  })();
  return { seen, done };
}

describe('getCurrentToken', () => {
  it('returns the KV value, or null for a user without one', async () => {
    const t = token('GC1', '2026-01-01T21:30:05.000Z');
    await putKv(t);
    expect(await getCurrentToken(nc, 'GC1')).toEqual(t);
    expect(await getCurrentToken(nc, 'GC-nobody')).toBeNull();
  });

  it('rejects an unsafe user id before it reaches a KV key', async () => {
    await expect(getCurrentToken(nc, 'a.b')).rejects.toBeInstanceOf(InvalidUserIdError);
    await expect(getCurrentToken(nc, '*')).rejects.toBeInstanceOf(InvalidUserIdError);
  });

  // Needs a server of its own, which a shared TEST_NATS_URL cannot provide.
  it.skipIf(!!process.env.TEST_NATS_URL)('treats a missing bucket as no token, without creating the bucket', async () => {
    const bare = await startNats();
    const other = await connect({ servers: bare.url });
    try {
      expect(await getCurrentToken(other, 'GC1')).toBeNull();
      const jsm = await other.jetstreamManager();
      await expect(jsm.streams.info(`KV_${Buckets.tokens}`)).rejects.toThrow(/stream not found/i);
    } finally {
      await other.drain();
      await bare.dispose();
    }
  });
});

describe('watchTokens', () => {
  it('yields the current KV token first, then new publications', async () => {
    const current = token('W1', '2026-01-01T21:30:05.000Z');
    await putKv(current);
    const watch = watchTokens(nc, { userID: 'W1' });
    const { seen, done } = collect(watch);
    await waitFor('the KV token', () => seen.length === 1);
    expect(seen[0]).toEqual(current);

    const next = token('W1', '2026-01-02T21:30:05.000Z');
    await publish(next, 'W1');
    await waitFor('the published token', () => seen.length === 2);
    expect(seen[1]).toEqual(next);

    watch.stop();
    await done;
    expect(seen).toHaveLength(2);
  });

  it('never yields a token older than (or the same as) one already yielded', async () => {
    const current = token('W2', '2026-01-02T21:30:05.000Z');
    await putKv(current);
    const watch = watchTokens(nc, { userID: 'W2' });
    const { seen, done } = collect(watch);
    await waitFor('the KV token', () => seen.length === 1);

    await publish(token('W2', '2026-01-01T21:30:05.000Z'), 'W2'); // older
    await publish(current, 'W2'); // the same event again
    const newest = token('W2', '2026-01-03T21:30:05.000Z');
    await publish(newest, 'W2');
    await waitFor('the newest token', () => seen.length === 2);
    watch.stop();
    await done;
    expect(seen.map((t) => t.loginTime)).toEqual([current.loginTime, newest.loginTime]);
  });

  it('skips and counts messages that are not valid tokens', async () => {
    const watch = watchTokens(nc, { userID: 'W3' });
    const { seen, done } = collect(watch);
    const { token: _secret, ...withoutToken } = token('W3', '2026-01-01T21:30:05.000Z');
    await publish(withoutToken, 'W3');
    nc.publish(Subjects.refreshed('W3'), new TextEncoder().encode('not json'));
    await publish(token('OTHER', '2026-01-01T21:30:05.000Z'), 'W3'); // wrong user for the subject
    const valid = token('W3', '2026-01-01T21:30:06.000Z');
    await publish(valid, 'W3');
    await waitFor('the valid token', () => seen.length === 1);
    expect(seen[0]).toEqual(valid);
    expect(watch.invalid).toBe(3);
    watch.stop();
    await done;
  });

  it('watches every user when no user is given, each with its own ordering', async () => {
    const a = token('ALL-A', '2026-01-01T21:30:05.000Z');
    await putKv(a);
    const watch = watchTokens(nc);
    const { seen, done } = collect(watch);
    await waitFor('the KV token of ALL-A', () => seen.some((t) => t.eventId === a.eventId));

    const b = token('ALL-B', '2026-01-01T21:30:00.000Z'); // older than A's, but another user
    await publish(b, 'ALL-B');
    await publish(token('ALL-A', '2025-12-31T21:30:05.000Z'), 'ALL-A'); // older for A
    const a2 = token('ALL-A', '2026-01-02T21:30:05.000Z');
    await publish(a2, 'ALL-A');
    await waitFor('the second token of ALL-A', () => seen.some((t) => t.eventId === a2.eventId));
    watch.stop();
    await done;
    const relevant = seen.filter((t) => t.userID.startsWith('ALL-'));
    expect(relevant.map((t) => t.eventId)).toEqual([a.eventId, b.eventId, a2.eventId]);
  });

  it('yields a token published before it started but written to the bucket only after its first read', async () => {
    // iifl-auth published it before the engine started; persistence has not stored it yet.
    const late = token('ST1', '2026-01-02T21:30:05.000Z');
    await publish(late, 'ST1');
    const marker = token('ST-MARK', '2026-01-02T21:30:06.000Z');
    await putKv(marker);
    const watch = watchTokens(nc);
    const { seen, done } = collect(watch);
    await waitFor("the bucket's current tokens", () => seen.some((t) => t.eventId === marker.eventId));
    expect(seen.filter((t) => t.userID === 'ST1')).toEqual([]);

    await putKv(late);
    await waitFor('the token written after the first read', () => seen.some((t) => t.eventId === late.eventId));
    watch.stop();
    await done;
    expect(seen.filter((t) => t.userID === 'ST1').map((t) => t.eventId)).toEqual([late.eventId]);
  });

  it('rejects an unsafe user id', () => {
    expect(() => watchTokens(nc, { userID: 'x.>' })).toThrow(InvalidUserIdError);
    expect(() => watchTokens(nc, { userID: '' })).toThrow(InvalidUserIdError);
  });

  it('ends the iteration on stop() and on break, and unsubscribes', async () => {
    const watch = watchTokens(nc, { userID: 'W4' });
    const pending = watch[Symbol.asyncIterator]().next();
    watch.stop();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });

    await putKv(token('W5', '2026-01-01T21:30:05.000Z'));
    const second = watchTokens(nc, { userID: 'W5' });
    for await (const t of second) {
      expect(t.userID).toBe('W5');
      break;
    }
    // After break, nothing more arrives: the loop would otherwise not have ended.
    await expect(second[Symbol.asyncIterator]().next()).resolves.toEqual({ value: undefined, done: true });
  });
});
