import { describe, expect, it } from 'vitest';
import type { RunResult, RunSummary, StartRunResponse } from '@refresher/contracts';
import { noUsersAnswer, refreshAllAnswer, refreshUserAnswer, runStartedAnswer, skippedUserAnswer } from '../src/legacy-bodies.ts';

const at = '2026-11-30T03:00:00.000Z';
const validity = '2026-11-30T15:00:00.000Z';
const userA1 = { userID: 'A1', clientName: 'Client A1' };

/** The counts every refresh-all body opens with, in the legacy API's words. */
const legacyCounts = (message: string, refreshed: number, failed: number, total: number) => ({
  success: true,
  message,
  refreshed,
  failed,
  total,
});

function result(userID: string, outcome: RunResult['outcome'], extra: Partial<RunResult> = {}): RunResult {
  return {
    userID,
    clientName: `Client ${userID}`,
    outcome,
    code: null,
    message: null,
    tokenValidity: null,
    recordedAt: outcome === 'pending' ? null : at,
    ...extra,
  };
}

function summary(results: RunResult[], runId = 'run-1'): RunSummary {
  const count = (o: RunResult['outcome']) => results.filter((r) => r.outcome === o).length;
  return {
    runId,
    trigger: 'api',
    retryOf: null,
    requestedAt: at,
    completedAt: count('pending') === 0 ? at : null,
    total: results.length,
    refreshed: count('refreshed'),
    failed: count('failed'),
    skipped: count('skipped'),
    pending: count('pending'),
    results,
  };
}

const start: StartRunResponse = {
  runId: 'run-1',
  created: true,
  requestedAt: at,
  requested: [
    { userID: 'A1', clientName: 'Client A1' },
    { userID: 'B2', clientName: 'Client B2' },
  ],
  skipped: [{ userID: 'IM1', clientName: 'Partner', reason: 'INTEGRATION_MANAGED' }],
};

describe('refresh-all answers', () => {
  it('answers a finished run like the legacy API, skipped users counted apart from total', () => {
    const s = summary([
      result('A1', 'refreshed', { tokenValidity: validity }),
      result('B2', 'failed', { code: 'BAD_CREDENTIALS', message: 'Invalid password' }),
      result('IM1', 'skipped', { code: 'INTEGRATION_MANAGED' }),
    ]);
    const answer = refreshAllAnswer(s, true);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      ...legacyCounts('Token refresh completed', 1, 1, 2),
      results: [
        { success: true, userID: 'A1', clientName: 'Client A1', tokenValidity: validity },
        {
          success: false,
          userID: 'B2',
          clientName: 'Client B2',
          error: 'BAD_CREDENTIALS: Invalid password',
          code: 'BAD_CREDENTIALS',
        },
      ],
      runId: 'run-1',
      skipped: 1,
    });
  });

  it('answers 202 with the partial counts while users are pending', () => {
    const s = summary([result('A1', 'refreshed', { tokenValidity: validity }), result('B2', 'pending')]);
    const answer = refreshAllAnswer(s, false);
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({
      ...legacyCounts('Token refresh still running', 1, 0, 2),
      pending: 1,
      skipped: 0,
      runId: 'run-1',
      statusUrl: '/api/integration/tokens/runs/run-1',
    });
    expect(answer.body.results).toEqual([{ success: true, userID: 'A1', clientName: 'Client A1', tokenValidity: validity }]);
  });

  it('keeps the legacy no-users message with the run id', () => {
    const answer = noUsersAnswer({ ...start, requested: [] });
    expect(answer).toEqual({
      status: 200,
      body: {
        ...legacyCounts('No real users to refresh', 0, 0, 0),
        results: [],
        runId: 'run-1',
        skipped: 1,
      },
    });
  });

  it('describes an accepted run with its status URL', () => {
    expect(runStartedAnswer(start)).toEqual({
      status: 202,
      body: {
        success: true,
        message: 'Token refresh started',
        runId: 'run-1',
        requested: 2,
        skipped: 1,
        statusUrl: '/api/integration/tokens/runs/run-1',
      },
    });
    expect(runStartedAnswer(start, 'A1').body.userID).toBe('A1');
  });
});

describe('one-user refresh answers', () => {
  it('answers 200 with the token validity when refreshed', () => {
    const answer = refreshUserAnswer('run-1', userA1, result('A1', 'refreshed', { tokenValidity: validity }));
    expect(answer).toEqual({
      status: 200,
      body: {
        success: true,
        message: 'Token refreshed successfully',
        userID: 'A1',
        clientName: 'Client A1',
        tokenValidity: validity,
        runId: 'run-1',
      },
    });
  });

  it('answers 500 with the failure code and message, as the legacy API did', () => {
    const failed = result('A1', 'failed', { code: 'ACCOUNT_BLOCKED', message: 'Account blocked (EC602)' });
    expect(refreshUserAnswer('run-1', userA1, failed)).toEqual({
      status: 500,
      body: {
        success: false,
        error: 'ACCOUNT_BLOCKED: Account blocked (EC602)',
        code: 'ACCOUNT_BLOCKED',
        userID: 'A1',
        runId: 'run-1',
      },
    });
  });

  it('answers 202 while the user has no outcome', () => {
    for (const pending of [result('A1', 'pending'), null]) {
      const answer = refreshUserAnswer('run-1', userA1, pending);
      expect(answer.status).toBe(202);
      expect(answer.body).toMatchObject({ success: true, userID: 'A1', runId: 'run-1', statusUrl: '/api/integration/tokens/runs/run-1' });
    }
  });

  it('refuses integration-managed users with the legacy message', () => {
    expect(skippedUserAnswer({ userID: 'IM1', reason: 'INTEGRATION_MANAGED' }, 'run-1')).toEqual({
      status: 200,
      body: {
        success: false,
        message: 'Cannot refresh token for integration-managed user',
        reason: 'INTEGRATION_MANAGED',
        userID: 'IM1',
        runId: 'run-1',
      },
    });
    const viaSummary = refreshUserAnswer(
      'run-1',
      { userID: 'IM1', clientName: 'Client IM1' },
      result('IM1', 'skipped', { code: 'INTEGRATION_MANAGED' }),
    );
    expect(viaSummary.body.message).toBe('Cannot refresh token for integration-managed user');
  });

  it('explains a user skipped because the broker rejected the credentials', () => {
    const answer = skippedUserAnswer({ userID: 'A1', reason: 'CREDENTIALS_REJECTED' }, 'run-1');
    expect(answer.status).toBe(200);
    expect(answer.body.success).toBe(false);
    expect(answer.body.message).toMatch(/rejected/);
  });
});
