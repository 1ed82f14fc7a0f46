import { FailureCode } from '@refresher/contracts';
import { generateAccounts, type SimAccount, type Simulator } from '@refresher/iifl-sim';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IiflError, IiflSessionInvalidError, jwtExpiry, totpCode, type IiflClientHandle } from '../src/index.ts';
import { clientFor, credentialsOf, rejection, startSim, virtualClock } from './sim-harness.ts';

const HOUR = 3_600_000;
const accounts = generateAccounts(6);
const [alice, bob, carol] = accounts as [SimAccount, SimAccount, SimAccount];
const clock = virtualClock();
let sim: Simulator;
const clients: IiflClientHandle[] = [];

function client(env: Record<string, string> = {}): IiflClientHandle {
  const c = clientFor(sim, clock, env);
  clients.push(c);
  return c;
}

/**
 * The simulator's knob schema wants every endpoint in `rateLimits` (0 = no limit); these are its
 * defaults plus the overrides.
 */
function rateLimits(overrides: Record<string, number> = {}): Record<string, number> {
  return { enckey: 0, validatepassword: 0, validatetotp: 0, getusersession: 3, profile: 3, logout: 2, ...overrides };
}

function secretsOf(account: SimAccount): string[] {
  return [account.password, account.appKey, account.appSecret, account.totpSecret];
}

/** No credential in an error's message, stack or cause. */
function expectNoSecrets(error: Error, account: SimAccount, extra: string[] = []): void {
  const text = [error.message, error.stack ?? '', error.cause instanceof Error ? `${error.cause.message}${error.cause.stack}` : ''].join('\n');
  for (const secret of [...secretsOf(account), ...extra]) expect(text).not.toContain(secret);
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
  sim.setKnobs({ inject: [], errorRate: 0, hangRate: 0, outage: false, minKeyAssociationMs: 0, rateLimits: rateLimits() });
  sim.resetStats();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe('login against the simulator', () => {
  it('runs the five steps and returns a session the profile call accepts', async () => {
    const iifl = client();
    const result = await iifl.login(credentialsOf(alice));
    expect(result.token.split('.')).toHaveLength(3);
    expect(result.loginTime).toEqual(clock.now());
    const stats = sim.stats();
    expect(stats.keyExchanges).toBe(1);
    expect(stats.clients[alice.clientId]).toMatchObject({ passwordAttempts: 1, totpAttempts: 1, sessionsIssued: 1 });
    expect(await iifl.checkToken(result.token)).toEqual({ clientId: alice.clientId });
    expect(iifl.keyPairsGenerated()).toBe(1);
  });

  it('logs out: the profile call then finds the session invalid', async () => {
    const iifl = client();
    const { token } = await iifl.login(credentialsOf(bob));
    await iifl.logout(token);
    const error = await rejection(iifl.checkToken(token));
    expect(error).toBeInstanceOf(IiflSessionInvalidError);
    expect(error).toMatchObject({ code: FailureCode.UnexpectedResponse, sessionInvalid: true, retryable: false });
    expect(error.message).not.toContain(token);
  });

  it('waits the key association delay between the key exchange and the password', async () => {
    sim.setKnobs({ minKeyAssociationMs: 10_000 });
    const before = clock.sleeps.length;
    await client({ IIFL_KEY_ASSOCIATION_DELAY_MS: '10000' }).login(credentialsOf(alice));
    expect(clock.sleeps.slice(before)).toEqual([10_000]);
  });

  it('fails with ENCRYPTION_KEY_REJECTED when the wait is shorter than the key association time', async () => {
    sim.setKnobs({ minKeyAssociationMs: 10_000 });
    const error = await rejection(client({ IIFL_KEY_ASSOCIATION_DELAY_MS: '5000' }).login(credentialsOf(alice)));
    expect(error).toMatchObject({ code: FailureCode.EncryptionKeyRejected, brokerCode: 'EC057', retryable: true });
  });

  it('reuses one key pair across logins within IIFL_KEYPAIR_MAX_AGE_MS, and makes a new one after', async () => {
    const iifl = client({ IIFL_KEYPAIR_MAX_AGE_MS: '600000' });
    await iifl.login(credentialsOf(alice));
    await iifl.login(credentialsOf(bob));
    expect(iifl.keyPairsGenerated()).toBe(1);
    clock.advance(600_000);
    await iifl.login(credentialsOf(carol));
    expect(iifl.keyPairsGenerated()).toBe(2);
    expect(sim.stats().sessionsIssued).toBe(3);
  });

  it('makes a new key pair for every login by default', async () => {
    const iifl = client();
    await iifl.login(credentialsOf(alice));
    await iifl.login(credentialsOf(bob));
    expect(iifl.keyPairsGenerated()).toBe(2);
  });
});

describe('TOTP step reuse', () => {
  it('a second login of one user in the same 30 s step waits for the next step', async () => {
    const iifl = client();
    const first = await iifl.login(credentialsOf(alice));
    const stepStart = Math.floor(first.loginTime.getTime() / 30_000) * 30_000;
    const before = clock.sleeps.length;
    const second = await iifl.login(credentialsOf(alice));
    expect(clock.sleeps.slice(before)).toEqual([stepStart + 30_000 - first.loginTime.getTime()]);
    expect(second.loginTime.getTime()).toBe(stepStart + 30_000);
    const stats = sim.stats();
    expect(stats.totpStepReuse).toBe(0);
    expect(stats.clients[alice.clientId]).toMatchObject({ totpAttempts: 2, sessionsIssued: 2 });
  });

  it('does not hold back a login of another user in the same step', async () => {
    const iifl = client();
    await iifl.login(credentialsOf(alice));
    const before = clock.sleeps.length;
    await iifl.login(credentialsOf(bob));
    expect(clock.sleeps.length).toBe(before);
  });

  it('without the guard the simulator refuses the reused code (what the guard prevents)', async () => {
    // Two separate clients share no guard: the second sends the step the first used.
    await client().login(credentialsOf(alice));
    const error = await rejection(client().login(credentialsOf(alice)));
    expect(error).toMatchObject({ code: FailureCode.BadTotp, brokerCode: 'EC036' });
    expect(sim.stats().totpStepReuse).toBe(1);
  });
});

describe('token validity', () => {
  // The simulator's session JWT expires at the next midnight IST: 2025-01-06T18:30Z for a login
  // on the morning of 2025-01-06 (IST), that is about 15.5 h after the login.
  it('is loginTime + IIFL_TOKEN_VALIDITY_HOURS when that is before the JWT exp', async () => {
    const result = await client({ IIFL_TOKEN_VALIDITY_HOURS: '12' }).login(credentialsOf(alice));
    const exp = jwtExpiry(result.token);
    expect(exp).not.toBeNull();
    expect(result.tokenValidity).toEqual(new Date(result.loginTime.getTime() + 12 * HOUR));
    expect(result.tokenValidity.getTime()).toBeLessThan(exp!.getTime());
  });

  it('is the JWT exp when that is before loginTime + IIFL_TOKEN_VALIDITY_HOURS', async () => {
    const result = await client({ IIFL_TOKEN_VALIDITY_HOURS: '20' }).login(credentialsOf(bob));
    expect(result.tokenValidity).toEqual(jwtExpiry(result.token));
    expect(result.tokenValidity.getTime()).toBeLessThan(result.loginTime.getTime() + 20 * HOUR);
    expect(result.tokenValidity.toISOString()).toMatch(/T18:30:00\.000Z$/);
  });
  // A token that is not a JWT cannot come from the simulator: covered in offline-rules.test.ts.
});

describe('errors the simulator produces from the account', () => {
  it('EC016 wrong password -> BAD_CREDENTIALS, and the password is not in the error', async () => {
    const error = await rejection(client().login({ ...credentialsOf(alice), password: 'wrong-password-123' }));
    expect(error).toBeInstanceOf(IiflError);
    expect(error).toMatchObject({ name: 'IiflError', code: FailureCode.BadCredentials, brokerCode: 'EC016', retryable: false });
    expect(error.message).toContain('EC016');
    expectNoSecrets(error, alice, ['wrong-password-123']);
    expect(sim.stats().clients[alice.clientId]?.passwordAttempts).toBe(1);
  });

  it('EC002 unknown client -> CLIENT_NOT_FOUND', async () => {
    const error = await rejection(client().login({ ...credentialsOf(alice), userID: 'NOSUCH1' }));
    expect(error).toMatchObject({ code: FailureCode.ClientNotFound, brokerCode: 'EC002' });
  });

  it('EC004 blocked account -> ACCOUNT_BLOCKED', async () => {
    const error = await rejection(client().login({ ...credentialsOf(accounts[5]!), userID: 'BLOCKED1' }));
    expect(error).toMatchObject({ code: FailureCode.AccountBlocked, brokerCode: 'EC004', retryable: false });
  });

  it('EC054 wrong appKey -> APP_NOT_AUTHORISED', async () => {
    const error = await rejection(client().login({ ...credentialsOf(alice), appKey: 'not-the-app-key' }));
    expect(error).toMatchObject({ code: FailureCode.AppNotAuthorised, brokerCode: 'EC054' });
    expectNoSecrets(error, alice, ['not-the-app-key']);
  });

  it('EC036 wrong TOTP seed -> BAD_TOTP; neither seed nor code is in the error', async () => {
    const wrongSeed = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const error = await rejection(client().login({ ...credentialsOf(alice), totpSecret: wrongSeed }));
    expect(error).toMatchObject({ code: FailureCode.BadTotp, brokerCode: 'EC036', retryable: false });
    expectNoSecrets(error, alice, [wrongSeed, totpCode(wrongSeed, clock.now())]);
  });

  it('EC062 server key expired before the password step -> ENCRYPTION_KEY_REJECTED', async () => {
    sim.setKnobs({ serverKeyTtlMs: 5_000 });
    try {
      const error = await rejection(client({ IIFL_KEY_ASSOCIATION_DELAY_MS: '6000' }).login(credentialsOf(alice)));
      expect(error).toMatchObject({ code: FailureCode.EncryptionKeyRejected, brokerCode: 'EC062', retryable: true });
    } finally {
      sim.setKnobs({ serverKeyTtlMs: 300_000 });
    }
  });
});

describe('every row of the spec error table, forced with the inject knob', () => {
  const rows: Array<[string, 'enckey' | 'validatepassword' | 'validatetotp' | 'getusersession', FailureCode, boolean]> = [
    ['EC016', 'validatepassword', FailureCode.BadCredentials, false],
    ['EC069', 'validatepassword', FailureCode.PasswordExpired, false],
    ['EC004', 'validatepassword', FailureCode.AccountBlocked, false],
    ['EC014', 'validatepassword', FailureCode.AccountBlocked, false],
    ['EC081', 'validatepassword', FailureCode.AccountBlocked, false],
    ['EC002', 'validatepassword', FailureCode.ClientNotFound, false],
    ['EC034', 'validatetotp', FailureCode.BadTotp, false],
    ['EC036', 'validatetotp', FailureCode.BadTotp, false],
    ['EC043', 'validatetotp', FailureCode.TotpNotEnabled, false],
    ['EC053', 'validatetotp', FailureCode.AppNotAuthorised, false],
    ['EC054', 'validatetotp', FailureCode.AppNotAuthorised, false],
    ['EC055', 'validatetotp', FailureCode.AppNotAuthorised, false],
    ['EC056', 'enckey', FailureCode.EncryptionKeyRejected, true],
    ['EC057', 'validatepassword', FailureCode.EncryptionKeyRejected, true],
    ['EC062', 'validatepassword', FailureCode.EncryptionKeyRejected, true],
    ['EC003', 'getusersession', FailureCode.BrokerUnavailable, true],
    ['EC500', 'enckey', FailureCode.IpNotAuthorised, false],
  ];

  it.each(rows)('%s on %s -> %s (retryable %s)', async (code, endpoint, failure, retryable) => {
    sim.setKnobs({ inject: [{ endpoint, code, remaining: 1 }] });
    const error = await rejection(client().login(credentialsOf(alice)));
    expect(error).toBeInstanceOf(IiflError);
    expect(error).toMatchObject({ code: failure, brokerCode: code, retryable, endpoint });
    expect(error.message).toContain(code);
    expectNoSecrets(error, alice);
  });

  it('finds the code at the start of the message when IIFL gives no `code` field (HTTP 4xx too)', async () => {
    sim.setKnobs({ inject: [{ endpoint: 'validatepassword', httpStatus: 403, message: 'EC500: IP address not authorized', remaining: 1 }] });
    const error = await rejection(client().login(credentialsOf(alice)));
    expect(error).toMatchObject({ code: FailureCode.IpNotAuthorised, brokerCode: 'EC500' });
  });

  it('an unknown Not_Ok code -> UNEXPECTED_RESPONSE carrying it', async () => {
    sim.setKnobs({ inject: [{ endpoint: 'validatetotp', code: 'EC777', message: 'Something new', remaining: 1 }] });
    const error = await rejection(client().login(credentialsOf(alice)));
    expect(error).toMatchObject({ code: FailureCode.UnexpectedResponse, brokerCode: 'EC777', retryable: true });
    expect(error.message).toContain('Something new');
  });

  it('never puts a credential into the error, even when IIFL echoes one back', async () => {
    const echo = `Invalid userId or password ${alice.password} for app ${alice.appKey} / ${alice.appSecret}`;
    sim.setKnobs({ inject: [{ endpoint: 'validatepassword', code: 'EC016', message: echo, remaining: 1 }] });
    const error = await rejection(client().login(credentialsOf(alice)));
    expect(error).toMatchObject({ code: FailureCode.BadCredentials });
    expect(error.message).toContain('[redacted]');
    expectNoSecrets(error, alice);
  });

  it('EC044 / HTTP 401 on profile -> session invalid', async () => {
    const iifl = client();
    const { token } = await iifl.login(credentialsOf(alice));
    sim.setKnobs({ inject: [{ endpoint: 'profile', code: 'EC044', remaining: 1 }] });
    const byCode = await rejection(iifl.checkToken(token));
    expect(byCode).toMatchObject({ name: 'IiflSessionInvalidError', brokerCode: 'EC044', sessionInvalid: true });
    const byStatus = await rejection(iifl.checkToken('not-a-session-token'));
    expect(byStatus).toMatchObject({ sessionInvalid: true, code: FailureCode.UnexpectedResponse });
    expect(['EC044', 'HTTP 401']).toContain((byStatus as IiflError).brokerCode);
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
    const error = await rejection(
      clientFor({ ...sim, baseUrl: url }, clock).login(credentialsOf(alice)),
    );
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
