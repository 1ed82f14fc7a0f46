import { startSimulator, type SimAccount, type Simulator } from '@refresher/iifl-sim';
import {
  createIiflClient,
  parseIiflClientConfig,
  type IiflClientDeps,
  type IiflClientHandle,
  type LoginCredentials,
} from '../src/index.ts';

/**
 * A clock shared by the simulator and the client: it moves only when the client sleeps or a test
 * advances it, so TOTP steps, key association and token expiry are exact and take no real time.
 */
export function virtualClock(startIso = '2025-01-06T03:00:05Z') {
  let t = Date.parse(startIso);
  const sleeps: number[] = [];
  return {
    ms: () => t,
    now: () => new Date(t),
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    advance(ms: number) {
      t += ms;
    },
    sleeps,
  };
}
export type VirtualClock = ReturnType<typeof virtualClock>;

export async function startSim(accounts: SimAccount[], clock: VirtualClock): Promise<Simulator> {
  return startSimulator({ port: 0, accounts, now: clock.ms });
}

export function clientFor(
  sim: Simulator,
  clock: VirtualClock,
  env: Record<string, string> = {},
  deps: Pick<IiflClientDeps, 'transport' | 'observe'> = {},
): IiflClientHandle {
  const config = parseIiflClientConfig({
    IIFL_BASE_URL: sim.baseUrl,
    IIFL_IDAAS_URL: sim.idaasUrl,
    IIFL_KEY_ASSOCIATION_DELAY_MS: '0',
    IIFL_TIMEOUT_MS: '5000',
    ...env,
  });
  return createIiflClient(config, { now: clock.now, sleep: clock.sleep, ...deps });
}

export function credentialsOf(account: SimAccount): LoginCredentials {
  return {
    userID: account.clientId,
    password: account.password,
    appKey: account.appKey,
    appSecret: account.appSecret,
    totpSecret: account.totpSecret,
  };
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-error: ${String(error)}`);
  }
  throw new Error('expected a rejection, got a result');
}
