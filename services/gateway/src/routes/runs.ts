import { Router } from 'express';
import { RunId } from '@refresher/contracts';
import { ServiceCallError } from '@refresher/platform';
import { getRunSummary } from '@refresher/refresh-runs';
import { Scope } from '../auth.ts';
import type { RouteDeps } from '../http/deps.ts';
import { send } from '../http/respond.ts';
import { parseRequest } from '../http/validation.ts';

export function runRoutes(deps: RouteDeps): Router {
  const router = Router();

  router.get('/tokens/runs/:runId', ...deps.allow(Scope.Read), async (req, res) => {
    const runId = parseRequest(RunId, req.params.runId, 'runId');
    try {
      const summary = await getRunSummary(deps.nc, runId, deps.persistenceTimeoutMs);
      send(res, { status: 200, body: { success: true, ...summary } });
    } catch (err) {
      if (err instanceof ServiceCallError && err.code === 404) {
        return send(res, { status: 404, body: { success: false, error: 'Run not found' } });
      }
      throw err;
    }
  });

  return router;
}
