import { Router } from 'express';
import { PersistenceApi } from '@refresher/contracts';
import { callService } from '@refresher/platform';
import { startRefreshRun } from '@refresher/refresh-runs';
import { Scope } from '../auth.ts';
import type { RouteDeps } from '../http/deps.ts';
import { expectServiceErrors } from '../http/errors.ts';
import { send } from '../http/respond.ts';
import { runStartedAnswer } from '../legacy-bodies.ts';

/**
 * `POST /tokens/refresh-failed` (scope refresh): what `pnpm refresh-tokens --failed` does. The users
 * that failed in the latest run over all users (and in the passes linked to it) are logged in again
 * in a run of their own, `retry: {of, failures: 'all'}`; persistence picks them (a user whose
 * rejected credentials still stand comes back skipped `CREDENTIALS_REJECTED`). Answers at once:
 * 202 with the run id (outcomes follow on the run's status URL and the status page), or 200 when
 * nobody failed.
 */
export function refreshFailedRoutes(deps: RouteDeps): Router {
  const router = Router();
  router.post('/tokens/refresh-failed', ...deps.allow(Scope.Refresh), async (_req, res) => {
    const timeout = deps.persistenceTimeoutMs;
    const [latest] = (await callService(deps.nc, PersistenceApi.listRuns, { limit: 1, allUsersOnly: true }, timeout)).runs;
    // A run on its own without failures has nobody to retry; a chain (a morning and its passes) only persistence can tell.
    if (!latest || (latest.retryOf === null && latest.failed === 0)) {
      send(res, { status: 200, body: { success: true, message: 'Nobody failed', runId: null, requested: 0, skipped: 0 } });
      return;
    }
    const run = await startRefreshRun(
      deps.nc,
      { trigger: 'api', retry: { of: latest.runId, failures: 'all' } },
      { requestTimeoutMs: timeout },
    ).catch(expectServiceErrors({ NotFound: 'Run not found' }));
    run.close();
    const { runId, requested, skipped } = run.start;
    deps.log.info(
      { runId, retryOf: latest.runId, requested: requested.length, skipped: skipped.length },
      'refresh of failed users started',
    );
    if (requested.length + skipped.length === 0) {
      send(res, { status: 200, body: { success: true, message: 'Nobody failed', runId, requested: 0, skipped: 0 } });
      return;
    }
    send(res, runStartedAnswer(run.start));
  });
  return router;
}
