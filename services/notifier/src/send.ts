import ky, { TimeoutError } from 'ky';
import { parseRetryAfter } from './retry.ts';

export type SendResult = { ok: true; status: number } | { ok: false; status?: number; reason: string; retryAfterMs?: number };

/**
 * One POST of a delivery with ky: no retries of its own (JetStream redelivers, so a retry outlives
 * a restart and each webhook keeps its backlog), no redirects followed, the answer's body unread.
 * Only a 2xx delivers. The reason of a failure never holds the URL (it may hold a secret).
 */
export async function postDelivery(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<SendResult> {
  try {
    const res = await ky.post(url, {
      body,
      headers,
      timeout: timeoutMs,
      retry: 0,
      throwHttpErrors: false,
      redirect: 'manual',
      ...(signal ? { signal } : {}),
    });
    await res.body?.cancel().catch(() => {});
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    return { ok: false, status: res.status, reason: `HTTP ${res.status}`, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  } catch (err) {
    return { ok: false, reason: describeFailure(err, timeoutMs) };
  }
}

/** A network failure in words: the error's code (ECONNREFUSED, ...) or kind, never its message (it may quote the URL). */
function describeFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof TimeoutError) return `no answer within ${timeoutMs} ms`;
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return `network error ${cause.code}`;
  return err instanceof Error ? `request failed (${err.name})` : 'request failed';
}
