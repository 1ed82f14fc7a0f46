import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CREDENTIAL_FIELDS,
  IiflAuthApi,
  LoginRequired,
  PersistenceApi,
  RedeemLoginRequest,
  Subjects,
  TokenRefreshed,
  TokenSkipped,
  type LoginFlow,
} from '@refresher/contracts';
import { encryptField, keyringFromEnv } from '@refresher/credential-crypto';
import { generateAccounts, startSimulator, totpAt, type SimAccount, type Simulator } from '@refresher/iifl-sim';
import { callService, createLogger, decodeJson, loadConfig, ServiceCallError } from '@refresher/platform';
import { submitLoginForm, usePipeline, waitFor } from '@refresher/testkit';
import { signNonce } from '../src/login-nonce.ts';
import { publishRequest } from './publish-request.ts';
import { iiflAuthConfigSchema, startIiflAuth, type IiflAuth } from '../src/index.ts';

// iifl-auth's side of the browser redirect over real NATS and Postgres, with the simulator's login page.
const CREDENTIALS_KEY = randomBytes(32).toString('base64');
const LOGIN_LINK_SECRET = randomBytes(32).toString('base64');
const CALLBACK = 'http://127.0.0.1:9/api/integration/iifl/callback';
const keyring = keyringFromEnv({ CREDENTIALS_KEY });
const [redirect1, redirect2, headless, byDefault, redirect3] = generateAccounts(5, 'redirect-auth') as [
  SimAccount,
  SimAccount,
  SimAccount,
  SimAccount,
  SimAccount,
];

const pipeline = usePipeline();
let sim: Simulator;
let auth: IiflAuth | undefined;
const received: { subject: string; payload: unknown }[] = [];

async function register(account: SimAccount, loginFlow?: LoginFlow): Promise<void> {
  const fields = loginFlow === 'redirect' ? (['appKey', 'appSecret'] as const) : CREDENTIAL_FIELDS;
  const credentials = Object.fromEntries(
    fields.map((column) => [column, encryptField(keyring, account[column], { table: 'IIFLUser', column, row: account.clientId })]),
  );
  await callService(pipeline.nc, PersistenceApi.upsertUser, {
    userID: account.clientId,
    mode: 'create',
    credentials,
    ...(loginFlow ? { loginFlow } : {}),
  });
}

async function startAuth(extra: Record<string, string> = {}): Promise<void> {
  await auth?.stop();
  const env = {
    NATS_URL: pipeline.nats.url,
    HEALTH_PORT: '0',
    IIFL_BASE_URL: sim.baseUrl,
    IIFL_LOGIN_URL: sim.loginPageUrl,
    IIFL_KEY_ASSOCIATION_DELAY_MS: '0',
    AUTH_FETCH_EXPIRES_MS: '1000',
    CREDENTIALS_KEY,
    LOGIN_LINK_SECRET,
    IIFL_REDIRECT_URL: CALLBACK,
    ...extra,
  };
  const config = loadConfig(iiflAuthConfigSchema, Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  auth = await startIiflAuth(config, { log: createLogger('iifl-auth', 'silent') });
}

const requestRefresh = async (userID: string): Promise<string> => (await publishRequest(pipeline.nc, userID)).runId;

const eventOf = <T>(subject: string, runId: string | null, schema: { parse(v: unknown): T }) =>
  waitFor(`an event on ${subject}`, () => {
    const found = received.find((r) => r.subject === subject && (r.payload as { runId?: unknown }).runId === runId);
    return found ? schema.parse(found.payload) : undefined;
  });

/** Logs the account in on the simulator's page for `url` (a login link) and returns where IIFL sends the browser. */
async function browserLogin(url: string, account: SimAccount): Promise<URL> {
  const link = new URL(url);
  const form = await fetch(link);
  expect(form.status).toBe(200);
  const res = await submitLoginForm(link, { ...account, totp: totpAt(account.totpSecret, Date.now()) });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!);
}

const link = (userID: string) => callService(pipeline.nc, IiflAuthApi.loginLink, { userID });
const redeem = (request: RedeemLoginRequest) => callService(pipeline.nc, IiflAuthApi.redeemLogin, request, 40_000);
async function refused(promise: Promise<unknown>): Promise<{ code: number; reason: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ServiceCallError);
  return { code: (err as ServiceCallError).code, reason: (err as ServiceCallError).message };
}

beforeAll(async () => {
  sim = await startSimulator({ port: 0, accounts: [redirect1, redirect2, headless, byDefault, redirect3] });
  for (const subject of [Subjects.refreshedAll, Subjects.skippedAll, Subjects.loginRequiredAll, Subjects.failedAll]) {
    pipeline.nc.subscribe(subject, { callback: (_err, msg) => received.push({ subject: msg.subject, payload: decodeJson(msg.data) }) });
  }
  await register(redirect1, 'redirect');
  await register(redirect2, 'redirect');
  await register(redirect3, 'redirect');
  await register(headless, 'headless-v1');
  await register(byDefault);
  await callService(pipeline.nc, PersistenceApi.upsertUser, { userID: 'PARTNER1', mode: 'create', integrationManaged: true });
  await startAuth();
}, 60_000);

afterAll(async () => {
  await auth?.stop();
  await sim?.close();
});

describe('iifl-auth, browser redirect login', { timeout: 60_000 }, () => {
  it('sends a redirect user a login link instead of logging in, and the run records the skip', async () => {
    const runId = await requestRefresh(redirect1.clientId);
    const required = await eventOf(Subjects.loginRequired(redirect1.clientId), runId, LoginRequired);
    const skipped = await eventOf(Subjects.skipped(redirect1.clientId), runId, TokenSkipped);
    expect(skipped.reason).toBe('LOGIN_REQUIRED');
    const url = new URL(required.loginUrl!);
    expect(`${url.origin}${url.pathname}`).toBe(sim.loginPageUrl);
    expect(url.searchParams.get('appkey')).toBe(redirect1.appKey);
    expect(url.searchParams.get('redirecturl')).toMatch(new RegExp(`^${CALLBACK}\\?nonce=v1\\.`));
    expect(Date.parse(required.expiresAt!) - Date.now()).toBeGreaterThan(14 * 60_000);
    expect(sim.stats().clients[redirect1.clientId]?.passwordAttempts ?? 0).toBe(0);
  });

  it('redeems the link once: the session is published and stored; a replay changes nothing', async () => {
    const made = await link(redirect2.clientId);
    const back = await browserLogin(made.url, redirect2);
    const nonce = back.searchParams.get('nonce')!;
    const authCode = back.searchParams.get('authCode')!;
    expect(back.searchParams.get('clientId')).toBe(redirect2.clientId);
    const answer = await redeem({ nonce, authCode, clientId: redirect2.clientId });
    const event = await eventOf(Subjects.refreshed(redirect2.clientId), null, TokenRefreshed);
    expect(event).toMatchObject({ eventId: answer.eventId, source: 'login', runId: null, tokenValidity: answer.tokenValidity });
    const row = async () =>
      (await pipeline.sql.row<{ token: string | null }>('select token from "IIFLUser" where "userID" = $1', [redirect2.clientId]))!;
    await waitFor('the token stored', async () => ((await row()).token === event.token ? true : undefined));

    expect(await refused(redeem({ nonce, authCode, clientId: redirect2.clientId }))).toEqual({ code: 409, reason: 'LINK_USED' });
    expect(received.filter((r) => r.subject === Subjects.refreshed(redirect2.clientId))).toHaveLength(1);
    expect((await row()).token).toBe(event.token);
  });

  it('refuses forged, expired and foreign nonces before anything is spent', async () => {
    const made = await link(redirect3.clientId);
    const nonce = new URL(new URL(made.url).searchParams.get('redirecturl')!).searchParams.get('nonce')!;
    expect(await refused(redeem({ nonce, authCode: 'code', clientId: redirect1.clientId }))).toEqual({
      code: 403,
      reason: 'WRONG_ACCOUNT',
    });
    const forged = signNonce(randomBytes(32).toString('base64'), redirect3.clientId, 60_000).nonce;
    expect(await refused(redeem({ nonce: forged, authCode: 'code', clientId: redirect3.clientId }))).toEqual({
      code: 400,
      reason: 'LINK_INVALID',
    });
    const expired = signNonce(LOGIN_LINK_SECRET, redirect3.clientId, 1_000, Date.now() - 60_000).nonce;
    expect(await refused(redeem({ nonce: expired, authCode: 'code', clientId: redirect3.clientId }))).toEqual({
      code: 410,
      reason: 'LINK_EXPIRED',
    });
    // The foreign attempt did not spend the link: its own account can still use it.
    const back = await browserLogin(made.url, redirect3);
    await redeem({ nonce, authCode: back.searchParams.get('authCode')!, clientId: redirect3.clientId });
    await eventOf(Subjects.refreshed(redirect3.clientId), null, TokenRefreshed);
  });

  it('turns an authCode pasted by hand into a session, and answers IIFL refusing a code', async () => {
    const back = await browserLogin(
      `${sim.loginPageUrl}?v=1&appkey=${byDefault.appKey}&redirecturl=${encodeURIComponent('http://127.0.0.1:9/x')}`,
      byDefault,
    );
    const answer = await redeem({ userID: byDefault.clientId, authCode: back.searchParams.get('authCode')! });
    expect(answer.userID).toBe(byDefault.clientId);
    await eventOf(Subjects.refreshed(byDefault.clientId), null, TokenRefreshed);
    const bad = await refused(redeem({ userID: headless.clientId, authCode: 'not-a-code-from-iifl' }));
    expect(bad.code).toBeGreaterThanOrEqual(500);
    expect(bad.reason).toMatch(/^[A-Z_]+$/);
    expect(received.filter((r) => r.subject === Subjects.refreshed(headless.clientId))).toHaveLength(0);
    expect(await refused(redeem({ userID: headless.clientId, authCode: 'x', clientId: 'SOMEONE' }))).toEqual({
      code: 403,
      reason: 'WRONG_ACCOUNT',
    });
  });

  it('answers links for unknown and integration-managed users with 404 and 409', async () => {
    expect(await refused(link('NOBODY'))).toEqual({ code: 404, reason: 'USER_NOT_FOUND' });
    expect(await refused(link('PARTNER1'))).toEqual({ code: 409, reason: 'NO_APP_CREDENTIALS' });
  });

  it('with IIFL_LOGIN_FLOW=redirect, users without a flow of their own get links; headless ones log in', async () => {
    await startAuth({ IIFL_LOGIN_FLOW: 'redirect' });
    const defaultRun = await requestRefresh(byDefault.clientId);
    await eventOf(Subjects.loginRequired(byDefault.clientId), defaultRun, LoginRequired);
    expect((await eventOf(Subjects.skipped(byDefault.clientId), defaultRun, TokenSkipped)).reason).toBe('LOGIN_REQUIRED');
    const headlessRun = await requestRefresh(headless.clientId);
    await eventOf(Subjects.refreshed(headless.clientId), headlessRun, TokenRefreshed);
  });

  it('without LOGIN_LINK_SECRET: redirect users are still skipped, with no link, and links are "not configured"', async () => {
    await startAuth({ LOGIN_LINK_SECRET: '', IIFL_REDIRECT_URL: '' });
    const runId = await requestRefresh(redirect1.clientId);
    const required = await eventOf(Subjects.loginRequired(redirect1.clientId), runId, LoginRequired);
    expect(required).toMatchObject({ loginUrl: null, expiresAt: null });
    expect((await eventOf(Subjects.skipped(redirect1.clientId), runId, TokenSkipped)).reason).toBe('LOGIN_REQUIRED');
    expect(await refused(link(redirect1.clientId))).toEqual({ code: 503, reason: 'NOT_CONFIGURED' });
    const nonce = signNonce(LOGIN_LINK_SECRET, redirect1.clientId, 60_000).nonce;
    expect(await refused(redeem({ nonce, authCode: 'x', clientId: redirect1.clientId }))).toEqual({ code: 503, reason: 'NOT_CONFIGURED' });
  });
});
