// How a request-reply service says no: the NATS services API's error headers, with named codes.

/**
 * The codes of the `Nats-Service-Error-Code` header. They follow HTTP's meanings, and the gateway
 * passes a refusal (4xx) on as that HTTP status.
 */
export const ServiceErrorCode = {
  BadRequest: 400,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  Gone: 410,
  Internal: 500,
  /** A third party (IIFL) refused what the service asked of it on the caller's behalf. */
  BadGateway: 502,
  Unavailable: 503,
} as const;
export type ServiceErrorCode = (typeof ServiceErrorCode)[keyof typeof ServiceErrorCode];
export type ServiceErrorName = keyof typeof ServiceErrorCode;

/**
 * A service's error answer: the code, and a description safe to show its caller (a fixed text, a
 * LoginRefusal or a FailureCode; never a value from the request, a credential or a token).
 */
export interface ServiceFailure {
  code: ServiceErrorCode;
  description: string;
}
