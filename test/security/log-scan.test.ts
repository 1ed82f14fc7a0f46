import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAccounts, totpAt } from '@refresher/iifl-sim';
import { integrationManaged, redirectUser, startSystem, type SeedUser, type System } from '../e2e/harness.ts';

/**
 * A full refresh with every service at LOG_LEVEL=trace, plus user management, a token push and a
 * tampered credential: afterwards, no secret and no token may appear in any service's output.
 */
describe('no secret in logs', () => {
  const [good1, good2, wrongPassword, tampered, browser] = generateAccounts(5, 'log-scan');
  const users: SeedUser[] = [
    { ...good1!, clientName: 'Good One' },
    { ...good2!, clientName: 'Good Two' },
    { ...wrongPassword!, clientName: 'Wrong Password', password: 'not-the-password-logscan' },
    // Not live: only the explicit one-user refresh below touches it.
    { ...tampered!, clientName: 'Tampered', state: 'paused' },
    integrationManaged('partner-user-1', 'Partner'),
  ];
  const ADMIN_KEY = 'log-scan-admin-key-0123456789abcdef';
  const PUSHED_TOKEN = 'pushed-session-token-logscan-0123456789abcdefghijklmnop';
  const newUser = {
    password: 'new-user-pass-logscan',
    appKey: 'new-user-appkey-logscan',
    appSecret: 'new-user-secret-logscan',
    totpSecret: 'JBSWY3DPEHPK3PXPLOGSCAN',
  };
  let system: System;
  const tokens: string[] = [];

  beforeAll(async () => {
    system = await startSystem([good1!, good2!, wrongPassword!, tampered!, browser!], [...users, redirectUser(browser!, 'Browser')], {
      LOG_LEVEL: 'trace',
      API_KEYS: `ops:manage-users:${createHash('sha256').update(ADMIN_KEY).digest('hex')}`,
    });
    const sub = system.nc.subscribe('tokens.refreshed.*');
    void (async () => {
      for await (const msg of sub) tokens.push(JSON.parse(new TextDecoder().decode(msg.data)).token);
    })();
    await system.nc.flush();
  }, 120_000);
  afterAll(async () => {
    await system?.stop();
  });

  const api = (path: string, init: RequestInit = {}, key = system.apiKey) =>
    fetch(`${system.gatewayUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
    });

  it('refreshes, manages users, pushes a token and refuses tampered ciphertext without logging a secret', async () => {
    const all = await api('/tokens/refresh-all', { method: 'POST' });
    expect(all.status).toBe(200);
    expect(await all.json()).toMatchObject({ refreshed: 2, failed: 1 });

    // Stored encrypted (imported by the users tool); a tampered value is refused, and IIFL never asked.
    const { rows } = await system.sql.query('select "appSecret" from "IIFLUser" where "userID" = $1', [tampered!.clientId]);
    const stored: string = rows[0].appSecret;
    expect(stored).toMatch(/^enc:v1:k1:/);
    const flipped = stored.slice(0, -5) + (stored.at(-5) === 'A' ? 'B' : 'A') + stored.slice(-4);
    await system.sql.query('update "IIFLUser" set "appSecret" = $1 where "userID" = $2', [flipped, tampered!.clientId]);
    const one = await api(`/tokens/refresh/${tampered!.clientId}`, { method: 'POST' });
    expect(one.status).toBe(500);
    expect(await one.json()).toMatchObject({ success: false, code: 'CREDENTIALS_UNAVAILABLE' });
    expect(system.sim.stats().clients[tampered!.clientId]?.passwordAttempts ?? 0).toBe(0);

    const created = await api('/users/NEWLOGSCAN', { method: 'POST', body: JSON.stringify({ clientName: 'New', ...newUser }) }, ADMIN_KEY);
    expect(created.status).toBe(201);
    const updated = await api(
      '/users/NEWLOGSCAN',
      { method: 'PUT', body: JSON.stringify({ password: `${newUser.password}-2` }) },
      ADMIN_KEY,
    );
    expect(updated.status).toBe(200);
    const pushed = await api('/broker/token', { method: 'POST', body: JSON.stringify({ userID: 'NEWLOGSCAN', token: PUSHED_TOKEN }) });
    expect(pushed.status).toBe(200);
    const status = await api('/users/NEWLOGSCAN/token');
    expect(await status.json()).toMatchObject({ hasToken: true, tokenPreview: `${PUSHED_TOKEN.slice(0, 16)}...` });
    expect((await api('/users/NEWLOGSCAN', { method: 'DELETE' }, ADMIN_KEY)).status).toBe(200);
    expect(tokens.length).toBeGreaterThanOrEqual(3);

    // The browser redirect login: the link, IIFL's page, the callback (twice: the replay is refused).
    const link = await api(`/iifl/login/${browser!.clientId}`, { redirect: 'manual' });
    expect(link.status).toBe(302);
    const loginUrl = new URL(link.headers.get('location')!);
    const form = new URLSearchParams({
      appkey: loginUrl.searchParams.get('appkey')!,
      redirecturl: loginUrl.searchParams.get('redirecturl')!,
      clientId: browser!.clientId,
      password: browser!.password,
      totp: totpAt(browser!.totpSecret, Date.now()),
    });
    const back = await fetch(new URL('/', loginUrl), { method: 'POST', body: form, redirect: 'manual' });
    const callback = new URL(back.headers.get('location')!);
    expect((await fetch(callback)).status).toBe(200);
    expect((await fetch(callback)).status).toBe(409);
    const redirectValues = [
      callback.searchParams.get('nonce')!,
      callback.searchParams.get('authCode')!,
      loginUrl.toString(),
      system.loginLinkSecret,
    ];

    // Every process writes its last lines on the way out.
    await Promise.all(system.services.map((s) => s.stop('SIGTERM')));
    const output = system.services.map((s) => s.output()).join('\n');
    // Trace lines were written (the gateway's carry the request headers): the scan looks at real output.
    expect(output).toMatch(/"level":10/);
    expect(output).toContain('"authorization":"[redacted]"');
    expect(output).toContain(tampered!.clientId);

    const secrets = [
      ...users.flatMap((u) => [u.password, u.appKey, u.appSecret, u.totpSecret]).filter((s) => s !== 'INTEGRATION_MANAGED'),
      ...[good1!, good2!, wrongPassword!, tampered!, browser!].flatMap((a) => [a.password, a.appKey, a.appSecret, a.totpSecret]),
      ...Object.values(newUser),
      `${newUser.password}-2`,
      ...tokens,
      PUSHED_TOKEN,
      system.apiKey,
      ADMIN_KEY,
      system.credentialsKey,
      ...redirectValues,
    ];
    const leaks = [...new Set(secrets)].filter((secret) => output.includes(secret));
    expect(leaks.map((s) => `${s.slice(0, 4)}... (${s.length} chars)`)).toEqual([]);
  });
});
