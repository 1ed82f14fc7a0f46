import ky from 'ky';
import { Agent } from 'undici';
import { FailureCode } from '@refresher/contracts';
import { IiflError, type IiflEndpoint } from './errors.ts';

/** What the client needs from HTTP; kept this small so another transport can be measured. */
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

export interface KyTransportOptions {
  /** Per call, from sending the request to the end of the body. */
  timeoutMs: number;
  /** How long an idle keep-alive connection is kept open. */
  keepAliveMs?: number;
}

/**
 * ky over the global fetch with an undici Agent as dispatcher: IPv4 only (IIFL whitelists static
 * IPv4 addresses and its host also has IPv6 records), keep-alive connections, no retries (the
 * caller owns the retry policy).
 */
export function createKyTransport(options: KyTransportOptions): HttpTransport {
  const agent = new Agent({
    connect: { family: 4 },
    keepAliveTimeout: options.keepAliveMs ?? 30_000,
  });
  const http = ky.create({
    retry: 0,
    timeout: false,
    throwHttpErrors: false,
    // The Agent of undici 7 serves the global fetch of Node 20 (undici 6) through its legacy handler
    // interface; the types differ, the behaviour does not.
    dispatcher: agent as unknown as NonNullable<RequestInit['dispatcher']>,
  } as Parameters<typeof ky.create>[0]);

  return {
    async request(call) {
      const deadline = AbortSignal.timeout(options.timeoutMs);
      const signal = call.signal ? AbortSignal.any([call.signal, deadline]) : deadline;
      try {
        const response = await http(call.url, {
          method: call.method,
          signal,
          headers: {
            accept: 'application/json',
            ...(call.bearer === undefined ? {} : { authorization: `Bearer ${call.bearer}` }),
          },
          ...(call.json === undefined ? {} : { json: call.json }),
        });
        return httpAnswer(response.status, await response.text(), response.headers.get('retry-after'));
      } catch (error) {
        throw transportFailure(call.endpoint, error, { timedOut: deadline.aborted, callerAborted: call.signal?.aborted === true });
      }
    },
    close: () => agent.close(),
  };
}

/** A failure below HTTP: timeout, caller abort or connection error. */
export function transportFailure(
  endpoint: IiflEndpoint,
  error: unknown,
  how: { timedOut: boolean; callerAborted: boolean },
): IiflError {
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
  return new IiflError(
    `IIFL ${endpoint}: connection failed${code ? ` (${code})` : ''} (${FailureCode.BrokerUnavailable})`,
    { code: FailureCode.BrokerUnavailable, endpoint, cause: error },
  );
}

function connectionErrorCode(error: unknown): string | null {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return null;
}
