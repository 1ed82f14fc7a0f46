/**
 * Signs in on IIFL's login page (the simulator's, in tests) for the login link `url`, as a browser
 * submits the form: the link's app key and redirect URL, and the account's ID, password and TOTP.
 * Returns the answer unfollowed (a 302 to the redirect URL when IIFL accepts).
 */
export function submitLoginForm(url: string | URL, login: { clientId: string; password: string; totp: string }): Promise<Response> {
  const link = new URL(url);
  const body = new URLSearchParams({
    appkey: link.searchParams.get('appkey')!,
    redirecturl: link.searchParams.get('redirecturl')!,
    clientId: login.clientId,
    password: login.password,
    totp: login.totp,
  });
  return fetch(new URL('/', link), { method: 'POST', body, redirect: 'manual' });
}
