import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import {
  defaultKnobs,
  demoAccounts,
  ENDPOINTS,
  generateAccounts,
  startSimulator,
  type EndpointName,
  type SimAccount,
  type Simulator,
} from '../src/index.ts';
import { call, login, type Reply } from './protocol-client.ts';

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Where each endpoint is: method, path under the base URL (or under the idaas URL). */
export const ENDPOINT_PATHS: Record<EndpointName, { method: 'GET' | 'POST'; path: string; idaas?: boolean }> = {
  enckey: { method: 'POST', path: '/get/enckey' },
  validatepassword: { method: 'POST', path: '/validatepassword' },
  validatetotp: { method: 'POST', path: '/validatetotp' },
  getusersession: { method: 'POST', path: '/getusersession' },
  profile: { method: 'GET', path: '/profile' },
  logout: { method: 'POST', path: '/profile/logout' },
  'vendor-details': { method: 'POST', path: '/sso/vendor/details' },
  'v2-enckey': { method: 'POST', path: '/get/encKey', idaas: true },
  'v2-password': { method: 'POST', path: '/pwd/validate', idaas: true },
  'v2-totp': { method: 'POST', path: '/topt/verify', idaas: true },
  'vendor-authorize': { method: 'POST', path: '/sso/vendor/authorize' },
  'login-page': { method: 'GET', path: '/' },
  'login-submit': { method: 'POST', path: '/' },
};

/** 2025-01-06 03:00:00 UTC: the start of a TOTP step, 08:30 in India. */
export const START = Date.UTC(2025, 0, 6, 3, 0, 0);

export interface Fixture {
  sim: Simulator;
  clock: { t: number };
  /** A generated account no earlier test has used (so no TOTP step or session is shared). */
  fresh(): SimAccount;
  blocked: SimAccount;
  /** Back to default knobs and zeroed stats. */
  reset(): void;
  /** A POST to the API base URL. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Reply>;
  /** The userSession of a fresh account's whole v1 login. */
  session(): Promise<string>;
}

export async function startFixture(): Promise<Fixture> {
  const clock = { t: START };
  const generated = generateAccounts(200, 'iifl-sim-tests');
  const blocked = demoAccounts().find((a) => a.blocked === true)!;
  const sim = await startSimulator({ accounts: [...generated, blocked], now: () => clock.t });
  let next = 0;
  const fresh = (): SimAccount => {
    const account = generated[next++];
    if (!account) throw new Error('fixture ran out of accounts');
    return account;
  };
  return {
    sim,
    clock,
    blocked,
    fresh,
    post: (path, body, headers = {}) => call(sim.baseUrl, 'POST', path, body, headers),
    async session() {
      const result = await login(sim.baseUrl, fresh(), clock.t);
      expect(result.ok).toBe(true);
      return result.userSession!;
    },
    reset() {
      const knobs = defaultKnobs();
      // rateLimits merge per key: name every endpoint so a limit a test set does not linger.
      sim.setKnobs({ ...knobs, rateLimits: Object.fromEntries(ENDPOINTS.map((e) => [e, knobs.rateLimits[e] ?? 0])) });
      sim.resetStats();
    },
  };
}

/** One simulator for a test file: started before its tests, reset before each test, closed after them. */
export function useFixture(): Fixture {
  let fx: Fixture | undefined;
  beforeAll(async () => {
    fx = await startFixture();
  });
  afterAll(() => fx?.sim.close());
  beforeEach(() => fx?.reset());
  const started = (): Fixture => {
    if (!fx) throw new Error('the fixture starts in beforeAll');
    return fx;
  };
  return {
    get sim() {
      return started().sim;
    },
    get clock() {
      return started().clock;
    },
    get blocked() {
      return started().blocked;
    },
    fresh: () => started().fresh(),
    reset: () => started().reset(),
    post: (path, body, headers) => started().post(path, body, headers),
    session: () => started().session(),
  };
}
