import type { NatsConnection } from 'nats';
import { PersistenceApi, type AccountStatus } from '@refresher/contracts';
import { callService } from '@refresher/platform';
import { Scope } from '../auth.ts';
import { may } from './guards.ts';
import type { Session } from './sessions.ts';
import { accountView, verdictOf, type StatusView } from './view.ts';

/** Runs (and passes) the page lists, newest first. */
export const RUNS_SHOWN = 12;

/** Pages of accounts read at most (500 each): a bound, not a limit any deployment is near. */
const MAX_ACCOUNT_PAGES = 40;

export interface StatusDataDeps {
  nc: NatsConnection;
  persistenceTimeoutMs: number;
}

/** Every account, following persistence's pages. */
async function allAccounts(deps: StatusDataDeps): Promise<AccountStatus[]> {
  const accounts: AccountStatus[] = [];
  let after: string | undefined;
  for (let page = 0; page < MAX_ACCOUNT_PAGES; page += 1) {
    const answer = await callService(deps.nc, PersistenceApi.listAccounts, after ? { after } : {}, deps.persistenceTimeoutMs);
    accounts.push(...answer.accounts);
    if (answer.next === null) break;
    after = answer.next;
  }
  return accounts;
}

/** What the page shows, read from persistence in three calls at once. */
export async function readStatus(deps: StatusDataDeps, session: Session, now = Date.now()): Promise<StatusView> {
  const [morning, runs, accounts] = await Promise.all([
    callService(deps.nc, PersistenceApi.morningStatus, {}, deps.persistenceTimeoutMs),
    callService(deps.nc, PersistenceApi.listRuns, { limit: RUNS_SHOWN }, deps.persistenceTimeoutMs),
    allAccounts(deps),
  ]);
  return {
    now: new Date(now).toISOString(),
    verdict: verdictOf(morning),
    runs: runs.runs,
    accounts: accounts.map((a) => accountView(a, now)),
    may: { refresh: may(session, Scope.Refresh), manageUsers: may(session, Scope.ManageUsers) },
  };
}
