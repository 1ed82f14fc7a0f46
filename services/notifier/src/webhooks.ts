import { createHash } from 'node:crypto';

/** How a webhook's body is written: the notice as JSON, or Slack's `{"text": ...}`. */
export const WEBHOOK_FORMATS = ['json', 'slack'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** One configured webhook. Its URL may hold a secret (a Slack webhook's path does): never logged. */
export interface Webhook {
  url: string;
  format: WebhookFormat;
  /** The first 16 hex digits of the URL's SHA-256: names its consumer and its log lines. */
  id: string;
  /** The URL's host, safe to log. */
  host: string;
}

/** The durable JetStream consumer of one webhook: its own backlog, named after a hash of its URL. */
export function consumerName(webhook: Pick<Webhook, 'id'>): string {
  return `notifier-${webhook.id}`;
}

export type WebhookEntry = { ok: true; webhook: Webhook } | { ok: false; problem: string };

/**
 * One entry of WEBHOOK_URLS: an http(s) URL, optionally after `json=` or `slack=` (its format;
 * `fallback` otherwise). A problem names the entry by position, never by its text.
 */
export function parseWebhookEntry(entry: string, position: number, fallback: WebhookFormat): WebhookEntry {
  const match = /^(json|slack)=(.*)$/.exec(entry);
  const format = (match?.[1] as WebhookFormat | undefined) ?? fallback;
  const text = match ? match[2]! : entry;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, problem: `entry ${position} is not a URL (write [json=|slack=]https://host/path)` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, problem: `entry ${position} is not an http(s) URL` };
  if (url.username || url.password) return { ok: false, problem: `entry ${position} carries a user or password: not supported` };
  url.hash = '';
  const href = url.href;
  return { ok: true, webhook: { url: href, format, id: createHash('sha256').update(href).digest('hex').slice(0, 16), host: url.host } };
}
