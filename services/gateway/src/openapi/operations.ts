import type { z } from 'zod';
import { Scope } from '../auth.ts';
import { API_PREFIX } from '../legacy-bodies.ts';
import { AuthCodeBody } from '../routes/iifl-login.ts';
import { ListQuery } from '../routes/runs.ts';
import { BrokerTokenBody, TokenSyncBody } from '../routes/token-push.ts';
import { CreateBody, UpdateBody } from '../routes/user-admin.ts';
import * as S from './schemas.ts';

/** One answer of an operation: JSON by default, `html` for a page, `redirect` for a 302 without a body. */
export interface Answer {
  description: string;
  schema?: z.ZodType;
  html?: boolean;
  redirect?: boolean;
}

/** One route as the document describes it; `path` in Express form (`/users/:userID`). */
export interface Operation {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  summary: string;
  /** The scope the API key needs; null: no key (a health probe, the browser's callback). */
  scope: Scope | null;
  query?: z.ZodObject;
  body?: z.ZodType;
  responses: Record<number, Answer>;
}

const json = (description: string, schema: z.ZodType): Answer => ({ description, schema });
const error = (description: string): Answer => json(description, S.ErrorBody);
const page = (description: string): Answer => ({ description, schema: S.HtmlPage, html: true });
const run = (runPath: string) => `${API_PREFIX}${runPath}`;

const badRequest = error('The request is invalid; `error` says why');
const notFound = error('Not found');
const unavailable = error('A service behind the gateway is unavailable; the call may be repeated');
const refreshed = S.UserRefreshedBody.meta({ id: 'UserRefreshed' });

/** The operations of the gateway, in the order of the README's routes table. */
export const OPERATIONS: readonly Operation[] = [
  {
    method: 'post',
    path: run('/tokens/refresh-all'),
    summary: 'Refresh the tokens of all due users; waits up to REFRESH_WAIT_MS unless `Prefer: respond-async`',
    scope: Scope.Refresh,
    responses: {
      200: json('Every user has an outcome (or nobody was due)', S.RefreshAllBody.meta({ id: 'RefreshAll' })),
      202: json(
        'Still running (or `Prefer: respond-async`): follow `statusUrl`',
        S.RefreshAllBody.or(S.RunStartedBody.meta({ id: 'RunStarted' })),
      ),
      503: unavailable,
    },
  },
  {
    method: 'post',
    path: run('/tokens/refresh/:userID'),
    summary: "Refresh one user's token; waits up to REFRESH_WAIT_MS unless `Prefer: respond-async`",
    scope: Scope.Refresh,
    responses: {
      200: json('Refreshed, or skipped with the reason (success false, as the legacy API)', refreshed.or(S.UserSkippedBody)),
      202: json('No outcome yet: follow `statusUrl`', S.StillRunningBody.or(S.RunStartedBody)),
      400: badRequest,
      404: notFound,
      500: json('The login failed (the legacy status), with the failure code', S.UserFailedBody.or(S.ErrorBody)),
      503: unavailable,
    },
  },
  {
    method: 'post',
    path: run('/tokens/refresh-failed'),
    summary: 'Log in again the users that failed in the latest run over all users and its passes; answers at once',
    scope: Scope.Refresh,
    responses: {
      200: json('Nobody failed', S.NobodyFailedBody),
      202: json('Started: follow `statusUrl`', S.RunStartedBody),
      404: notFound,
      503: unavailable,
    },
  },
  {
    method: 'get',
    path: run('/tokens/runs'),
    summary: 'Runs, newest first, one page at a time',
    scope: Scope.Read,
    query: ListQuery,
    responses: { 200: json('A page of run headers', S.RunsPageBody), 400: badRequest, 503: unavailable },
  },
  {
    method: 'get',
    path: run('/tokens/runs/latest'),
    summary: 'The latest run with its per-user results',
    scope: Scope.Read,
    responses: { 200: json('The run', S.RunBody.meta({ id: 'Run' })), 404: error('No run yet'), 503: unavailable },
  },
  {
    method: 'get',
    path: run('/tokens/runs/:runId'),
    summary: 'A run with its per-user results',
    scope: Scope.Read,
    responses: { 200: json('The run', S.RunBody), 400: badRequest, 404: notFound, 503: unavailable },
  },
  {
    method: 'get',
    path: run('/users/:userID/token'),
    summary: "A user's token status, with a preview only (never the token)",
    scope: Scope.Read,
    responses: { 200: json('The token status', S.TokenStatusBody), 400: badRequest, 404: notFound, 503: unavailable },
  },
  {
    method: 'post',
    path: run('/broker/token'),
    summary: 'A partner pushes a token for a registered user',
    scope: Scope.PushTokens,
    body: BrokerTokenBody,
    responses: {
      200: json('Stored and published', S.BrokerTokenAnswer),
      400: badRequest,
      404: error('User not registered'),
      503: unavailable,
    },
  },
  {
    method: 'post',
    path: run('/tokens/sync'),
    summary: 'A partner pushes a token; the user is created (integration-managed) when missing',
    scope: Scope.PushTokens,
    body: TokenSyncBody,
    responses: { 200: json('Stored and published', S.TokenSyncAnswer), 400: badRequest, 503: unavailable },
  },
  {
    method: 'post',
    path: run('/users/:userID'),
    summary: 'Register a user (needs API_KEYS and CREDENTIALS_KEYS)',
    scope: Scope.ManageUsers,
    body: CreateBody,
    responses: { 201: json('Registered', S.UserSavedBody), 400: badRequest, 409: error('User exists already'), 503: unavailable },
  },
  {
    method: 'put',
    path: run('/users/:userID'),
    summary: "Change a user's profile, login flow or credentials",
    scope: Scope.ManageUsers,
    body: UpdateBody,
    responses: {
      200: json('Changed (or nothing to change)', S.UserSavedBody),
      400: badRequest,
      404: notFound,
      409: error('An integration-managed user lacks what its login flow needs'),
      503: unavailable,
    },
  },
  {
    method: 'delete',
    path: run('/users/:userID'),
    summary: 'Remove a user',
    scope: Scope.ManageUsers,
    responses: { 200: json('Removed', S.UserRemovedBody), 400: badRequest, 404: notFound, 503: unavailable },
  },
  {
    method: 'delete',
    path: run('/users/:userID/rejection'),
    summary: "Lift the mark the broker's rejection of the credentials left",
    scope: Scope.ManageUsers,
    responses: {
      200: json('Lifted (`cleared` says whether there was a mark)', S.RejectionClearedBody),
      400: badRequest,
      404: notFound,
      503: unavailable,
    },
  },
  {
    method: 'get',
    path: run('/iifl/login/:userID'),
    summary: "Redirect to IIFL's login page with a signed single-use login link",
    scope: Scope.Refresh,
    responses: {
      302: { description: "To IIFL's login page (`Location`)", redirect: true },
      400: badRequest,
      403: error('Forbidden'),
      404: error('User not found'),
      409: error('The user has no app credentials'),
      503: error('Login links are not configured, or iifl-auth is unavailable'),
    },
  },
  {
    method: 'get',
    path: run('/iifl/callback'),
    summary: "Where IIFL sends the browser after the login; the link's nonce is the authority (no key)",
    scope: null,
    responses: {
      200: page('Logged in'),
      400: page('The link or the code is missing or invalid'),
      403: page('The login at IIFL was of another account'),
      404: page('The account is no longer registered'),
      409: page('The link was used already, or the account has no app credentials'),
      410: page('The link has expired'),
      502: page('IIFL refused the login code'),
      503: page('The login could not be completed now'),
    },
  },
  {
    method: 'post',
    path: run('/iifl/authcode'),
    summary: 'Redeem an authCode a client caught itself',
    scope: Scope.Refresh,
    body: AuthCodeBody,
    responses: {
      200: json('Logged in; the token is stored and published', S.AuthCodeAnswer),
      400: badRequest,
      403: error('Forbidden, or clientId is not this user'),
      404: error('User not found'),
      409: error('The user has no app credentials'),
      502: error('IIFL refused the authCode (`code` is its failure code)'),
      503: unavailable,
    },
  },
  {
    method: 'get',
    path: run('/openapi.json'),
    summary: 'This document (no key: it describes the routes and holds no secret)',
    scope: null,
    responses: { 200: json('The OpenAPI 3.1 document', S.OpenApiDocument) },
  },
  {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: the NATS connection',
    scope: null,
    responses: { 200: json('Connected', S.HealthBody), 503: json('Disconnected', S.HealthBody) },
  },
  {
    method: 'get',
    path: '/readyz',
    summary: "Readiness: the latest morning's verdict",
    scope: null,
    responses: { 200: json('ok, degraded or none', S.ReadyBody), 503: json('Cannot be told', S.ReadyBody) },
  },
];
