import type { NatsConnection, ServiceMsg } from 'nats';
import type { z } from 'zod';
import {
  IiflAuthApi,
  LoginLinkRequest,
  LoginLinkResponse,
  RedeemLoginRequest,
  RedeemLoginResponse,
  ServiceErrorCode,
} from '@refresher/contracts';
import { decodeJson, encodeJson, type Logger } from '@refresher/platform';
import { LoginRefused } from './redirect-login.ts';

export interface LoginApiHandlers {
  link(request: LoginLinkRequest): Promise<LoginLinkResponse>;
  redeem(request: RedeemLoginRequest): Promise<RedeemLoginResponse>;
}

export interface LoginApi {
  /** Takes no new requests, then lets the ones in progress answer. */
  stop(): Promise<void>;
}

/**
 * `iifl-auth.login.link` and `iifl-auth.login.redeem` on the NATS services API (service `iifl-auth`,
 * with $SRV.PING|INFO|STATS). Every replica serves them (a queue group): any one can answer.
 */
export async function startLoginApi(nc: NatsConnection, handlers: LoginApiHandlers, log: Logger): Promise<LoginApi> {
  const service = await nc.services.add({
    name: IiflAuthApi.serviceName,
    version: '1.0.0',
    description: "IIFL's browser redirect login: login links and authCodes",
  });
  const inFlight = new Set<Promise<void>>();
  const endpoint = <Req extends z.ZodType, Res extends z.ZodType>(
    name: string,
    subject: string,
    requestSchema: Req,
    responseSchema: Res,
    handle: (request: z.infer<Req>) => Promise<z.input<Res>>,
  ) => {
    service.addEndpoint(name, {
      subject,
      handler: (err, msg) => {
        if (err) {
          log.error({ err, subject }, 'endpoint stopped');
          return;
        }
        const task = answer(msg, subject, requestSchema, responseSchema, handle, log).finally(() => inFlight.delete(task));
        inFlight.add(task);
      },
    });
  };
  endpoint('login-link', IiflAuthApi.loginLink, LoginLinkRequest, LoginLinkResponse, handlers.link);
  endpoint('login-redeem', IiflAuthApi.redeemLogin, RedeemLoginRequest, RedeemLoginResponse, handlers.redeem);
  return {
    stop: async () => {
      await service.stop();
      await Promise.allSettled([...inFlight]);
    },
  };
}

async function answer<Req extends z.ZodType, Res extends z.ZodType>(
  msg: ServiceMsg,
  subject: string,
  requestSchema: Req,
  responseSchema: Res,
  handle: (request: z.infer<Req>) => Promise<z.input<Res>>,
  log: Logger,
): Promise<void> {
  try {
    const parsed = requestSchema.safeParse(decodeJson(msg.data));
    if (!parsed.success) {
      // Paths only: a message may not quote the value (an authCode, a nonce), a path never does.
      const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(body)'))].join(', ');
      msg.respondError(ServiceErrorCode.BadRequest, `invalid request: ${fields}`.slice(0, 300));
      return;
    }
    msg.respond(encodeJson(responseSchema.parse(await handle(parsed.data))));
  } catch (err) {
    if (err instanceof LoginRefused) {
      log.info({ subject, code: err.code, reason: err.reason }, 'login request refused');
      msg.respondError(err.code, err.reason);
      return;
    }
    log.error({ err, subject }, 'login request failed');
    msg.respondError(ServiceErrorCode.Internal, 'internal error');
  }
}
