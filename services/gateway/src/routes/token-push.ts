import { Router } from 'express';
import { z } from 'zod';
import { PersistenceApi, UserId, type PushTokenRequest, type PushTokenResponse } from '@refresher/contracts';
import { callService } from '@refresher/platform';
import { Scope } from '../auth.ts';
import type { RouteDeps } from '../http/deps.ts';
import { expectServiceErrors } from '../http/errors.ts';
import { send } from '../http/respond.ts';
import { parseRequest } from '../http/validation.ts';

const MAX_TOKEN_LENGTH = 8192;

function requiredString(name: string) {
  return z.string({
    error: (issue) => (issue.input === undefined || issue.input === null ? `${name} is required` : `${name} must be a string`),
  });
}

const TokenValue = (name: string) => requiredString(name).min(1, `${name} must not be empty`).max(MAX_TOKEN_LENGTH, `${name} is too long`);

/** Legacy callers sent dates as ISO strings or epoch milliseconds; the contracts want ISO with offset. */
const LooseTimestamp = z
  .union([z.string().max(64), z.number().finite()], { error: 'tokenValidity must be a date string or epoch milliseconds' })
  .transform((value) => new Date(value))
  .refine((date) => !Number.isNaN(date.getTime()), 'tokenValidity is not a valid date')
  .transform((date) => date.toISOString());

const Status = (name: string) =>
  z
    .string({ error: `${name} must be a string` })
    .min(1, `${name} must not be empty`)
    .max(32, `${name} is too long`);

const BODY_NOT_OBJECT = 'request body must be a JSON object';

/** `POST /broker/token`: a partner pushes a token for a user that exists. Extra fields are ignored. */
export const BrokerTokenBody = z.object(
  {
    userID: requiredString('userID').pipe(UserId),
    token: TokenValue('token'),
    tokenValidity: LooseTimestamp.nullish(),
    loginStatus: Status('loginStatus').nullish(),
    tradingStatus: Status('tradingStatus').nullish(),
  },
  { error: BODY_NOT_OBJECT },
);

/**
 * `POST /tokens/sync`: a partner pushes a token and the user is created (integration-managed) when
 * missing. `encryptedToken` is stored as given, exactly like `accessToken` (the legacy route did not
 * decrypt it either); `accessToken` wins when both are sent.
 */
export const TokenSyncBody = z
  .object(
    {
      userId: requiredString('userId').pipe(UserId).optional(),
      userID: requiredString('userID').pipe(UserId).optional(),
      accessToken: TokenValue('accessToken').optional(),
      encryptedToken: TokenValue('encryptedToken').optional(),
      clientName: z.string({ error: 'clientName must be a string' }).max(200, 'clientName is too long').nullish(),
    },
    { error: BODY_NOT_OBJECT },
  )
  .superRefine((body, ctx) => {
    if (body.userId === undefined && body.userID === undefined) {
      ctx.addIssue({ code: 'custom', message: 'userId is required', path: ['userId'] });
    }
    if (body.accessToken === undefined && body.encryptedToken === undefined) {
      ctx.addIssue({ code: 'custom', message: 'accessToken or encryptedToken is required', path: ['accessToken'] });
    }
  });

function push(deps: RouteDeps, request: PushTokenRequest): Promise<PushTokenResponse> {
  return callService(deps.nc, PersistenceApi.pushToken, request, deps.persistenceTimeoutMs);
}

export function tokenPushRoutes(deps: RouteDeps): Router {
  const router = Router();

  router.post('/broker/token', ...deps.allow(Scope.PushTokens), async (req, res) => {
    const body = parseRequest(BrokerTokenBody, req.body, 'request body');
    const request: PushTokenRequest = { userID: body.userID, token: body.token };
    if (body.tokenValidity) request.tokenValidity = body.tokenValidity;
    if (body.loginStatus) request.loginStatus = body.loginStatus;
    if (body.tradingStatus) request.tradingStatus = body.tradingStatus;
    const pushed = await push(deps, request).catch(expectServiceErrors({ NotFound: 'User not registered' }));
    deps.log.info({ userID: pushed.userID }, 'token pushed by partner');
    send(res, { status: 200, body: { success: true, userID: pushed.userID, tokenValidity: pushed.tokenValidity } });
  });

  router.post('/tokens/sync', ...deps.allow(Scope.PushTokens), async (req, res) => {
    const body = parseRequest(TokenSyncBody, req.body, 'request body');
    // Both are present after the refinement above.
    const userID = (body.userId ?? body.userID)!;
    const token = (body.accessToken ?? body.encryptedToken)!;
    const createIfMissing = body.clientName ? { clientName: body.clientName } : {};
    const pushed = await push(deps, { userID, token, createIfMissing });
    deps.log.info({ userID, created: pushed.created }, 'token synced by partner');
    send(res, {
      status: 200,
      body: { success: true, userID, created: pushed.created, tokenValidity: pushed.tokenValidity },
    });
  });

  return router;
}
