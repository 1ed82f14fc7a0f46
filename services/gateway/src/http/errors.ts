import type { ErrorRequestHandler, RequestHandler } from 'express';
import { NatsError } from 'nats';
import { ServiceErrorCode, type ServiceErrorName } from '@refresher/contracts';
import { ServiceCallError, type Logger } from '@refresher/platform';

/** A request the gateway refuses before doing anything: 400 with a message safe to show. */
export class InvalidRequestError extends Error {
  override name = 'InvalidRequestError';
}

/** A service error a route expected, with the message the route gives its caller. */
export class ExpectedServiceError extends Error {
  override name = 'ExpectedServiceError';
  constructor(
    readonly serviceError: ServiceCallError,
    message: string,
  ) {
    super(message, { cause: serviceError });
  }
}

const CODE_NAMES = new Map<number, ServiceErrorName>(
  Object.entries(ServiceErrorCode).map(([name, code]) => [code, name as ServiceErrorName]),
);

/** What a route tells its caller for each service error it expects, by the code's name. */
export type ServiceErrorMessages = Partial<Record<ServiceErrorName, string>>;

/**
 * For a service call's `.catch`: a service error the route expects becomes an answer with the
 * route's message (its status from {@link toErrorAnswer}); anything else goes on as it was.
 */
export function expectServiceErrors(messages: ServiceErrorMessages): (err: unknown) => never {
  return (err) => {
    const name = err instanceof ServiceCallError ? CODE_NAMES.get(err.code) : undefined;
    const message = name && messages[name];
    if (message) throw new ExpectedServiceError(err as ServiceCallError, message);
    throw err;
  };
}

export const UNAVAILABLE_MESSAGE = 'Service unavailable, try again';

export interface ErrorAnswer {
  status: number;
  error: string;
  /** Whether this is a fault on our side worth a log line (never logged with its details). */
  internal: boolean;
}

/** Body-parser failures carry `type`; their messages (and `body`) are never passed on or logged. */
const BODY_PARSER_ERRORS: Record<string, { status: number; error: string }> = {
  'entity.too.large': { status: 413, error: 'Request body too large' },
  'entity.parse.failed': { status: 400, error: 'Malformed JSON body' },
  'encoding.unsupported': { status: 415, error: 'Unsupported content encoding' },
  'charset.unsupported': { status: 415, error: 'Unsupported charset' },
  'request.aborted': { status: 400, error: 'Request aborted' },
  'request.size.invalid': { status: 400, error: 'Request body size does not match Content-Length' },
  'parameters.too.many': { status: 413, error: 'Too many parameters' },
};

/** Turns anything a route threw into the status and message the caller sees. */
export function toErrorAnswer(err: unknown): ErrorAnswer {
  if (err instanceof InvalidRequestError) return { status: 400, error: err.message, internal: false };
  if (err instanceof ExpectedServiceError) return serviceErrorAnswer(err.serviceError.code, err.message);
  if (err instanceof ServiceCallError) return serviceErrorAnswer(err.code, err.code === 404 ? 'Not found' : err.message);
  if (err instanceof NatsError) return { status: 503, error: UNAVAILABLE_MESSAGE, internal: true };
  if (typeof err === 'object' && err !== null) {
    const { type, status } = err as { type?: unknown; status?: unknown };
    if (typeof type === 'string' && BODY_PARSER_ERRORS[type]) {
      return { ...BODY_PARSER_ERRORS[type], internal: false };
    }
    // Express sets a 4xx status on errors of the request itself, such as a malformed %-escape.
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return { status, error: 'Bad request', internal: false };
    }
  }
  return { status: 500, error: 'Internal error', internal: true };
}

/**
 * The one mapping of a service error to HTTP: a refusal (4xx) keeps its code as the status; 5xx
 * and timeouts mean the service is down, restarting or overloaded, and the call may be repeated.
 */
function serviceErrorAnswer(code: number, error: string): ErrorAnswer {
  if (code >= 500) return { status: 503, error: UNAVAILABLE_MESSAGE, internal: true };
  return { status: code >= 400 ? code : 400, error, internal: false };
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    const answer = toErrorAnswer(err);
    if (answer.internal) {
      // Name and code only: a message or payload could carry a token.
      const name = err instanceof Error ? err.name : typeof err;
      const code = err instanceof ServiceCallError ? err.code : err instanceof NatsError ? err.code : undefined;
      log.warn({ method: req.method, path: req.path, errName: name, errCode: code, status: answer.status }, 'request failed');
      if (answer.status === 500 && err instanceof Error) log.error({ stack: err.stack }, 'unexpected error');
    }
    if (res.headersSent) {
      next(err);
      return;
    }
    res.status(answer.status).json({ success: false, error: answer.error });
  };
}

export const notFound: RequestHandler = (_req, res) => {
  res.status(404).json({ success: false, error: 'Not found' });
};
