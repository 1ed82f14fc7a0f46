import { Router } from 'express';
import { PersistenceApi, UserId } from '@refresher/contracts';
import { callService } from '@refresher/platform';
import { Scope } from '../auth.ts';
import type { RouteDeps } from '../http/deps.ts';
import { expectServiceErrors } from '../http/errors.ts';
import { send } from '../http/respond.ts';
import { parseRequest } from '../http/validation.ts';

/**
 * `DELETE /users/:userID/rejection` (scope manage-users): the user's credentials were put right
 * outside the system (an account unlocked at IIFL), so the mark the broker's rejection left is
 * lifted and all-users runs log the user in again. `cleared` says whether there was a mark.
 */
export function rejectionRoutes(deps: RouteDeps): Router {
  const router = Router();
  router.delete('/users/:userID/rejection', ...deps.allow(Scope.ManageUsers), async (req, res) => {
    const userID = parseRequest(UserId, req.params.userID, 'userID');
    const { cleared } = await callService(deps.nc, PersistenceApi.clearRejections, { userID }, deps.persistenceTimeoutMs).catch(
      expectServiceErrors({ NotFound: 'User not found' }),
    );
    deps.log.info({ userID, cleared: cleared.length > 0 }, 'credential rejection mark lifted');
    send(res, { status: 200, body: { success: true, userID, cleared: cleared.includes(userID) } });
  });
  return router;
}
