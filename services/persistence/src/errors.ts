import { ServiceErrorCode, type ServiceFailure } from '@refresher/contracts';

/** A condition the caller is told about: its service-error code, and a message safe to show. */
export class PersistenceError extends Error {
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A request that does not parse or does not pass its schema. */
export class BadRequestError extends PersistenceError {
  constructor(message: string) {
    super(ServiceErrorCode.BadRequest, message);
  }
}

export class UserNotFoundError extends PersistenceError {
  constructor(userID: string) {
    super(ServiceErrorCode.NotFound, `user ${userID} not found`);
  }
}

export class UserExistsError extends PersistenceError {
  constructor(userID: string) {
    super(ServiceErrorCode.Conflict, `user ${userID} exists already`);
  }
}

export class RunNotFoundError extends PersistenceError {
  constructor(runId: string) {
    super(ServiceErrorCode.NotFound, `run ${runId} not found`);
  }
}

/** A stored row that cannot be served as it is (for example empty credential columns). */
export class InconsistentRowError extends PersistenceError {
  constructor(message: string) {
    super(ServiceErrorCode.Conflict, message);
  }
}

/** A token was stored but could not be announced on NATS. */
export class PublishFailedError extends PersistenceError {
  constructor(message: string, options?: ErrorOptions) {
    super(ServiceErrorCode.Unavailable, message, options);
  }
}

/**
 * Turns anything thrown by a handler into what the caller is told. Known conditions carry their own
 * code; database trouble is 503; anything else is 500 without details (they may hold data).
 */
export function toServiceFailure(err: unknown): ServiceFailure {
  if (isTransientDbError(err)) return { code: ServiceErrorCode.Unavailable, description: 'database unavailable' };
  if (err instanceof PersistenceError) return { code: err.code, description: err.message };
  return { code: ServiceErrorCode.Internal, description: 'internal error' };
}

// SQLSTATE classes that may pass on their own: connection exceptions, insufficient resources,
// operator intervention (shutdown, cancel), serialization failures and deadlocks.
const TRANSIENT_SQLSTATE = /^(08|53|57|40)/;
const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** True for errors that mean "try again later" rather than "this will never work". */
export function isTransientDbError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_NODE_CODES.has(code))) return true;
    if (
      /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end/i.test(
        e.message,
      )
    ) {
      return true;
    }
  }
  return false;
}
