import { describe, expect, it } from 'vitest';
import { LoginRequired, TokenInvalidated, TokenRefreshed } from '@refresher/contracts';
import { createIiflClient, iiflClientConfigFromEnv, iiflClientEnvSchema } from '@refresher/iifl-client';
import { generateAccounts, totpAt, type SimAccount } from '@refresher/iifl-sim';
import { submitLoginForm, waitFor } from '@refresher/testkit';
import { watchTokens } from '@refresher/token-feed';
import { redirectUser, useSystem } from './harness.ts';

/** Short, so that a day's watching fits in a test: each stored token is checked every 2 s. */
const CHECK_INTERVAL_MS = 2_000;

/**
 * The day watch of tokens as deployed: the four services as processes over real NATS and Postgres,
 * the simulator as IIFL. A token is ended at IIFL mid-day by a login of the same account elsewhere
 * (the simulator ends a client's earlier session when it issues a new one; IIFL documents nothing
 * either way); the watch finds it dead, announces it, and the user is refreshed or sent a link.
 */
describe('watching stored tokens during the day, end to end', () => {
  const [headless, browser] = generateAccounts(2, 'e2e-watch') as [SimAccount, SimAccount];
  const system = useSystem([headless, browser], [{ ...headless, clientName: 'Headless' }, redirectUser(browser, 'Browser')], {
    TOKEN_CHECK_INTERVAL_MS: String(CHECK_INTERVAL_MS),
  });
  const { events, api, row } = system;
  const eventsOn = (subject: string) => events.filter((e) => e.subject === subject);
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const profileStatus = async (token: string) =>
    (await fetch(`${system.sim.baseUrl}/profile`, { headers: { authorization: `Bearer ${token}` } })).status;
  const profileCalls = () => system.sim.stats().requests['profile'] ?? 0;
  const seenTokens: string[] = [];

  /** Someone logs the account in at IIFL, outside this system, with IIFL's own headless steps. */
  async function loginElsewhere(account: SimAccount): Promise<void> {
    const env = iiflClientEnvSchema.parse({ IIFL_BASE_URL: system.sim.baseUrl, IIFL_KEY_ASSOCIATION_DELAY_MS: '0' });
    const client = createIiflClient(iiflClientConfigFromEnv(env));
    try {
      const { clientId: userID, password, appKey, appSecret, totpSecret } = account;
      seenTokens.push((await client.login({ userID, password, appKey, appSecret, totpSecret })).token);
    } finally {
      await client.close();
    }
  }

  async function watchRunsOf(userID: string): Promise<Array<{ run_id: string; outcome: string; code: string | null }>> {
    const { rows } = await system.sql.query(
      `select r.run_id, o.outcome, o.code from refresh_runs r join refresh_outcomes o using (run_id)
        where r.trigger = 'watch' and o.user_id = $1 order by r.requested_at`,
      [userID],
    );
    return rows;
  }

  it(
    'a headless token ended at IIFL mid-day is found, announced and refreshed; the new one reaches a subscribed engine',
    { timeout: 180_000 },
    async () => {
      const id = headless.clientId;
      expect((await api('/tokens/refresh-all', { method: 'POST' })).status).toBe(200);
      const engine = watchTokens(system.nc, { userID: id });
      const received: TokenRefreshed[] = [];
      const collecting = (async () => {
        for await (const token of engine) received.push(token);
      })();
      const t1 = await waitFor('the morning token at the engine', () => received[0]);
      seenTokens.push(t1.token);

      // A live token is checked at the interval's pace, and nothing is announced.
      const before = profileCalls();
      await sleep(3 * CHECK_INTERVAL_MS);
      const checks = profileCalls() - before;
      expect(checks).toBeGreaterThanOrEqual(1);
      expect(checks).toBeLessThanOrEqual(4);
      expect(eventsOn(`tokens.invalidated.${id}`)).toEqual([]);

      await loginElsewhere(headless);
      expect(await profileStatus(t1.token)).toBe(401);

      const announced = TokenInvalidated.parse(
        (await waitFor('the dead token announced', () => eventsOn(`tokens.invalidated.${id}`)[0], 30_000)).data,
      );
      expect(announced).toMatchObject({ userID: id, loginTime: t1.loginTime, reason: 'SESSION_INVALID' });
      expect(JSON.stringify(announced)).not.toContain(t1.token);

      // A login of the watch's own run (it may wait for a TOTP step the other login did not use).
      const t2 = await waitFor('a newer token at the engine', () => received.find((t) => t.loginTime > t1.loginTime), 120_000);
      seenTokens.push(t2.token);
      expect(await profileStatus(t2.token)).toBe(200);
      // The engine hears the token as iifl-auth publishes it; persistence records the run's outcome next.
      const runs = await waitFor('the watch run recorded', async () => {
        const found = await watchRunsOf(id);
        return found[0]?.outcome === 'pending' ? undefined : found;
      });
      expect(runs).toEqual([expect.objectContaining({ outcome: 'refreshed' })]);
      expect(t2.runId).toBe(runs[0]!.run_id);

      // Persistence marked the row that held the dead token, then stored the new one.
      const { rows: states } = await system.sql.query('select * from user_refresh_state where user_id = $1', [id]);
      expect(states[0]).toMatchObject({ token_invalidated_reason: 'SESSION_INVALID', token_invalidated_broker_code: announced.brokerCode });
      expect(states[0].token_invalidated_at.toISOString()).toBe(announced.invalidatedAt);
      const stored = await waitFor('the new token stored', async () => {
        const current = await row(id);
        return current.token === t2.token ? current : undefined;
      });
      expect(stored.tokenValidity.toISOString()).toBe(new Date(t2.tokenValidity).toISOString());
      expect(stored.loginStatus).toBe('success');

      // The new token is watched in turn, and found alive: one death, one announcement, one run.
      await sleep(3 * CHECK_INTERVAL_MS);
      expect(eventsOn(`tokens.invalidated.${id}`)).toHaveLength(1);
      expect(await watchRunsOf(id)).toHaveLength(1);
      engine.stop();
      await collecting;
    },
  );

  it('a browser-login token ended at IIFL gets its holder a login link, once', { timeout: 150_000 }, async () => {
    const id = browser.clientId;
    const link = await fetch(`${system.gatewayUrl}/iifl/login/${id}`, {
      headers: { authorization: `Bearer ${system.apiKey}` },
      redirect: 'manual',
    });
    expect(link.status).toBe(302);
    const back = await submitLoginForm(link.headers.get('location')!, { ...browser, totp: totpAt(browser.totpSecret, Date.now()) });
    expect((await fetch(back.headers.get('location')!)).status).toBe(200);
    const r1 = TokenRefreshed.parse((await waitFor('the browser login token', () => eventsOn(`tokens.refreshed.${id}`)[0])).data);
    seenTokens.push(r1.token);
    await waitFor('the token stored', async () => ((await row(id)).token === r1.token ? true : undefined));

    await loginElsewhere(browser);
    const announced = TokenInvalidated.parse(
      (await waitFor('the dead token announced', () => eventsOn(`tokens.invalidated.${id}`)[0], 30_000)).data,
    );
    expect(announced).toMatchObject({ loginTime: r1.loginTime, reason: 'SESSION_INVALID' });
    const [run] = await waitFor('the watch run recorded', async () => {
      const runs = await watchRunsOf(id);
      return runs[0]?.outcome === 'skipped' ? runs : undefined;
    });
    expect(run).toMatchObject({ code: 'LOGIN_REQUIRED' });
    const sent = await waitFor('a login link from the watch run', () =>
      eventsOn(`tokens.login-required.${id}`).find((e) => (e.data as { runId?: string }).runId === run!.run_id),
    );
    expect(LoginRequired.parse(sent.data).loginUrl).toMatch(/^http/);
    // The row's validity now ends when the token was found dead: the legacy trading code stops using it.
    expect((await row(id)).tokenValidity.toISOString()).toBe(announced.invalidatedAt);

    // No link per interval: the dead token is neither checked nor announced again.
    await sleep(3 * CHECK_INTERVAL_MS);
    expect(eventsOn(`tokens.invalidated.${id}`)).toHaveLength(1);
    expect(await watchRunsOf(id)).toHaveLength(1);
  });

  it('never writes a token into any service log', () => {
    expect(seenTokens.length).toBeGreaterThanOrEqual(4);
    const logs = system.services.map((s) => s.output()).join('\n');
    expect(logs).toContain('stored token no longer accepted by IIFL');
    for (const token of seenTokens) expect(logs.includes(token), 'a token appeared in the logs').toBe(false);
  });
});
