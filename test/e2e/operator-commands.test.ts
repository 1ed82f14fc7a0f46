import { describe, expect, it } from 'vitest';
import { generateAccounts } from '@refresher/iifl-sim';
import { runToEnd } from '@refresher/testkit';
import { integrationManaged, useSystem, type SeedUser } from './harness.ts';

/**
 * An operator's commands against the whole system (the four services as processes, real NATS and
 * Postgres, the simulator as IIFL): the drop-in legacy script, `--failed` after a morning with
 * failures, `--clear-rejections`, and the run list of the API. One story, test after test.
 */
describe('operator commands', () => {
  const [good, flaky, blocked, wrongPassword] = generateAccounts(4, 'ops');
  const users: SeedUser[] = [
    { ...good!, clientName: 'Good' },
    { ...flaky!, clientName: 'Flaky' },
    { ...blocked!, clientName: 'Blocked' },
    { ...wrongPassword!, clientName: 'Wrong Password', password: 'not-the-password' },
    integrationManaged('ops-partner-1', 'Partner'),
  ];
  const system = useSystem([good!, flaky!, { ...blocked!, blocked: true }, wrongPassword!], users, {
    // No scheduled run in the middle of the story; transient faults retried briefly.
    REFRESH_SCHEDULE: '0 0 1 1 *',
    AUTH_RETRY_MAX_ATTEMPTS: '2',
    AUTH_RETRY_BASE_MS: '100',
    AUTH_RETRY_MAX_DELAY_MS: '200',
  });
  const cli = (args: string[]) => system.run('services/cli/src/main.ts', args);
  const sessions = (user: { clientId: string }) => system.sim.stats().clients[user.clientId]?.sessionsIssued ?? 0;
  const passwordCalls = (user: { clientId: string }) => system.sim.stats().clients[user.clientId]?.passwordAttempts ?? 0;
  const marked = async (user: { clientId: string }) =>
    (await system.sql.query('select 1 from user_refresh_state where user_id = $1 and credentials_rejected_at is not null', [user.clientId]))
      .rowCount === 1;
  const runs = async () =>
    ((await (await system.api('/tokens/runs')).json()) as { runs: { runId: string; retryOf: string | null }[] }).runs;

  it('the drop-in scripts/refresh-tokens-prisma.js prints the existing script’s output and exits 1 when users failed', async () => {
    // IIFL answers 503 to the flaky account's password step for now.
    system.sim.setKnobs({ inject: [{ endpoint: 'validatepassword', clientId: flaky!.clientId, httpStatus: 503 }] });
    const legacy = await runToEnd('node', ['scripts/refresh-tokens-prisma.js', '--verbose'], system.env);
    expect(legacy.code, legacy.stderr).toBe(1);
    const lines = legacy.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 4)).toEqual([
      '🔍 Fetching all IIFL users...',
      '📊 Found 5 user(s) to process',
      '',
      '⏭️  Skipping Partner (ops-partner-1) - Integration-managed user',
    ]);
    expect(legacy.stdout).toContain(
      ['', '📊 REFRESH SUMMARY:', '✅ Successful: 1', '❌ Failed: 3', '⏭️  Skipped: 1', '📈 Total: 5', '', 'Failed Users:'].join('\n'),
    );
    const failedLines = lines.filter((l) => l.startsWith('  '));
    expect(failedLines).toHaveLength(3);
    for (const [user, code] of [
      [flaky!, 'BROKER_UNAVAILABLE'],
      [blocked!, 'ACCOUNT_BLOCKED'],
      [wrongPassword!, 'BAD_CREDENTIALS'],
    ] as const) {
      expect(
        failedLines.some((l) => l.startsWith(`  ${user.clientId}: ${code}`)),
        `${code} listed`,
      ).toBe(true);
    }
    expect(lines.slice(-2)).toEqual(['', '✅ Token refresh completed!']);
    // --verbose: the validity of the new token, never the token or the app key.
    expect(legacy.stdout).toMatch(new RegExp(`Refreshed Good \\(${good!.clientId}\\) - token valid until \\d{4}-`));
    expect(legacy.output).not.toContain(good!.appKey);
    expect(sessions(good!)).toBe(1);
  });

  it('--failed refreshes exactly the users that failed in the latest run and skips the still-rejected ones, saying how to lift that', async () => {
    // The outage of the flaky account is over; the blocked account was unlocked at IIFL.
    system.sim.setKnobs({ inject: [] });
    system.sim.addAccounts([{ ...blocked!, blocked: false }]);
    const before = { blocked: passwordCalls(blocked!), wrong: passwordCalls(wrongPassword!) };

    const retried = await cli(['--failed', '--json']);
    expect(retried.code, retried.stderr).toBe(0);
    const summary = JSON.parse(retried.stdout) as { successful: number; failed: number; skipped: number; total: number; results: any[] };
    expect(summary).toMatchObject({ successful: 1, failed: 0, skipped: 2, total: 3 });
    expect(summary.results.map((r) => [r.userID, r.outcome, r.code]).sort()).toEqual(
      [
        [flaky!.clientId, 'refreshed', null],
        [blocked!.clientId, 'skipped', 'CREDENTIALS_REJECTED'],
        [wrongPassword!.clientId, 'skipped', 'CREDENTIALS_REJECTED'],
      ].sort(),
    );
    expect(retried.stderr).toContain('pnpm refresh-tokens --clear-rejections --user <userID>');
    // Nobody else was logged in, and no rejected credentials were sent again.
    expect([sessions(good!), sessions(flaky!), sessions(blocked!)]).toEqual([1, 1, 0]);
    expect({ blocked: passwordCalls(blocked!), wrong: passwordCalls(wrongPassword!) }).toEqual(before);

    const [latest, first] = await runs();
    expect(latest!.retryOf).toBe(first!.runId);
  });

  it('--clear-rejections --user lifts one mark; --failed then logs that user in', async () => {
    const cleared = await cli(['--clear-rejections', '--user', blocked!.clientId]);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout.split('\n').slice(0, 2)).toEqual([
      'Lifted the credential rejection mark of 1 user(s):',
      `  ${blocked!.clientId}`,
    ]);
    expect([await marked(blocked!), await marked(wrongPassword!)]).toEqual([false, true]);

    const retried = await cli(['--failed']);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toContain('REFRESH SUMMARY:\nSuccessful: 1\nFailed: 0\nSkipped: 1\nTotal: 2');
    expect(retried.stdout).toContain(`Skipping Wrong Password (${wrongPassword!.clientId}) - Credentials were rejected`);
    expect(retried.stdout).toContain(`pnpm refresh-tokens --clear-rejections --user ${wrongPassword!.clientId}`);
    expect([sessions(good!), sessions(flaky!), sessions(blocked!)]).toEqual([1, 1, 1]);
    const chain = await runs();
    expect(chain.map((r) => r.retryOf)).toEqual([chain[2]!.runId, chain[2]!.runId, null]);
  });

  it('--clear-rejections without --user lifts every mark left; an unknown user is a clear 404', async () => {
    const cleared = await cli(['--clear-rejections', '--json']);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(JSON.parse(cleared.stdout)).toEqual({ cleared: [wrongPassword!.clientId] });
    expect(await marked(wrongPassword!)).toBe(false);

    const again = await cli(['--clear-rejections']);
    expect(again.stdout).toContain('No user had a rejection mark: nothing to lift.');
    const unknown = await cli(['--clear-rejections', '--user', 'NOBODY']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('User not found: NOBODY');
  });
});
