import { FailureCode } from '@refresher/contracts';
import type { Egress } from './egress.ts';
import { IiflError, type IiflEndpoint } from './errors.ts';

/** What the client needs from HTTP: one call, one answer. Tests pass a fake or a wrapped one. */
export interface HttpTransport {
  /** Resolves with any HTTP status; rejects with IiflError (TIMEOUT, BROKER_UNAVAILABLE) otherwise. */
  request(call: HttpCall): Promise<HttpAnswer>;
  close(): Promise<void>;
}

export interface HttpCall {
  endpoint: IiflEndpoint;
  method: 'GET' | 'POST';
  /** Absolute URL. */
  url: string;
  json?: unknown;
  bearer?: string;
  signal?: AbortSignal;
  /** Where the call leaves from; absent: the OS picks the route. */
  egress?: Egress;
}

/** The transport with every call leaving from `egress` (one login's calls). */
export function withEgress(transport: HttpTransport, egress: Egress | undefined): HttpTransport {
  if (egress === undefined) return transport;
  return { request: (call) => transport.request({ ...call, egress }), close: () => transport.close() };
}

export interface HttpAnswer {
  status: number;
  /** The body as text ('' when empty). */
  text: string;
  /** `Retry-After`, when the answer had one, in milliseconds from now. */
  retryAfterMs?: number;
}

/** `Retry-After` as seconds or an HTTP date, in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The answer with `retryAfterMs` set when the header gave one. */
export function httpAnswer(status: number, text: string, retryAfter: string | null | undefined): HttpAnswer {
  const retryAfterMs = parseRetryAfter(retryAfter);
  return retryAfterMs === undefined ? { status, text } : { status, text, retryAfterMs };
}

/** A failure below HTTP: timeout, caller abort or connection error. */
export function transportFailure(endpoint: IiflEndpoint, error: unknown, how: { timedOut: boolean; callerAborted: boolean }): IiflError {
  if (how.callerAborted) {
    return new IiflError(`IIFL ${endpoint}: aborted by the caller (${FailureCode.Timeout})`, {
      code: FailureCode.Timeout,
      endpoint,
      cause: error,
    });
  }
  if (how.timedOut) {
    return new IiflError(`IIFL ${endpoint}: no answer in time (${FailureCode.Timeout})`, {
      code: FailureCode.Timeout,
      endpoint,
      cause: error,
    });
  }
  const code = connectionErrorCode(error);
  return new IiflError(`IIFL ${endpoint}: connection failed${code ? ` (${code})` : ''} (${FailureCode.BrokerUnavailable})`, {
    code: FailureCode.BrokerUnavailable,
    endpoint,
    cause: error,
  });
}

function connectionErrorCode(error: unknown): string | null {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return null;
}
