import { Router, type Response } from 'express';
import { UserId, type RunSummary } from '@refresher/contracts';
import { ServiceCallError } from '@refresher/platform';
import { startRefreshRun, type RefreshRun } from '@refresher/refresh-runs';
import { noUsersAnswer, refreshAllAnswer, refreshUserAnswer, runStartedAnswer, skippedUserAnswer } from '../legacy-bodies.ts';
import { Scope } from '../auth.ts';
import type { RouteDeps } from '../http/deps.ts';
import { expectServiceErrors } from '../http/errors.ts';
import { prefersAsync, send, sendAsync } from '../http/respond.ts';
import { parseRequest } from '../http/validation.ts';

/**
 * Waits for a run, but no longer than the caller stays connected or the gateway keeps running:
 * closing the run's progress subscription ends the wait with the summary as it stands. Undefined
 * when the summary cannot be read (the run is started all the same).
 */
async function waitForRun(
  run: RefreshRun,
  res: Response,
  deps: RouteDeps,
): Promise<{ completed: boolean; summary: RunSummary } | undefined> {
  try {
    return await whileConnected(run, res, deps, () => run.waitForCompletion(deps.waitMs));
  } catch (err) {
    if (!(err instanceof ServiceCallError)) throw err;
    deps.log.warn({ runId: run.start.runId, errCode: err.code }, 'run summary unavailable');
    return undefined;
  }
}

/**
 * Runs a wait on the run, but no longer than the caller stays connected or the gateway keeps
 * running: closing the run's progress subscription ends the wait.
 */
async function whileConnected<T>(run: RefreshRun, res: Response, deps: RouteDeps, wait: () => Promise<T>): Promise<T> {
  const stopWaiting = () => run.close();
  res.once('close', stopWaiting);
  deps.shutdownSignal?.addEventListener('abort', stopWaiting, { once: true });
  try {
    if (deps.shutdownSignal?.aborted) run.close();
    return await wait();
  } finally {
    res.off('close', stopWaiting);
    deps.shutdownSignal?.removeEventListener('abort', stopWaiting);
  }
}

function onceClosing(run: RefreshRun): RefreshRun {
  let closed = false;
  return {
    start: run.start,
    waitForCompletion: (timeoutMs, onOutcome) => run.waitForCompletion(timeoutMs, onOutcome),
    waitForUser: (userID, timeoutMs) => run.waitForUser(userID, timeoutMs),
    close: () => {
      if (closed) return;
      closed = true;
      run.close();
    },
  };
}

export function refreshRoutes(deps: RouteDeps): Router {
  const router = Router();
  const runOptions = { requestTimeoutMs: deps.persistenceTimeoutMs };

  router.post('/tokens/refresh-all', ...deps.allow(Scope.Refresh), async (req, res) => {
    const run = onceClosing(await startRefreshRun(deps.nc, { trigger: 'api' }, runOptions));
    try {
      const { runId, requested, skipped } = run.start;
      deps.log.info({ runId, requested: requested.length, skipped: skipped.length }, 'refresh of all users started');
      if (prefersAsync(req)) return sendAsync(res, runStartedAnswer(run.start));
      if (requested.length === 0) return send(res, noUsersAnswer(run.start));
      const outcome = await waitForRun(run, res, deps);
      send(res, outcome ? refreshAllAnswer(outcome.summary, outcome.completed) : runStartedAnswer(run.start));
    } finally {
      run.close();
    }
  });

  router.post('/tokens/refresh/:userID', ...deps.allow(Scope.Refresh), async (req, res) => {
    const userID = parseRequest(UserId, req.params.userID, 'userID');
    const started = await startRefreshRun(deps.nc, { trigger: 'api', userID }, runOptions).catch(
      expectServiceErrors({ NotFound: 'User not found' }),
    );
    const run = onceClosing(started);
    try {
      const { runId } = run.start;
      const skip = run.start.skipped.find((s) => s.userID === userID);
      deps.log.info({ runId, userID, skipped: skip?.reason }, 'refresh of one user started');
      if (skip) return send(res, skippedUserAnswer(skip, runId));
      if (prefersAsync(req)) return sendAsync(res, runStartedAnswer(run.start, userID));
      const user = run.start.requested.find((u) => u.userID === userID) ?? { userID, clientName: '' };
      const outcome = await whileConnected(run, res, deps, () => run.waitForUser(userID, deps.waitMs));
      send(res, refreshUserAnswer(runId, user, outcome));
    } finally {
      run.close();
    }
  });

  return router;
}
