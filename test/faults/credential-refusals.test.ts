import { describe, expect, it } from 'vitest';
import { startRefreshRun } from '@refresher/refresh-runs';
import type { AnswerShape, SimAccount } from '@refresher/iifl-sim';
import { report, useRig, waitForRun } from './rig.ts';

/**
 * The services as deployed, against the simulator in each answer shape: every refusal of a
 * credential costs the account exactly one password attempt, in the run that met it and in none
 * after (the next all-users run skips the account). IIFL's shapes: `documented` (codes in
 * `status`), `legacy` (codes in `result[0].status`), `sealed` (answers in `cRespEncData`).
 */
const SHAPES: AnswerShape[] = ['documented', 'legacy', 'sealed'];
const REFUSALS = ['wrong password', 'blocked', 'password expired', 'unknown code', '403 without a code'] as const;
type Refusal = (typeof REFUSALS)[number];
const EXPECTED: Record<Refusal, { code: string }> = {
  'wrong password': { code: 'BAD_CREDENTIALS' },
  blocked: { code: 'ACCOUNT_BLOCKED' },
  'password expired': { code: 'PASSWORD_EXPIRED' },
  'unknown code': { code: 'BROKER_REJECTED' },
  '403 without a code': { code: 'IP_NOT_AUTHORISED' },
};
const FLOWS = ['headless-v1', 'headless-v2'] as const;
type Flow = (typeof FLOWS)[number];
const CASES = SHAPES.flatMap((shape) => FLOWS.map((flow): [AnswerShape, Flow] => [shape, flow]));
const PASSWORD_STEP = { 'headless-v1': 'validatepassword', 'headless-v2': 'v2-password' } as const;
/** Users of each shape and flow, then one with a wrong TOTP seed and one that meets a bare 403. */
const USERS = CASES.length * REFUSALS.length + 2;

describe('refusals of credentials, in every answer shape', () => {
  const rig = useRig(
    {
      users: USERS,
      prefix: 'refusal',
      env: { AUTH_RETRY_BASE_MS: '100', AUTH_RETRY_MAX_DELAY_MS: '400', AUTH_RETRY_DEADLINE_MS: '60000' },
    },
    (r) => r.start('iifl-auth', { IIFL_IDAAS_URL: r.sim.idaasUrl }),
  );
  const passwordCalls = (user: string) => rig.sim.stats().clients[user]?.passwordAttempts ?? 0;

  /** Only these users are live, so an all-users run is about them alone. */
  async function onlyLive(users: string[]): Promise<void> {
    await rig.sql.query(`update "IIFLUser" set state = case when "userID" = any($1) then 'live' else 'paused' end`, [users]);
  }

  /** Explicit one-user runs for each user (a rejection mark does not hold these back), awaited. */
  async function refreshEach(users: string[]): Promise<Map<string, { outcome: string; code: string | null }>> {
    const runs = await Promise.all(users.map((userID) => startRefreshRun(rig.nc, { trigger: 'cli', userID })));
    const outcomes = new Map<string, { outcome: string; code: string | null }>();
    for (const run of runs) {
      run.close();
      await waitForRun(rig, run.start.runId, 90_000);
      const { rows } = await rig.sql.query<{ user_id: string; outcome: string; code: string | null }>(
        'select user_id, outcome, code from refresh_outcomes where run_id = $1',
        [run.start.runId],
      );
      for (const row of rows) outcomes.set(row.user_id, { outcome: row.outcome, code: row.code });
    }
    return outcomes;
  }

  /** An all-users run over the live users: each skipped for its rejected credentials, none called. */
  async function expectNextRunSkips(users: string[]): Promise<void> {
    const before = users.map(passwordCalls);
    const run = await startRefreshRun(rig.nc, { trigger: 'schedule' });
    run.close();
    expect(run.start.requested).toEqual([]);
    expect(run.start.skipped.map((s) => [s.userID, s.reason]).sort()).toEqual(users.map((u) => [u, 'CREDENTIALS_REJECTED']).sort());
    await waitForRun(rig, run.start.runId, 30_000);
    expect(users.map(passwordCalls)).toEqual(before);
  }

  /** Makes the simulator refuse `a`, logging in by `flow`, the way `refusal` says. */
  function refuse(a: SimAccount, flow: Flow, refusal: Refusal): void {
    const inject = rig.sim.knobs().inject;
    const endpoint = PASSWORD_STEP[flow];
    if (refusal === 'wrong password') rig.sim.addAccounts([{ ...a, password: 'changed-at-the-broker' }]);
    if (refusal === 'blocked') rig.sim.addAccounts([{ ...a, blocked: true }]);
    if (refusal === 'password expired') rig.sim.setKnobs({ inject: [...inject, { endpoint, clientId: a.clientId, code: 'EC069' }] });
    if (refusal === 'unknown code') rig.sim.setKnobs({ inject: [...inject, { endpoint, clientId: a.clientId, code: 'EC777' }] });
    if (refusal === '403 without a code') rig.sim.setKnobs({ inject: [...inject, { endpoint, clientId: a.clientId, httpStatus: 403 }] });
  }

  /** The users' own login flow, as `pnpm users update --login-flow` stores it. */
  async function setFlow(users: string[], flow: Flow): Promise<void> {
    await rig.sql.query(
      `insert into user_login_settings (user_id, login_flow) select unnest($1::text[]), $2
       on conflict (user_id) do update set login_flow = excluded.login_flow`,
      [users, flow],
    );
  }

  it.each(CASES)(
    '%s answers, %s: each refusal is met once, and the next run calls none of them',
    async (shape, flow) => {
      const index = CASES.findIndex(([s, f]) => s === shape && f === flow);
      const accounts = rig.accounts.slice(index * REFUSALS.length, (index + 1) * REFUSALS.length);
      const users = accounts.map((a) => a.clientId);
      rig.sim.setKnobs({ answerShape: shape, inject: [] });
      accounts.forEach((a, i) => refuse(a, flow, REFUSALS[i]!));
      await setFlow(users, flow);
      await onlyLive(users);

      const outcomes = await refreshEach(users);
      const figures = Object.fromEntries(users.map((u, i) => [REFUSALS[i]!, { ...outcomes.get(u), passwordCalls: passwordCalls(u) }]));
      report(`credential-refusals-${shape}-${flow}`, figures);
      users.forEach((user, i) => {
        expect(outcomes.get(user), `${shape} ${flow} ${REFUSALS[i]}`).toEqual({ outcome: 'failed', code: EXPECTED[REFUSALS[i]!].code });
        expect(passwordCalls(user), `${shape} ${flow} ${REFUSALS[i]}`).toBe(1);
      });
      await expectNextRunSkips(users);
    },
    180_000,
  );

  it('an invalid TOTP is sent twice, in two steps, with one password; then never again', async () => {
    const a = rig.accounts[USERS - 2]!;
    rig.sim.setKnobs({ answerShape: 'documented', inject: [] });
    rig.sim.addAccounts([{ ...a, totpSecret: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ' }]);
    await onlyLive([a.clientId]);
    const outcomes = await refreshEach([a.clientId]);
    const stats = rig.sim.stats().clients[a.clientId]!;
    report('credential-refusals-totp', { outcome: outcomes.get(a.clientId), stats });
    expect(outcomes.get(a.clientId)).toEqual({ outcome: 'failed', code: 'BAD_TOTP' });
    expect(stats.passwordAttempts).toBe(1);
    expect(stats.totpAttempts).toBe(2);
    expect(new Set(stats.totpAttemptSteps).size).toBe(2);
    await expectNextRunSkips([a.clientId]);
    expect(rig.sim.stats().clients[a.clientId]!.totpAttempts).toBe(2);
  }, 120_000);

  it('a bare 403 on the password step is met once; the next run, with the 403 gone, still skips the account', async () => {
    const a = rig.accounts[USERS - 1]!;
    rig.sim.setKnobs({ answerShape: 'documented', inject: [], passwordForbidden: true });
    await onlyLive([a.clientId]);
    const outcomes = await refreshEach([a.clientId]);
    rig.sim.setKnobs({ passwordForbidden: false });
    expect(outcomes.get(a.clientId)).toEqual({ outcome: 'failed', code: 'IP_NOT_AUTHORISED' });
    expect(passwordCalls(a.clientId)).toBe(1);
    await expectNextRunSkips([a.clientId]);
  }, 120_000);
});
