import { ServiceErrorCode, type ServiceFailure } from '@refresher/contracts';

/** A request that does not parse or does not pass its schema. */
export class BadRequestError extends Error {
  override name = 'BadRequestError';
  readonly code = ServiceErrorCode.BadRequest;
}

export class UserNotFoundError extends Error {
  override name = 'UserNotFoundError';
  readonly code = ServiceErrorCode.NotFound;
  constructor(readonly userID: string) {
    super(`user ${userID} not found`);
  }
}

export class UserExistsError extends Error {
  override name = 'UserExistsError';
  readonly code = ServiceErrorCode.Conflict;
  constructor(readonly userID: string) {
    super(`user ${userID} exists already`);
  }
}

export class RunNotFoundError extends Error {
  override name = 'RunNotFoundError';
  readonly code = ServiceErrorCode.NotFound;
  constructor(readonly runId: string) {
    super(`run ${runId} not found`);
  }
}

/** A stored row that cannot be served as it is (for example empty credential columns). */
export class InconsistentRowError extends Error {
  override name = 'InconsistentRowError';
  readonly code = ServiceErrorCode.Conflict;
}

/** Postgres cannot be reached or refused the work for a reason that may pass. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
  readonly code = ServiceErrorCode.Unavailable;
  constructor(options?: { cause?: unknown }) {
    super('database unavailable', options);
  }
}

/** A token was stored but could not be announced on NATS. */
export class PublishFailedError extends Error {
  override name = 'PublishFailedError';
  readonly code = ServiceErrorCode.Unavailable;
}

/**
 * Turns anything thrown by a handler into what the caller is told. Known conditions carry their own
 * code; database trouble is 503; anything else is 500 without details (they may hold data).
 */
export function toServiceFailure(err: unknown): ServiceFailure {
  if (isTransientDbError(err)) return { code: ServiceErrorCode.Unavailable, description: 'database unavailable' };
  if (
    err instanceof BadRequestError ||
    err instanceof UserNotFoundError ||
    err instanceof UserExistsError ||
    err instanceof RunNotFoundError ||
    err instanceof InconsistentRowError ||
    err instanceof DatabaseUnavailableError ||
    err instanceof PublishFailedError
  ) {
    return { code: err.code, description: err.message };
  }
  return { code: ServiceErrorCode.Internal, description: 'internal error' };
}

// SQLSTATE classes that may pass on their own: connection exceptions, insufficient resources,
// operator intervention (shutdown, cancel), serialization failures and deadlocks.
const TRANSIENT_SQLSTATE = /^(08|53|57|40)/;
const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** True for errors that mean "try again later" rather than "this will never work". */
export function isTransientDbError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof DatabaseUnavailableError) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_NODE_CODES.has(code))) return true;
    if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end/i.test(e.message)) {
      return true;
    }
  }
  return false;
}
