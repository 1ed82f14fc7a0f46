import { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import { IiflAuthApi, LoginRefusal, RedeemLoginRequest, ServiceErrorCode, UserId, type RedeemLoginResponse } from '@refresher/contracts';
import { callService, ServiceCallError, type Logger } from '@refresher/platform';
import type { NatsConnection } from 'nats';
import { Scope } from '../auth.ts';
import type { RouteDeps } from '../http/deps.ts';
import { refusalPage, sendLoginPage } from '../http/login-page.ts';
import { send } from '../http/respond.ts';
import { parseRequest } from '../http/validation.ts';

/** The spellings IIFL (and the clients that copy it) use for the two values it appends. */
const AUTH_CODE_NAMES = ['authCode', 'authcode', 'auth_code', 'code'] as const;
const CLIENT_ID_NAMES = ['clientId', 'clientid', 'client_id', 'clientCode'] as const;

export interface LoginRouteDeps {
  nc: NatsConnection;
  log: Logger;
  /** Timeout of the calls to iifl-auth (a redeem waits for IIFL's answer). */
  iiflAuthTimeoutMs: number;
}

function redeem(deps: LoginRouteDeps, request: RedeemLoginRequest): Promise<RedeemLoginResponse> {
  return callService(deps.nc, IiflAuthApi.redeemLogin, request, deps.iiflAuthTimeoutMs);
}

/** The first of `names` present in the query as one string; undefined when absent or repeated. */
function queryValue(req: Request, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = (req.query as Record<string, unknown>)[name];
    if (value !== undefined) return typeof value === 'string' && value.length > 0 ? value : undefined;
  }
  return undefined;
}

/**
 * `GET /api/integration/iifl/callback`: where IIFL sends the browser after the login, with the
 * authCode and clientId appended to the link's `?nonce=`. No API key: the signed single-use nonce
 * is the authority, checked by iifl-auth. Answers a small HTML page; never the token.
 */
export function iiflCallback(deps: LoginRouteDeps): RequestHandler {
  return async (req, res) => {
    const nonce = queryValue(req, ['nonce']);
    const authCode = queryValue(req, AUTH_CODE_NAMES);
    const clientId = queryValue(req, CLIENT_ID_NAMES);
    const missing = !nonce ? 'the login link' : !authCode ? 'a login code' : !clientId ? 'the client id' : null;
    if (missing) {
      const message = `This page is reached from IIFL's login page through a login link, and IIFL's answer did not carry ${missing}.`;
      return sendLoginPage(res, { status: 400, title: 'Login not completed', message });
    }
    const request = RedeemLoginRequest.safeParse({ nonce, authCode, clientId });
    if (!request.success) return sendLoginPage(res, refusalPage(400, LoginRefusal.LinkInvalid));
    try {
      const done = await redeem(deps, request.data);
      deps.log.info({ userID: done.userID }, 'browser login completed');
      sendLoginPage(res, {
        status: 200,
        title: 'Logged in',
        message: `The IIFL session of ${done.userID} is stored, valid until ${done.tokenValidity}. You can close this page.`,
      });
    } catch (err) {
      if (!(err instanceof ServiceCallError)) throw err;
      deps.log.info(
        { errCode: err.code, reason: err.code < 500 || err.code === ServiceErrorCode.BadGateway ? err.message : undefined },
        'browser login refused',
      );
      sendLoginPage(res, refusalPage(err.code, err.message));
    }
  };
}

export const AuthCodeBody = z.strictObject(
  {
    userID: UserId,
    authCode: z.string({ error: 'authCode must be a string' }).min(1, 'authCode must not be empty').max(4096, 'authCode is too long'),
    clientId: z.string({ error: 'clientId must be a string' }).min(1).max(128).optional(),
  },
  { error: 'request body must be a JSON object' },
);

/** JSON answers of refusals by iifl-auth, for the two routes behind the API key. */
const JSON_REFUSALS: Record<string, { status: number; error: string }> = {
  [LoginRefusal.UserNotFound]: { status: 404, error: 'User not found' },
  [LoginRefusal.NoAppCredentials]: { status: 409, error: 'This user has no app credentials (integration-managed)' },
  [LoginRefusal.NotConfigured]: { status: 503, error: 'Login links are not configured' },
  [LoginRefusal.WrongAccount]: { status: 403, error: 'clientId is not this user' },
};

function jsonRefusal(err: unknown): { status: number; body: Record<string, unknown> } | null {
  if (!(err instanceof ServiceCallError)) return null;
  const known = JSON_REFUSALS[err.message];
  if (known) return { status: known.status, body: { success: false, error: known.error } };
  if (err.code === ServiceErrorCode.BadGateway)
    return { status: 502, body: { success: false, error: 'IIFL refused the authCode', code: err.message } };
  return null;
}

/** `GET /iifl/login/:userID` (302 to IIFL's login page) and `POST /iifl/authcode`, both scope `refresh`. */
export function iiflLoginRoutes(deps: RouteDeps & LoginRouteDeps): Router {
  const router = Router();

  router.get('/iifl/login/:userID', ...deps.allow(Scope.Refresh), async (req, res) => {
    const userID = parseRequest(UserId, req.params.userID, 'userID');
    try {
      const made = await callService(deps.nc, IiflAuthApi.loginLink, { userID }, deps.iiflAuthTimeoutMs);
      deps.log.info({ userID, expiresAt: made.expiresAt }, 'login link handed out');
      res.redirect(302, made.url);
    } catch (err) {
      const refusal = jsonRefusal(err);
      if (!refusal) throw err;
      send(res, refusal);
    }
  });

  router.post('/iifl/authcode', ...deps.allow(Scope.Refresh), async (req, res) => {
    const body = parseRequest(AuthCodeBody, req.body, 'request body');
    try {
      const done = await redeem(deps, {
        userID: body.userID,
        authCode: body.authCode,
        ...(body.clientId ? { clientId: body.clientId } : {}),
      });
      deps.log.info({ userID: done.userID }, 'authCode redeemed');
      send(res, {
        status: 200,
        body: { success: true, userID: done.userID, tokenValidity: done.tokenValidity, loginTime: done.loginTime },
      });
    } catch (err) {
      const refusal = jsonRefusal(err);
      if (!refusal) throw err;
      send(res, refusal);
    }
  });

  return router;
}
