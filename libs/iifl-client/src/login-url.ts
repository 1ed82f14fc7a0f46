/**
 * IIFL's browser login link (spec, "The documented flow"): `<loginUrl>?v=1&appkey=…&redirecturl=…`.
 * Query parameters the login URL already has are kept.
 */
export function iiflLoginUrl(loginUrl: string, appKey: string, redirectUrl: string): string {
  const url = new URL(loginUrl);
  url.searchParams.set('v', '1');
  url.searchParams.set('appkey', appKey);
  url.searchParams.set('redirecturl', redirectUrl);
  return url.toString();
}
