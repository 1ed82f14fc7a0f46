import type { NatsConnection } from 'nats';
import type { z } from 'zod';
import { decodeJson, encodeJson } from './nats.ts';

/** A request-reply call that got an error answer, or no valid answer at all. */
export class ServiceCallError extends Error {
  override name = 'ServiceCallError';
  constructor(
    readonly subject: string,
    /** The service error code (400, 404, 503...), or 503 when nobody answered in time. */
    readonly code: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Sends a validated request and validates the answer. Errors answered by the service (the
 * `Nats-Service-Error-Code` header of the NATS services API) become {@link ServiceCallError}.
 */
export async function callService<Req extends z.ZodType, Res extends z.ZodType>(
  nc: NatsConnection,
  subject: string,
  requestSchema: Req,
  responseSchema: Res,
  request: z.input<Req>,
  timeoutMs = 10_000,
): Promise<z.infer<Res>> {
  const body = requestSchema.parse(request);
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
  const parsed = responseSchema.safeParse(decodeJson(reply.data));
  if (!parsed.success) {
    throw new ServiceCallError(subject, 502, `invalid answer from ${subject}`);
  }
  return parsed.data;
}
