import { describe, expect, it } from 'vitest';
import type { RunOutcomeRecorded } from '@refresher/contracts';
import { outcomeFromNotice } from '../src/index.ts';

const notice = (extra: Partial<RunOutcomeRecorded>): RunOutcomeRecorded => ({
  v: 1,
  runId: 'run-20261130040906-e185be55',
  userID: 'A1',
  outcome: 'refreshed',
  code: null,
  message: null,
  done: 1,
  total: 1,
  ...extra,
});

describe('outcomeFromNotice', () => {
  it('takes a refreshed outcome with its token validity from the notice', () => {
    expect(outcomeFromNotice(notice({ tokenValidity: '2026-11-30T18:30:00.000Z' }))).toEqual({
      outcome: 'refreshed',
      code: null,
      message: null,
      tokenValidity: '2026-11-30T18:30:00.000Z',
    });
  });

  it('takes a failure from the notice, whether or not it carries the field', () => {
    const failed = { outcome: 'failed' as const, code: 'ACCOUNT_BLOCKED', message: 'Account blocked (EC602)' };
    const expected = { ...failed, tokenValidity: null };
    expect(outcomeFromNotice(notice({ ...failed, tokenValidity: null }))).toEqual(expected);
    expect(outcomeFromNotice(notice(failed))).toEqual(expected);
  });

  it('leaves a refreshed notice without token validity (an older persistence) to the summary', () => {
    expect(outcomeFromNotice(notice({}))).toBeNull();
  });
});
