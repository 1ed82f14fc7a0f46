import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connect, RetentionPolicy, type KV, type NatsConnection } from 'nats';
import { FailureCode, Streams, TokenRefreshed, type TokenInvalidated } from '@refresher/contracts';
import { IiflError, IiflSessionInvalidError } from '@refresher/iifl-client';
import { createLogger, encodeJson, ensureTopology, fileStream, loadConfig } from '@refresher/platform';
import { startNats, type TestNats } from '@refresher/testkit';
import { iiflAuthConfigSchema } from '../src/index.ts';
import { checkUser, type TokenCheckDeps } from '../src/token-check.ts';
import { createTokenCheckMarks } from '../src/token-check-marks.ts';
import { mayRetry } from '../src/token-invalidation.ts';
import { startTokenWatch, type WatchClock } from '../src/token-watch.ts';
import { DUE_FRACTION } from '../src/token-watch-setup.ts';

const log = createLogger('token-watch-test', 'silent');
const INTERVAL_MS = 60_000;
const noAbort = new AbortController().signal;

/** A clock that jumps to each wake-up time at once: the order and spacing of visits without waiting. */
function virtualClock(start = 0): WatchClock & { t: number } {
  const clock = {
    t: start,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.t += Math.max(0, ms);
      // A turn of the event loop, as a real timer gives: I/O and the test itself go on meanwhile.
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
  return clock;
}

describe('TOKEN_CHECK_INTERVAL_MS', () => {
  const CREDENTIALS_KEY = Buffer.alloc(32, 7).toString('base64');
  const interval = (value?: string) =>
    loadConfig(iiflAuthConfigSchema, { CREDENTIALS_KEY, ...(value === undefined ? {} : { TOKEN_CHECK_INTERVAL_MS: value }) })
      .TOKEN_CHECK_INTERVAL_MS;

  it('is 15 minutes unless set; 0 turns the watch off; anything shorter than a second is refused', () => {
    expect(interval()).toBe(900_000);
    expect(interval('0')).toBe(0);
    expect(interval('60000')).toBe(60_000);
    expect(() => interval('500')).toThrow(/TOKEN_CHECK_INTERVAL_MS must be 0 \(off\) or at least 1000/);
    expect(() => interval('-1')).toThrow(/TOKEN_CHECK_INTERVAL_MS/);
  });
});

describe('the watch spreads its visits over the interval', () => {
  it('visits each user once per cycle, one every interval/N, the first a step after the start; a new user joins the next cycle', async () => {
    const clock = virtualClock(1_000);
    const visits: Array<{ at: number; userID: string }> = [];
    let users = ['U3', 'U1', 'U2', 'U4'];
    await new Promise<void>((done) => {
      const watch = startTokenWatch({
        listUsers: async () => users,
        check: async (userID) => {
          visits.push({ at: clock.now(), userID });
          if (visits.length === 4) users = [...users, 'U5'];
          if (visits.length === 9) void watch.stop().then(done);
        },
        intervalMs: INTERVAL_MS,
        maxInFlight: 16,
        log,
        clock,
      });
    });
    const step4 = INTERVAL_MS / 4;
    const step5 = INTERVAL_MS / 5;
    expect(visits.slice(0, 4)).toEqual(['U1', 'U2', 'U3', 'U4'].map((userID, i) => ({ userID, at: 1_000 + (i + 1) * step4 })));
    const second = 1_000 + INTERVAL_MS;
    expect(visits.slice(4)).toEqual(['U1', 'U2', 'U3', 'U4', 'U5'].map((userID, i) => ({ userID, at: second + (i + 1) * step5 })));
  });

  it('passes a slot over while its visits are all busy, never starting two at once beyond the bound', async () => {
    const clock = virtualClock();
    const started: string[] = [];
    const release: Array<() => void> = [];
    const watch = startTokenWatch({
      listUsers: async () => ['A', 'B', 'C'],
      check: (userID) => {
        started.push(userID);
        return new Promise<void>((resolve) => release.push(resolve));
      },
      intervalMs: INTERVAL_MS,
      maxInFlight: 1,
      log,
      clock,
    });
    while (clock.now() < 2 * INTERVAL_MS) await new Promise((r) => setImmediate(r));
    const stopped = watch.stop();
    for (const r of release) r();
    await stopped;
    // A's visit never ended within those two cycles: every later slot found the one visit busy.
    expect(started).toEqual(['A']);
  });
});

describe('checking stored tokens across replicas', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let tokensKv: KV;
  let marksKv: KV;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    tokensKv = await nc.jetstream().views.kv('test-tokens', { history: 1 });
    marksKv = await nc.jetstream().views.kv('test-token-checks', { history: 1 });
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.dispose();
  });

  /** What IIFL says per token: its client id, or the error `checkToken` throws. */
  let profiles: Map<string, string | Error>;
  let profileCalls: string[];
  let announced: TokenInvalidated[];
  let refreshes: string[];
  let refreshAnswer: string | null;
  let followUps: Promise<unknown>[];
  let now: Date;

  // Each test has users of its own: the buckets are not emptied in between.
  beforeEach(() => {
    profiles = new Map();
    profileCalls = [];
    announced = [];
    refreshes = [];
    refreshAnswer = null;
    followUps = [];
    now = new Date('2026-12-02T05:00:00.000Z');
  });

  /** One replica: its own marks object over the shared bucket, the shared fake IIFL. */
  function replica(): TokenCheckDeps {
    return {
      tokensKv,
      marks: createTokenCheckMarks({ kv: marksKv, dueAfterMs: INTERVAL_MS * DUE_FRACTION }),
      client: {
        checkToken: async (token) => {
          profileCalls.push(token);
          const answer = profiles.get(token);
          if (answer === undefined) throw new Error('unknown token');
          if (answer instanceof Error) throw answer;
          return { clientId: answer };
        },
      },
      publishInvalidated: async (event) => void announced.push(event),
      refresh: async (userID) => {
        refreshes.push(userID);
        return refreshAnswer;
      },
      refreshWaitMs: 3 * 60_000,
      detach: (task) => void followUps.push(task),
      now: () => now,
      log,
    };
  }

  async function storeToken(userID: string, options: Partial<TokenRefreshed> = {}): Promise<TokenRefreshed> {
    const token = TokenRefreshed.parse({
      v: 1,
      eventId: randomUUID(),
      runId: null,
      userID,
      token: `token-of-${userID}-${randomUUID()}`,
      tokenValidity: '2026-12-02T18:29:00.000Z',
      loginTime: '2026-12-02T03:00:00.000Z',
      source: 'login',
      attempts: 1,
      ...options,
    });
    await tokensKv.put(userID, encodeJson(token));
    profiles.set(token.token, userID);
    return token;
  }

  const later = (ms: number) => (now = new Date(now.getTime() + ms));

  it('two replicas visiting the same users at once check each token once, and not again within the interval', async () => {
    const users = ['R1', 'R2', 'R3', 'R4', 'R5'];
    for (const userID of users) await storeToken(userID);
    const [a, b] = [replica(), replica()];
    const both = () => Promise.all(users.flatMap((userID) => [checkUser(a, userID, noAbort), checkUser(b, userID, noAbort)]));

    const first = await both();
    expect(first.filter((r) => r === 'alive')).toHaveLength(users.length);
    expect(first.filter((r) => r === 'taken')).toHaveLength(users.length);
    expect(profileCalls).toHaveLength(users.length);

    later(INTERVAL_MS / 2);
    expect(new Set(await both())).toEqual(new Set(['taken']));
    expect(profileCalls).toHaveLength(users.length);

    later(INTERVAL_MS / 2);
    await both();
    expect(profileCalls).toHaveLength(2 * users.length);
  });

  it('never checks a token a partner pushed, nor one past its validity, nor a user without a token', async () => {
    await storeToken('P1', { source: 'push' });
    await storeToken('X1', { tokenValidity: '2026-12-02T04:59:59.000Z' });
    const deps = replica();
    expect(await checkUser(deps, 'P1', noAbort)).toBe('not-watched');
    expect(await checkUser(deps, 'X1', noAbort)).toBe('not-watched');
    expect(await checkUser(deps, 'NOBODY', noAbort)).toBe('not-watched');
    expect(profileCalls).toEqual([]);
  });

  it('a dead session is announced once, without the token, and refreshed; the same dead token is not checked again', async () => {
    const token = await storeToken('D1');
    profiles.set(token.token, new IiflSessionInvalidError('IIFL profile: session invalid: HTTP 401 EC044', { brokerCode: 'EC044' }));
    const deps = replica();
    expect(await checkUser(deps, 'D1', noAbort)).toBe('invalidated');
    await Promise.all(followUps);
    expect(announced).toHaveLength(1);
    expect(announced[0]).toMatchObject({ userID: 'D1', loginTime: token.loginTime, reason: 'SESSION_INVALID', brokerCode: 'EC044' });
    expect(announced[0]!.invalidatedAt).toBe(now.toISOString());
    expect(JSON.stringify(announced[0])).not.toContain(token.token);
    expect(refreshes).toEqual(['D1']);

    // The refresh ended for good (a login link sent, say): the dead token is left alone.
    later(INTERVAL_MS);
    expect(await checkUser(deps, 'D1', noAbort)).toBe('known-dead');
    expect(profileCalls).toHaveLength(1);
    expect(announced).toHaveLength(1);
    expect(refreshes).toEqual(['D1']);

    // A newer token is watched afresh.
    await storeToken('D1', { loginTime: '2026-12-02T05:00:30.000Z' });
    later(INTERVAL_MS);
    expect(await checkUser(deps, 'D1', noAbort)).toBe('alive');
  });

  it('a refresh that may pass on its own is started again next interval, without a second announcement', async () => {
    const token = await storeToken('D2');
    profiles.set(token.token, new IiflSessionInvalidError('IIFL profile: session invalid: HTTP 401', { brokerCode: 'HTTP 401' }));
    refreshAnswer = now.toISOString();
    const deps = replica();
    expect(await checkUser(deps, 'D2', noAbort)).toBe('invalidated');
    await Promise.all(followUps);
    later(INTERVAL_MS / 2);
    expect(await checkUser(deps, 'D2', noAbort)).toBe('taken');
    later(INTERVAL_MS / 2);
    expect(await checkUser(deps, 'D2', noAbort)).toBe('refreshed-again');
    await Promise.all(followUps);
    expect(refreshes).toEqual(['D2', 'D2']);
    expect(announced).toHaveLength(1);
    expect(profileCalls).toHaveLength(1);
  });

  it('a profile of another client is a dead token; a transient fault is no verdict', async () => {
    const foreign = await storeToken('W1');
    profiles.set(foreign.token, 'SOMEONE-ELSE');
    const busy = await storeToken('T1');
    profiles.set(
      busy.token,
      new IiflError('IIFL profile: HTTP 429 (RATE_LIMITED)', { code: FailureCode.RateLimited, brokerCode: 'HTTP 429' }),
    );
    const away = await storeToken('T2');
    profiles.set(away.token, new IiflError('IIFL profile: HTTP 503 (BROKER_UNAVAILABLE)', { code: FailureCode.BrokerUnavailable }));
    const deps = replica();
    expect(await checkUser(deps, 'W1', noAbort)).toBe('invalidated');
    expect(announced.map((e) => [e.userID, e.reason])).toEqual([['W1', 'WRONG_CLIENT']]);
    expect(await checkUser(deps, 'T1', noAbort)).toBe('unknown');
    expect(await checkUser(deps, 'T2', noAbort)).toBe('unknown');
    expect(announced).toHaveLength(1);
    await Promise.all(followUps);
    expect(refreshes).toEqual(['W1']);
  });

  it('starts a refresh again only after outcomes that may pass on their own', () => {
    expect(mayRetry(null)).toBe(true);
    expect(mayRetry({ outcome: 'failed', code: 'BROKER_UNAVAILABLE', message: null, tokenValidity: null })).toBe(true);
    expect(mayRetry({ outcome: 'failed', code: 'BAD_CREDENTIALS', message: null, tokenValidity: null })).toBe(false);
    expect(mayRetry({ outcome: 'skipped', code: 'LOGIN_REQUIRED', message: null, tokenValidity: null })).toBe(false);
    expect(mayRetry({ outcome: 'refreshed', code: null, message: null, tokenValidity: '2026-12-02T18:29:00.000Z' })).toBe(false);
  });

  it('an events stream made before tokens.invalidated existed gains the subject at start and keeps its messages', async () => {
    const jsm = await nc.jetstreamManager();
    const old = Streams.events.subjects.filter((s) => s !== 'tokens.invalidated.>');
    await jsm.streams.add(fileStream({ name: Streams.events.name, subjects: old }, { retention: RetentionPolicy.Limits }));
    await nc.jetstream().publish('tokens.skipped.OLD', encodeJson({ earlier: true }));
    await ensureTopology(nc, 1);
    const { config, state } = await jsm.streams.info(Streams.events.name);
    expect([...config.subjects].sort()).toEqual([...Streams.events.subjects].sort());
    expect(state.messages).toBe(1);
    await nc.jetstream().publish('tokens.invalidated.OLD', encodeJson({ later: true }));
    expect((await jsm.streams.info(Streams.events.name)).state.messages).toBe(2);
  });
});
