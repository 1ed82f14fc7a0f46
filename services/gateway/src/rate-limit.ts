import type { RequestHandler } from 'express';
import { apiKeyOf } from './auth.ts';

export interface RateLimitOptions {
  /** Requests a key may make at once before it has to wait. */
  burst: number;
  /** Requests per minute a key gets back. */
  perMinute: number;
}

/**
 * A token bucket per API key (by key name, so an old and a new key of one caller share it), in
 * memory, per gateway replica: N replicas allow N times the rate. Past it: 429 with Retry-After.
 */
export function rateLimitPerKey(options: RateLimitOptions, now: () => number = Date.now): RequestHandler {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const perMs = options.perMinute / 60_000;
  return (req, res, next) => {
    const name = apiKeyOf(req).name;
    const t = now();
    const bucket = buckets.get(name) ?? { tokens: options.burst, at: t };
    bucket.tokens = Math.min(options.burst, bucket.tokens + (t - bucket.at) * perMs);
    bucket.at = t;
    buckets.set(name, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      next();
      return;
    }
    const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
    res.status(429).set('Retry-After', String(retryAfter)).json({ success: false, error: 'Too many refresh requests, try again later' });
  };
}
