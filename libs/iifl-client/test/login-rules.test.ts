import { FailureCode } from '@refresher/contracts';
import { generateAccounts, type SimAccount, type Simulator } from '@refresher/iifl-sim';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IiflError, IiflSessionInvalidError, type IiflClientHandle } from '../src/index.ts';
import { clientFor, credentialsOf, rejection, startSim, virtualClock } from './sim-harness.ts';

/** The client's rules against the simulator in its default (documented) shape: keys, waits, TOTP steps, faults. */
const accounts = generateAccounts(6, 'rules');
const [alice, bob, carol] = accounts as [SimAccount, SimAccount, SimAccount];
const clock = virtualClock();
let sim: Simulator;
const clients: IiflClientHandle[] = [];

function client(env: Record<string, string> = {}): IiflClientHandle {
  const c = clientFor(sim, clock, env);
  clients.push(c);
  return c;
}

/** The simulator's default rate limits plus the overrides (0 = no limit). */
function rateLimits(overrides: Record<string, number> = {}): Record<string, number> {
  return { enckey: 0, validatepassword: 0, validatetotp: 0, getusersession: 3, profile: 3, logout: 2, ...overrides };
}

beforeAll(async () => {
  sim = await startSim([...accounts, { ...accounts[5]!, clientId: 'BLOCKED1', blocked: true }], clock);
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  // Each test in a fresh TOTP step and rate-limit window.
  clock.advance(60_000);
  sim.setKnobs({
    inject: [],
    errorRate: 0,
    hangRate: 0,
    outage: false,
    minKeyAssociationMs: 0,
    serverKeyTtlMs: 300_000,
    rateLimits: rateLimits(),
  });
  sim.resetStats();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe('key pairs', () => {
  it('shares one key pair across logins by default, and makes a new one after IIFL_KEYPAIR_MAX_AGE_MS', async () => {
    const iifl = client({ IIFL_KEYPAIR_MAX_AGE_MS: '600000' });
    await Promise.all([iifl.login(credentialsOf(alice)), iifl.login(credentialsOf(bob))]);
    expect(iifl.keyPairsGenerated()).toBe(1);
    clock.advance(600_000);
    await iifl.login(credentialsOf(carol));
    expect(iifl.keyPairsGenerated()).toBe(2);
    expect(sim.stats().sessionsIssued).toBe(3);
  });

  it('per-login makes a new pair for every login, as the existing system did', async () => {
    const iifl = client({ IIFL_KEYPAIR_POLICY: 'per-login' });
    await iifl.login(credentialsOf(alice));
    await iifl.login(credentialsOf(bob));
    expect(iifl.keyPairsGenerated()).toBe(2);
  });
});

describe('the key-association wait', () => {
  it('adaptive: no wait while IIFL accepts fresh keys at once', async () => {
    const before = clock.sleeps.length;
    await client({ IIFL_KEY_ASSOCIATION_DELAY_MS: '10000' }).login(credentialsOf(alice));
    expect(clock.sleeps.slice(before)).toEqual([]);
  });

  it('adaptive: a fresh key refused once, the password step again after the delay, and a wait from then on', async () => {
    sim.setKnobs({ minKeyAssociationMs: 10_000 });
    const iifl = client({ IIFL_KEY_ASSOCIATION_DELAY_MS: '10000' });
    const before = clock.sleeps.length;
    await iifl.login(credentialsOf(alice));
    expect(clock.sleeps.slice(before)).toEqual([10_000]);
    // The first password call met EC062 before its envelope was opened: the password was judged once.
    expect(sim.stats().clients[alice.clientId]).toMatchObject({ passwordAttempts: 1, sessionsIssued: 1 });
    expect(sim.stats().failuresByCode['EC062']).toBe(1);
    expect(iifl.keyAssociationHosts()).toEqual([sim.baseUrl]);
    await iifl.login(credentialsOf(bob));
    expect(sim.stats().clients[bob.clientId]).toMatchObject({ passwordAttempts: 1, sessionsIssued: 1 });
    expect(sim.stats().failuresByCode['EC062']).toBe(1);
  });

  it('always: the existing system wait before every password step', async () => {
    sim.setKnobs({ minKeyAssociationMs: 10_000 });
    const before = clock.sleeps.length;
    await client({ IIFL_KEY_ASSOCIATION_WAIT: 'always', IIFL_KEY_ASSOCIATION_DELAY_MS: '10000' }).login(credentialsOf(alice));
    expect(clock.sleeps.slice(before)).toEqual([10_000]);
    expect(sim.stats().clients[alice.clientId]).toMatchObject({ passwordAttempts: 1 });
  });

  it('a wait shorter than the association time fails as ENCRYPTION_KEY_REJECTED (retryable), after one repeat', async () => {
    sim.setKnobs({ minKeyAssociationMs: 10_000 });
    const error = await rejection(client({ IIFL_KEY_ASSOCIATION_DELAY_MS: '5000' }).login(credentialsOf(alice)));
    expect(error).toMatchObject({ code: FailureCode.EncryptionKeyRejected, brokerCode: 'EC062', retryable: true });
  });

  it('an expired server key (EC062) fails retryable and drops the shared pair', async () => {
    sim.setKnobs({ serverKeyTtlMs: 5_000 });
    const iifl = client({ IIFL_KEY_ASSOCIATION_WAIT: 'always', IIFL_KEY_ASSOCIATION_DELAY_MS: '6000' });
    const error = await rejection(iifl.login(credentialsOf(alice)));
    expect(error).toMatchObject({ code: FailureCode.EncryptionKeyRejected, brokerCode: 'EC062', retryable: true });
    sim.setKnobs({ serverKeyTtlMs: 300_000 });
    await iifl.login(credentialsOf(bob));
    expect(iifl.keyPairsGenerated()).toBe(2);
  });
});

describe('TOTP steps', () => {
  it('a second login of one user in the same 30 s step waits for the next step', async () => {
    const iifl = client();
    const first = await iifl.login(credentialsOf(alice));
    const stepStart = Math.floor(first.loginTime.getTime() / 30_000) * 30_000;
    const before = clock.sleeps.length;
    const second = await iifl.login(credentialsOf(alice));
    expect(clock.sleeps.slice(before)).toEqual([stepStart + 30_000 - first.loginTime.getTime()]);
    expect(second.loginTime.getTime()).toBe(stepStart + 30_000);
    expect(sim.stats().totpStepReuse).toBe(0);
  });

  it('does not hold back a login of another user in the same step', async () => {
    const iifl = client();
    await iifl.login(credentialsOf(alice));
    const before = clock.sleeps.length;
    await iifl.login(credentialsOf(bob));
    expect(clock.sleeps.length).toBe(before);
  });

  it('without the guard the simulator refuses the reused code (what the guard prevents)', async () => {
    // Two separate clients share no guard: the second sends the step the first used, then the next
    // step's code once (the EC036 allowance), which the simulator takes.
    await client().login(credentialsOf(alice));
    await client().login(credentialsOf(alice));
    expect(sim.stats().totpStepReuse).toBe(1);
    expect(sim.stats().clients[alice.clientId]).toMatchObject({ passwordAttempts: 2, totpAttempts: 3 });
  });
});

describe('codes forced with the inject knob', () => {
  const rows: Array<[string, 'enckey' | 'validatepassword' | 'validatetotp' | 'getusersession', FailureCode, boolean]> = [
    ['EC014', 'validatepassword', FailureCode.AccountBlocked, false],
    ['EC081', 'validatepassword', FailureCode.AccountBlocked, false],
    ['EC063', 'validatepassword', FailureCode.BadCredentials, false],
    ['EC034', 'validatetotp', FailureCode.BadTotp, false],
    ['EC043', 'validatetotp', FailureCode.TotpNotEnabled, false],
    ['EC055', 'validatetotp', FailureCode.AppNotAuthorised, false],
    ['EC056', 'enckey', FailureCode.EncryptionKeyRejected, true],
    ['EC044', 'validatetotp', FailureCode.LoginExpired, true],
    ['EC003', 'getusersession', FailureCode.RateLimited, true],
    ['EC003', 'enckey', FailureCode.RateLimited, true],
    ['EC901', 'enckey', FailureCode.UnexpectedResponse, true],
    ['EC901', 'getusersession', FailureCode.BrokerRejected, false],
  ];

  it.each(rows)('%s on %s -> %s (retryable %s)', async (code, endpoint, failure, retryable) => {
    sim.setKnobs({ inject: [{ endpoint, code, remaining: 1 }] });
    const error = await rejection(client().login(credentialsOf(alice)));
    expect(error).toBeInstanceOf(IiflError);
    expect(error).toMatchObject({ code: failure, brokerCode: code, retryable, endpoint });
    expect(error.message).toContain(code);
  });

  it('EC057 twice on the password step: the step once more (adaptive wait), then ENCRYPTION_KEY_REJECTED', async () => {
    sim.setKnobs({ inject: [{ endpoint: 'validatepassword', code: 'EC057', remaining: 2 }] });
    const error = await rejection(client().login(credentialsOf(alice)));
    expect(error).toMatchObject({
      code: FailureCode.EncryptionKeyRejected,
      brokerCode: 'EC057',
      retryable: true,
      endpoint: 'validatepassword',
    });
    expect(sim.stats().injectedFaults).toBe(2);
  });

  it('never puts a credential into the error, even when IIFL echoes one back', async () => {
    const echo = `Invalid userId or password ${alice.password} for app ${alice.appKey} / ${alice.appSecret}`;
    sim.setKnobs({ inject: [{ endpoint: 'validatepassword', code: 'EC016', message: echo, remaining: 1 }] });
    const error = await rejection(client().login(credentialsOf(alice)));
    expect(error).toMatchObject({ code: FailureCode.BadCredentials });
    expect(error.message).toContain('[redacted]');
    for (const secret of [alice.password, alice.appKey, alice.appSecret]) expect(error.message + error.stack).not.toContain(secret);
  });

  it('EC044 / HTTP 401 on profile -> session invalid; logout ends the session', async () => {
    const iifl = client();
    const { token } = await iifl.login(credentialsOf(alice));
    sim.setKnobs({ inject: [{ endpoint: 'profile', code: 'EC044', remaining: 1 }] });
    const byCode = await rejection(iifl.checkToken(token));
    expect(byCode).toMatchObject({ name: 'IiflSessionInvalidError', brokerCode: 'EC044', sessionInvalid: true });
    await iifl.logout(token);
    const byStatus = await rejection(iifl.checkToken(token));
    expect(byStatus).toBeInstanceOf(IiflSessionInvalidError);
    expect(byStatus.message).not.toContain(token);
  });

  it('a later login ends the earlier session (the simulator does, IIFL may)', async () => {
    const iifl = client();
    const first = await iifl.login(credentialsOf(carol));
    clock.advance(30_000);
    await iifl.login(credentialsOf(carol));
    expect(await rejection(iifl.checkToken(first.token))).toMatchObject({ sessionInvalid: true });
  });
});

describe('fault knobs', () => {
  it('rate limit (HTTP 429) -> RATE_LIMITED', async () => {
    sim.setKnobs({ rateLimits: rateLimits({ enckey: 1 }) });
    const iifl = client();
    await iifl.login(credentialsOf(alice));
    // The clock has not moved: the second key exchange falls in the same second.
    const error = await rejection(iifl.login(credentialsOf(bob)));
    expect(error).toMatchObject({ code: FailureCode.RateLimited, brokerCode: 'HTTP 429', retryable: true, endpoint: 'enckey' });
  });

  it('server errors (errorRate 1) -> BROKER_UNAVAILABLE', async () => {
    sim.setKnobs({ errorRate: 1 });
    const error = await rejection(client().login(credentialsOf(alice)));
    expect(error).toMatchObject({ code: FailureCode.BrokerUnavailable, retryable: true });
    expect(['HTTP 500', 'HTTP 502', 'HTTP 503']).toContain((error as IiflError).brokerCode);
  });

  it('outage -> BROKER_UNAVAILABLE', async () => {
    sim.setKnobs({ outage: true });
    const error = await rejection(client().login(credentialsOf(alice)));
    expect(error).toMatchObject({ code: FailureCode.BrokerUnavailable, brokerCode: 'HTTP 503' });
  });

  it('a call that never answers -> TIMEOUT after IIFL_TIMEOUT_MS', async () => {
    sim.setKnobs({ hangRate: 1 });
    const error = await rejection(client({ IIFL_TIMEOUT_MS: '300' }).login(credentialsOf(alice)));
    expect(error).toMatchObject({ code: FailureCode.Timeout, retryable: true, endpoint: 'enckey' });
    expect(sim.stats().hungRequests).toBe(1);
  });

  it('connection refused -> BROKER_UNAVAILABLE', async () => {
    const closed = await startSim([alice], clock);
    const url = closed.baseUrl;
    await closed.close();
    const error = await rejection(clientFor({ ...sim, baseUrl: url }, clock).login(credentialsOf(alice)));
    expect(error).toMatchObject({ code: FailureCode.BrokerUnavailable, brokerCode: null });
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('a caller abort ends the login at once', async () => {
    sim.setKnobs({ hangRate: 1 });
    const controller = new AbortController();
    const login = client({ IIFL_TIMEOUT_MS: '30000' }).login(credentialsOf(alice), controller.signal);
    setTimeout(() => controller.abort(), 50);
    const error = await rejection(login);
    expect(error).toMatchObject({ code: FailureCode.Timeout });
    expect(error.message).toContain('aborted');
  });
});
