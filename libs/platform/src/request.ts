import type { NatsConnection } from 'nats';
import type { Endpoint, EndpointRequest, EndpointResponse } from '@refresher/contracts';
import { decodeJson, encodeJson } from './nats.ts';

/** A request-reply call that got an error answer, or no valid answer at all. */
export class ServiceCallError extends Error {
  override name = 'ServiceCallError';
  constructor(
    readonly subject: string,
    /** The service error code (a ServiceErrorCode: 400, 404, 503...), or 503 when nobody answered in time. */
    readonly code: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Sends a request to an endpoint of the contracts' table (`PersistenceApi.startRun`...), validated
 * by its schema, and validates the answer. Errors answered by the service (the
 * `Nats-Service-Error-Code` header of the NATS services API) become {@link ServiceCallError}.
 */
export async function callService<E extends Endpoint>(
  nc: NatsConnection,
  endpoint: E,
  request: EndpointRequest<E>,
  timeoutMs = 10_000,
): Promise<EndpointResponse<E>> {
  const { subject } = endpoint;
  const body: unknown = endpoint.request.parse(request);
  let reply;
  try {
    reply = await nc.request(subject, encodeJson(body), { timeout: timeoutMs });
  } catch (err) {
    throw new ServiceCallError(subject, 503, `no answer from ${subject}`, { cause: err });
  }
  const errorCode = reply.headers?.get('Nats-Service-Error-Code');
  if (errorCode) {
    const description = reply.headers?.get('Nats-Service-Error') ?? 'service error';
    throw new ServiceCallError(subject, Number(errorCode) || 500, description);
  }
  const parsed = endpoint.response.safeParse(decodeJson(reply.data));
  if (!parsed.success) {
    throw new ServiceCallError(subject, 502, `invalid answer from ${subject}`);
  }
  return parsed.data as EndpointResponse<E>;
}
