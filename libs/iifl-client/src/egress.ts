import { isIP } from 'node:net';

/**
 * Where a call leaves from: a source address to bind, or an HTTP(S) proxy. IIFL answers only the
 * static IPs whitelisted for an app, and from April 2026 one IP may not serve many clients (spec,
 * "Limits and lifetime"), so a deployment may need one egress per client or per app.
 */
export type Egress = { localAddress: string } | { proxyUrl: string };

export class EgressFormatError extends Error {
  override name = 'EgressFormatError';
}

/** An egress from its text: an IPv4/IPv6 literal binds that address, an http(s) URL goes through that proxy. */
export function parseEgress(text: string): Egress {
  const value = text.trim();
  if (isIP(value) !== 0) return { localAddress: value };
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    url = null;
  }
  if (url && (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '') return { proxyUrl: url.href };
  throw new EgressFormatError('an egress must be an IPv4 or IPv6 address or an http(s):// proxy URL');
}

/** The egress as it may be logged: the address, or the proxy's origin without its credentials. */
export function describeEgress(egress: Egress | undefined): string {
  if (egress === undefined) return 'default route';
  if ('localAddress' in egress) return egress.localAddress;
  const url = new URL(egress.proxyUrl);
  return `proxy ${url.protocol}//${url.host}`;
}

/** One key per distinct egress: connections are pooled per key and never shared between two. */
export function egressKey(egress: Egress | undefined): string {
  if (egress === undefined) return '';
  return 'localAddress' in egress ? `bind:${egress.localAddress}` : `proxy:${egress.proxyUrl}`;
}
