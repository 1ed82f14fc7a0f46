import { Router } from 'express';
import { z } from 'zod';
import { PersistenceApi, RunId, RUNS_PAGE_MAX, RunsCursor, type EndpointRequest } from '@refresher/contracts';
import { callService } from '@refresher/platform';
import { getRunSummary } from '@refresher/refresh-runs';
import { Scope } from '../auth.ts';
import type { RouteDeps } from '../http/deps.ts';
import { expectServiceErrors } from '../http/errors.ts';
import { send } from '../http/respond.ts';
import { parseRequest } from '../http/validation.ts';

/** `GET /tokens/runs?limit=&before=`: a page size (default 20) and the `next` cursor of the page before. */
export const ListQuery = z.strictObject(
  {
    limit: z
      .string({ error: 'limit must be given once' })
      .regex(/^\d{1,3}$/, `limit must be a whole number from 1 to ${RUNS_PAGE_MAX}`)
      .transform(Number)
      .pipe(z.number().min(1, `limit must be from 1 to ${RUNS_PAGE_MAX}`).max(RUNS_PAGE_MAX, `limit must be from 1 to ${RUNS_PAGE_MAX}`))
      .optional(),
    before: z.string({ error: 'before must be given once' }).pipe(RunsCursor).optional(),
  },
  { error: 'the query takes limit and before only' },
);

const RUN_NOT_FOUND = { NotFound: 'Run not found' } as const;

export function runRoutes(deps: RouteDeps): Router {
  const router = Router();
  const listRuns = (request: EndpointRequest<typeof PersistenceApi.listRuns>) =>
    callService(deps.nc, PersistenceApi.listRuns, request, deps.persistenceTimeoutMs).catch(
      expectServiceErrors({ BadRequest: 'Invalid before: use the next of an earlier page' }),
    );

  // Newest first, paged by key: `next` is the `before` of the following page (null on the last one).
  router.get('/tokens/runs', ...deps.allow(Scope.Read), async (req, res) => {
    const query = parseRequest(ListQuery, req.query, 'query');
    const page = await listRuns(query);
    send(res, { status: 200, body: { success: true, runs: page.runs, next: page.next } });
  });

  // Before `/tokens/runs/:runId`, which would otherwise take `latest` for a run id.
  router.get('/tokens/runs/latest', ...deps.allow(Scope.Read), async (_req, res) => {
    const [latest] = (await listRuns({ limit: 1 })).runs;
    if (!latest) {
      send(res, { status: 404, body: { success: false, error: 'No run yet' } });
      return;
    }
    const summary = await getRunSummary(deps.nc, latest.runId, deps.persistenceTimeoutMs).catch(expectServiceErrors(RUN_NOT_FOUND));
    send(res, { status: 200, body: { success: true, ...summary } });
  });

  router.get('/tokens/runs/:runId', ...deps.allow(Scope.Read), async (req, res) => {
    const runId = parseRequest(RunId, req.params.runId, 'runId');
    const summary = await getRunSummary(deps.nc, runId, deps.persistenceTimeoutMs).catch(expectServiceErrors(RUN_NOT_FOUND));
    send(res, { status: 200, body: { success: true, ...summary } });
  });

  return router;
}
