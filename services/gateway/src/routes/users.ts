import { Router } from 'express';
import { PersistenceApi, UserId } from '@refresher/contracts';
import { callService } from '@refresher/platform';
import { Scope } from '../auth.ts';
import type { RouteDeps } from '../http/deps.ts';
import { expectServiceErrors } from '../http/errors.ts';
import { send } from '../http/respond.ts';
import { parseRequest } from '../http/validation.ts';

export function userRoutes(deps: RouteDeps): Router {
  const router = Router();

  // Token status without the token: persistence gives only the legacy preview (16 characters + "...").
  router.get('/users/:userID/token', ...deps.allow(Scope.Read), async (req, res) => {
    const userID = parseRequest(UserId, req.params.userID, 'userID');
    const status = await callService(deps.nc, PersistenceApi.tokenStatus, { userID }, deps.persistenceTimeoutMs).catch(
      expectServiceErrors({ NotFound: 'User not found' }),
    );
    send(res, {
      status: 200,
      body: {
        success: true,
        userID: status.userID,
        hasToken: status.hasToken,
        tokenPreview: status.tokenPreview,
        tokenValidity: status.tokenValidity,
        clientName: status.clientName,
        lastLoginTime: status.lastLoginTime,
        loginStatus: status.loginStatus,
        tradingStatus: status.tradingStatus,
      },
    });
  });

  return router;
}
