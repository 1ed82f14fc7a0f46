import { describe, expect, it } from 'vitest';
import type { AccountStatus } from '@refresher/contracts';
import { html } from '../src/status/html.ts';
import { statusPage } from '../src/status/page.ts';
import { countdown } from '../src/status/rows.ts';
import { accountState, accountView, verdictOf, type StatusView } from '../src/status/view.ts';

const NOW = Date.parse('2026-12-02T03:00:00Z');
const later = (minutes: number) => new Date(NOW + minutes * 60_000).toISOString();

function account(extra: Partial<AccountStatus> = {}): AccountStatus {
  return {
    userID: 'U1',
    clientName: 'Client U1',
    state: 'live',
    integrationManaged: false,
    loginFlow: null,
    loginStatus: 'success',
    tradingStatus: 'active',
    tokenPreview: 'eyJhbGciOiJSUzI1...',
    tokenValidity: later(600),
    lastLoginTime: later(-10),
    lastAttempt: { runId: 'r1', trigger: 'schedule', outcome: 'refreshed', code: null, message: null, at: later(-10) },
    lastFailure: null,
    credentialsRejected: null,
    ...extra,
  };
}

describe("the status page's account states", () => {
  it('takes the rules first, then the latest attempt, then the token', () => {
    const failed = {
      runId: 'r2',
      trigger: 'schedule',
      outcome: 'failed',
      code: 'TIMEOUT',
      message: 'IIFL timed out',
      at: later(-5),
    } as const;
    const cases: [Partial<AccountStatus>, string][] = [
      [{}, 'ok'],
      [{ integrationManaged: true, credentialsRejected: { at: later(-1), code: 'BAD_CREDENTIALS' } }, 'managed'],
      [{ state: 'inactive' }, 'inactive'],
      [{ credentialsRejected: { at: later(-1), code: 'BAD_CREDENTIALS' } }, 'rejected'],
      [{ lastAttempt: { ...failed, outcome: 'pending', code: null, message: null } }, 'pending'],
      [{ lastAttempt: failed }, 'failed'],
      // A login after the failure (a browser login, an operator's refresh elsewhere) puts it right.
      [{ lastAttempt: failed, lastLoginTime: later(-1) }, 'ok'],
      [{ lastAttempt: { ...failed, outcome: 'skipped', code: 'LOGIN_REQUIRED' }, tokenValidity: later(-1) }, 'login-required'],
      [{ lastAttempt: { ...failed, outcome: 'skipped', code: 'LOGIN_REQUIRED' } }, 'ok'],
      [{ tokenValidity: later(-1) }, 'expired'],
      [{ tokenValidity: null, tokenPreview: null, lastAttempt: null }, 'expired'],
    ];
    for (const [extra, state] of cases) expect(accountState(account(extra), NOW), JSON.stringify(extra)).toBe(state);
  });

  it('shows the failure with IIFL’s message, and the rejection mark and browser login where they apply', () => {
    const view = accountView(
      account({
        lastAttempt: { runId: 'r3', trigger: 'schedule', outcome: 'skipped', code: 'CREDENTIALS_REJECTED', message: null, at: later(-1) },
        lastFailure: { code: 'BAD_CREDENTIALS', message: 'EC001 Invalid password', at: later(-60) },
        credentialsRejected: { at: later(-60), code: 'BAD_CREDENTIALS' },
        loginFlow: 'redirect',
      }),
      NOW,
    );
    expect(view).toMatchObject({
      state: 'rejected',
      attention: true,
      failureCode: 'BAD_CREDENTIALS',
      failureMessage: 'EC001 Invalid password',
      rejected: true,
      browserLogin: true,
      loginFlow: 'redirect',
    });
    expect(accountView(account(), NOW)).toMatchObject({ state: 'ok', attention: false, failureCode: null, loginFlow: 'default' });
  });

  it('tells the morning in a line, and counts a token down', () => {
    const morning = { runId: 'sched-1', requestedAt: '2026-12-02T03:00:00.000Z', users: 5, refreshed: 3, skippedByRule: 0, pending: 1 };
    expect(verdictOf({ ...morning, status: 'degraded', passes: 2, needsAttention: 2 })).toEqual({
      status: 'degraded',
      headline: '2 need attention',
      detail: '3 of 5 refreshed since run sched-1 (2026-12-02 03:00 UTC, 2 passes); 1 still pending',
    });
    expect(verdictOf({ ...morning, status: 'ok', passes: 0, needsAttention: 0 }).headline).toBe('All refreshed');
    expect(verdictOf({ ...morning, status: 'none', runId: null, requestedAt: null, passes: 0, needsAttention: 0 }).headline).toBe(
      'No morning run yet',
    );
    expect(countdown(later(125), NOW)).toBe('2h 05m left');
    expect(countdown(later(-7), NOW)).toBe('expired 7m ago');
    expect(countdown(null, NOW)).toBe('—');
  });
});

describe("the status page's markup", () => {
  it('escapes every value, in text and in attributes', () => {
    const evil = `<script>alert("x")</script>' onmouseover='x`;
    expect(html`<p title="${evil}">${evil}</p>`.text).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;x">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;x</p>',
    );
    const view: StatusView = {
      now: new Date(NOW).toISOString(),
      verdict: { status: 'ok', headline: 'All refreshed', detail: evil },
      runs: [],
      accounts: [accountView(account({ clientName: evil, lastAttempt: null }), NOW)],
      may: { refresh: true, manageUsers: true },
    };
    const page = statusPage(view, 'csrf-token-value');
    expect(page).not.toContain('<script>alert');
    expect(page).not.toMatch(/<script(?! src="\/status\/app\.js" defer><\/script>)/);
    // The quotes stay escaped, so no value breaks out of its attribute.
    expect(page).not.toContain("' onmouseover='");
    expect(page).toContain('&#39; onmouseover=&#39;x');
    expect(page).not.toMatch(/ style=/);
  });
});
