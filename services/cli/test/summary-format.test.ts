import { describe, expect, it } from 'vitest';
import type { RunResult, RunSummary } from '@refresher/contracts';
import {
  formatClosing,
  formatFound,
  formatRejectedHint,
  formatStart,
  formatOutcome,
  formatProgress,
  formatRefreshedDetails,
  formatSkipped,
  formatSummary,
  toCliSummary,
} from '../src/index.ts';

function result(userID: string, outcome: RunResult['outcome'], extra: Partial<RunResult> = {}): RunResult {
  return {
    userID,
    clientName: `Client ${userID}`,
    outcome,
    code: null,
    message: null,
    tokenValidity: null,
    recordedAt: outcome === 'pending' ? null : '2026-11-29T21:30:20.000Z',
    ...extra,
  };
}

function summary(results: RunResult[]): RunSummary {
  const count = (o: RunResult['outcome']) => results.filter((r) => r.outcome === o).length;
  return {
    runId: 'run-1',
    trigger: 'cli',
    retryOf: null,
    requestedAt: '2026-11-29T21:30:00.000Z',
    completedAt: count('pending') === 0 ? '2026-11-29T21:31:00.000Z' : null,
    total: results.length,
    refreshed: count('refreshed'),
    failed: count('failed'),
    skipped: count('skipped'),
    pending: count('pending'),
    results,
  };
}

describe('formatSummary', () => {
  it('prints the legacy block', () => {
    const s = toCliSummary(
      summary([
        result('U1', 'refreshed', { tokenValidity: '2026-11-30T09:30:20.000Z' }),
        result('U2', 'skipped', { code: 'INTEGRATION_MANAGED' }),
      ]),
      true,
    );
    expect(formatSummary(s)).toEqual(['REFRESH SUMMARY:', 'Successful: 1', 'Failed: 0', 'Skipped: 1', 'Total: 2']);
  });

  it('lists failed users with code and message', () => {
    const s = toCliSummary(
      summary([
        result('U1', 'failed', { code: 'BAD_CREDENTIALS', message: 'Invalid password' }),
        result('U2', 'refreshed'),
        result('U3', 'failed', { code: 'TIMEOUT', message: null }),
      ]),
      true,
    );
    expect(formatSummary(s)).toEqual([
      'REFRESH SUMMARY:',
      'Successful: 1',
      'Failed: 2',
      'Skipped: 0',
      'Total: 3',
      '',
      'Failed Users:',
      '  U1: BAD_CREDENTIALS Invalid password',
      '  U3: TIMEOUT',
    ]);
  });

  it('prints the lines of the existing script in the legacy style: its emoji, blank line and closing line', () => {
    const s = toCliSummary(
      summary([
        result('U1', 'refreshed'),
        result('U2', 'failed', { code: 'ACCOUNT_BLOCKED', message: 'User blocked' }),
        result('P1', 'skipped', { code: 'INTEGRATION_MANAGED' }),
      ]),
      true,
    );
    const skipped = [{ userID: 'P1', clientName: 'Partner One', reason: 'INTEGRATION_MANAGED' as const }];
    expect([...formatStart(3, skipped, 'legacy'), '', ...formatSummary(s, 'legacy'), ...formatClosing('legacy')]).toEqual([
      '🔍 Fetching all IIFL users...',
      '📊 Found 3 user(s) to process',
      '',
      '⏭️  Skipping Partner One (P1) - Integration-managed user',
      '',
      '📊 REFRESH SUMMARY:',
      '✅ Successful: 1',
      '❌ Failed: 1',
      '⏭️  Skipped: 1',
      '📈 Total: 3',
      '',
      'Failed Users:',
      '  U2: ACCOUNT_BLOCKED User blocked',
      '',
      '✅ Token refresh completed!',
    ]);
    expect(formatStart(1, [], 'legacy', 'U1')[0]).toBe('🔍 Fetching IIFL user U1...');
    // The plain style is this command's own: no emoji, no closing line.
    expect(formatStart(3, skipped)).toEqual(['Found 3 user(s) to process', 'Skipping Partner One (P1) - Integration-managed user']);
    expect(formatClosing('plain')).toEqual([]);
  });
});

describe('formatRejectedHint', () => {
  it('says how to lift a rejection mark, naming the one user, or any user when there are more', () => {
    const rejected = (userID: string) => ({ userID, clientName: userID, reason: 'CREDENTIALS_REJECTED' as const });
    expect(formatRejectedHint([{ userID: 'P1', clientName: 'P', reason: 'INTEGRATION_MANAGED' }])).toEqual([]);
    const one = formatRejectedHint([rejected('R4')]).join('\n');
    expect(one).toContain('pnpm refresh-tokens --clear-rejections --user R4\n');
    expect(one).toContain('pnpm refresh-tokens --failed (or --user R4)');
    const two = formatRejectedHint([rejected('R4'), rejected('R5')]).join('\n');
    expect(two).toMatch(/^2 user\(s\) skipped/);
    expect(two).toContain('--clear-rejections --user <userID>    (without --user: every user)');
  });
});

describe('toCliSummary', () => {
  it('is the JSON shape, with pending users counted', () => {
    const results = [result('U1', 'failed', { code: 'BAD_TOTP', message: 'wrong TOTP' }), result('U2', 'pending')];
    expect(toCliSummary(summary(results), false)).toEqual({
      runId: 'run-1',
      completed: false,
      successful: 0,
      failed: 1,
      skipped: 0,
      pending: 1,
      total: 2,
      failedUsers: [{ userID: 'U1', code: 'BAD_TOTP', message: 'wrong TOTP' }],
      results,
    });
  });
});

describe('other lines', () => {
  it('says how many users were found and why one was skipped, in the legacy wording', () => {
    expect(formatFound(3)).toBe('Found 3 user(s) to process');
    expect(formatSkipped({ userID: 'P1', clientName: 'Partner One', reason: 'INTEGRATION_MANAGED' })).toBe(
      'Skipping Partner One (P1) - Integration-managed user',
    );
    expect(formatSkipped({ userID: 'N1', clientName: 'N', reason: 'NOT_LIVE' })).toBe('Skipping N (N1) - Not a live account');
  });

  it('shows validity per refreshed user, never anything else about the token', () => {
    const lines = formatRefreshedDetails([
      result('U1', 'refreshed', { tokenValidity: '2026-11-30T09:30:20.000Z' }),
      result('U2', 'failed', { code: 'TIMEOUT' }),
    ]);
    expect(lines).toEqual(['Refreshed Client U1 (U1) - token valid until 2026-11-30T09:30:20.000Z']);
  });

  it('formats outcomes and progress', () => {
    const base = { v: 1 as const, runId: 'r', code: null, message: null, done: 2, total: 5 };
    expect(formatOutcome({ ...base, userID: 'U1', outcome: 'refreshed' })).toBe('[2/5] U1 refreshed');
    expect(formatOutcome({ ...base, userID: 'U2', outcome: 'failed', code: 'BAD_TOTP', message: 'wrong' })).toBe(
      '[2/5] U2 failed: BAD_TOTP wrong',
    );
    expect(formatProgress({ done: 40, total: 100, refreshed: 38, failed: 2 })).toBe('Progress: 40/100 done (38 refreshed, 2 failed)');
  });
});
