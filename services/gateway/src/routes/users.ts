import { Router } from 'express';
import { PersistenceApi, TokenStatusRequest, TokenStatusResponse, UserId } from '@refresher/contracts';
import { callService, ServiceCallError } from '@refresher/platform';
import { Scope } from '../auth.ts';
import type { RouteDeps } from '../http/deps.ts';
import { send } from '../http/respond.ts';
import { parseRequest } from '../http/validation.ts';

export function userRoutes(deps: RouteDeps): Router {
  const router = Router();

  // Token status without the token: persistence gives only the legacy preview (16 characters + "...").
  router.get('/users/:userID/token', ...deps.allow(Scope.Read), async (req, res) => {
    const userID = parseRequest(UserId, req.params.userID, 'userID');
    try {
      const status = await callService(
        deps.nc,
        PersistenceApi.tokenStatus,
        TokenStatusRequest,
        TokenStatusResponse,
        { userID },
        deps.persistenceTimeoutMs,
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
    } catch (err) {
      if (err instanceof ServiceCallError && err.code === 404) {
        return send(res, { status: 404, body: { success: false, error: 'User not found' } });
      }
      throw err;
    }
  });

  return router;
}
