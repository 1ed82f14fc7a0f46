import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Subjects, TokenFailed, TokenRefreshed } from '@refresher/contracts';
import { createIiflClient, parseIiflClientConfig } from '@refresher/iifl-client';
import { generateAccounts, startSimulator, type SimAccount, type Simulator } from '@refresher/iifl-sim';
import { createLogger, decodeJson, loadConfig } from '@refresher/platform';
import { usePipeline, waitFor } from '@refresher/testkit';
import { inProcessAuthEnv, userOf } from './fixtures.ts';
import { publishRequest } from './publish-request.ts';
import { iiflAuthConfigSchema, startIiflAuth, type IiflAuth } from '../src/index.ts';

// A new token is used once (GET /profile) before it is stored and published. One that fails the
// check is a failed login with its own code, TOKEN_UNUSABLE, retried like a transient fault.
const [once, always] = generateAccounts(2, 'unusable') as [SimAccount, SimAccount];
const pipeline = usePipeline({ users: [userOf(once), userOf(always)] });

let sim: Simulator;
let auth: IiflAuth;
const received: Array<{ subject: string; payload: unknown }> = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0, accounts: [once, always] });
  // The first new session of `once` is refused by profile; every session of `always` is.
  sim.setKnobs({
    inject: [{ endpoint: 'profile', clientId: once.clientId, httpStatus: 401, remaining: 1 }],
    profileRefuses: [always.clientId],
  });
  for (const subject of [Subjects.refreshedAll, Subjects.failedAll]) {
    pipeline.nc.subscribe(subject, { callback: (_err, msg) => received.push({ subject: msg.subject, payload: decodeJson(msg.data) }) });
  }
  await pipeline.nc.flush();
  const config = loadConfig(
    iiflAuthConfigSchema,
    inProcessAuthEnv(pipeline.nats.url, sim.baseUrl, { LOG_LEVEL: 'silent', AUTH_RETRY_MAX_ATTEMPTS: '2', TOKEN_CHECK_INTERVAL_MS: '0' }),
  );
  auth = await startIiflAuth(config, { log: createLogger('iifl-auth', 'silent') });
});

afterAll(async () => {
  await auth?.stop();
  await sim?.close();
});

const eventFor = (subject: string, runId: string) =>
  waitFor(
    `an event on ${subject}`,
    () => received.find((r) => r.subject === subject && (r.payload as { runId: string }).runId === runId)?.payload,
    80_000,
  );

describe('a new token that does not answer profile', { timeout: 90_000 }, () => {
  it('is not published: the login is tried again, and the token that is published answers for the account', async () => {
    const [a, b] = await Promise.all([publishRequest(pipeline.nc, once.clientId), publishRequest(pipeline.nc, always.clientId)]);

    const refreshed = TokenRefreshed.parse(await eventFor(Subjects.refreshed(once.clientId), a.runId));
    expect(refreshed.attempts).toBe(2);
    const client = createIiflClient(parseIiflClientConfig({ IIFL_BASE_URL: sim.baseUrl }));
    expect((await client.checkToken(refreshed.token)).clientId.toUpperCase()).toBe(once.clientId.toUpperCase());

    const failed = TokenFailed.parse(await eventFor(Subjects.failed(always.clientId), b.runId));
    expect(failed).toMatchObject({ code: 'TOKEN_UNUSABLE', retryable: true, attempts: 2 });
    expect(received.filter((r) => r.subject === Subjects.refreshed(always.clientId))).toEqual([]);

    const stats = sim.stats().clients;
    // Each attempt is a whole login (the password sent again only because the fault may pass).
    expect(stats[once.clientId]?.sessionsIssued).toBe(2);
    expect(stats[always.clientId]?.sessionsIssued).toBe(2);
  });
});
