import type { NatsConnection, Service, ServiceMsg } from 'nats';
import type { z } from 'zod';
import { ServiceErrorCode, type Endpoint, type ServiceFailure } from '@refresher/contracts';
import type { Logger } from './logger.ts';
import { decodeJson, encodeJson } from './nats.ts';

/** Serves one endpoint: gets its request as the schema parsed it, answers what the response schema takes. */
export type EndpointHandler<E extends Endpoint> = (request: z.infer<E['request']>) => Promise<z.input<E['response']>>;

export interface EndpointServiceOptions {
  /** The service's name on the NATS services API: the contracts' `serviceName`. */
  name: string;
  version: string;
  description: string;
  log: Logger;
  /**
   * The error answer for what a handler threw; undefined (or no function) makes it a 500
   * "internal error" without details, which may hold data.
   */
  toFailure?: (err: unknown) => ServiceFailure | undefined;
}

export interface EndpointService {
  /**
   * Serves an endpoint of the contracts' table with `handle`. The request is checked against the
   * endpoint's schema first (a 400 naming the fields, never their values), the answer after.
   */
  add<E extends Endpoint>(endpoint: E, handle: EndpointHandler<E>): void;
  /** Takes no new requests, then lets the ones in progress answer. */
  stop(): Promise<void>;
}

/**
 * A service on the NATS services API (ADR-32: `$SRV.PING|INFO|STATS`, errors in the
 * `Nats-Service-Error` / `Nats-Service-Error-Code` headers). Every replica serves it in one queue
 * group, so any one answers.
 */
export async function startEndpointService(nc: NatsConnection, options: EndpointServiceOptions): Promise<EndpointService> {
  const { name, version, description } = options;
  const service = await nc.services.add({ name, version, description });
  const inFlight = new Set<Promise<void>>();
  return {
    add: (endpoint, handle) => addEndpoint(service, endpoint, handle, options, inFlight),
    stop: async () => {
      await service.stop();
      await Promise.allSettled([...inFlight]);
    },
  };
}

function addEndpoint<E extends Endpoint>(
  service: Service,
  endpoint: E,
  handle: EndpointHandler<E>,
  options: EndpointServiceOptions,
  inFlight: Set<Promise<void>>,
): void {
  const { subject } = endpoint;
  let countError: ErrorCounter = () => {};
  service.addEndpoint(endpoint.name, {
    subject,
    handler: (err, msg) => {
      if (err) {
        options.log.error({ err, subject }, 'endpoint stopped');
        return;
      }
      const task = answer(msg, endpoint, handle, options, countError)
        .catch((error: unknown) => options.log.warn({ err: error, subject }, 'answer not sent'))
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
    },
  });
  countError = errorCounter(service, subject);
}

type ErrorCounter = (description: string) => void;

/**
 * `$SRV.STATS` counts an error (`num_errors`, `last_error`) only when a handler throws at once in
 * nats.js 2; these handlers answer later, so a refusal is counted on the endpoint's own stats.
 * Without them (another nats.js) errors go uncounted, which the service-discovery test would show.
 */
function errorCounter(service: Service, subject: string): ErrorCounter {
  type Stats = { countError(err: Error): void };
  const handlers = (service as unknown as { handlers?: { subject: string; stats?: Stats }[] }).handlers;
  const stats = handlers?.find((h) => h.subject === subject)?.stats;
  return stats ? (description) => stats.countError(new Error(description)) : () => {};
}

async function answer<E extends Endpoint>(
  msg: ServiceMsg,
  endpoint: E,
  handle: EndpointHandler<E>,
  options: EndpointServiceOptions,
  countError: ErrorCounter,
): Promise<void> {
  const request = parseRequest(endpoint, msg.data);
  if (!request.ok) return respondError(msg, request.failure, countError);
  try {
    msg.respond(encodeJson(endpoint.response.parse(await handle(request.value))));
  } catch (err) {
    const failure = options.toFailure?.(err) ?? INTERNAL;
    logFailure(options.log, endpoint.subject, failure, err);
    respondError(msg, failure, countError);
  }
}

/** The request as its schema parses it, or the 400 to answer: field paths only (a message could quote a value). */
function parseRequest<E extends Endpoint>(
  endpoint: E,
  data: Uint8Array,
): { ok: true; value: z.infer<E['request']> } | { ok: false; failure: ServiceFailure } {
  const payload = decodeJson(data);
  if (payload === undefined) return { ok: false, failure: badRequest('request body is not JSON') };
  const parsed = endpoint.request.safeParse(payload);
  if (parsed.success) return { ok: true, value: parsed.data as z.infer<E['request']> };
  const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(body)'))].join(', ');
  return { ok: false, failure: badRequest(`invalid request: ${fields}`) };
}

const badRequest = (description: string): ServiceFailure => ({ code: ServiceErrorCode.BadRequest, description });
const INTERNAL: ServiceFailure = { code: ServiceErrorCode.Internal, description: 'internal error' };

function logFailure(log: Logger, subject: string, failure: ServiceFailure, err: unknown): void {
  const { code, description } = failure;
  if (code === ServiceErrorCode.Internal) log.error({ err, subject }, 'request failed');
  else if (code >= 500) log.warn({ subject, code, description }, 'request failed');
  else log.info({ subject, code, description }, 'request refused');
}

/** The error headers; their values carry no line breaks and stay short. */
function respondError(msg: ServiceMsg, failure: ServiceFailure, countError: ErrorCounter): void {
  const description = failure.description.replace(/[\r\n]+/g, ' ').slice(0, 500);
  countError(`${failure.code} ${description}`);
  msg.respondError(failure.code, description);
}
