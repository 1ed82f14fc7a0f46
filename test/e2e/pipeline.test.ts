import { describe, expect, it } from 'vitest';
import { TokenFailed, TokenRefreshed, TokenSkipped } from '@refresher/contracts';
import { generateAccounts } from '@refresher/iifl-sim';
import { waitFor } from '@refresher/testkit';
import { integrationManaged, useSystem, type SeedUser } from './harness.ts';

/**
 * The whole pipeline as deployed: four service processes, real NATS and Postgres, the simulator
 * as IIFL. Driven over HTTP and through the CLI; checked in Postgres and on plain NATS subjects.
 */
describe('token refresh, end to end', () => {
  const [good1, good2, good3, wrongPassword, blocked] = generateAccounts(5, 'e2e');
  const simAccounts = [good1!, good2!, good3!, wrongPassword!, { ...blocked!, blocked: true }];
  const users: SeedUser[] = [
    { ...good1!, clientName: 'Good One' },
    { ...good2!, clientName: 'Good Two' },
    { ...good3!, clientName: 'Good Three' },
    { ...wrongPassword!, clientName: 'Wrong Password', password: 'not-the-password' },
    { ...blocked!, clientName: 'Blocked Account' },
    integrationManaged('2a66c354-2cfa-467c-a14b-da76a6ca13c7', 'Avisekh ghosh'),
  ];
  const secrets = users.flatMap((u) => [u.password, u.appSecret, u.totpSecret, u.appKey]).filter((s) => s !== 'INTEGRATION_MANAGED');
  const system = useSystem(simAccounts, users);
  const { events, api, row } = system;

  // Response bodies are checked field by field below; their shape is what is under test.
  const json = async (res: Response): Promise<any> => res.json();

  it('refresh-all logs every real user in, stores the tokens and publishes them', async () => {
    const res = await api('/tokens/refresh-all', { method: 'POST' });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({ success: true, message: 'Token refresh completed', refreshed: 3, failed: 2 });
    const byUser = Object.fromEntries(body.results.map((r: { userID: string }) => [r.userID, r]));
    expect(byUser[good1!.clientId]).toMatchObject({ success: true, clientName: 'Good One' });
    expect(byUser[wrongPassword!.clientId]).toMatchObject({ success: false });
    expect(byUser[wrongPassword!.clientId].error).toMatch(/BAD_CREDENTIALS/);
    expect(byUser[blocked!.clientId].error).toMatch(/ACCOUNT_BLOCKED/);
    expect(byUser['2a66c354-2cfa-467c-a14b-da76a6ca13c7']).toBeUndefined();

    // Every refreshed token reached a plain NATS subscriber, and equals the row the legacy code reads.
    for (const user of [good1!, good2!, good3!]) {
      const event = await waitFor(`token event for ${user.clientId}`, () =>
        events.find((e) => e.subject === `tokens.refreshed.${user.clientId}`),
      );
      const refreshed = TokenRefreshed.parse(event.data);
      const stored = await row(user.clientId);
      expect(stored.token).toBe(refreshed.token);
      expect(stored.loginStatus).toBe('success');
      expect(stored.tradingStatus).toBe('active');
      expect(stored.tokenValidity.toISOString()).toBe(new Date(refreshed.tokenValidity).toISOString());
      expect(stored.lastLoginTime.toISOString()).toBe(new Date(refreshed.loginTime).toISOString());
      // The token is a live IIFL session.
      const profile = await fetch(`${system.sim.baseUrl}/profile`, { headers: { authorization: `Bearer ${refreshed.token}` } });
      expect(profile.status).toBe(200);
    }
    const failure = TokenFailed.parse(events.find((e) => e.subject === `tokens.failed.${wrongPassword!.clientId}`)!.data);
    expect(failure).toMatchObject({ code: 'BAD_CREDENTIALS', retryable: false });
    expect((await row(wrongPassword!.clientId)).loginStatus).toBe('failed');
    // The integration-managed user was never logged in and its row is untouched.
    const managed = await row('2a66c354-2cfa-467c-a14b-da76a6ca13c7');
    expect(managed.token).toBeNull();
    expect(managed.loginStatus).toBe('pending');
    // A rejected password was tried exactly once at the broker.
    expect(system.sim.stats().clients[wrongPassword!.clientId]?.passwordAttempts).toBe(1);
  });

  it('answers a single-user refresh like the legacy API', { timeout: 90_000 }, async () => {
    const ok = await api(`/tokens/refresh/${good2!.clientId}`, { method: 'POST' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ success: true, userID: good2!.clientId, clientName: 'Good Two' });

    const unknown = await api('/tokens/refresh/NOSUCHUSER', { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual(expect.objectContaining({ success: false, error: 'User not found' }));

    const managed = await api('/tokens/refresh/2a66c354-2cfa-467c-a14b-da76a6ca13c7', { method: 'POST' });
    expect(managed.status).toBe(200);
    expect(await managed.json()).toMatchObject({ success: false, message: 'Cannot refresh token for integration-managed user' });

    const status = await api(`/users/${good2!.clientId}/token`);
    const body = await json(status);
    expect(body).toMatchObject({ success: true, userID: good2!.clientId, hasToken: true });
    expect(body.tokenPreview).toMatch(/^.{16}\.\.\.$/);
  });

  it('answers 202 with a run id when asked to respond asynchronously, and the run can be followed', { timeout: 120_000 }, async () => {
    const res = await api('/tokens/refresh-all', { method: 'POST', headers: { prefer: 'respond-async' } });
    expect(res.status).toBe(202);
    const { runId } = await json(res);
    expect(runId).toEqual(expect.any(String));
    // Users logged in moments ago wait for the next TOTP step (up to 30 s) before logging in again.
    const summary = await waitFor(
      'run to complete',
      async () => {
        const s = await json(await api(`/tokens/runs/${runId}`));
        return s.pending === 0 ? s : undefined;
      },
      90_000,
      250,
    );
    // The credentials rejected in the first run are now skipped, not tried again.
    expect(summary).toMatchObject({ refreshed: 3, failed: 0 });
    const skipped = summary.results.filter((r: { outcome: string }) => r.outcome === 'skipped');
    expect(skipped.map((r: { userID: string }) => r.userID).sort()).toEqual(
      [wrongPassword!.clientId, blocked!.clientId, '2a66c354-2cfa-467c-a14b-da76a6ca13c7'].sort(),
    );
    expect(system.sim.stats().clients[wrongPassword!.clientId]?.passwordAttempts).toBe(1);
  });

  it('refreshes through the CLI, with the legacy summary block and a JSON mode', { timeout: 180_000 }, async () => {
    const one = await system.run('services/cli/src/main.ts', ['--user', good3!.clientId, '--json']);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({ successful: 1, failed: 0, total: 1 });

    const all = await system.run('services/cli/src/main.ts', []);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/REFRESH SUMMARY:\nSuccessful: 3\nFailed: 0\nSkipped: 3\nTotal: 6/);
  });

  it('stores and publishes a token a partner pushes', async () => {
    const pushed = await api('/tokens/sync', {
      method: 'POST',
      body: JSON.stringify({ userId: 'partner-user-1', accessToken: 'partner-token-abcdefghijklmnopqrstuvwxyz', clientName: 'Partner' }),
    });
    expect(pushed.status).toBe(200);
    const event = await waitFor('pushed token event', () => events.find((e) => e.subject === 'tokens.refreshed.partner-user-1'));
    expect(TokenRefreshed.parse(event.data)).toMatchObject({ source: 'push', token: 'partner-token-abcdefghijklmnopqrstuvwxyz' });
    expect((await row('partner-user-1')).token).toBe('partner-token-abcdefghijklmnopqrstuvwxyz');
  });

  it('never writes a credential or a token into any service log', async () => {
    const tokens = events.flatMap((e) => {
      const parsed = TokenRefreshed.safeParse(e.data);
      return parsed.success ? [parsed.data.token] : [];
    });
    expect(tokens.length).toBeGreaterThan(0);
    const logs = system.services.map((s) => s.output()).join('\n');
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [...secrets, ...tokens]) {
      expect(logs.includes(secret), 'a secret or token appeared in the logs').toBe(false);
    }
    // Skipped events carry reasons, never credentials.
    for (const e of events.filter((x) => x.subject.startsWith('tokens.skipped.'))) TokenSkipped.parse(e.data);
  });
});
