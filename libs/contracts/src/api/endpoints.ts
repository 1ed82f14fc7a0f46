// The request-reply endpoints, each declared once: its subject, the schema of its request and of
// its answer, and its name on the NATS services API. Callers and servers are typed from the entry
// (`callService` and `serveEndpoints` in libs/platform), so a subject cannot meet the wrong schema.
import type { z } from 'zod';
import { GetCredentialsResponse, GetCredentialsRequest } from './credentials.ts';
import { LoginLinkRequest, LoginLinkResponse, RedeemLoginRequest, RedeemLoginResponse } from './login.ts';
import {
  ClearRejectionsRequest,
  ClearRejectionsResponse,
  GetRunRequest,
  ListRunsRequest,
  ListRunsResponse,
  MorningStatus,
  MorningStatusRequest,
  RunSummaryPage,
  StartRunRequest,
  StartRunResponse,
} from './runs.ts';
import { PushTokenRequest, PushTokenResponse, TokenStatusRequest, TokenStatusResponse } from './tokens.ts';
import {
  ListAccountsRequest,
  ListAccountsResponse,
  RemoveUserRequest,
  RemoveUserResponse,
  UpsertUserRequest,
  UpsertUserResponse,
} from './users.ts';

export interface Endpoint<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  /** The endpoint's name on the NATS services API (`$SRV.INFO`, `$SRV.STATS`). */
  readonly name: string;
  readonly subject: string;
  readonly request: Req;
  readonly response: Res;
}

/** What a caller sends to an endpoint (before the schema's defaults and transforms). */
export type EndpointRequest<E extends Endpoint> = z.input<E['request']>;
/** What an endpoint answers, as its caller gets it. */
export type EndpointResponse<E extends Endpoint> = z.infer<E['response']>;

/** A service's endpoints, under the name it has on the NATS services API. */
interface ServiceApi {
  readonly serviceName: string;
  readonly [endpoint: string]: Endpoint | string;
}

/** Served by persistence: runs, what iifl-auth needs to log a user in, tokens, user management. */
export const PersistenceApi = {
  serviceName: 'persistence',
  startRun: { name: 'runs-start', subject: 'persistence.runs.start', request: StartRunRequest, response: StartRunResponse },
  getRun: { name: 'runs-get', subject: 'persistence.runs.get', request: GetRunRequest, response: RunSummaryPage },
  listRuns: { name: 'runs-list', subject: 'persistence.runs.list', request: ListRunsRequest, response: ListRunsResponse },
  morningStatus: {
    name: 'runs-morning',
    subject: 'persistence.runs.morning',
    request: MorningStatusRequest,
    response: MorningStatus,
  },
  getCredentials: {
    name: 'credentials-get',
    subject: 'persistence.credentials.get',
    request: GetCredentialsRequest,
    response: GetCredentialsResponse,
  },
  tokenStatus: {
    name: 'token-status',
    subject: 'persistence.users.token-status',
    request: TokenStatusRequest,
    response: TokenStatusResponse,
  },
  /** Every account as the status page shows it: never a token or a credential. */
  listAccounts: {
    name: 'users-accounts',
    subject: 'persistence.users.accounts',
    request: ListAccountsRequest,
    response: ListAccountsResponse,
  },
  pushToken: { name: 'tokens-push', subject: 'persistence.tokens.push', request: PushTokenRequest, response: PushTokenResponse },
  /** User management: a separate subject family so NATS permissions can grant it on its own. */
  upsertUser: {
    name: 'users-upsert',
    subject: 'persistence.admin.users.upsert',
    request: UpsertUserRequest,
    response: UpsertUserResponse,
  },
  removeUser: {
    name: 'users-remove',
    subject: 'persistence.admin.users.remove',
    request: RemoveUserRequest,
    response: RemoveUserResponse,
  },
  clearRejections: {
    name: 'users-clear-rejections',
    subject: 'persistence.admin.users.clear-rejections',
    request: ClearRejectionsRequest,
    response: ClearRejectionsResponse,
  },
} as const satisfies ServiceApi;

/**
 * Served by iifl-auth: the browser redirect login, whose links and codes only the holder of the
 * credentials key can handle.
 */
export const IiflAuthApi = {
  serviceName: 'iifl-auth',
  loginLink: { name: 'login-link', subject: 'iifl-auth.login.link', request: LoginLinkRequest, response: LoginLinkResponse },
  redeemLogin: {
    name: 'login-redeem',
    subject: 'iifl-auth.login.redeem',
    request: RedeemLoginRequest,
    response: RedeemLoginResponse,
  },
} as const satisfies ServiceApi;
