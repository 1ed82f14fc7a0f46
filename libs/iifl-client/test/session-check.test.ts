import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FailureCode, isCredentialRejection } from '@refresher/contracts';
import { generateAccounts, type SimAccount, type Simulator } from '@refresher/iifl-sim';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createNodeHttpTransport,
  IiflError,
  sameClientId,
  type HttpAnswer,
  type HttpCall,
  type HttpTransport,
  type IiflClientHandle,
  type ObservedAnswer,
} from '../src/index.ts';
import { clientFor, credentialsOf, rejection, startSim, virtualClock } from './sim-harness.ts';

/**
 * A new session token is used once (`GET /profile`) before a login counts, in both headless flows
 * (the redirect flow's authCode exchange: login-contract.test.ts): one call with the new token; a
 * token that does not answer, or answers for another client, is TOKEN_UNUSABLE (retryable, never a
 * credential rejection, no second password call); a transient fault keeps its own code.
 */
const FLOWS = ['headless-v1', 'headless-v2'] as const;
const accounts = generateAccounts(60, 'session-check');
const clock = virtualClock();
let sim: Simulator;
let next = 0;
const clients: IiflClientHandle[] = [];
/** Takes connections and never answers them: a profile call sent here times out. */
const silent = http.createServer(() => {});
let silentUrl = '';

beforeAll(async () => {
  sim = await startSim(accounts, clock);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
});
afterAll(async () => {
  silent.closeAllConnections();
  await new Promise((resolve) => silent.close(resolve));
  await sim.close();
});
beforeEach(() => {
  clock.advance(60_000);
  sim.setKnobs({ inject: [], profileRefuses: [], answerShape: 'documented' });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

interface Hooks {
  /** Changes the profile call before it is sent. */
  call?: (call: HttpCall) => HttpCall;
  /** Changes the profile answer before the client reads it. */
  answer?: (answer: HttpAnswer) => HttpAnswer;
}

/** A client over the real HTTP transport that records every call (endpoint and bearer) and every observed answer. */
function client(flow: (typeof FLOWS)[number], hooks: Hooks = {}, timeoutMs = 5_000) {
  const inner = createNodeHttpTransport({ timeoutMs });
  const calls: Array<{ endpoint: string; bearer: string | undefined }> = [];
  const observed: ObservedAnswer[] = [];
  const transport: HttpTransport = {
    async request(call) {
      calls.push({ endpoint: call.endpoint, bearer: call.bearer });
      const profile = call.endpoint === 'profile';
      const answer = await inner.request(profile && hooks.call ? hooks.call(call) : call);
      return profile && hooks.answer ? hooks.answer(answer) : answer;
    },
    close: () => inner.close(),
  };
  const iifl = clientFor(sim, clock, { IIFL_LOGIN_FLOW: flow }, { transport, observe: (a) => observed.push(a) });
  clients.push(iifl);
  return { iifl, calls, observed };
}

const account = (): SimAccount => accounts[next++]!;
const profileRequests = () => sim.stats().requests['profile'] ?? 0;
const clientStats = (a: SimAccount) => sim.stats().clients[a.clientId];

/** The simulator's profile answer with its `result` rebuilt from its client id. */
function reshaped(make: (clientId: string) => unknown): (answer: HttpAnswer) => HttpAnswer {
  return (answer) => {
    const body = JSON.parse(answer.text) as { result: { clientId: string } };
    return { status: answer.status, text: JSON.stringify(make(body.result.clientId)) };
  };
}

function expectUnusable(error: Error, brokerCode: string | null, httpStatus: number | null): void {
  expect(error).toBeInstanceOf(IiflError);
  expect(error).toMatchObject({ code: FailureCode.TokenUnusable, retryable: true, endpoint: 'profile', brokerCode, httpStatus });
  expect(isCredentialRejection((error as IiflError).code)).toBe(false);
  expect(error.message).toContain(FailureCode.TokenUnusable);
  expect(`${error.message}${error.stack}`).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}/); // no token or part of one
}

describe.each(FLOWS)('%s', (flow) => {
  it('uses the new token once with profile, after getusersession, before the login returns it', async () => {
    const a = account();
    const { iifl, calls, observed } = client(flow);
    const before = profileRequests();
    const result = await iifl.login(credentialsOf(a));
    const profileCalls = calls.filter((c) => c.endpoint === 'profile');
    expect(profileCalls).toEqual([{ endpoint: 'profile', bearer: result.token }]);
    expect(calls.slice(-2).map((c) => c.endpoint)).toEqual(['getusersession', 'profile']);
    expect(profileRequests() - before).toBe(1);
    expect(observed.slice(-1)[0]).toMatchObject({ endpoint: 'profile', httpStatus: 200, sealed: false });
    expect(clientStats(a)).toMatchObject({ passwordAttempts: 1, sessionsIssued: 1 });
  });

  it('a token profile refuses (HTTP 401 EC044): TOKEN_UNUSABLE, retryable, one password call, one profile call', async () => {
    const a = account();
    sim.setKnobs({ profileRefuses: [a.clientId] });
    const { iifl, calls } = client(flow);
    const error = await rejection(iifl.login(credentialsOf(a)));
    expectUnusable(error, 'EC044', 401);
    expect(calls.filter((c) => c.endpoint === 'profile')).toHaveLength(1);
    expect(clientStats(a)).toMatchObject({ passwordAttempts: 1, sessionsIssued: 1 });
  });

  it('HTTP 401 without a code on profile: TOKEN_UNUSABLE with the status as the broker code', async () => {
    const a = account();
    sim.setKnobs({ inject: [{ endpoint: 'profile', clientId: a.clientId, httpStatus: 401 }] });
    expectUnusable(await rejection(client(flow).iifl.login(credentialsOf(a))), 'HTTP 401', 401);
    expect(clientStats(a)?.passwordAttempts).toBe(1);
  });

  it('a token that answers for another client: TOKEN_UNUSABLE, the other id not named', async () => {
    const [a, other] = [account(), account()];
    const { token: othersToken } = await client(flow).iifl.login(credentialsOf(other));
    const { iifl } = client(flow, { call: (call) => ({ ...call, bearer: othersToken }) });
    const error = await rejection(iifl.login(credentialsOf(a)));
    expectUnusable(error, null, 200);
    expect(error.message).toContain('another client');
    expect(error.message).not.toContain(other.clientId);
    expect(clientStats(a)).toMatchObject({ passwordAttempts: 1, sessionsIssued: 1 });
  });

  it('a profile call that never answers: TIMEOUT (transient), the password sent once', async () => {
    const a = account();
    const { iifl } = client(flow, { call: (call) => ({ ...call, url: `${silentUrl}/v1/profile` }) }, 300);
    const error = await rejection(iifl.login(credentialsOf(a)));
    expect(error).toMatchObject({ code: FailureCode.Timeout, retryable: true, endpoint: 'profile' });
    expect(clientStats(a)).toMatchObject({ passwordAttempts: 1, sessionsIssued: 1 });
  });
});

describe('transient faults of the profile call keep their code', () => {
  it.each([
    [503, FailureCode.BrokerUnavailable],
    [429, FailureCode.RateLimited],
  ])('HTTP %i -> %s', async (httpStatus, code) => {
    const a = account();
    sim.setKnobs({ inject: [{ endpoint: 'profile', clientId: a.clientId, httpStatus }] });
    const error = await rejection(client('headless-v1').iifl.login(credentialsOf(a)));
    expect(error).toMatchObject({ code, retryable: true, endpoint: 'profile', brokerCode: `HTTP ${httpStatus}` });
  });

  it('EC003 (try after some time) on profile -> RATE_LIMITED', async () => {
    const a = account();
    sim.setKnobs({ inject: [{ endpoint: 'profile', clientId: a.clientId, code: 'EC003' }] });
    const error = await rejection(client('headless-v1').iifl.login(credentialsOf(a)));
    expect(error).toMatchObject({ code: FailureCode.RateLimited, retryable: true, brokerCode: 'EC003' });
  });
});

describe('profile answers (where the client id may stand)', () => {
  const good: Array<[string, (clientId: string) => unknown]> = [
    ['result[0].clientId', (id) => ({ status: 'Ok', message: 'Success', result: [{ clientId: id }] })],
    ['a top-level clientId', (id) => ({ status: 'Ok', clientId: id })],
    ['the id in lower case with spaces around it', (id) => ({ status: 'Ok', result: { clientId: ` ${id.toLowerCase()} ` } })],
  ];
  it.each(good)('%s: logged in', async (_name, make) => {
    const result = await client('headless-v1', { answer: reshaped(make) }).iifl.login(credentialsOf(account()));
    expect(result.token).toBeTruthy();
  });

  const bad: Array<[string, (clientId: string) => unknown, string | null]> = [
    ['no client id', () => ({ status: 'Ok', message: 'Success', result: { clientName: 'someone' } }), null],
    ['Not_Ok without a code', () => ({ status: 'Not_Ok', message: 'Session expired', result: null }), null],
    ['an unknown code', () => ({ status: 'EC777', message: 'Something new', result: null }), 'EC777'],
  ];
  it.each(bad)('%s: TOKEN_UNUSABLE (no credential went out with it: never a rejection)', async (_name, make, brokerCode) => {
    const error = await rejection(client('headless-v1', { answer: reshaped(make) }).iifl.login(credentialsOf(account())));
    expectUnusable(error, brokerCode, 200);
  });

  it('sameClientId ignores case and surrounding spaces, nothing else', () => {
    expect(sameClientId(' ab1234 ', 'AB1234')).toBe(true);
    expect(sameClientId('AB1234', 'AB12345')).toBe(false);
    expect(sameClientId('AB1234', 'AB 1234')).toBe(false);
  });
});
