import type { Kysely } from 'kysely';
import type { KV, NatsConnection, ServiceMsg } from 'nats';
import type { z } from 'zod';
import {
  GetCredentialsRequest,
  GetCredentialsResponse,
  GetRunRequest,
  PersistenceApi,
  PushTokenRequest,
  PushTokenResponse,
  RemoveUserRequest,
  RemoveUserResponse,
  RunSummary,
  StartRunRequest,
  StartRunResponse,
  TokenStatusRequest,
  TokenStatusResponse,
  UpsertUserRequest,
  UpsertUserResponse,
} from '@refresher/contracts';
import { decodeJson, encodeJson, type Logger } from '@refresher/platform';
import type { Database } from '@refresher/db';
import { BadRequestError, toServiceFailure } from '../errors.ts';
import { publishRunCompleted } from '../events/notices.ts';
import { getRun } from '../runs/get-run.ts';
import { startRun } from '../runs/start-run.ts';
import { pushToken } from '../users/push-token.ts';
import { removeUser, upsertUser } from '../users/user-admin.ts';
import { getCredentials, getTokenStatus } from '../users/user-queries.ts';

export interface ApiDeps {
  nc: NatsConnection;
  db: Kysely<Database>;
  kv: KV;
  log: Logger;
}

export interface PersistenceApiService {
  stop(): Promise<void>;
}

/** The request-reply endpoints, on the NATS services API (ADR-32): $SRV.PING|INFO|STATS included. */
export async function startApi(deps: ApiDeps): Promise<PersistenceApiService> {
  const log = deps.log.child({ module: 'api' });
  const service = await deps.nc.services.add({
    name: PersistenceApi.serviceName,
    version: '1.0.0',
    description: 'Runs, outcomes, credentials and tokens of the IIFL token refresher',
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

  endpoint('runs-start', PersistenceApi.startRun, StartRunRequest, StartRunResponse, async (request) => {
    const response = await startRun(deps.db, request);
    if (response.created) {
      log.info(
        { runId: response.runId, trigger: request.trigger, requested: response.requested.length, skipped: response.skipped.length },
        'run registered',
      );
      if (response.requested.length === 0) {
        const skipped = response.skipped.length;
        publishRunCompleted(deps.nc, { runId: response.runId, total: skipped, refreshed: 0, failed: 0, skipped });
      }
    }
    return response;
  });
  endpoint('runs-get', PersistenceApi.getRun, GetRunRequest, RunSummary, (request) => getRun(deps.db, request.runId));
  endpoint('credentials-get', PersistenceApi.getCredentials, GetCredentialsRequest, GetCredentialsResponse, (request) =>
    getCredentials(deps.db, request.userID),
  );
  endpoint('token-status', PersistenceApi.tokenStatus, TokenStatusRequest, TokenStatusResponse, (request) =>
    getTokenStatus(deps.db, request.userID),
  );
  endpoint('tokens-push', PersistenceApi.pushToken, PushTokenRequest, PushTokenResponse, (request) =>
    pushToken(deps, request),
  );
  endpoint('users-upsert', PersistenceApi.upsertUser, UpsertUserRequest, UpsertUserResponse, async (request) => {
    const response = await upsertUser(deps.db, request);
    // Column names only: the values are ciphertext, but they are nobody's business in a log.
    log.info({ userID: response.userID, created: response.created, changed: response.changed }, 'user registered or changed');
    return response;
  });
  endpoint('users-remove', PersistenceApi.removeUser, RemoveUserRequest, RemoveUserResponse, async (request) => {
    const response = await removeUser(deps.db, request.userID);
    log.info({ userID: response.userID }, 'user removed');
    return response;
  });

  return {
    stop: async () => {
      // Take no new requests, then let the ones in progress answer.
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
    const request = parseRequest(requestSchema, msg.data);
    const response = responseSchema.parse(await handle(request));
    msg.respond(encodeJson(response));
  } catch (err) {
    const failure = toServiceFailure(err);
    if (failure.code >= 500) log.error({ err, subject }, 'request failed');
    else log.debug({ subject, code: failure.code, description: failure.description }, 'request refused');
    msg.respondError(failure.code, headerSafe(failure.description));
  }
}

function parseRequest<S extends z.ZodType>(schema: S, data: Uint8Array): z.infer<S> {
  const payload = decodeJson(data);
  if (payload === undefined) throw new BadRequestError('request body is not JSON');
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    throw new BadRequestError(`invalid request: ${issues}`);
  }
  return parsed.data;
}

/** Header values carry no line breaks and stay short. */
function headerSafe(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, 500);
}
