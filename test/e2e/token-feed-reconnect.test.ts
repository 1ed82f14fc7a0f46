import { afterEach, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { TokenRefreshed } from '@refresher/contracts';
import { generateAccounts, type SimAccount } from '@refresher/iifl-sim';
import { getCurrentToken, watchTokens, type TokenWatch } from '@refresher/token-feed';
import { startTcpProxy, waitFor, type TcpProxy } from '@refresher/testkit';
import { useSystem } from './harness.ts';

/**
 * A trading engine whose NATS connection runs through a TCP proxy. The proxy is cut, the real
 * services log users in (the simulator as IIFL) while the engine is away, the proxy comes back:
 * the engine must then hold each user's newest token, and never have gone back to an older one.
 */
describe('token feed across a dropped engine connection, end to end', () => {
  const [a, b] = generateAccounts(2, 'e2e-feed-reconnect') as [SimAccount, SimAccount];
  const system = useSystem(
    [a, b],
    [
      { ...a, clientName: 'Reconnect A' },
      { ...b, clientName: 'Reconnect B' },
    ],
  );
  let proxy: TcpProxy | undefined;
  let engine: NatsConnection | undefined;
  afterEach(async () => {
    await engine?.close();
    await proxy?.close();
  });

  /** Refreshes one user through the gateway and returns the token event the pipeline published. */
  async function refresh(userID: string, after = 0): Promise<TokenRefreshed> {
    const res = await system.api(`/tokens/refresh/${userID}`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ success: true, userID });
    const event = await waitFor(
      `a new token event for ${userID}`,
      () => system.events.filter((e) => e.subject === `tokens.refreshed.${userID}`).slice(after)[0],
    );
    return TokenRefreshed.parse(event.data);
  }
  const publishedFor = (userID: string) => system.events.filter((e) => e.subject === `tokens.refreshed.${userID}`).length;

  function collect(watch: TokenWatch) {
    const seen: TokenRefreshed[] = [];
    void (async () => {
      for await (const t of watch) seen.push(t);
    })();
    return seen;
  }
  const ids = (seen: TokenRefreshed[], userID: string) => seen.filter((t) => t.userID === userID).map((t) => t.eventId);
  /** Per user, every token yielded is later than the one before it. */
  function expectNeverBackwards(seen: TokenRefreshed[]): void {
    for (const userID of new Set(seen.map((t) => t.userID))) {
      const times = seen.filter((t) => t.userID === userID).map((t) => Date.parse(t.loginTime));
      expect(times, `tokens of ${userID} in the order yielded`).toEqual([...times].sort((x, y) => x - y));
      expect(new Set(times).size).toBe(times.length);
    }
  }

  it(
    'holds the newest token per user once reconnected, after logins that happened while it was cut off',
    { timeout: 180_000 },
    async () => {
      proxy = await startTcpProxy(system.nats.url);
      const nc = await connect({ servers: proxy.url, reconnectTimeWait: 100, reconnectJitter: 0, maxReconnectAttempts: -1 });
      engine = nc;
      const statuses: string[] = [];
      void (async () => {
        for await (const s of nc.status()) statuses.push(s.type);
      })();
      const all = collect(watchTokens(nc));
      const onlyB = collect(watchTokens(nc, { userID: b.clientId }));

      // Before the cut: B's first token reaches the engine live.
      const b1 = await refresh(b.clientId);
      await waitFor(
        "B's first token at the engine",
        () => ids(all, b.clientId).includes(b1.eventId) && ids(onlyB, b.clientId).includes(b1.eventId),
      );

      proxy.cut();
      await waitFor('the engine to notice the cut', () => statuses.includes('disconnect'));

      // While the engine is away: A logs in twice (the second waits for IIFL's next TOTP step), B once more.
      const a1 = await refresh(a.clientId);
      const [a2, b2] = await Promise.all([refresh(a.clientId, publishedFor(a.clientId)), refresh(b.clientId, publishedFor(b.clientId))]);
      expect(Date.parse(a2.loginTime)).toBeGreaterThan(Date.parse(a1.loginTime));
      expect(Date.parse(b2.loginTime)).toBeGreaterThan(Date.parse(b1.loginTime));
      // The pipeline's outcome: the bucket holds each user's newest token before the engine is let back.
      for (const newest of [a2, b2]) {
        await waitFor(
          `the bucket to hold ${newest.userID}'s newest token`,
          async () => (await getCurrentToken(system.nc, newest.userID))?.eventId === newest.eventId,
        );
      }
      // Every one of these publications happened while the engine was cut off, so it missed them.
      expect(statuses).not.toContain('reconnect');
      expect(proxy.open).toBe(0);
      expect(all.map((t) => t.eventId)).toEqual([b1.eventId]);
      expect(onlyB.map((t) => t.eventId)).toEqual([b1.eventId]);

      proxy.restore();
      await waitFor(
        'the newest tokens at the engine',
        () => ids(all, a.clientId).includes(a2.eventId) && ids(all, b.clientId).includes(b2.eventId),
      );
      await waitFor("B's newest token at B's engine", () => ids(onlyB, b.clientId).includes(b2.eventId));
      expect(statuses).toContain('reconnect');

      // What the engine holds last, per user, is the newest token, and it is the one the table holds.
      for (const [seen, newest] of [
        [all, a2],
        [all, b2],
        [onlyB, b2],
      ] as const) {
        expect(ids(seen, newest.userID).at(-1)).toBe(newest.eventId);
        const held = seen.filter((t) => t.userID === newest.userID).at(-1)!;
        expect(
          held.token === (await system.row(newest.userID)).token,
          `the engine's last token of ${newest.userID} is the stored one`,
        ).toBe(true);
      }
      expect(ids(all, a.clientId)).not.toContain(a1.eventId);
      expectNeverBackwards(all);
      expectNeverBackwards(onlyB);
    },
  );
});
