import { Router } from 'express';
import { RunId } from '@refresher/contracts';
import { getRunSummary } from '@refresher/refresh-runs';
import { Scope } from '../auth.ts';
import type { RouteDeps } from '../http/deps.ts';
import { expectServiceErrors } from '../http/errors.ts';
import { send } from '../http/respond.ts';
import { parseRequest } from '../http/validation.ts';

export function runRoutes(deps: RouteDeps): Router {
  const router = Router();

  router.get('/tokens/runs/:runId', ...deps.allow(Scope.Read), async (req, res) => {
    const runId = parseRequest(RunId, req.params.runId, 'runId');
    const summary = await getRunSummary(deps.nc, runId, deps.persistenceTimeoutMs).catch(
      expectServiceErrors({ NotFound: 'Run not found' }),
    );
    send(res, { status: 200, body: { success: true, ...summary } });
  });

  return router;
}
