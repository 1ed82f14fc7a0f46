import type { Kysely } from 'kysely';
import {
  isIntegrationManaged,
  SkipReason,
  type RunUser,
  type SkippedUser,
  type StartRunRequest,
  type StartRunResponse,
} from '@refresher/contracts';
import { matchesFingerprint } from '@refresher/credential-crypto';
import type { Database, IIFLUserRow, RefreshRunRow } from '@refresher/db';
import { UserNotFoundError } from '../errors.ts';
import { listRejectedUsers } from '../users/refresh-state.repository.ts';
import { findUser, listLiveUsers } from '../users/user.repository.ts';
import { generateRunId } from './run-id.ts';
import { findRun, insertRun, listOutcomes } from './run.repository.ts';
import { selectRetryCandidates } from './retry-selection.ts';

/**
 * Registers a run and decides who it logs in, before anyone publishes a request: the users are
 * read, then the run and its outcome rows are written in one statement. Idempotent on runId: a run
 * that exists is returned as it was registered (`created: false`).
 */
export async function startRun(db: Kysely<Database>, request: StartRunRequest, now = new Date()): Promise<StartRunResponse> {
  // A run id of our own is new; one given by the caller (a scheduler slot) may exist already.
  const runId = request.runId ?? generateRunId(now);
  if (request.runId) {
    const existing = await findRun(db, runId);
    if (existing) return existingRun(db, existing);
  }

  const { requested, skipped, retryOf } = await selectUsers(db, request);
  const created = await insertRun(db, {
    runId,
    trigger: request.trigger,
    userID: request.userID ?? null,
    retryOf,
    requestedAt: now,
    requested,
    skipped,
  });
  // A concurrent start with the same id got there first: answer with that run.
  if (!created) return existingRun(db, (await findRun(db, runId))!);
  return { runId, created: true, requestedAt: now.toISOString(), requested, skipped };
}

async function selectUsers(
  db: Kysely<Database>,
  request: StartRunRequest,
): Promise<{ requested: RunUser[]; skipped: SkippedUser[]; retryOf: string | null }> {
  if (request.userID && request.trigger === 'watch') {
    // Nobody asked for this login: the day watch found a dead token. Rules apply as in any run.
    const user = await findUser(db, request.userID);
    if (!user) throw new UserNotFoundError(request.userID);
    if (user.state !== 'live') {
      return { requested: [], skipped: [{ userID: user.userID, clientName: user.clientName, reason: SkipReason.NotLive }], retryOf: null };
    }
    return { ...selectAll([user], await listRejectedUsers(db)), retryOf: null };
  }
  if (request.userID) return { ...selectOne(await findUser(db, request.userID), request.userID), retryOf: null };
  if (request.retry) {
    const [candidates, rejected] = await Promise.all([selectRetryCandidates(db, request.retry), listRejectedUsers(db)]);
    return { ...selectAll(candidates.users, rejected), retryOf: candidates.root };
  }
  return { ...selectAll(...(await Promise.all([listLiveUsers(db), listRejectedUsers(db)]))), retryOf: null };
}

/** A person's one-user request: whatever the user's state or earlier rejections. */
function selectOne(user: IIFLUserRow | undefined, userID: string): { requested: RunUser[]; skipped: SkippedUser[] } {
  if (!user) throw new UserNotFoundError(userID);
  const entry = { userID: user.userID, clientName: user.clientName };
  return isIntegrationManaged(user)
    ? { requested: [], skipped: [{ ...entry, reason: SkipReason.IntegrationManaged }] }
    : { requested: [entry], skipped: [] };
}

/** Every live user, except partner-managed ones and those whose current credentials were rejected. */
function selectAll(
  users: IIFLUserRow[],
  rejected: Awaited<ReturnType<typeof listRejectedUsers>>,
): { requested: RunUser[]; skipped: SkippedUser[] } {
  const requested: RunUser[] = [];
  const skipped: SkippedUser[] = [];
  for (const user of users) {
    const entry = { userID: user.userID, clientName: user.clientName };
    const mark = rejected.get(user.userID);
    if (isIntegrationManaged(user)) {
      skipped.push({ ...entry, reason: SkipReason.IntegrationManaged });
    } else if (mark?.rejected_credentials_hash && matchesFingerprint(user, mark.rejected_credentials_hash)) {
      skipped.push({ ...entry, reason: SkipReason.CredentialsRejected });
    } else {
      requested.push(entry);
    }
  }
  return { requested, skipped };
}

async function existingRun(db: Kysely<Database>, run: RefreshRunRow): Promise<StartRunResponse> {
  const outcomes = await listOutcomes(db, run.run_id);
  const requested: RunUser[] = [];
  const skipped: SkippedUser[] = [];
  for (const o of outcomes) {
    const entry = { userID: o.user_id, clientName: o.client_name };
    if (o.requested) requested.push(entry);
    else skipped.push({ ...entry, reason: o.code as SkippedUser['reason'] });
  }
  return { runId: run.run_id, created: false, requestedAt: run.requested_at.toISOString(), requested, skipped };
}
