import { describe, expect, it } from 'vitest';
import { RefreshRequested, Subjects, TokenFailed, UserId, isRetryableFailure, FailureCode } from '../src/index.ts';

describe('user ids', () => {
  it.each(['28748327', 'AB12_cd-9', '2a66c354-2cfa-467c-a14b-da76a6ca13c7'])('accepts %s', (id) => {
    expect(UserId.safeParse(id).success).toBe(true);
  });
  it.each(['', 'a.b', 'a*', 'a>', 'a b', 'a/b', '../x', 'x'.repeat(65), 'é'])('rejects %j', (id) => {
    expect(UserId.safeParse(id).success).toBe(false);
  });
  it('refuses to build a subject from an unsafe id', () => {
    expect(() => Subjects.refreshed('a.>')).toThrow(TypeError);
    expect(Subjects.refreshed('28748327')).toBe('tokens.refreshed.28748327');
  });
});

describe('events', () => {
  it('rejects unknown fields and wrong versions', () => {
    const ok = {
      v: 1, eventId: 'e1', runId: 'r1', userID: 'u1', trigger: 'api', requestedAt: '2026-11-30T03:00:00.000Z',
    };
    expect(RefreshRequested.safeParse(ok).success).toBe(true);
    expect(RefreshRequested.safeParse({ ...ok, v: 2 }).success).toBe(false);
    expect(RefreshRequested.safeParse({ ...ok, extra: 1 }).success).toBe(false);
    expect(TokenFailed.safeParse({ ...ok, code: 'NOPE' }).success).toBe(false);
  });
  it('marks credential rejections as not retryable', () => {
    expect(isRetryableFailure(FailureCode.BadCredentials)).toBe(false);
    expect(isRetryableFailure(FailureCode.Timeout)).toBe(true);
  });
});
