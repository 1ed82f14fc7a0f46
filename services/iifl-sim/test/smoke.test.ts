import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoAccounts, startSimulator, type Simulator } from '../src/index.ts';
import { call, login } from './protocol-client.ts';

describe('a full login against the simulator', () => {
  let sim: Simulator;
  let t = Date.UTC(2025, 0, 6, 3, 0, 0);
  beforeAll(async () => {
    sim = await startSimulator({ accounts: demoAccounts(), now: () => t });
  });
  afterAll(() => sim.close());

  it('logs a demo account in and the session works for /profile', async () => {
    const account = demoAccounts()[0]!;
    const result = await login(sim.baseUrl, account, t);
    expect(result.ok).toBe(true);
    const profile = await call(sim.baseUrl, 'GET', '/profile', undefined, { authorization: `Bearer ${result.userSession}` });
    expect(profile.status).toBe(200);
    expect(profile.body['result'].clientId).toBe(account.clientId);
    t += 30_000;
  });
});
