import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { PersistenceApi, Subjects, type AccountStatus } from '@refresher/contracts';
import { encodeJson } from '@refresher/platform';
import { failed, refreshed } from './fixtures.ts';
import { integrationUser, realUser, useHarness } from './harness.ts';

describe('persistence.users.accounts', () => {
  const h = useHarness();
  const publish = (subject: string, event: unknown) => h.nc.jetstream().publish(subject, encodeJson(event));
  const byId = async () =>
    new Map((await h.call(PersistenceApi.listAccounts, {})).accounts.map((a): [string, AccountStatus] => [a.userID, a]));

  it('tells each account its flow, token preview, latest outcome, last failure and rejection mark; never the token', async () => {
    await h.seed([realUser('A1'), realUser('B2'), realUser('C3'), integrationUser('P4')]);
    await sql`insert into user_login_settings (user_id, login_flow) values ('C3', 'redirect')`.execute(h.persistence.db);
    const run = await h.startRun({ runId: 'm1', trigger: 'schedule' });
    const loginTime = new Date(Date.now() + 1_000).toISOString();
    const token = `a-long-session-token-of-A1-${'x'.repeat(40)}`;
    await publish(Subjects.refreshed('A1'), refreshed('A1', 'm1', loginTime, token));
    await publish(Subjects.failed('B2'), failed('B2', 'm1', 'BAD_CREDENTIALS'));
    await h.eventsSettled();

    const accounts = await byId();
    expect([...accounts.keys()]).toEqual(['A1', 'B2', 'C3', 'P4']);
    const a1 = accounts.get('A1')!;
    expect(a1).toMatchObject({
      clientName: 'Client A1',
      state: 'live',
      integrationManaged: false,
      loginFlow: null,
      tokenPreview: `${token.slice(0, 16)}...`,
      lastLoginTime: loginTime,
      lastAttempt: { runId: 'm1', trigger: 'schedule', outcome: 'refreshed', code: null, message: null },
      lastFailure: null,
      credentialsRejected: null,
    });
    expect(JSON.stringify([...accounts.values()])).not.toContain(token);
    expect(JSON.stringify([...accounts.values()])).not.toContain('pw-A1');
    expect(accounts.get('B2')).toMatchObject({
      tokenPreview: null,
      lastAttempt: { outcome: 'failed', code: 'BAD_CREDENTIALS', message: 'login failed: BAD_CREDENTIALS' },
      lastFailure: { code: 'BAD_CREDENTIALS', message: 'login failed: BAD_CREDENTIALS' },
      credentialsRejected: { code: 'BAD_CREDENTIALS' },
    });
    expect(accounts.get('C3')).toMatchObject({ loginFlow: 'redirect', lastAttempt: { outcome: 'pending', at: run.requestedAt } });
    expect(accounts.get('P4')).toMatchObject({
      integrationManaged: true,
      lastAttempt: { outcome: 'skipped', code: 'INTEGRATION_MANAGED' },
    });

    // A later one-user run is the latest attempt; the rejection mark lifted shows at once.
    await h.startRun({ runId: 'one-b2', trigger: 'api', userID: 'B2' });
    await h.call(PersistenceApi.clearRejections, { userID: 'B2' });
    expect((await byId()).get('B2')).toMatchObject({
      lastAttempt: { runId: 'one-b2', outcome: 'pending' },
      lastFailure: { code: 'BAD_CREDENTIALS' },
      credentialsRejected: null,
    });
  });

  it('pages by userID: every account once, in order', async () => {
    const ids = Array.from({ length: 7 }, (_, i) => `U${i}`);
    await h.seed(ids.map((id) => realUser(id)));
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await h.call(PersistenceApi.listAccounts, { limit: 3, ...(after ? { after } : {}) });
      seen.push(...page.accounts.map((a) => a.userID));
      after = page.next ?? undefined;
      pages += 1;
    } while (after);
    expect(seen).toEqual(ids);
    expect(pages).toBe(3);
    const bad = await h.raw(PersistenceApi.listAccounts, JSON.stringify({ limit: 501 }));
    expect(bad.code).toBe(400);
  });
});
