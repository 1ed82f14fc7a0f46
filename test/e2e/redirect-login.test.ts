import { describe, expect, it } from 'vitest';
import { LoginRequired, TokenRefreshed } from '@refresher/contracts';
import { generateAccounts, totpAt, type SimAccount } from '@refresher/iifl-sim';
import { waitFor } from '@refresher/testkit';
import { redirectUser, useSystem } from './harness.ts';

/**
 * IIFL's documented login, the browser redirect, as deployed: the four services as processes, real
 * NATS and Postgres, the simulator as IIFL's login page. A browser is played with fetch: the
 * gateway's login link, IIFL's form, the redirect back to the gateway's callback.
 */
describe('browser redirect login, end to end', () => {
  const [headless, redirect1, redirect2] = generateAccounts(3, 'e2e-redirect') as [SimAccount, SimAccount, SimAccount];
  const system = useSystem(
    [headless, redirect1, redirect2],
    [{ ...headless, clientName: 'Headless' }, redirectUser(redirect1, 'Redirect One'), redirectUser(redirect2, 'Redirect Two')],
  );
  const { events, api, row } = system;
  const auth = () => ({ authorization: `Bearer ${system.apiKey}` });
  const eventsOn = (subject: string) => events.filter((e) => e.subject === subject);

  const unescape = (text: string) =>
    text
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  /** What a browser does on IIFL's page: read the form (hidden fields too), type ID, password and TOTP, submit. */
  async function submitLoginPage(pageUrl: string, account: SimAccount): Promise<Response> {
    const page = await fetch(pageUrl);
    expect(page.status).toBe(200);
    const html = await page.text();
    for (const field of ['clientId', 'password', 'totp']) expect(html).toContain(`name="${field}"`);
    const form = new URLSearchParams();
    for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.set(name!, unescape(value!));
    form.set('clientId', account.clientId);
    form.set('password', account.password);
    form.set('totp', totpAt(account.totpSecret, Date.now()));
    return fetch(new URL('/', pageUrl), { method: 'POST', body: form, redirect: 'manual' });
  }

  it('skips redirect users in an all-users run with LOGIN_REQUIRED and sends each a login link', { timeout: 90_000 }, async () => {
    const res = await api('/tokens/refresh-all', { method: 'POST' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { runId: string; refreshed: number; failed: number };
    expect(body).toMatchObject({ success: true, refreshed: 1, failed: 0 });

    const summary = (await (await api(`/tokens/runs/${body.runId}`)).json()) as {
      results: { userID: string; outcome: string; code: string | null }[];
      skipped: number;
    };
    for (const user of [redirect1, redirect2]) {
      expect(summary.results.find((r) => r.userID === user.clientId)).toMatchObject({ outcome: 'skipped', code: 'LOGIN_REQUIRED' });
      const required = LoginRequired.parse(
        (await waitFor(`login link for ${user.clientId}`, () => eventsOn(`tokens.login-required.${user.clientId}`)[0])).data,
      );
      expect(required).toMatchObject({ runId: body.runId, userID: user.clientId });
      const link = new URL(required.loginUrl!);
      expect(`${link.origin}${link.pathname}`).toBe(system.sim.loginPageUrl);
      expect(link.searchParams.get('appkey')).toBe(user.appKey);
      expect(link.searchParams.get('redirecturl')).toMatch(new RegExp(`^${system.callbackUrl}\\?nonce=`));
      expect(Date.parse(required.expiresAt!)).toBeGreaterThan(Date.now());
      // Never logged in headlessly: IIFL saw no password for them.
      expect(system.sim.stats().clients[user.clientId]?.passwordAttempts ?? 0).toBe(0);
      expect((await row(user.clientId)).token).toBeNull();
    }
    expect(summary.skipped).toBeGreaterThanOrEqual(2);

    // A one-user refresh answers at once, as the legacy API answers any skip.
    const one = await api(`/tokens/refresh/${redirect2.clientId}`, { method: 'POST' });
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ success: false, reason: 'LOGIN_REQUIRED', userID: redirect2.clientId });
  });

  it(
    "walks the login link, IIFL's page and the callback; the token is stored and published; a replay changes nothing",
    { timeout: 90_000 },
    async () => {
      const link = await fetch(`${system.gatewayUrl}/iifl/login/${redirect1.clientId}`, { headers: auth(), redirect: 'manual' });
      expect(link.status).toBe(302);
      const loginPage = link.headers.get('location')!;
      expect(loginPage.startsWith(system.sim.loginPageUrl)).toBe(true);

      const back = await submitLoginPage(loginPage, redirect1);
      expect(back.status).toBe(302);
      const callback = back.headers.get('location')!;
      expect(callback.startsWith(`${system.callbackUrl}?nonce=`)).toBe(true);

      const done = await fetch(callback);
      expect(done.status).toBe(200);
      expect(done.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await done.text();
      expect(html).toContain('Logged in');
      expect(html).toContain(redirect1.clientId);

      const event = TokenRefreshed.parse(
        (await waitFor('the token event', () => eventsOn(`tokens.refreshed.${redirect1.clientId}`)[0])).data,
      );
      expect(event).toMatchObject({ userID: redirect1.clientId, source: 'login', runId: null });
      expect(html).not.toContain(event.token);
      await waitFor('the token stored', async () => ((await row(redirect1.clientId)).token === event.token ? true : undefined));
      const status = (await (await api(`/users/${redirect1.clientId}/token`)).json()) as {
        hasToken: boolean;
        tokenPreview: string;
        loginStatus: string;
      };
      expect(status).toMatchObject({ hasToken: true, tokenPreview: `${event.token.slice(0, 16)}...`, loginStatus: 'success' });
      const profile = await fetch(`${system.sim.baseUrl}/profile`, { headers: { authorization: `Bearer ${event.token}` } });
      expect(profile.status).toBe(200);

      // The same callback again: refused with a page, and nothing moves.
      const replay = await fetch(callback);
      expect(replay.status).toBe(409);
      expect(await replay.text()).toContain('used already');
      // A forged nonce: refused too.
      const forged = new URL(callback);
      forged.searchParams.set('nonce', `${forged.searchParams.get('nonce')!.slice(0, -2)}AA`);
      expect((await fetch(forged)).status).toBe(400);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(eventsOn(`tokens.refreshed.${redirect1.clientId}`)).toHaveLength(1);
      expect((await row(redirect1.clientId)).token).toBe(event.token);
    },
  );

  it('takes an authCode pasted by hand', { timeout: 60_000 }, async () => {
    // Without a redirect URL IIFL shows the code on its page.
    const shown = await submitLoginPage(`${system.sim.loginPageUrl}?v=1&appkey=${encodeURIComponent(redirect2.appKey)}`, redirect2);
    expect(shown.status).toBe(200);
    const authCode = unescape(/<code id="authCode">([^<]+)<\/code>/.exec(await shown.text())![1]!);
    const res = await api('/iifl/authcode', { method: 'POST', body: JSON.stringify({ userID: redirect2.clientId, authCode }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ success: true, userID: redirect2.clientId });
    const event = TokenRefreshed.parse(
      (await waitFor('the token event', () => eventsOn(`tokens.refreshed.${redirect2.clientId}`)[0])).data,
    );
    await waitFor('the token stored', async () => ((await row(redirect2.clientId)).token === event.token ? true : undefined));
  });
});
