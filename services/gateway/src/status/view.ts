import { SkipReason, type AccountStatus, type MorningStatus, type RunHeader } from '@refresher/contracts';

/** How an account stands, as the page colours it. */
export const ACCOUNT_STATES = ['ok', 'pending', 'failed', 'rejected', 'login-required', 'expired', 'managed', 'inactive'] as const;
export type AccountState = (typeof ACCOUNT_STATES)[number];

export const STATE_LABELS: Record<AccountState, string> = {
  ok: 'Refreshed',
  pending: 'Refreshing',
  failed: 'Failed',
  rejected: 'Credentials rejected',
  'login-required': 'Browser login needed',
  expired: 'No valid token',
  managed: 'Partner-managed',
  inactive: 'Not live',
};

/** The states an operator has to act on. */
const ATTENTION: ReadonlySet<AccountState> = new Set<AccountState>(['failed', 'rejected', 'login-required', 'expired']);

export interface AccountView {
  userID: string;
  clientName: string;
  /** The user's flow, or "default" (the deployment's IIFL_LOGIN_FLOW). */
  loginFlow: string;
  loginStatus: string;
  state: AccountState;
  stateLabel: string;
  attention: boolean;
  tokenPreview: string | null;
  tokenValidity: string | null;
  lastAttemptAt: string | null;
  /** "refreshed", "failed", "skipped", "pending", with the run's trigger. */
  lastAttempt: string | null;
  failureCode: string | null;
  /** IIFL's message (or the pipeline's) of the failure shown. */
  failureMessage: string | null;
  rejected: boolean;
  /** Whether the page may offer the IIFL login link (a browser-login user). */
  browserLogin: boolean;
}

export interface Verdict {
  status: MorningStatus['status'];
  headline: string;
  detail: string;
}

export interface StatusView {
  now: string;
  verdict: Verdict;
  runs: RunHeader[];
  accounts: AccountView[];
  /** What the signed-in key may do on the page. */
  may: { refresh: boolean; manageUsers: boolean };
}

function loggedInSince(account: AccountStatus, at: string): boolean {
  return account.lastLoginTime !== null && Date.parse(account.lastLoginTime) >= Date.parse(at);
}

/** The account's state from its facts: the rules first, then the latest attempt, then the token. */
export function accountState(account: AccountStatus, now: number): AccountState {
  if (account.integrationManaged) return 'managed';
  if (account.state !== 'live') return 'inactive';
  if (account.credentialsRejected) return 'rejected';
  const attempt = account.lastAttempt;
  const valid = account.tokenValidity !== null && Date.parse(account.tokenValidity) > now;
  if (attempt?.outcome === 'pending') return 'pending';
  if (attempt?.outcome === 'failed' && !loggedInSince(account, attempt.at)) return 'failed';
  if (attempt?.outcome === 'skipped' && attempt.code === SkipReason.LoginRequired && !valid) return 'login-required';
  return valid ? 'ok' : 'expired';
}

export function accountView(account: AccountStatus, now: number): AccountView {
  const state = accountState(account, now);
  const attempt = account.lastAttempt;
  const failing = state === 'failed' || state === 'rejected' || state === 'login-required';
  const failure = failing ? (attempt?.outcome === 'failed' ? attempt : (account.lastFailure ?? attempt)) : null;
  return {
    userID: account.userID,
    clientName: account.clientName,
    loginFlow: account.loginFlow ?? 'default',
    loginStatus: account.loginStatus,
    state,
    stateLabel: STATE_LABELS[state],
    attention: ATTENTION.has(state),
    tokenPreview: account.tokenPreview,
    tokenValidity: account.tokenValidity,
    lastAttemptAt: attempt?.at ?? null,
    lastAttempt: attempt ? `${attempt.outcome} (${attempt.trigger})` : null,
    failureCode: failure?.code ?? account.credentialsRejected?.code ?? null,
    failureMessage: failure?.message ?? null,
    rejected: account.credentialsRejected !== null,
    browserLogin: account.loginFlow === 'redirect' || state === 'login-required',
  };
}

/** The morning's verdict, for the top of the page. */
export function verdictOf(morning: MorningStatus): Verdict {
  if (morning.status === 'none') {
    return { status: 'none', headline: 'No morning run yet', detail: 'The first scheduled run has not started.' };
  }
  const passes = morning.passes > 0 ? `, ${morning.passes} pass${morning.passes === 1 ? '' : 'es'}` : '';
  const started = `${(morning.requestedAt ?? '').slice(0, 16).replace('T', ' ')} UTC`;
  const detail = `${morning.refreshed} of ${morning.users} refreshed since run ${morning.runId} (${started}${passes})`;
  if (morning.status === 'ok') return { status: 'ok', headline: 'All refreshed', detail };
  const pending = morning.pending > 0 ? `; ${morning.pending} still pending` : '';
  return { status: 'degraded', headline: `${morning.needsAttention} need attention`, detail: `${detail}${pending}` };
}
