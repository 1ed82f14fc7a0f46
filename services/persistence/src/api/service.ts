import type { Kysely } from 'kysely';
import type { KV, NatsConnection } from 'nats';
import { PersistenceApi, type StartRunRequest } from '@refresher/contracts';
import { startEndpointService, type EndpointService, type Logger } from '@refresher/platform';
import type { Database } from '@refresher/db';
import { toServiceFailure } from '../errors.ts';
import { publishRunCompleted } from '../events/notices.ts';
import { publishRunReport } from '../events/people-notices.ts';
import { getRun } from '../runs/get-run.ts';
import { listRuns } from '../runs/list-runs.ts';
import { getMorningStatus } from '../runs/morning-status.ts';
import { startRun } from '../runs/start-run.ts';
import { clearRejections } from '../users/clear-rejections.ts';
import { listAccounts } from '../users/list-accounts.ts';
import { pushToken } from '../users/push-token.ts';
import { removeUser, upsertUser } from '../users/user-admin.ts';
import { getCredentials, getTokenStatus } from '../users/user-queries.ts';

export interface ApiDeps {
  nc: NatsConnection;
  db: Kysely<Database>;
  kv: KV;
  log: Logger;
}

export type PersistenceApiService = Pick<EndpointService, 'stop'>;

/** The request-reply endpoints of `PersistenceApi`, on the NATS services API ($SRV.PING|INFO|STATS included). */
export async function startApi(deps: ApiDeps): Promise<PersistenceApiService> {
  const log = deps.log.child({ module: 'api' });
  const service = await startEndpointService(deps.nc, {
    name: PersistenceApi.serviceName,
    version: '1.0.0',
    description: 'Runs, outcomes, credentials and tokens of the IIFL token refresher',
    log,
    toFailure: toServiceFailure,
  });
  service.add(PersistenceApi.startRun, (request) => registerRun({ ...deps, log }, request));
  service.add(PersistenceApi.getRun, (request) => getRun(deps.db, request));
  service.add(PersistenceApi.listRuns, (request) => listRuns(deps.db, request));
  service.add(PersistenceApi.morningStatus, () => getMorningStatus(deps.db));
  service.add(PersistenceApi.getCredentials, (request) => getCredentials(deps.db, request.userID));
  service.add(PersistenceApi.tokenStatus, (request) => getTokenStatus(deps.db, request.userID));
  service.add(PersistenceApi.listAccounts, (request) => listAccounts(deps.db, request));
  service.add(PersistenceApi.pushToken, (request) => pushToken(deps, request));
  service.add(PersistenceApi.upsertUser, async (request) => {
    const response = await upsertUser(deps.db, request);
    // Column names only: the values are ciphertext, but they are nobody's business in a log.
    log.info({ userID: response.userID, created: response.created, changed: response.changed }, 'user registered or changed');
    return response;
  });
  service.add(PersistenceApi.removeUser, async (request) => {
    const response = await removeUser(deps.db, request.userID);
    log.info({ userID: response.userID }, 'user removed');
    return response;
  });
  service.add(PersistenceApi.clearRejections, async (request) => {
    const response = await clearRejections(deps.db, request);
    log.info({ userID: request.userID ?? '(every user)', lifted: response.cleared.length }, 'credential rejection marks lifted');
    return response;
  });
  return service;
}

/** Starts (or finds) the run; a new run with nobody to log in is complete at once. */
async function registerRun(deps: ApiDeps, request: StartRunRequest) {
  const response = await startRun(deps.db, request);
  if (response.created) {
    const { runId, requested, skipped } = response;
    deps.log.info({ runId, trigger: request.trigger, requested: requested.length, skipped: skipped.length }, 'run registered');
    if (requested.length === 0) {
      publishRunCompleted(deps.nc, { runId, total: skipped.length, refreshed: 0, failed: 0, skipped: skipped.length });
      await publishRunReport(deps, runId);
    }
  }
  return response;
}
