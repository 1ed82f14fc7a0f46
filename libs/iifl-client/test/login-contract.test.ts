import { createVerify } from 'node:crypto';
import { FailureCode } from '@refresher/contracts';
import { ANSWER_SHAPES, generateAccounts, totpAt, type AnswerShape, type SimAccount, type Simulator } from '@refresher/iifl-sim';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IiflError, jwtExpiry, type IiflClientHandle, type LoginCredentials } from '../src/index.ts';
import { clientFor, credentialsOf, rejection, startSim, virtualClock } from './sim-harness.ts';

/**
 * Every login flow against the simulator in each of its answer shapes (`documented`: as IIFL's
 * documentation and own code show; `legacy`: what the existing system met; `sealed`: answers in
 * `cRespEncData`): good logins succeed, every refusal of a credential is met exactly once, and the
 * stored validity is the session JWT's `exp`.
 */
const FLOWS = ['headless-v1', 'headless-v2'] as const;
type Flow = (typeof FLOWS)[number];
const PASSWORD_STEP: Record<Flow, 'validatepassword' | 'v2-password'> = { 'headless-v1': 'validatepassword', 'headless-v2': 'v2-password' };
const TOTP_STEP: Record<Flow, 'validatetotp' | 'v2-totp'> = { 'headless-v1': 'validatetotp', 'headless-v2': 'v2-totp' };

const accounts = generateAccounts(120, 'contract');
const clock = virtualClock();
let sim: Simulator;
let next = 0;
const clients: IiflClientHandle[] = [];

/** A fresh account for each test: counts per client are then this test's own. */
function account(): SimAccount {
  return accounts[next++]!;
}

function client(flow: Flow): IiflClientHandle {
  const c = clientFor(sim, clock, { IIFL_IDAAS_URL: sim.idaasUrl, IIFL_LOGIN_FLOW: flow });
  clients.push(c);
  return c;
}

function clientStats(userID: string) {
  return sim.stats().clients[userID] ?? { passwordAttempts: 0, totpAttempts: 0, totpAttemptSteps: [], sessionsIssued: 0 };
}

function expectNoSecrets(error: Error, credentials: LoginCredentials): void {
  const text = [error.message, error.stack ?? '', error.cause instanceof Error ? `${error.cause.message}${error.cause.stack}` : ''].join(
    '\n',
  );
  for (const secret of [credentials.password, credentials.appKey, credentials.appSecret, credentials.totpSecret])
    expect(text).not.toContain(secret);
}

beforeAll(async () => {
  sim = await startSim(accounts, clock);
});
afterAll(async () => {
  await sim.close();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe.each(ANSWER_SHAPES)('answers shaped %s', (shape: AnswerShape) => {
  beforeEach(() => {
    clock.advance(60_000);
    sim.setKnobs({ answerShape: shape, inject: [], passwordForbidden: false, sessionExp: 'ist-midnight', minKeyAssociationMs: 0 });
  });

  describe.each(FLOWS)('%s', (flow) => {
    it('logs in; the token works; its validity is the JWT exp', async () => {
      const a = account();
      const iifl = client(flow);
      const result = await iifl.login(credentialsOf(a));
      expect(result.tokenValidity).toEqual(jwtExpiry(result.token));
      expect(result.tokenValidity.toISOString()).toMatch(/T18:30:00\.000Z$/); // the next midnight in India
      expect(await iifl.checkToken(result.token)).toEqual({ clientId: a.clientId });
      expect(clientStats(a.clientId)).toMatchObject({ passwordAttempts: 1, totpAttempts: 1, sessionsIssued: 1 });
    });

    const refusals: Array<[string, (a: SimAccount) => LoginCredentials, FailureCode, string]> = [
      ['a wrong password (EC016)', (a) => ({ ...credentialsOf(a), password: 'not-the-password-1' }), FailureCode.BadCredentials, 'EC016'],
      [
        'a blocked account (EC004)',
        (a) => (sim.addAccounts([{ ...a, blocked: true }]), credentialsOf(a)),
        FailureCode.AccountBlocked,
        'EC004',
      ],
      [
        'an expired password (EC069)',
        (a) => (inject(PASSWORD_STEP[flow], a, { code: 'EC069' }), credentialsOf(a)),
        FailureCode.PasswordExpired,
        'EC069',
      ],
      [
        'an unknown code on the password step',
        (a) => (inject(PASSWORD_STEP[flow], a, { code: 'EC777' }), credentialsOf(a)),
        FailureCode.BrokerRejected,
        'EC777',
      ],
      [
        'an unknown code on the TOTP step',
        (a) => (inject(TOTP_STEP[flow], a, { code: 'EC778' }), credentialsOf(a)),
        FailureCode.BrokerRejected,
        'EC778',
      ],
      [
        'a 403 without a code on the password step',
        (a) => (inject(PASSWORD_STEP[flow], a, { httpStatus: 403 }), credentialsOf(a)),
        FailureCode.IpNotAuthorised,
        'HTTP 403',
      ],
      [
        'a field-missing code (EC010)',
        (a) => (inject(PASSWORD_STEP[flow], a, { code: 'EC010' }), credentialsOf(a)),
        FailureCode.BrokerRejected,
        'EC010',
      ],
    ];

    it.each(refusals)('%s: one password attempt, a final failure that is never retried', async (_name, prepare, code, brokerCode) => {
      const a = account();
      const credentials = prepare(a);
      const error = await rejection(client(flow).login(credentials));
      expect(error).toBeInstanceOf(IiflError);
      expect(error).toMatchObject({ code, brokerCode, retryable: false });
      expect(clientStats(a.clientId).passwordAttempts).toBe(1);
      expectNoSecrets(error, credentials);
    });

    it('a bare 403 (text, no code) on the password step: IP_NOT_AUTHORISED, one attempt', async () => {
      const a = account();
      sim.setKnobs({ passwordForbidden: true });
      const error = await rejection(client(flow).login(credentialsOf(a)));
      expect(error).toMatchObject({ code: FailureCode.IpNotAuthorised, brokerCode: 'HTTP 403', httpStatus: 403, retryable: false });
      expect(clientStats(a.clientId).passwordAttempts).toBe(1);
    });

    it('an invalid TOTP (EC036): one more try in the next 30 s step, then a final BAD_TOTP; the password once', async () => {
      const a = account();
      const wrongSeed = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
      const credentials = { ...credentialsOf(a), totpSecret: wrongSeed };
      const error = await rejection(client(flow).login(credentials));
      expect(error).toMatchObject({ code: FailureCode.BadTotp, brokerCode: 'EC036', retryable: false });
      const stats = clientStats(a.clientId);
      expect(stats.passwordAttempts).toBe(1);
      expect(stats.totpAttempts).toBe(2);
      expect(new Set(stats.totpAttemptSteps).size).toBe(2);
      expectNoSecrets(error, credentials);
    });

    it('an invalid TOTP once, then the right code in the next step: logged in', async () => {
      const a = account();
      inject(TOTP_STEP[flow], a, { code: 'EC036', remaining: 1 });
      const result = await client(flow).login(credentialsOf(a));
      expect(result.token).toBeTruthy();
      expect(clientStats(a.clientId)).toMatchObject({ passwordAttempts: 1, totpAttempts: 2, sessionsIssued: 1 });
    });

    it('answers a rate limit on the password step as transient, with Retry-After when sent', async () => {
      const a = account();
      inject(PASSWORD_STEP[flow], a, { httpStatus: 429, remaining: 1 });
      const error = await rejection(client(flow).login(credentialsOf(a)));
      expect(error).toMatchObject({ code: FailureCode.RateLimited, retryable: true });
    });
  });

  it('the redirect flow: IIFL login page, redirect with the authCode, session from the code', async () => {
    const a = account();
    const redirect = 'http://127.0.0.1:9/callback?nonce=n1';
    const authCode = await loginOnPage(a, redirect);
    const profileBefore = sim.stats().requests['profile'] ?? 0;
    const result = await client('headless-v1').sessionFromAuthCode({ userID: a.clientId, authCode, appSecret: a.appSecret });
    expect(result.tokenValidity).toEqual(jwtExpiry(result.token));
    expect(clientStats(a.clientId)).toMatchObject({ passwordAttempts: 1, sessionsIssued: 1 });
    // The new token was used once before it was handed back.
    expect((sim.stats().requests['profile'] ?? 0) - profileBefore).toBe(1);
    // An authCode is good once.
    const again = await rejection(client('headless-v1').sessionFromAuthCode({ userID: a.clientId, authCode, appSecret: a.appSecret }));
    expect(again).toMatchObject({ retryable: false });
    expect(again.message).not.toContain(authCode);
  });

  it('the redirect flow: a session that profile refuses is TOKEN_UNUSABLE, retryable, not a credential rejection', async () => {
    const a = account();
    const authCode = await loginOnPage(a, 'http://127.0.0.1:9/callback?nonce=n1');
    sim.setKnobs({ profileRefuses: [a.clientId] });
    try {
      const error = await rejection(client('headless-v1').sessionFromAuthCode({ userID: a.clientId, authCode, appSecret: a.appSecret }));
      expect(error).toMatchObject({ code: FailureCode.TokenUnusable, retryable: true, endpoint: 'profile', brokerCode: 'EC044' });
      expect(error.message).not.toContain(authCode);
      expect(clientStats(a.clientId)).toMatchObject({ passwordAttempts: 1, sessionsIssued: 1 });
    } finally {
      sim.setKnobs({ profileRefuses: [] });
    }
  });
});

describe('token validity without an exp', () => {
  it('is IIFL_TOKEN_VALID_UNTIL in REFRESH_TIMEZONE on the login day', async () => {
    sim.setKnobs({ answerShape: 'documented', sessionExp: 'none', inject: [] });
    clock.advance(60_000);
    const iifl = clientFor(sim, clock, { IIFL_TOKEN_VALID_UNTIL: '15:30' });
    clients.push(iifl);
    const result = await iifl.login(credentialsOf(account()));
    expect(jwtExpiry(result.token)).toBeNull();
    expect(result.tokenValidity.toISOString()).toBe('2025-01-06T10:00:00.000Z'); // 15:30 IST
  });

  it('is the exp the token carries, later or earlier than the end of the day', async () => {
    sim.setKnobs({ answerShape: 'documented', sessionExp: 3 * 3_600_000 });
    clock.advance(60_000);
    const iifl = clientFor(sim, clock);
    clients.push(iifl);
    const result = await iifl.login(credentialsOf(account()));
    expect(result.tokenValidity.getTime()).toBe(Math.floor((result.loginTime.getTime() + 3 * 3_600_000) / 1000) * 1000);
  });

  it('the session is an RS256 JWT naming the client, signed by the simulator', async () => {
    sim.setKnobs({ answerShape: 'documented', sessionExp: 'ist-midnight' });
    clock.advance(60_000);
    const a = account();
    const iifl = clientFor(sim, clock);
    clients.push(iifl);
    const { token } = await iifl.login(credentialsOf(a));
    const [header, payload, signature] = token.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toMatchObject({ alg: 'RS256' });
    expect(JSON.parse(Buffer.from(payload, 'base64url').toString())).toMatchObject({ preferred_username: a.clientId });
    const verifier = createVerify('RSA-SHA256').update(`${header}.${payload}`);
    expect(verifier.verify(sim.sessionPublicKey, Buffer.from(signature, 'base64url'))).toBe(true);
  });
});

function inject(endpoint: string, a: SimAccount, fault: { code?: string; httpStatus?: number; remaining?: number }): void {
  const current = sim.knobs().inject;
  sim.setKnobs({ inject: [...current, { endpoint: endpoint as never, clientId: a.clientId, ...fault }] });
}

/** Walks IIFL's login page as a browser would: the form, then the post, then the redirect's authCode. */
async function loginOnPage(a: SimAccount, redirectUrl: string): Promise<string> {
  const page = `${sim.loginPageUrl}?v=1&appkey=${encodeURIComponent(a.appKey)}&redirecturl=${encodeURIComponent(redirectUrl)}`;
  const form = await fetch(page);
  expect(form.status).toBe(200);
  expect(await form.text()).toContain('name="password"');
  const body = new URLSearchParams({
    clientId: a.clientId,
    password: a.password,
    totp: totpAt(a.totpSecret, clock.ms()),
    appkey: a.appKey,
    redirecturl: redirectUrl,
  });
  const answer = await fetch(sim.loginPageUrl, { method: 'POST', body, redirect: 'manual' });
  expect(answer.status).toBe(302);
  const location = new URL(answer.headers.get('location')!);
  expect(location.origin + location.pathname).toBe('http://127.0.0.1:9/callback');
  expect(location.searchParams.get('nonce')).toBe('n1');
  expect(location.searchParams.get('clientId')).toBe(a.clientId);
  return location.searchParams.get('authCode')!;
}
