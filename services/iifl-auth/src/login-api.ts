import type { NatsConnection } from 'nats';
import {
  IiflAuthApi,
  type LoginLinkRequest,
  type LoginLinkResponse,
  type RedeemLoginRequest,
  type RedeemLoginResponse,
} from '@refresher/contracts';
import { startEndpointService, type EndpointService, type Logger } from '@refresher/platform';
import { LoginRefused } from './redirect-login.ts';

export interface LoginApiHandlers {
  link(request: LoginLinkRequest): Promise<LoginLinkResponse>;
  redeem(request: RedeemLoginRequest): Promise<RedeemLoginResponse>;
}

export type LoginApi = Pick<EndpointService, 'stop'>;

/**
 * `iifl-auth.login.link` and `iifl-auth.login.redeem` on the NATS services API (service `iifl-auth`,
 * with $SRV.PING|INFO|STATS). Every replica serves them (a queue group): any one can answer.
 */
export async function startLoginApi(nc: NatsConnection, handlers: LoginApiHandlers, log: Logger): Promise<LoginApi> {
  const service = await startEndpointService(nc, {
    name: IiflAuthApi.serviceName,
    version: '1.0.0',
    description: "IIFL's browser redirect login: login links and authCodes",
    log,
    // A refusal's reason is a LoginRefusal or a FailureCode, never a value from the request.
    toFailure: (err) => (err instanceof LoginRefused ? { code: err.code, description: err.reason } : undefined),
  });
  service.add(IiflAuthApi.loginLink, (request) => handlers.link(request));
  service.add(IiflAuthApi.redeemLogin, (request) => handlers.redeem(request));
  return service;
}
