import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Consumers,
  DeadLetter,
  RefreshRequested,
  Streams,
  Subjects,
  TokenFailed,
  TokenRefreshed,
  TokenSkipped,
} from '@refresher/contracts';
import { encryptField, keyringFromEnv } from '@refresher/credential-crypto';
import { createIiflClient, parseIiflClientConfig, type IiflClientHandle } from '@refresher/iifl-client';
import { generateAccounts, startSimulator, type SimAccount, type Simulator } from '@refresher/iifl-sim';
import { createLogger, decodeJson, encodeJson, loadConfig } from '@refresher/platform';
import { integrationUser, usePipeline, waitFor } from '@refresher/testkit';
import { publishRequest } from './publish-request.ts';
import { iiflAuthConfigSchema, startIiflAuth, type IiflAuth, type IiflAuthEnv } from '../src/index.ts';

const CREDENTIALS_KEY = randomBytes(32).toString('base64');

interface Received {
  subject: string;
  payload: unknown;
}

/** A replica of iifl-auth whose log lines are kept for assertions. */
interface Replica {
  auth: IiflAuth;
  lines: string[];
}

const accounts: SimAccount[] = generateAccounts(17, 'iifl-auth-test');
const account = (i: number): SimAccount => accounts[i - 1]!;
const keyring = keyringFromEnv({ CREDENTIALS_KEY });
const pipeline = usePipeline({
  users: [
    ...accounts.map((a, i) => {
      const user = { userID: a.clientId, password: a.password, appKey: a.appKey, appSecret: a.appSecret, totpSecret: a.totpSecret };
      // Account 2 is stored with a wrong password; account 6 with every credential encrypted at rest.
      if (i + 1 === 2) user.password = 'not-the-password';
      if (i + 1 === 6) {
        for (const column of ['password', 'appKey', 'appSecret', 'totpSecret'] as const) {
          user[column] = encryptField(keyring, user[column], { table: 'IIFLUser', column, row: a.clientId });
        }
      }
      return user;
    }),
    integrationUser('PARTNER-1'),
  ],
  persistenceEnv: { EVENT_CONCURRENCY: '4' },
});
let sim: Simulator;
let checker: IiflClientHandle;
let main: Replica;
const received: Received[] = [];

function authEnv(extra: Partial<Record<keyof IiflAuthEnv, string>> = {}): Record<string, string> {
  return {
    NATS_URL: pipeline.nats.url,
    LOG_LEVEL: 'info',
    HEALTH_PORT: '0',
    IIFL_BASE_URL: sim.baseUrl,
    IIFL_KEY_ASSOCIATION_DELAY_MS: '0',
    AUTH_CONCURRENCY: '4',
    AUTH_RETRY_BASE_MS: '50',
    AUTH_RETRY_MAX_DELAY_MS: '200',
    AUTH_FETCH_EXPIRES_MS: '1000',
    AUTH_SHUTDOWN_GRACE_MS: '5000',
    CREDENTIALS_KEY,
    ...extra,
  };
}

async function startReplica(extra: Partial<Record<keyof IiflAuthEnv, string>> = {}): Promise<Replica> {
  const lines: string[] = [];
  const config = loadConfig(iiflAuthConfigSchema, authEnv(extra));
  const log = createLogger('iifl-auth', config.LOG_LEVEL, { write: (line: string) => void lines.push(line) });
  return { auth: await startIiflAuth(config, { log }), lines };
}

const request = (userID: string): Promise<RefreshRequested> => publishRequest(pipeline.nc, userID);

function eventsFor(subject: string, runId?: string): unknown[] {
  return received
    .filter((r) => r.subject === subject)
    .map((r) => r.payload)
    .filter((p) => runId === undefined || (p as { runId?: string }).runId === runId);
}

function waitForEvent(subject: string, runId: string): Promise<unknown> {
  return waitFor(`an event on ${subject}`, () => eventsFor(subject, runId)[0], 20_000);
}

const outcomeLines = (replica: Replica, outcome: string) =>
  replica.lines.filter((l) => (JSON.parse(l) as { outcome?: string }).outcome === outcome);

beforeAll(async () => {
  sim = await startSimulator({ port: 0, accounts });
  for (const subject of [Subjects.refreshedAll, Subjects.failedAll, Subjects.skippedAll, Subjects.deadLetterAll]) {
    pipeline.nc.subscribe(subject, { callback: (_err, msg) => received.push({ subject: msg.subject, payload: decodeJson(msg.data) }) });
  }
  await pipeline.nc.flush();
  checker = createIiflClient(parseIiflClientConfig({ IIFL_BASE_URL: sim.baseUrl }));
  main = await startReplica();
});

afterAll(async () => {
  await main?.auth.stop();
  await checker?.close();
  await sim?.close();
});

describe('iifl-auth', { timeout: 30_000 }, () => {
  it('logs a good user in and publishes a token the broker accepts', async () => {
    const user = account(1).clientId;
    const req = await request(user);
    const event = TokenRefreshed.parse(await waitForEvent(Subjects.refreshed(user), req.runId));
    expect(event).toMatchObject({ userID: user, runId: req.runId, source: 'login', attempts: 1 });
    expect(new Date(event.tokenValidity).getTime()).toBeGreaterThan(new Date(event.loginTime).getTime());
    await expect(checker.checkToken(event.token)).resolves.toEqual({ clientId: user });

    // The log says what happened, without the token or any credential.
    const line = await waitFor('the outcome logged', () => outcomeLines(main, 'refreshed').find((l) => l.includes(req.runId)));
    expect(JSON.parse(line)).toMatchObject({ userID: user, runId: req.runId, attempts: 1 });
    const allLogs = main.lines.join('\n');
    expect(allLogs).not.toContain(event.token);
    expect(allLogs).not.toContain(account(1).password);
    expect(allLogs).not.toContain(account(1).appSecret);
  });

  it('opens credentials encrypted at rest', async () => {
    const user = account(6).clientId;
    const req = await request(user);
    const event = TokenRefreshed.parse(await waitForEvent(Subjects.refreshed(user), req.runId));
    await expect(checker.checkToken(event.token)).resolves.toEqual({ clientId: user });
  });

  it('tries a rejected password exactly once and reports BAD_CREDENTIALS', async () => {
    const user = account(2).clientId;
    const req = await request(user);
    const event = TokenFailed.parse(await waitForEvent(Subjects.failed(user), req.runId));
    expect(event).toMatchObject({ code: 'BAD_CREDENTIALS', brokerCode: 'EC016', retryable: false, attempts: 1 });
    expect(event.message).not.toContain('not-the-password');
    expect(sim.stats().clients[user]?.passwordAttempts).toBe(1);
  });

  it('retries transient broker errors and succeeds on the third attempt', async () => {
    const user = account(3).clientId;
    sim.setKnobs({ inject: [{ endpoint: 'validatepassword', clientId: user, httpStatus: 503, remaining: 2 }] });
    const req = await request(user);
    const event = TokenRefreshed.parse(await waitForEvent(Subjects.refreshed(user), req.runId));
    expect({ attempts: event.attempts, failures: sim.stats().clients[user]?.failures }).toEqual({
      attempts: 3,
      failures: { 'HTTP 503': 2 },
    });
    expect(eventsFor(Subjects.failed(user))).toEqual([]);
    await expect(checker.checkToken(event.token)).resolves.toEqual({ clientId: user });
  });

  it('a request for an account whose login is under way joins it: one login, one outcome per run', async () => {
    const user = account(17).clientId;
    sim.setKnobs({ latencyMs: 150 });
    try {
      const first = await request(user);
      await waitFor('the first login under way', () => (sim.stats().clients[user]?.passwordAttempts === 1 ? true : undefined));
      const second = await request(user);
      const a = TokenRefreshed.parse(await waitForEvent(Subjects.refreshed(user), first.runId));
      const b = TokenRefreshed.parse(await waitForEvent(Subjects.refreshed(user), second.runId));
      // The second run got the first login's token without a login of its own.
      expect(b.token).toBe(a.token);
      expect(b.loginTime).toBe(a.loginTime);
      expect({ first: a.attempts, second: b.attempts }).toEqual({ first: 1, second: 0 });
      const stats = sim.stats().clients[user];
      expect({ passwords: stats?.passwordAttempts, sessions: stats?.sessionsIssued }).toEqual({ passwords: 1, sessions: 1 });
      const line = await waitFor('the joined outcome logged', () => outcomeLines(main, 'refreshed').find((l) => l.includes(second.runId)));
      expect(JSON.parse(line)).toMatchObject({ joined: true, attempts: 0 });
    } finally {
      sim.setKnobs({ latencyMs: 0 });
    }
  });

  it('skips an integration-managed user without logging in', async () => {
    const before = sim.stats();
    const req = await request('PARTNER-1');
    const event = TokenSkipped.parse(await waitForEvent(Subjects.skipped('PARTNER-1'), req.runId));
    expect(event.reason).toBe('INTEGRATION_MANAGED');
    const after = sim.stats();
    expect(after.clients['PARTNER-1']).toBeUndefined();
    expect(after.keyExchanges).toBe(before.keyExchanges);
    expect(after.loginsStarted).toBe(before.loginsStarted);
  });

  it('reports an unknown user as USER_NOT_FOUND', async () => {
    const req = await request('NOBODY-1');
    const event = TokenFailed.parse(await waitForEvent(Subjects.failed('NOBODY-1'), req.runId));
    expect(event).toMatchObject({ code: 'USER_NOT_FOUND', retryable: false, attempts: 0 });
  });

  it('dead-letters an invalid request and goes on with the next one', async () => {
    const user = account(4).clientId;
    const js = pipeline.nc.jetstream();
    await js.publish(Subjects.refreshRequested(user), new TextEncoder().encode('{not json'));
    const mismatched = RefreshRequested.parse({
      v: 1,
      eventId: randomUUID(),
      runId: 'run-mismatch',
      userID: account(5).clientId,
      trigger: 'cli',
      requestedAt: new Date().toISOString(),
    });
    await js.publish(Subjects.refreshRequested(user), encodeJson(mismatched));
    const req = await request(user);

    await waitForEvent(Subjects.refreshed(user), req.runId);
    const letters = await waitFor('two dead letters', () => {
      const all = eventsFor(Subjects.deadLetter('iifl-auth')).map((p) => DeadLetter.parse(p));
      return all.length >= 2 ? all : undefined;
    });
    expect(letters.map((l) => l.reason).sort()).toEqual(['payload is not JSON', 'subject userID does not match payload userID']);
    expect(letters.every((l) => l.source === 'iifl-auth' && l.subject === Subjects.refreshRequested(user))).toBe(true);
    expect(Buffer.from(letters.find((l) => l.reason === 'payload is not JSON')!.payload, 'base64').toString()).toBe('{not json');
    // Nothing was logged in for the mismatched payload's user.
    expect(eventsFor(Subjects.refreshed(account(5).clientId))).toEqual([]);
  });

  it('answers health with the number of requests in flight', async () => {
    const res = await fetch(`http://127.0.0.1:${main.auth.healthPort}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', inFlight: 0, keyPairsGenerated: expect.any(Number) });
  });

  it('shares the work between two replicas, each user refreshed exactly once', async () => {
    const second = await startReplica();
    try {
      const jsm = await pipeline.nc.jetstreamManager();
      // Both replicas are waiting for work before any is published.
      await waitFor('two pulls waiting', async () =>
        (await jsm.consumers.info(Streams.requests.name, Consumers.iiflAuth)).num_waiting >= 2 ? true : undefined,
      );
      const users = [7, 8, 9, 10, 11, 12, 13, 14].map((i) => account(i).clientId);
      const requests = await Promise.all(users.map((u) => request(u)));
      await Promise.all(requests.map((r) => waitForEvent(Subjects.refreshed(r.userID), r.runId)));

      for (const r of requests) {
        expect(eventsFor(Subjects.refreshed(r.userID))).toHaveLength(1);
        expect(sim.stats().clients[r.userID]?.sessionsIssued).toBe(1);
      }
      const handledBy = (replica: Replica) =>
        outcomeLines(replica, 'refreshed').filter((l) => users.includes((JSON.parse(l) as { userID: string }).userID)).length;
      // Each handler logs its outcome right after the ack, a moment after the event is out.
      await waitFor('every outcome logged', () => (handledBy(main) + handledBy(second) >= users.length ? true : undefined));
      // Each replica pulls at most AUTH_CONCURRENCY (4) at a time, so neither can take all eight.
      expect(handledBy(main)).toBeGreaterThan(0);
      expect(handledBy(second)).toBeGreaterThan(0);
      expect(handledBy(main) + handledBy(second)).toBe(users.length);
    } finally {
      await second.auth.stop();
    }
  });

  it('on stop, hands back a login that does not finish within the grace period', async () => {
    const user = account(15).clientId;
    sim.setKnobs({ hangRate: 1 });
    const stopping = await startReplica({ AUTH_SHUTDOWN_GRACE_MS: '300', IIFL_TIMEOUT_MS: '60000' });
    // Only the new replica may take the request.
    await main.auth.stop();
    try {
      const req = await request(user);
      await waitFor('the login to be in flight', () => (stopping.auth.inFlight() === 1 ? true : undefined));
      await stopping.auth.stop();
      const handedBack = outcomeLines(stopping, 'handed-back');
      expect(handedBack).toHaveLength(1);
      expect(JSON.parse(handedBack[0]!)).toMatchObject({ userID: user, runId: req.runId, why: 'shutting down' });
      expect(eventsFor(Subjects.failed(user))).toEqual([]);
      // The request is still in the work queue, for another replica.
      const info = await (await pipeline.nc.jetstreamManager()).streams.info(Streams.requests.name);
      expect(info.state.messages).toBe(1);
    } finally {
      sim.setKnobs({ hangRate: 0 });
    }
  });

  it('fails with CREDENTIALS_UNAVAILABLE after the last delivery when persistence does not answer', async () => {
    await pipeline.persistence.stop();
    // The handed-back request above would come back after its delay; purge it to keep this test's count clean.
    await (await pipeline.nc.jetstreamManager()).streams.purge(Streams.requests.name);
    main = await startReplica({ AUTH_NAK_DELAY_MS: '100', AUTH_CREDENTIALS_TIMEOUT_MS: '300' });
    const user = account(16).clientId;
    const req = await request(user);
    const event = TokenFailed.parse(await waitForEvent(Subjects.failed(user), req.runId));
    expect(event).toMatchObject({ code: 'CREDENTIALS_UNAVAILABLE', retryable: true, attempts: 0 });
    expect(outcomeLines(main, 'handed-back')).toHaveLength(4);
    expect(sim.stats().clients[user]).toBeUndefined();
  });
});
